//! What the commit loop is doing, and since when, so that a chain which stops committing is
//! never silent: [`watch_for_stalls`] logs an error naming the stage the loop is stuck in, and
//! `/metrics` shows the time since the last commit. Plain atomics, no lock: the watcher must
//! still see the loop when every lock of the node is held.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// A stage of committing one finalized block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CommitStage {
    /// Waiting for marshal to deliver the next finalized block (consensus has not finalized it,
    /// or this validator has not received it).
    AwaitingFinalized = 0,
    /// Executing a finalized block this validator had not executed before.
    Executing = 1,
    /// Writing the block to the store (one fsync'd write).
    Writing = 2,
    /// Dropping the block's transactions from the mempool.
    UpdatingMempool = 3,
    /// Rewriting the transaction journal without the included transactions.
    CompactingJournal = 4,
}

impl CommitStage {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Executing,
            2 => Self::Writing,
            3 => Self::UpdatingMempool,
            4 => Self::CompactingJournal,
            _ => Self::AwaitingFinalized,
        }
    }
}

impl fmt::Display for CommitStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AwaitingFinalized => "waiting for consensus to deliver the finalized block",
            Self::Executing => "executing the finalized block",
            Self::Writing => "writing the block to the store",
            Self::UpdatingMempool => "removing the block's transactions from the mempool",
            Self::CompactingJournal => "compacting the transaction journal after the block",
        })
    }
}

/// The commit loop's position, shared with whoever watches it.
pub struct CommitProgress {
    origin: Instant,
    stage: AtomicU8,
    /// The height the current stage works on.
    height: AtomicU64,
    /// When the current stage began, in milliseconds since `origin`.
    stage_since_ms: AtomicU64,
    /// When the last block was committed (or the loop started), likewise.
    last_commit_ms: AtomicU64,
}

impl Default for CommitProgress {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            stage: AtomicU8::new(CommitStage::AwaitingFinalized as u8),
            height: AtomicU64::new(0),
            stage_since_ms: AtomicU64::new(0),
            last_commit_ms: AtomicU64::new(0),
        }
    }
}

/// A commit loop that has committed nothing for too long while transactions wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stall {
    pub since_commit: Duration,
    pub stage: CommitStage,
    pub height: u64,
    pub in_stage: Duration,
    /// Transactions waiting (`None`: the mempool's lock could not be taken in time).
    pub pending: Option<usize>,
}

impl fmt::Display for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pending = match self.pending {
            Some(n) => format!("{n} transactions pending"),
            None => "the mempool's lock held by someone else".into(),
        };
        write!(
            f,
            "no block committed for {:.1} s with {pending}: the commit loop is {} (block {}) \
             and has been for {:.1} s",
            self.since_commit.as_secs_f64(),
            self.stage,
            self.height,
            self.in_stage.as_secs_f64(),
        )
    }
}

impl CommitProgress {
    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// The loop starts `stage` on block `height`.
    pub fn enter(&self, stage: CommitStage, height: u64) {
        self.height.store(height, Ordering::Relaxed);
        self.stage_since_ms.store(self.now_ms(), Ordering::Relaxed);
        self.stage.store(stage as u8, Ordering::Release);
    }

    /// A block was committed.
    pub fn committed(&self) {
        self.last_commit_ms.store(self.now_ms(), Ordering::Release);
    }

    pub fn since_last_commit(&self) -> Duration {
        let last = self.last_commit_ms.load(Ordering::Acquire);
        Duration::from_millis(self.now_ms().saturating_sub(last))
    }

    /// The stall, if nothing was committed for `threshold` while transactions wait.
    pub fn stall(&self, pending: Option<usize>, threshold: Duration) -> Option<Stall> {
        let since_commit = self.since_last_commit();
        if since_commit < threshold || pending == Some(0) {
            return None;
        }
        let stage = CommitStage::from_u8(self.stage.load(Ordering::Acquire));
        let since = self.stage_since_ms.load(Ordering::Relaxed);
        Some(Stall {
            since_commit,
            stage,
            height: self.height.load(Ordering::Relaxed),
            in_stage: Duration::from_millis(self.now_ms().saturating_sub(since)),
            pending,
        })
    }
}

/// How long without a commit, while transactions wait, counts as a stall: twenty block times,
/// and never less than a view that times out on a failed leader and then certifies (slow
/// rounds around a crashed validator are not stalls).
pub fn stall_threshold(block_time: Duration, timeouts: &crate::Timeouts) -> Duration {
    (block_time * 20).max(timeouts.leader + timeouts.certification)
}

/// Checks `progress` from a thread of its own (not the runtime's: it must run while the
/// runtime's threads are stuck) and logs an error for a stall, again every `threshold` while it
/// lasts, and when it ends. `pending` counts waiting transactions (`None` if it cannot tell).
pub fn watch_for_stalls(
    progress: Arc<CommitProgress>,
    pending: impl Fn() -> Option<usize> + Send + 'static,
    threshold: Duration,
) -> std::io::Result<()> {
    std::thread::Builder::new().name("nvm-stall-watch".into()).spawn(move || {
        let mut reported: Option<Instant> = None;
        loop {
            std::thread::sleep(threshold / 8);
            match progress.stall(pending(), threshold) {
                Some(stall) if reported.is_none_or(|at| at.elapsed() >= threshold) => {
                    tracing::error!(
                        seconds_since_commit = stall.since_commit.as_secs_f64(),
                        stage = ?stall.stage,
                        height = stall.height,
                        "chain stalled: {stall}"
                    );
                    reported = Some(Instant::now());
                }
                Some(_) => {} // reported less than a threshold ago
                None if reported.is_some() && progress.since_last_commit() < threshold => {
                    tracing::warn!("chain committing again after a stall");
                    reported = None;
                }
                None => {}
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_names_the_stage_and_needs_pending_transactions() {
        let progress = CommitProgress::default();
        progress.enter(CommitStage::CompactingJournal, 30);
        std::thread::sleep(Duration::from_millis(30));
        let threshold = Duration::from_millis(20);
        assert_eq!(progress.stall(Some(0), threshold), None, "an idle chain is not stalled");
        let stall = progress.stall(Some(5_400), threshold).expect("a stall");
        assert_eq!(
            (stall.stage, stall.height, stall.pending),
            (CommitStage::CompactingJournal, 30, Some(5_400))
        );
        assert!(stall.since_commit >= threshold && stall.in_stage >= threshold);
        let text = stall.to_string();
        assert!(
            text.contains("compacting the transaction journal") && text.contains("5400"),
            "{text}"
        );
        assert!(
            progress.stall(None, threshold).expect("unknown pending").to_string().contains("lock")
        );
        progress.committed();
        assert_eq!(progress.stall(Some(5_400), threshold), None, "just committed");
    }
}
