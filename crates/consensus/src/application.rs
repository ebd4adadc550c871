//! The n-VM chain as simplex's application: a leader builds a block from its mempool on the
//! parent consensus names; every validator re-executes a proposal on that parent before voting
//! for it. Blocks run here are executed, not committed: their results wait, by digest, in
//! [`Executed`] until marshal delivers the block finalized (see [`crate::Committer`]).

use crate::ConsensusBlock;
use commonware_consensus::{
    Application, marshal::ancestry::Ancestry, simplex::scheme::ed25519::Scheme,
    simplex::types::Context,
};
use commonware_cryptography::{Digested, Digestible, ed25519::PublicKey, sha256::Digest};
use commonware_runtime::Clock;
use futures::StreamExt;
use nvm_node::{Chain, ChainError, Mempool, ProposedBlock};
use parking_lot::Mutex;
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};

/// How far past a validator's clock a proposal's timestamp may be.
pub const MAX_CLOCK_DRIFT: Duration = Duration::from_secs(5);

/// Blocks executed on a parent but not committed, by header hash. Several may share a height
/// (forks that consensus has not settled yet); all at or below the committed head are dropped.
#[derive(Clone, Default)]
pub struct Executed(Arc<Mutex<HashMap<[u8; 32], Arc<ProposedBlock>>>>);

impl Executed {
    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<ProposedBlock>> {
        self.0.lock().get(hash).cloned()
    }

    fn insert(&self, proposed: Arc<ProposedBlock>) {
        self.0.lock().insert(proposed.block.header.hash(), proposed);
    }

    /// Forgets every block at or below `height` (committed, or on a fork that lost).
    pub fn prune(&self, height: u64) {
        self.0.lock().retain(|_, b| b.block.header.height > height);
    }

    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The executed, uncommitted blocks from `hash` down to the committed head (newest first),
    /// if `hash` and all its uncommitted ancestors are here.
    fn chain_from(
        &self,
        hash: [u8; 32],
        committed: &nvm_node::ChainHead,
    ) -> Option<Vec<Arc<ProposedBlock>>> {
        let map = self.0.lock();
        let mut out = Vec::new();
        let mut cursor = hash;
        while cursor != committed.hash {
            let block = map.get(&cursor)?;
            if block.block.header.height <= committed.height {
                return None;
            }
            cursor = block.block.header.parent_hash;
            out.push(block.clone());
        }
        Some(out)
    }
}

/// How a validator builds and checks blocks.
#[derive(Clone, Debug)]
pub struct BlockRules {
    /// Most transactions one block carries.
    pub max_block_txs: usize,
    /// Least time between a block and its parent: the leader waits (at most this long) so an idle
    /// network does not finalize empty blocks as fast as it can vote.
    pub block_time: Duration,
}

impl Default for BlockRules {
    fn default() -> Self {
        Self { max_block_txs: 10_000, block_time: Duration::from_millis(200) }
    }
}

/// [`Application`] over an n-VM [`Chain`] and [`Mempool`].
#[derive(Clone)]
pub struct NvmApplication {
    chain: Arc<Chain>,
    mempool: Arc<Mempool>,
    executed: Executed,
    rules: BlockRules,
}

