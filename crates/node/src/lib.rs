//! The n-VM node: genesis, mempool, chain application and the benchmark's block pipeline.

mod chain;
mod deadlock;
mod genesis;
mod handle;
mod journal;
mod mempool;
mod pipeline;

pub use chain::{
    BlockMeta, BlockTimings, Chain, ChainError, ProposedBlock, StateSnapshot, TipState,
    block_meta_key,
};
pub use deadlock::watch_for_deadlocks;
pub use genesis::{DEV_CHAIN_ID, DEV_TX_FEE, Genesis, GenesisAccount, dev_id, dev_key};
pub use handle::{MemoryNode, NodeHandle};
pub use journal::{JournalSync, TxJournal};
pub use mempool::{Announcer, MAX_PENDING_PER_SENDER, Mempool, admitted};
/// Why the mempool refuses a transaction (defined with the executor, for the RPC crates).
pub use nvm_executor::AdmissionError;
/// The committed head, a transaction's place and a proven state value, as `Chain` hands them out.
pub use nvm_primitives::{ChainHead, StateProof, TxLocation};
/// How many blocks' state a node keeps readable ([`Chain::open`]).
pub use nvm_state_api::HistoryWindow;
pub use pipeline::{BlockPipeline, StepReport};
