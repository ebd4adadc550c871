//! Dispatcher, scheduler and block execution.

mod block;
mod dispatcher;
mod lanes;
mod schedule;
mod simulate;
mod verified;

pub use block::{BlockOutcome, ChainConfig, EnvelopeCheck, ExecutionMode, Executor, IncludedTx};
pub use dispatcher::Dispatcher;
pub use lanes::{DEFAULT_SHARDS, order_by_lanes, shard_of};
pub use nvm_vm_api::{Rejection, TxError};
pub use schedule::schedule_batches;
pub use simulate::Simulation;
pub use verified::{SignedTx, VerifiedTx};