fn millis(clock: &impl Clock) -> u64 {
    clock.current().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl NvmApplication {
    pub fn new(
        chain: Arc<Chain>,
        mempool: Arc<Mempool>,
        executed: Executed,
        rules: BlockRules,
    ) -> Self {
        Self { chain, mempool, executed, rules }
    }

    /// The executed ancestors a block built on the ancestry's next block stands on (newest
    /// first), executing — in order — any uncommitted ancestor not executed here yet (one this
    /// validator missed, or all of them after a restart).
    async fn ancestors(
        &self,
        ancestry: &mut impl Ancestry<ConsensusBlock>,
    ) -> Result<Vec<Arc<ProposedBlock>>, ChainError> {
        let committed = self.chain.head()?;
        let mut missing = Vec::new();
        let known = loop {
            let Some(block) = ancestry.next().await else {
                return Err(ChainError::InvalidBlock("the ancestry ended early".into()));
            };
            let hash = block.digest().0;
            if let Some(known) = self.executed.chain_from(hash, &committed) {
                break known;
            }
            if block.inner().block().header.height <= committed.height {
                return Err(ChainError::InvalidBlock(format!(
                    "block {} conflicts with the committed chain",
                    block.inner().block().header.height
                )));
            }
            missing.push(block);
        };
        let mut ancestors = known;
        for block in missing.into_iter().rev() {
            let executed = Arc::new(self.chain.verify_after_known(
                &ancestors,
                block.inner().block(),
                |raw| self.mempool.verified(raw),
            )?);
            self.executed.insert(executed.clone());
            ancestors.insert(0, executed);
        }
        Ok(ancestors)
    }

    fn build(
        &self,
        ancestors: &[Arc<ProposedBlock>],
        now_ms: u64,
    ) -> Result<ProposedBlock, ChainError> {
        let gas_limit = self.chain.executor().config.block_gas_limit;
        let base_fee = self.chain.base_fee_after(ancestors)?;
        let state = self.chain.state_after(ancestors)?;
        let candidates = self.mempool.ready(&state, self.rules.max_block_txs, gas_limit, base_fee);
        let proposed = self.chain.propose_after(ancestors, candidates, now_ms)?;
        // What can never become valid leaves the pool; its senders' nonces are checked against
        // committed state, so nothing an unfinalized ancestor includes is dropped.
        let hopeless = proposed.hopeless();
        if !hopeless.is_empty() {
            self.mempool.on_block(&self.chain.tip_state()?, &[], &hopeless);
        }
        Ok(proposed)
    }
}

impl<E: Clock + Send + Sync + 'static> Application<E> for NvmApplication {
    type SigningScheme = Scheme;
    type Context = Context<Digest, PublicKey>;
    type Block = ConsensusBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (clock, _): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
        _: (),
    ) -> Option<Digested<Self::Block>> {
        let ancestors = match self.ancestors(&mut ancestry).await {
            Ok(ancestors) => ancestors,
            Err(e) => {
                tracing::warn!(error = %e, "cannot build on the parent");
                return None;
            }
        };
        let parent_ms = match ancestors.first() {
            Some(parent) => parent.block.header.timestamp_ms,
            None => self.chain.head().ok()?.timestamp_ms,
        };
        // (A dev chain's time a client moved ahead: `Chain::advance_clock`.)
        let now = |clock: &E| self.chain.stamp(millis(clock));
        let due = parent_ms.saturating_add(self.rules.block_time.as_millis() as u64);
        let wait = Duration::from_millis(due.saturating_sub(now(&clock)));
        if !wait.is_zero() {
            clock.sleep(wait.min(self.rules.block_time)).await;
        }
        let started = std::time::Instant::now();
        match self.build(&ancestors, now(&clock)) {
            Ok(proposed) => {
                tracing::debug!(
                    height = proposed.block.header.height,
                    txs = proposed.block.transactions.len(),
                    took = ?started.elapsed(),
                    ordering = ?proposed.timings.ordering,
                    execution = ?proposed.timings.execution,
                    state_root = ?proposed.timings.state_root,
                    "proposed"
                );
                let block = ConsensusBlock::new(proposed.block.clone());
                let digest = block.digest();
                self.executed.insert(Arc::new(proposed));
                Some(Digested::precomputed(block, digest))
            }
            Err(e) => {
                tracing::error!(error = %e, "block building failed");
                None
            }
        }
    }

    async fn verify(
        &mut self,
        (clock, _): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
    ) -> bool {
        let Some(block) = ancestry.next().await else { return false };
        if self.executed.get(&block.digest().0).is_some() {
            return true;
        }
        let header = &block.inner().block().header;
        let horizon = millis(&clock).saturating_add(MAX_CLOCK_DRIFT.as_millis() as u64);
        if header.timestamp_ms > horizon {
            tracing::warn!(height = header.height, "proposal from the future rejected");
            return false;
        }
        let started = std::time::Instant::now();
        let verdict = match self.ancestors(&mut ancestry).await {
            Ok(ancestors) => {
                self.chain.verify_after_known(&ancestors, block.inner().block(), |raw| {
                    self.mempool.verified(raw)
                })
            }
            Err(e) => Err(e),
        };
        match verdict {
            Ok(executed) => {
                tracing::debug!(
                    height = header.height,
                    txs = executed.block.transactions.len(),
                    took = ?started.elapsed(),
                    "verified"
                );
                self.executed.insert(Arc::new(executed));
                true
            }
            Err(e) => {
                tracing::warn!(height = header.height, error = %e, "proposal rejected");
                false
            }
        }
    }
}
