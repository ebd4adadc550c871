//! Admission, scheduler and block execution over the registered VMs.

mod admission;
mod block;
mod lanes;
#[cfg(test)]
mod registry_tests;
mod schedule;
mod verified;

pub use admission::AdmissionError;
pub use block::{BlockOutcome, ChainConfig, ExecutionMode, Executor, IncludedTx};
pub use lanes::{DEFAULT_SHARDS, order_by_lanes, shard_of};
pub use nvm_vm_api::{RegistryError, Rejection, TxError, VmRegistry};
pub use schedule::schedule_batches;
pub use verified::{SignedTx, VerifiedTx};
