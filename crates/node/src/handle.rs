//! The node as the RPC crates see it ([`nvm_node_api::NodeApi`]): its chain and mempool behind
//! one handle, and the same in memory for tests.

use crate::{BlockPipeline, Chain, ChainError, Genesis, Mempool, StateSnapshot, StepReport};
use nvm_executor::{AdmissionError, Executor, VerifiedTx, VmRegistry};
use nvm_node_api::{
    ChainReader, CommittedState, NodeError, NodeResult, StateRestore, TipState, TxSubmitter,
};
use nvm_primitives::{Block, ChainHead, IdCom, Receipt, StateKey, StateProof, TxHash, TxLocation};
use nvm_vm_api::BlockEnv;
use parking_lot::Mutex;
use std::sync::Arc;

impl From<ChainError> for NodeError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Store(nvm_storage::StoreError::NotKept { height, oldest, head }) => {
                Self::StateNotKept { height, oldest, head }
            }
            ChainError::Store(_) | ChainError::State(_) => Self::Storage(e.to_string()),
            other => Self::Failed(other.to_string()),
        }
    }
}

impl CommittedState for StateSnapshot {
    fn scan_index(
        &self,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> nvm_state_api::StateResult<nvm_state_api::IndexEntries> {
        Self::scan_index(self, prefix, from, limit)
            .map_err(|e| nvm_state_api::StateError::Backend(e.to_string()))
    }

    fn head(&self) -> Option<&ChainHead> {
        Self::head(self)
    }
}

/// The wall clock in milliseconds (what consensus stamps proposals from).
fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as u64)
}

/// A running node's chain and mempool: what its RPC serves from.
#[derive(Clone)]
pub struct NodeHandle {
    pub chain: Arc<Chain>,
    pub mempool: Arc<Mempool>,
}

impl ChainReader for NodeHandle {
    fn executor(&self) -> &Executor {
        self.chain.executor()
    }

    fn head(&self) -> NodeResult<ChainHead> {
        Ok(self.chain.head()?)
    }

    fn block(&self, height: u64) -> NodeResult<Option<Block>> {
        Ok(self.chain.block(height)?)
    }

    fn block_by_hash(&self, hash: &[u8; 32]) -> NodeResult<Option<Block>> {
        Ok(self.chain.block_by_hash(hash)?)
    }

    fn receipt(&self, tx_hash: &TxHash) -> NodeResult<Option<Receipt>> {
        Ok(self.chain.receipt(tx_hash)?)
    }

    fn advance_clock(&self, ms: u64) -> NodeResult<i64> {
        Ok(self.chain.advance_clock(ms, now_ms())?)
    }

    fn set_next_timestamp(&self, timestamp_ms: u64) -> NodeResult<()> {
        Ok(self.chain.set_next_timestamp(timestamp_ms, now_ms())?)
    }

    fn transaction_count(&self) -> NodeResult<u64> {
        Ok(self.chain.transaction_count()?)
    }

    fn tx_location(&self, tx_hash: &TxHash) -> NodeResult<Option<TxLocation>> {
        Ok(self.chain.tx_location(tx_hash)?)
    }

    fn prove_many(&self, keys: &[StateKey]) -> NodeResult<Vec<StateProof>> {
        Ok(self.chain.prove_many(keys)?)
    }

    fn snapshot(&self) -> NodeResult<Box<dyn CommittedState>> {
        Ok(Box::new(self.chain.snapshot()?))
    }

    fn snapshot_at(&self, height: u64) -> NodeResult<Box<dyn CommittedState>> {
        Ok(Box::new(self.chain.snapshot_at(height)?))
    }

    fn restore_of(&self, height: u64) -> NodeResult<StateRestore> {
        Ok(self.chain.restore_of(height)?)
    }

    fn tip_state(&self) -> NodeResult<TipState> {
        Ok(Box::new(self.chain.tip_state()?))
    }

    fn next_block(&self, timestamp_ms: u64) -> NodeResult<(BlockEnv, TipState)> {
        let (env, state) = self.chain.next_block(timestamp_ms)?;
        Ok((env, Box::new(state)))
    }

    fn next_base_fee(&self) -> NodeResult<u64> {
        Ok(self.chain.next_base_fee()?)
    }

    fn watch_heads(&self) -> tokio::sync::watch::Receiver<ChainHead> {
        self.chain.watch_heads()
    }
}

impl TxSubmitter for NodeHandle {
    fn submit(&self, raws: Vec<Vec<u8>>) -> NodeResult<Vec<Result<TxHash, AdmissionError>>> {
        Ok(self.chain.submit(&self.mempool, raws)?)
    }

    fn submit_verified(&self, tx: VerifiedTx) -> NodeResult<Result<TxHash, AdmissionError>> {
        Ok(self.chain.submit_verified(&self.mempool, tx)?)
    }

    fn pending_tx(&self, hash: &TxHash) -> Option<VerifiedTx> {
        self.mempool.get(hash)
    }

    fn pending_nonce(&self, sender: &IdCom, state_next: u64) -> u64 {
        self.mempool.pending_nonce(sender, state_next)
    }

    fn pending_count(&self) -> usize {
        self.mempool.len()
    }

    fn pending_txs(&self, limit: usize) -> Vec<VerifiedTx> {
        self.mempool.pending(limit)
    }

    fn watch_pending(&self) -> tokio::sync::broadcast::Receiver<TxHash> {
        self.mempool.watch_admitted()
    }
}

/// A whole node in memory for tests of what runs over [`nvm_node_api::NodeApi`]: the real chain
/// (executor, VMs, proofs) on an in-memory database and a mempool, with blocks sealed when the
/// test says so instead of by consensus.
pub struct MemoryNode {
    handle: NodeHandle,
    pipeline: Mutex<BlockPipeline>,
}

/// Most pending transactions a [`MemoryNode`] holds.
const MEMORY_MEMPOOL_CAPACITY: usize = 100_000;

impl MemoryNode {
    /// A node at the genesis of `genesis`, running the VMs of `vms`.
    pub fn new(genesis: &Genesis, vms: VmRegistry) -> NodeResult<Self> {
        let chain = Arc::new(Chain::in_memory(genesis, [0; 32], vms)?);
        let mempool = Arc::new(Mempool::new(MEMORY_MEMPOOL_CAPACITY));
        let pipeline = Mutex::new(BlockPipeline::new(chain.clone(), mempool.clone()));
        Ok(Self { handle: NodeHandle { chain, mempool }, pipeline })
    }

    /// The dev chain of `vms` ([`Genesis::dev`]).
    pub fn dev(vms: VmRegistry) -> NodeResult<Self> {
        Self::new(&Genesis::dev(&vms), vms)
    }

    /// Builds a block of what the mempool holds (at most `max_txs`), stamped `timestamp_ms` (or
    /// just after the head), and commits it; returns what went in.
    pub fn seal(&self, max_txs: usize, timestamp_ms: u64) -> NodeResult<StepReport> {
        let mut pipeline = self.pipeline.lock();
        let report = pipeline.step(max_txs, timestamp_ms)?;
        pipeline.finish()?;
        Ok(report)
    }

    /// The chain and mempool behind it.
    pub fn handle(&self) -> &NodeHandle {
        &self.handle
    }

    /// The node as an RPC crate holds it.
    pub fn api(&self) -> Arc<dyn nvm_node_api::NodeApi> {
        Arc::new(self.handle.clone())
    }
}

impl std::ops::Deref for MemoryNode {
    type Target = NodeHandle;

    fn deref(&self) -> &NodeHandle {
        &self.handle
    }
}
