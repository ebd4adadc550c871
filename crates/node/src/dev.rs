//! Single-validator block production for `--dev`: the chain driven by a timer.

use crate::{Chain, ChainError, Mempool};
use nvm_storage::ChainHead;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// Produces a block every `block_time` from the mempool's ready transactions.
pub struct DevSequencer {
    pub chain: Arc<Chain>,
    pub mempool: Arc<Mempool>,
    pub block_time: Duration,
    pub max_block_txs: usize,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl DevSequencer {
    /// Builds, commits and announces one block.
    pub fn produce_one(&self) -> Result<ChainHead, ChainError> {
        let snapshot = self.chain.snapshot()?;
        let candidates = self.mempool.ready(&snapshot, self.max_block_txs);
        drop(snapshot);
        let proposed = self.chain.propose(candidates, now_ms())?;
        let included: Vec<_> = proposed.receipts.iter().map(|r| r.tx_hash).collect();
        let rejected: Vec<_> = proposed.rejected.iter().map(|(tx, _)| tx.hash()).collect();
        for (tx, reason) in &proposed.rejected {
            tracing::debug!(tx = %hex::encode(tx.hash()), %reason, "left out of block");
        }
        let fell_back = proposed.fell_back_to_serial;
        let head = self.chain.commit(proposed)?;
        self.mempool.on_block(&self.chain.snapshot()?, &included, &rejected);
        if !included.is_empty() {
            tracing::info!(
                height = head.height,
                txs = included.len(),
                state_root = %hex::encode(head.state_root),
                fell_back,
                "committed block"
            );
        }
        Ok(head)
    }

    /// Runs until `stop` is set, one block per tick.
    pub fn spawn(self, stop: Arc<AtomicBool>) -> JoinHandle<()> {
        std::thread::spawn(move || {
            let mut next = Instant::now() + self.block_time;
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now < next {
                    std::thread::sleep((next - now).min(Duration::from_millis(50)));
                    continue;
                }
                next += self.block_time;
                if let Err(e) = self.produce_one() {
                    tracing::error!(error = %e, "block production failed");
                }
            }
        })
    }
}
