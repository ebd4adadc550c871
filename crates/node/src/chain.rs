//! The chain application: build, verify and commit blocks over the store.

use crate::Genesis;
use borsh::{BorshDeserialize, BorshSerialize};
use nvm_executor::{ChainConfig, ExecutionMode, Executor, TxError, VerifiedTx, VmRegistry};
use nvm_ledger::holders::{self, NotedBalances};
use nvm_primitives::{Block, BlockHeader, IdCom, Receipt, StateKey, list_commitment, sha256};
use nvm_state_api::{
    AccessSet, AfterWrites, HistoryWindow, IndexEntries, IndexWrites, StateError, StateReader,
    StateResult, WriteSet,
};
use nvm_storage::{ChainHead, PreparedState, Snapshot, StateProof, Store, StoreError, TxLocation};
use nvm_vm_api::{BLOCK_HASH_WINDOW, BlockEnv, block_hash_key};
use parking_lot::Mutex;
use std::{
    path::Path,
    sync::Arc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

mod restore;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("invalid genesis: {0}")]
    Genesis(String),
    #[error("the database holds chain {found}, not chain {expected}")]
    WrongChain { expected: u64, found: u64 },
    #[error("invalid block: {0}")]
    InvalidBlock(String),
}

pub type ChainResult<T> = Result<T, ChainError>;

/// The latest time a block may be stamped, in milliseconds (2^53: about the year 287,000, and
/// exact in a JavaScript number): a dev chain's moved clock stays below it.
pub const MAX_TIMESTAMP_MS: u64 = 1 << 53;

/// `SHA-256("nvm:block")` → [`BlockMeta`]: every block writes it, so VMs can read the block they
/// run in from state and every block has a new state version.
pub fn block_meta_key() -> StateKey {
    sha256(b"nvm:block")
}

/// The store setting that keeps [`Chain::stamp`]'s offset.
const CLOCK_OFFSET: &str = "clock_offset_ms";

/// Block facts kept in state.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockMeta {
    pub height: u64,
    pub timestamp_ms: u64,
    pub parent_hash: [u8; 32],
}

/// An executed block, ready to commit.
pub struct ProposedBlock {
    pub block: Block,
    pub receipts: Vec<Receipt>,
    /// Candidates left out because they were invalid against the block's state.
    pub rejected: Vec<(VerifiedTx, TxError)>,
    pub fell_back_to_serial: bool,
    /// Where the time went.
    pub timings: BlockTimings,
    writes: Arc<WriteSet>,
    prepared: Arc<PreparedState>,
    /// Whose balances it wrote, for the index of holders.
    noted_balances: NotedBalances,
}

impl ProposedBlock {
    /// Candidates left out that can never become valid (what waits for a lower base fee or an
    /// emptier block is not among them): they leave the mempool.
    pub fn hopeless(&self) -> Vec<nvm_primitives::TxHash> {
        self.rejected.iter().filter(|(_, e)| !e.is_retryable()).map(|(tx, _)| tx.hash()).collect()
    }

    /// Where the chain stands once this block is committed.
    pub fn head(&self) -> ChainHead {
        ChainHead::of(&self.block.header)
    }
}

/// State after a run of executed blocks not yet committed (newest first) over a committed
/// snapshot. Correct whether the snapshot was taken before or after some of those blocks landed:
/// their writes are the same values either way.
pub struct TipState {
    overlays: Vec<Arc<ProposedBlock>>,
    snapshot: Snapshot,
}

impl StateReader for TipState {
    fn get(&self, key: &StateKey) -> StateResult<Option<Vec<u8>>> {
        for block in &self.overlays {
            if let Some(value) = block.writes.get(key) {
                return Ok(value.clone());
            }
        }
        self.snapshot.get(key)
    }
}

/// Time spent building a block, by stage.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockTimings {
    /// Lane ordering and access declaration.
    pub ordering: Duration,
    /// Executing the transactions.
    pub execution: Duration,
    /// Computing the new state root.
    pub state_root: Duration,
}

/// The chain application a consensus engine drives.
pub struct Chain {
    store: Store,
    executor: Executor,
    proposer: IdCom,
    mode: ExecutionMode,
    /// One block at a time is built or verified.
    build_lock: Mutex<()>,
    /// One block at a time is written.
    commit_lock: Mutex<()>,
    /// The executed block whose commit is under way (at most one).
    pending: Mutex<Option<Arc<ProposedBlock>>>,
    /// The last durably committed block, for whoever waits on new blocks (RPC subscriptions).
    heads: tokio::sync::watch::Sender<ChainHead>,
    /// How far from the clock this node stamps the blocks it proposes, in milliseconds: 0 but
    /// on a dev chain whose time a client moved (`evm_increaseTime`, `evm_setNextBlockTimestamp`).
    clock_offset_ms: std::sync::atomic::AtomicI64,
}

