//! n-VM consensus (issue 5): commonware's simplex BFT orders n-VM blocks; marshal disseminates
//! them, backfills what a validator missed, and delivers finalized blocks in order, exactly once
//! per height, to the executor that commits them.

mod application;
mod block;
mod committer;
mod engine;
mod finality;
pub mod gossip;
mod progress;

pub use application::{BlockRules, Executed, MAX_CLOCK_DRIFT, NvmApplication};
pub use block::{ConsensusBlock, MAX_BLOCK_BYTES};
pub use committer::{CommitLoop, Committer};
pub use engine::{Channels, Engine, EngineConfig, Timeouts, channel, namespace, start};
pub use finality::{FinalityError, Finalization, Finalizations, Finalized, verify_finalization};
pub use progress::{CommitProgress, CommitStage, Stall, stall_threshold, watch_for_stalls};
