//! Finalized blocks into the store: marshal delivers them in height order, at least once; each
//! is committed (one fsync'd write) and only then acknowledged, so marshal redelivers whatever a
//! crash interrupted. A height already committed is acknowledged without effect: exactly once.

use crate::{CommitProgress, CommitStage, ConsensusBlock, application::Executed};
use commonware_actor::Feedback;
use commonware_consensus::{Reporter, marshal::Update};
use commonware_cryptography::Digestible;
use commonware_utils::Acknowledgement;
use futures::{
    StreamExt,
    channel::{mpsc, oneshot},
};
use nvm_node::{Chain, ChainError, Mempool};
use nvm_primitives::TxHash;
use std::sync::Arc;

/// Marshal's reporter: hands finalized blocks to the [`CommitLoop`] (reports are synchronous;
/// committing is not).
#[derive(Clone)]
pub struct Committer {
    updates: mpsc::UnboundedSender<Update<ConsensusBlock>>,
}

impl Reporter for Committer {
    type Activity = Update<ConsensusBlock>;

    fn report(&mut self, update: Self::Activity) -> Feedback {
        match self.updates.unbounded_send(update) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

/// Commits finalized blocks in the order marshal delivers them.
pub struct CommitLoop {
    chain: Arc<Chain>,
    mempool: Arc<Mempool>,
    executed: Executed,
    updates: mpsc::UnboundedReceiver<Update<ConsensusBlock>>,
    progress: Arc<CommitProgress>,
    /// Told why, when a finalized block cannot be committed (the node then stops).
    stopped: Option<oneshot::Sender<String>>,
}

impl CommitLoop {
    pub fn new(
        chain: Arc<Chain>,
        mempool: Arc<Mempool>,
        executed: Executed,
        progress: Arc<CommitProgress>,
    ) -> (Committer, Self, oneshot::Receiver<String>) {
        let (tx, updates) = mpsc::unbounded();
        let (stopped, why) = oneshot::channel();
        let commit_loop =
            Self { chain, mempool, executed, updates, progress, stopped: Some(stopped) };
        (Committer { updates: tx }, commit_loop, why)
    }

    /// Marks the start of `stage` on the block after the committed head.
    fn enter_next(&self, stage: CommitStage) {
        let next = self.chain.head().map_or(0, |head| head.height + 1);
        self.progress.enter(stage, next);
    }

    /// Runs until marshal goes away, or a finalized block cannot be committed: then the
    /// acknowledgement is dropped, which stops marshal rather than letting it run ahead of the
    /// state, and the reason goes to whoever holds the receiver `new` returned (the node exits
    /// with it rather than serve a head that no longer moves).
    pub async fn run(mut self) {
        self.enter_next(CommitStage::AwaitingFinalized);
        while let Some(update) = self.updates.next().await {
            let Update::Block(block, ack) = update else { continue };
            match self.commit(block.inner()) {
                Ok(()) => {
                    ack.acknowledge();
                    self.enter_next(CommitStage::AwaitingFinalized);
                }
                Err(e) => {
                    let height = block.inner().block().header.height;
                    tracing::error!(height, error = %e, "cannot commit a finalized block; stopping");
                    if let Some(stopped) = self.stopped.take() {
                        let _ =
                            stopped.send(format!("cannot commit finalized block {height}: {e}"));
                    }
                    return;
                }
            }
        }
    }

    fn commit(&self, block: &ConsensusBlock) -> Result<(), ChainError> {
        let header = &block.block().header;
        let head = self.chain.head()?;
        if header.height <= head.height {
            // Redelivered after a restart: already committed — it must be the same block.
            let stored = self.chain.block(header.height)?.map(|b| b.header.hash());
            if stored != Some(block.digest().0) {
                return Err(ChainError::InvalidBlock(format!(
                    "finalized block {} differs from the committed one",
                    header.height
                )));
            }
            return Ok(());
        }
        let progress = |stage| self.progress.enter(stage, header.height);
        #[cfg(feature = "fault-injection")]
        if std::env::var("NVM_FAULT_COMMIT_AT").ok() == Some(header.height.to_string()) {
            return Err(ChainError::InvalidBlock("injected commit failure".into()));
        }
        let executed = match self.executed.get(&block.digest().0) {
            Some(executed) => executed,
            // Finalized without passing through this validator's verify (caught up from peers,
            // or executed before a restart): execute it now, on the committed head.
            // Its transactions are mostly in the pool, their signatures checked on arrival.
            None => {
                progress(CommitStage::Executing);
                Arc::new(
                    self.chain
                        .verify_after_known(&[], block.block(), |raw| self.mempool.verified(raw))?,
                )
            }
        };
        progress(CommitStage::Writing);
        let started = std::time::Instant::now();
        let committed = self.chain.commit(&executed)?;
        let commit_time = started.elapsed();
        self.progress.committed();
        self.executed.prune(committed.height);
        let included: Vec<TxHash> = executed.receipts.iter().map(|r| r.tx_hash).collect();
        progress(CommitStage::UpdatingMempool);
        self.mempool.on_block(&self.chain.tip_state()?, &included, &[]);
        progress(CommitStage::CompactingJournal);
        if let Err(e) = self.mempool.compact_journal() {
            tracing::warn!(error = %e, "cannot compact the transaction journal");
        }
        if included.is_empty() {
            tracing::debug!(height = committed.height, "finalized block committed");
        } else {
            // Failed: included and charged, their changes undone (a revert, a halt, a refusal).
            let failed = executed.receipts.iter().filter(|r| r.status.error().is_some()).count();
            tracing::info!(
                height = committed.height,
                txs = included.len(),
                failed,
                took = ?commit_time,
                "finalized block committed"
            );
        }
        Ok(())
    }
}
