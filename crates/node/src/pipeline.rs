//! Block production without consensus, as `nvm bench` drives it: each block's commit overlaps
//! the next block's execution. (Nodes, the dev node included, produce blocks through consensus.)

use crate::{BlockTimings, Chain, ChainError, Mempool};
use nvm_primitives::{TxHash, TxStatus};
use nvm_storage::ChainHead;
use std::{sync::Arc, thread::JoinHandle, time::Duration};

/// What one pipeline step did.
#[derive(Clone, Debug, Default)]
pub struct StepReport {
    /// Height of the block built in this step.
    pub height: u64,
    pub included: usize,
    pub failed: usize,
    pub rejected: usize,
    pub fell_back_to_serial: bool,
    pub timings: BlockTimings,
    /// The previous block, which finished committing during this step.
    pub committed: Option<ChainHead>,
    /// How long the previous block's commit took on its thread.
    pub commit_time: Duration,
}

/// Builds blocks from the mempool, committing each on a background thread while the next one is
/// built (at most one block in flight, so a failed commit costs at most the block after it).
pub struct BlockPipeline {
    chain: Arc<Chain>,
    mempool: Arc<Mempool>,
    /// The block being committed, and the transactions it includes.
    in_flight: Option<(CommitHandle, Vec<TxHash>)>,
}

type CommitHandle = JoinHandle<Result<(ChainHead, Duration), ChainError>>;

impl BlockPipeline {
    pub fn new(chain: Arc<Chain>, mempool: Arc<Mempool>) -> Self {
        Self { chain, mempool, in_flight: None }
    }

    /// Waits for the block in flight, if any, to be durable, then drops its transactions from
    /// the mempool. If its commit failed they stay, and are proposed again from the head.
    pub fn finish(&mut self) -> Result<Option<(ChainHead, Duration)>, ChainError> {
        let Some((handle, included)) = self.in_flight.take() else { return Ok(None) };
        let committed = handle
            .join()
            .map_err(|_| ChainError::InvalidBlock("the commit thread panicked".into()))??;
        self.mempool.on_block(&self.chain.tip_state()?, &included, &[]);
        Ok(Some(committed))
    }

    /// Builds one block from up to `max_txs` ready transactions and hands it to the committer.
    pub fn step(&mut self, max_txs: usize, timestamp_ms: u64) -> Result<StepReport, ChainError> {
        let gas_limit = self.chain.executor().config.block_gas_limit;
        let base_fee = self.chain.next_base_fee()?;
        let candidates = self.mempool.ready(&self.chain.tip_state()?, max_txs, gas_limit, base_fee);
        let proposed = self.chain.propose(candidates, timestamp_ms);
        // The block in flight must be durable before the next one is handed over; if it failed,
        // the block built on it is dropped too and its transactions stay in the mempool.
        let previous = self.finish()?;
        let proposed = proposed?;
        let included: Vec<TxHash> = proposed.receipts.iter().map(|r| r.tx_hash).collect();
        let rejected = proposed.hopeless();
        for (tx, reason) in &proposed.rejected {
            tracing::debug!(tx = %hex::encode(tx.hash()), %reason, "left out of block");
        }
        let report = StepReport {
            height: proposed.block.header.height,
            included: included.len(),
            failed: proposed.receipts.iter().filter(|r| r.status != TxStatus::Success).count(),
            rejected: rejected.len(),
            fell_back_to_serial: proposed.fell_back_to_serial,
            timings: proposed.timings,
            committed: previous.as_ref().map(|(head, _)| head.clone()),
            commit_time: previous.map(|(_, t)| t).unwrap_or_default(),
        };
        self.mempool.on_block(&self.chain.tip_state()?, &[], &rejected);
        self.in_flight = Some((self.chain.commit_in_background(proposed)?, included));
        Ok(report)
    }
}
