//! n-VM consensus (issue 5): commonware's simplex BFT orders n-VM blocks; marshal disseminates
//! them, backfills what a validator missed, and delivers finalized blocks in order, exactly once
//! per height, to the executor that commits them.

mod block;

pub use block::{ConsensusBlock, MAX_BLOCK_BYTES};