impl Chain {
    /// Opens the chain in `data_dir` running the VMs of `vms`, writing genesis on first start. A
    /// restart resumes from the last committed block.
    /// `history` is how many blocks' state stays readable besides the head's.
    pub fn open(
        data_dir: &Path,
        genesis: &Genesis,
        proposer: IdCom,
        vms: VmRegistry,
        history: HistoryWindow,
    ) -> ChainResult<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Db(format!("{}: {e}", data_dir.display())))?;
        let store = Store::open(&data_dir.join("chain.redb"))?.with_history(history);
        Self::over(store, genesis, proposer, vms)
    }

    /// The chain on a database in memory, gone when dropped: everything else as
    /// [`Chain::open`] (what [`crate::MemoryNode`] runs for tests).
    pub fn in_memory(genesis: &Genesis, proposer: IdCom, vms: VmRegistry) -> ChainResult<Self> {
        Self::over(Store::in_memory()?, genesis, proposer, vms)
    }

    fn over(
        store: Store,
        genesis: &Genesis,
        proposer: IdCom,
        vms: VmRegistry,
    ) -> ChainResult<Self> {
        let config = ChainConfig {
            chain_id: genesis.chain_id,
            tx_fee: genesis.tx_fee,
            shards: nvm_executor::DEFAULT_SHARDS,
            block_gas_limit: genesis.block_gas_limit,
        };
        let chain = Self {
            store,
            executor: Executor::new(vms, config)
                .with_dedicated_pool(std::thread::available_parallelism().map_or(2, |n| n.get()))
                .map_err(|e| ChainError::Genesis(format!("cannot start execution threads: {e}")))?,
            proposer,
            mode: ExecutionMode::Parallel,
            build_lock: Mutex::new(()),
            commit_lock: Mutex::new(()),
            pending: Mutex::new(None),
            heads: tokio::sync::watch::Sender::new(ChainHead::default()),
            clock_offset_ms: std::sync::atomic::AtomicI64::new(0),
        };
        if let Some(offset) = chain.store.setting(CLOCK_OFFSET)? {
            let offset = <[u8; 8]>::try_from(offset.as_slice()).map_err(|_| {
                ChainError::Store(StoreError::Corrupt {
                    table: "meta",
                    reason: "the clock offset is not 8 bytes".into(),
                })
            })?;
            chain
                .clock_offset_ms
                .store(i64::from_be_bytes(offset), std::sync::atomic::Ordering::Relaxed);
        }
        match chain.store.head()? {
            Some(_) => {
                let found = chain.store.block(0)?.map(|b| b.header.chain_id).unwrap_or_default();
                if found != genesis.chain_id {
                    return Err(ChainError::WrongChain { expected: genesis.chain_id, found });
                }
            }
            None => chain.write_genesis(genesis)?,
        }
        if !chain.store.indexed()? {
            chain.fill_index(genesis)?;
        }
        chain.heads.send_replace(chain.head()?);
        Ok(chain)
    }

    /// What committing `block` (its final `writes` over `before`) changes in the secondary
    /// index: the VMs' ([`nvm_vm_api::ChainHooks::index_block`]) and the ledger's holders of
    /// the balances it wrote ([`nvm_ledger::holders`]).
    fn index_changes(
        &self,
        before: &dyn StateReader,
        block: &Block,
        writes: &WriteSet,
        noted_balances: &NotedBalances,
    ) -> ChainResult<IndexWrites> {
        let after = AfterWrites::new(before, writes);
        let mut index = IndexWrites::new();
        holders::index_balances(before, &after, noted_balances, &mut index)?;
        for hooks in self.executor.vms.hooks() {
            hooks.index_block(
                before,
                &after,
                block.header.height,
                &block.transactions,
                &mut index,
            )?;
        }
        Ok(index)
    }

    /// Builds the index of a database written before the index (as it is now) existed, once:
    /// the accounts of every committed block as the head shows them, and the holders its
    /// receipts name ([`holders::noted_in_receipts`]; genesis's from `genesis`).
    fn fill_index(&self, genesis: &Genesis) -> ChainResult<()> {
        let head = self.store.snapshot()?;
        let Some(height) = head.height() else { return Ok(()) };
        let nothing = nvm_state_api::MemoryState::default();
        let mut index = IndexWrites::new();
        // The holders' ranks start afresh: an entry an older layout left would stay otherwise.
        for key in index_keys(&head, holders::RANK_PREFIX)? {
            index.insert(key, None);
        }
        for at in 0..=height {
            let block = self.store.block(at)?.ok_or_else(|| StoreError::Corrupt {
                table: "blocks",
                reason: format!("block {at} is missing"),
            })?;
            for hooks in self.executor.vms.hooks() {
                hooks.index_block(&nothing, &head, at, &block.transactions, &mut index)?;
            }
            let noted = if at == 0 {
                genesis.writes_and_balances().map_err(ChainError::Genesis)?.1
            } else {
                let mut receipts = Vec::with_capacity(block.transactions.len());
                for raw in &block.transactions {
                    let hash = self.executor.vms.block_tx_hash(raw);
                    if let Some(receipt) = hash.map(|h| self.store.receipt(&h)).transpose()? {
                        receipts.extend(receipt);
                    }
                }
                holders::noted_in_receipts(&receipts, &block.header.proposer)
            };
            holders::index_balances(&nothing, &head, &noted, &mut index)?;
        }
        self.store.complete_index(&index)?;
        tracing::info!(blocks = height + 1, entries = index.len(), "indexed the committed chain");
        Ok(())
    }

    fn write_genesis(&self, genesis: &Genesis) -> ChainResult<()> {
        let (mut writes, noted) = genesis.writes_and_balances().map_err(ChainError::Genesis)?;
        let meta =
            BlockMeta { height: 0, timestamp_ms: genesis.timestamp_ms, parent_hash: [0; 32] };
        writes.insert(block_meta_key(), Some(borsh::to_vec(&meta).expect("vec write")));
        let prepared = self.store.prepare_state(&writes, 0, &[])?;
        let header = BlockHeader {
            chain_id: genesis.chain_id,
            height: 0,
            parent_hash: [0; 32],
            timestamp_ms: genesis.timestamp_ms,
            proposer: [0; 32],
            tx_root: list_commitment([]),
            receipts_root: list_commitment([]),
            state_root: prepared.root,
            gas_used: 0,
            base_fee_per_gas: self.genesis_env(genesis).base_fee_per_gas,
        };
        let block = Block { header, transactions: vec![] };
        let index = self.index_changes(&self.store.snapshot()?, &block, &writes, &noted)?;
        self.store.commit_block(&block, &[], &writes, &index, &prepared)?;
        Ok(())
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    pub fn chain_id(&self) -> u64 {
        self.executor.config.chain_id
    }

    /// The last durably committed block.
    pub fn head(&self) -> ChainResult<ChainHead> {
        self.store.head()?.ok_or_else(|| ChainError::Genesis("no genesis block".into()))
    }

    /// The committed block at `height`, if there is one.
    pub fn block(&self, height: u64) -> ChainResult<Option<Block>> {
        Ok(self.store.block(height)?)
    }

    /// The committed block whose header hashes to `hash`, if there is one.
    pub fn block_by_hash(&self, hash: &[u8; 32]) -> ChainResult<Option<Block>> {
        Ok(self.store.block_by_hash(hash)?)
    }

    /// A committed transaction's receipt.
    pub fn receipt(&self, tx_hash: &[u8; 32]) -> ChainResult<Option<Receipt>> {
        Ok(self.store.receipt(tx_hash)?)
    }

    /// Where a committed transaction is: its block height and index.
    pub fn tx_location(&self, tx_hash: &[u8; 32]) -> ChainResult<Option<TxLocation>> {
        Ok(self.store.tx_location(tx_hash)?)
    }

    /// Proofs of `keys` against the committed state root.
    pub fn prove_many(&self, keys: &[StateKey]) -> ChainResult<Vec<StateProof>> {
        Ok(self.store.prove_many(keys)?)
    }

    /// Committed state (what RPC answers from).
    pub fn snapshot(&self) -> ChainResult<StateSnapshot> {
        Ok(StateSnapshot(self.store.snapshot()?))
    }

    /// Committed state as it was after the block at `height`, while the history keeps it
    /// ([`StoreError::NotKept`] otherwise).
    pub fn snapshot_at(&self, height: u64) -> ChainResult<StateSnapshot> {
        Ok(StateSnapshot(self.store.snapshot_at(height)?))
    }

    /// The time this node stamps a proposal when its clock reads `now_ms` (block times still
    /// only grow: a block is stamped after its parent whatever this says).
    pub fn stamp(&self, now_ms: u64) -> u64 {
        let offset = self.clock_offset_ms.load(std::sync::atomic::Ordering::Relaxed);
        now_ms.saturating_add_signed(offset).min(MAX_TIMESTAMP_MS)
    }

    /// Moves the time this node stamps its proposals `ms` further ahead (a dev chain's
    /// `evm_increaseTime`); returns how far from its clock it now is. Refused past
    /// [`MAX_TIMESTAMP_MS`].
    pub fn advance_clock(&self, ms: u64, now_ms: u64) -> ChainResult<i64> {
        let too_far = || {
            ChainError::InvalidBlock(format!("blocks would be stamped past {MAX_TIMESTAMP_MS} ms"))
        };
        let offset = &self.clock_offset_ms;
        let moved = offset
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_add(i64::try_from(ms).map_err(|_| too_far())?);
        if now_ms.saturating_add_signed(moved) > MAX_TIMESTAMP_MS {
            return Err(too_far());
        }
        self.keep_clock_offset(moved)?;
        Ok(moved)
    }

    /// Sets the clock offset and keeps it in the store, so a restarted dev node stamps its
    /// blocks as far ahead as before (not 1 ms after the head until its clock catches up).
    fn keep_clock_offset(&self, offset_ms: i64) -> ChainResult<()> {
        self.store.set_setting(CLOCK_OFFSET, &offset_ms.to_be_bytes())?;
        self.clock_offset_ms.store(offset_ms, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Stamps the next proposal at `timestamp_ms` (and the later ones from there), given the
    /// clock reads `now_ms` (a dev chain's `evm_setNextBlockTimestamp`): after the head's time,
    /// at most [`MAX_TIMESTAMP_MS`].
    pub fn set_next_timestamp(&self, timestamp_ms: u64, now_ms: u64) -> ChainResult<()> {
        let head = self.head()?.timestamp_ms;
        if timestamp_ms <= head || timestamp_ms > MAX_TIMESTAMP_MS {
            return Err(ChainError::InvalidBlock(format!(
                "timestamp {timestamp_ms} ms is not after the head's ({head} ms) or is past {MAX_TIMESTAMP_MS} ms"
            )));
        }
        self.keep_clock_offset(timestamp_ms as i64 - now_ms.min(MAX_TIMESTAMP_MS) as i64)
    }

    /// How many transactions the committed blocks hold.
    pub fn transaction_count(&self) -> ChainResult<u64> {
        Ok(self.store.transaction_count()?)
    }

    /// The heights whose state [`Chain::snapshot_at`] serves, oldest and head.
    pub fn kept_states(&self) -> ChainResult<Option<(u64, u64)>> {
        Ok(self.store.kept_states()?)
    }

    /// The block `ancestors` end at and the state after it. `ancestors` are executed blocks not
    /// yet committed, newest first, each the parent of the one before; the oldest still
    /// uncommitted must extend the committed head (the ones committed meanwhile are read from
    /// the store). With no ancestors, the committed head.
    fn view_after(&self, ancestors: &[Arc<ProposedBlock>]) -> ChainResult<(ChainHead, TipState)> {
        let snapshot = self.store.snapshot()?;
        let committed = snapshot
            .head()
            .cloned()
            .ok_or_else(|| ChainError::Genesis("no genesis block".into()))?;
        let parent = ancestors.first().map_or_else(|| committed.clone(), |b| b.head());
        let live: Vec<Arc<ProposedBlock>> = ancestors
            .iter()
            .take_while(|b| b.block.header.height > committed.height)
            .cloned()
            .collect();
        let joins = match live.last() {
            Some(oldest) => oldest.block.header.parent_hash == committed.hash,
            None => parent.hash == committed.hash,
        };
        if !joins {
            return Err(ChainError::InvalidBlock(format!(
                "block {} is not on the committed chain (head {})",
                parent.height, committed.height
            )));
        }
        Ok((parent, TipState { overlays: live, snapshot }))
    }

    /// The tip — the pending block if one is being committed, else the head — and its state.
    fn tip_view(&self) -> ChainResult<(ChainHead, TipState)> {
        // Pending is cleared only after its commit returned, so reading it first never misses a block.
        let pending: Vec<Arc<ProposedBlock>> = self.pending.lock().iter().cloned().collect();
        self.view_after(&pending)
    }

    /// The state after `ancestors` (see [`Chain::propose_after`]): what a proposer picks
    /// transactions against.
    pub fn state_after(&self, ancestors: &[Arc<ProposedBlock>]) -> ChainResult<TipState> {
        Ok(self.view_after(ancestors)?.1)
    }

    /// The base fee of the block after `ancestors`.
    pub fn base_fee_after(&self, ancestors: &[Arc<ProposedBlock>]) -> ChainResult<u64> {
        let (parent, _) = self.view_after(ancestors)?;
        Ok(self.env_after(&parent, 0, self.proposer).base_fee_per_gas)
    }

    /// State at the tip, including a block whose commit is under way: what new blocks and the
    /// mempool's nonce bookkeeping build on.
    pub fn tip_state(&self) -> ChainResult<TipState> {
        Ok(self.tip_view()?.1)
    }

    /// The environment of the block after `parent`: its base fee follows the parent's gas use.
    /// (The fields a VM owns, like the EVM's base fee, its [`nvm_vm_api::ChainHooks`] set.)
    fn env_after(&self, parent: &ChainHead, timestamp_ms: u64, proposer: IdCom) -> BlockEnv {
        let mut env = BlockEnv {
            chain_id: self.chain_id(),
            height: parent.height + 1,
            timestamp_ms,
            proposer,
            parent_hash: parent.hash,
            base_fee_per_gas: parent.base_fee_per_gas,
            gas_limit: self.executor.config.block_gas_limit,
        };
        let parent = parent_block(parent);
        for hooks in self.executor.vms.hooks() {
            hooks.next_env(&parent, &mut env);
        }
        env
    }

    /// The environment of block 0, as the registered VMs set it.
    fn genesis_env(&self, genesis: &Genesis) -> BlockEnv {
        let mut env = BlockEnv {
            chain_id: genesis.chain_id,
            height: 0,
            timestamp_ms: genesis.timestamp_ms,
            proposer: [0; 32],
            parent_hash: [0; 32],
            base_fee_per_gas: 0,
            gas_limit: genesis.block_gas_limit,
        };
        for hooks in self.executor.vms.hooks() {
            hooks.genesis_env(&mut env);
        }
        env
    }

    /// The base fee per gas of the next block (what Ethereum transactions must offer at least).
    pub fn next_base_fee(&self) -> ChainResult<u64> {
        let (parent, _) = self.tip_view()?;
        Ok(self.env_after(&parent, 0, self.proposer).base_fee_per_gas)
    }

    /// Verifies raw transactions and admits them to `mempool`, checked at the tip (a block
    /// still being committed counts) for the next block's base fee.
    pub fn submit(
        &self,
        mempool: &crate::Mempool,
        raws: Vec<Vec<u8>>,
    ) -> ChainResult<Vec<Result<nvm_primitives::TxHash, crate::AdmissionError>>> {
        let results = self.submit_from_peer(mempool, raws.clone())?;
        self.acknowledge(mempool, &crate::admitted(&raws, &results))?;
        Ok(results)
    }

    /// What happens to a client's admitted transactions before the client hears of it: they
    /// are journaled (durable) and announced to the other validators.
    fn acknowledge(&self, mempool: &crate::Mempool, admitted: &[&[u8]]) -> ChainResult<()> {
        mempool
            .record_local(admitted)
            .map_err(|e| StoreError::Db(format!("cannot journal transactions: {e}")))?;
        for raw in admitted {
            mempool.announce(raw);
        }
        Ok(())
    }

    /// Transactions a journal kept from before a restart go back into `mempool` and to the
    /// other validators; the journal keeps only those still valid (the rest were included
    /// meanwhile). Returns how many were journaled and how many re-admitted.
    ///
    /// They were acknowledged when the base fee allowed them: one whose fee cap the base fee has
    /// since passed waits in the pool for it to fall, as any pending transaction does (block
    /// building skips it meanwhile), instead of being dropped — so they are checked against
    /// every rule but the base fee.
    pub fn readmit(
        &self,
        mempool: &crate::Mempool,
        journaled: Vec<Vec<u8>>,
    ) -> ChainResult<(usize, usize)> {
        if journaled.is_empty() {
            return Ok((0, 0));
        }
        let (mut next, state) = self.next_block(0)?;
        next.base_fee_per_gas = 0;
        let results = mempool.submit_raw(&self.executor, &state, &next, journaled.clone());
        let admitted = crate::admitted(&journaled, &results);
        mempool
            .reset_journal(&admitted)
            .map_err(|e| StoreError::Db(format!("cannot rewrite the transaction journal: {e}")))?;
        for raw in &admitted {
            mempool.announce(raw);
        }
        Ok((journaled.len(), admitted.len()))
    }

    /// [`Chain::submit`] of transactions another validator gossiped: admitted, not announced
    /// again.
    pub fn submit_from_peer(
        &self,
        mempool: &crate::Mempool,
        raws: Vec<Vec<u8>>,
    ) -> ChainResult<Vec<Result<nvm_primitives::TxHash, crate::AdmissionError>>> {
        let (next, state) = self.next_block(0)?;
        Ok(mempool.submit_raw(&self.executor, &state, &next, raws))
    }

    /// [`Chain::submit`] of one transaction already decoded and verified.
    pub fn submit_verified(
        &self,
        mempool: &crate::Mempool,
        tx: VerifiedTx,
    ) -> ChainResult<Result<nvm_primitives::TxHash, crate::AdmissionError>> {
        let (next, state) = self.next_block(0)?;
        let raw = tx.raw().to_vec();
        let result = mempool.admit(&self.executor, &state, &next, tx);
        if result.is_ok() {
            self.acknowledge(mempool, &[&raw])?;
        }
        Ok(result)
    }

    /// The environment of the block after the tip (at `timestamp_ms`), and the tip's state: what
    /// admission and simulations check against.
    pub fn next_block(&self, timestamp_ms: u64) -> ChainResult<(BlockEnv, TipState)> {
        let (parent, state) = self.tip_view()?;
        // Never before the tip: admission checks time locks against it.
        let timestamp_ms = timestamp_ms.max(parent.timestamp_ms.saturating_add(1));
        Ok((self.env_after(&parent, timestamp_ms, self.proposer), state))
    }

    /// Executes declared transactions (in the given order) on `snapshot` as the block after the
    /// head, and computes its header.
    fn build(
        &self,
        state: &TipState,
        env: &BlockEnv,
        parent: &ChainHead,
        declared: Vec<(VerifiedTx, AccessSet)>,
    ) -> ChainResult<ProposedBlock> {
        let started = Instant::now();
        let mut outcome = self.executor.execute_declared(state, env, declared, self.mode)?;
        let execution = started.elapsed();
        let mut writes = std::mem::take(&mut outcome.writes);
        writes.extend(self.closing_writes(state, parent, env)?);
        let started = Instant::now();
        let parent_trees: Vec<&PreparedState> =
            state.overlays.iter().map(|b| b.prepared.as_ref()).collect();
        let prepared = self.store.prepare_state(&writes, env.height, &parent_trees)?;
        let state_root = started.elapsed();
        let receipts: Vec<Receipt> = outcome.included.iter().map(|i| i.receipt.clone()).collect();
        let receipt_hashes: Vec<[u8; 32]> = receipts.iter().map(|r| sha256(&r.encode())).collect();
        let header = BlockHeader {
            chain_id: env.chain_id,
            height: env.height,
            parent_hash: parent.hash,
            timestamp_ms: env.timestamp_ms,
            proposer: env.proposer,
            tx_root: nvm_primitives::tx_root(outcome.included.iter().map(|i| i.tx.raw())),
            receipts_root: list_commitment(&receipt_hashes),
            state_root: prepared.root,
            gas_used: outcome.gas_used,
            base_fee_per_gas: env.base_fee_per_gas,
        };
        let transactions = outcome.included.into_iter().map(|i| i.tx.raw().to_vec()).collect();
        Ok(ProposedBlock {
            block: Block { header, transactions },
            receipts,
            rejected: outcome.rejected,
            fell_back_to_serial: outcome.fell_back_to_serial,
            timings: BlockTimings { ordering: Duration::ZERO, execution, state_root },
            writes: Arc::new(writes),
            prepared: Arc::new(prepared),
            noted_balances: std::mem::take(&mut outcome.noted_balances),
        })
    }

    /// What the chain itself writes as the block `env` (after `parent`) closes, besides its
    /// transactions: the block's meta, each VM's closing writes (the Solana recent-blockhash
    /// window) against `state`, the state before the block; then the parent's hash joins the
    /// window BLOCKHASH reads, and the one that left it is dropped.
    fn closing_writes(
        &self,
        state: &dyn StateReader,
        parent: &ChainHead,
        env: &BlockEnv,
    ) -> ChainResult<nvm_vm_api::BlockWrites> {
        let meta = BlockMeta {
            height: env.height,
            timestamp_ms: env.timestamp_ms,
            parent_hash: parent.hash,
        };
        let mut closing = nvm_vm_api::BlockWrites::new();
        closing.insert(block_meta_key(), Some(borsh::to_vec(&meta).expect("vec write")));
        for hooks in self.executor.vms.hooks() {
            hooks.end_block(state, &parent_block(parent), env, &mut closing)?;
        }
        closing.insert(block_hash_key(parent.height), Some(parent.hash.to_vec()));
        if let Some(old) = parent.height.checked_sub(BLOCK_HASH_WINDOW) {
            closing.insert(block_hash_key(old), None);
        }
        Ok(closing)
    }

    /// Builds the next block from candidate transactions (ordered into lanes first).
    pub fn propose(
        &self,
        candidates: Vec<VerifiedTx>,
        timestamp_ms: u64,
    ) -> ChainResult<ProposedBlock> {
        let pending: Vec<Arc<ProposedBlock>> = self.pending.lock().iter().cloned().collect();
        self.propose_after(&pending, candidates, timestamp_ms)
    }

    /// Builds a block on the last of `ancestors` — executed blocks not yet committed, newest
    /// first, down to the committed head (empty: on the head). Consensus builds on notarized
    /// blocks before they are final.
    pub fn propose_after(
        &self,
        ancestors: &[Arc<ProposedBlock>],
        candidates: Vec<VerifiedTx>,
        timestamp_ms: u64,
    ) -> ChainResult<ProposedBlock> {
        let _guard = self.build_lock.lock();
        let (parent, state) = self.view_after(ancestors)?;
        let env = self.env_after(
            &parent,
            timestamp_ms.max(parent.timestamp_ms.saturating_add(1)),
            self.proposer,
        );
        let started = Instant::now();
        let ordered = self.executor.order_for_block(&state, &env, candidates);
        let ordering = started.elapsed();
        let mut proposed = self.build(&state, &env, &parent, ordered)?;
        proposed.timings.ordering = ordering;
        Ok(proposed)
    }

    /// Re-executes a block proposed elsewhere on the tip; it is valid only if every transaction
    /// verifies and executes, and the recomputed header is identical.
    pub fn verify(&self, block: &Block) -> ChainResult<ProposedBlock> {
        let pending: Vec<Arc<ProposedBlock>> = self.pending.lock().iter().cloned().collect();
        self.verify_after(&pending, block)
    }

    /// [`Chain::verify`] of a block whose parent is the first of `ancestors` (as in
    /// [`Chain::propose_after`]).
    pub fn verify_after(
        &self,
        ancestors: &[Arc<ProposedBlock>],
        block: &Block,
    ) -> ChainResult<ProposedBlock> {
        self.verify_after_known(ancestors, block, |_| None)
    }

    /// [`Chain::verify_after`], taking transactions verified before from `known` (see
    /// [`VerifiedTx::verify_many_known`]).
    pub fn verify_after_known(
        &self,
        ancestors: &[Arc<ProposedBlock>],
        block: &Block,
        known: impl Fn(&[u8]) -> Option<VerifiedTx> + Sync,
    ) -> ChainResult<ProposedBlock> {
        let _guard = self.build_lock.lock();
        let (parent, state) = self.view_after(ancestors)?;
        let h = &block.header;
        if h.chain_id != self.chain_id()
            || h.height != parent.height + 1
            || h.parent_hash != parent.hash
        {
            return Err(ChainError::InvalidBlock(format!(
                "block {} does not extend head {}",
                h.height, parent.height
            )));
        }
        if h.timestamp_ms <= parent.timestamp_ms {
            return Err(ChainError::InvalidBlock(format!(
                "block {} is not later than its parent",
                h.height
            )));
        }
        let mut txs = Vec::with_capacity(block.transactions.len());
        for (i, verified) in
            VerifiedTx::verify_many_known(&self.executor.vms, block.transactions.clone(), known)
                .into_iter()
                .enumerate()
        {
            txs.push(
                verified.map_err(|e| ChainError::InvalidBlock(format!("transaction {i}: {e}")))?,
            );
        }
        let env = self.env_after(&parent, h.timestamp_ms, h.proposer);
        if h.gas_used > env.gas_limit {
            return Err(ChainError::InvalidBlock(format!(
                "block {} uses {} gas, over the block gas limit {}",
                h.height, h.gas_used, env.gas_limit
            )));
        }
        let declared = self.executor.declare_all(&state, &env, txs);
        let rebuilt = self.build(&state, &env, &parent, declared)?;
        if let Some((tx, e)) = rebuilt.rejected.first() {
            return Err(ChainError::InvalidBlock(format!(
                "transaction 0x{} is invalid: {e}",
                hex::encode(tx.hash())
            )));
        }
        if rebuilt.block.header != *h {
            return Err(ChainError::InvalidBlock(
                "header does not match re-execution (state, tx or receipts root)".into(),
            ));
        }
        Ok(rebuilt)
    }

    /// Persists an executed block; when this returns, the block survives any crash.
    pub fn commit(&self, proposed: &ProposedBlock) -> ChainResult<ChainHead> {
        let _guard = self.commit_lock.lock();
        let ProposedBlock { block, receipts, writes, prepared, noted_balances, .. } = proposed;
        // Under the commit lock the store's head is this block's parent.
        let result = self.store.snapshot().map_err(ChainError::from).and_then(|before| {
            let index = self.index_changes(&before, block, writes, noted_balances)?;
            Ok(self.store.commit_block(block, receipts, writes, &index, prepared)?)
        });
        // Whether it landed or failed, this block is no longer the pending one.
        let mut pending = self.pending.lock();
        if pending.as_ref().is_some_and(|p| p.block.header.height == block.header.height) {
            *pending = None;
        }
        let head = result?;
        self.heads.send_replace(head.clone());
        Ok(head)
    }

    /// Wakes on every durably committed block (the receiver starts at the current head).
    pub fn watch_heads(&self) -> tokio::sync::watch::Receiver<ChainHead> {
        self.heads.subscribe()
    }

    /// Starts committing an executed block on another thread and returns at once; the next block
    /// can be proposed on top of it meanwhile. At most one block may be pending: join the
    /// returned handle before handing over the next. Its receipts are served only once the
    /// commit returned, so nothing is acknowledged before it is durable.
    pub fn commit_in_background(
        self: &Arc<Self>,
        proposed: ProposedBlock,
    ) -> ChainResult<JoinHandle<ChainResult<(ChainHead, Duration)>>> {
        let proposed = Arc::new(proposed);
        {
            let mut pending = self.pending.lock();
            if let Some(p) = pending.as_ref() {
                return Err(ChainError::InvalidBlock(format!(
                    "block {} is still being committed",
                    p.block.header.height
                )));
            }
            *pending = Some(proposed.clone());
        }
        let chain = self.clone();
        Ok(std::thread::Builder::new()
            .name("nvm-commit".into())
            .spawn(move || {
                let started = Instant::now();
                let head = chain.commit(&proposed)?;
                Ok((head, started.elapsed()))
            })
            .map_err(|e| StoreError::Db(format!("cannot start the commit thread: {e}")))?)
    }
}

/// Every key of the index under `prefix` at `snapshot`, a page at a time.
fn index_keys(snapshot: &Snapshot, prefix: &[u8]) -> ChainResult<Vec<Vec<u8>>> {
    const PAGE: usize = 4_096;
    let mut keys = Vec::new();
    let mut from = prefix.to_vec();
    loop {
        let page = snapshot.scan_index(prefix, &from, PAGE)?;
        let Some((last, _)) = page.last() else { return Ok(keys) };
        from = [last.as_slice(), &[0]].concat();
        keys.extend(page.into_iter().map(|(key, _)| key));
    }
}

/// What the VMs' block hooks see of a parent block.
fn parent_block(head: &ChainHead) -> nvm_vm_api::ParentBlock {
    nvm_vm_api::ParentBlock {
        height: head.height,
        hash: head.hash,
        gas_used: head.gas_used,
        base_fee_per_gas: head.base_fee_per_gas,
    }
}

/// A read view of committed state at one block, as the node hands it out: the storage engine's
/// snapshot behind the node's own type, so nothing above the node names the engine.
pub struct StateSnapshot(Snapshot);

impl StateSnapshot {
    /// The height of the block whose state this is (`None` before genesis).
    pub fn height(&self) -> Option<u64> {
        self.0.height()
    }

    /// The block whose state this is (`None` before genesis).
    pub fn head(&self) -> Option<&ChainHead> {
        self.0.head()
    }

    /// The secondary index's entries under `prefix` at this block, from `from` on, at most
    /// `limit`.
    pub fn scan_index(
        &self,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> ChainResult<IndexEntries> {
        Ok(self.0.scan_index(prefix, from, limit)?)
    }
}

impl StateReader for StateSnapshot {
    fn get(&self, key: &nvm_primitives::StateKey) -> nvm_state_api::StateResult<Option<Vec<u8>>> {
        self.0.get(key)
    }
}
