//! The redb database and its tables.

use crate::cache::StateCache;
use crate::merkle::JmtReader;
use borsh::BorshDeserialize;
use jmt::{JellyfishMerkleTree, KeyHash, storage::TreeUpdateBatch};
use nvm_primitives::{Block, Receipt, StateKey, TxHash};
use nvm_state_api::{
    HistoryWindow, IndexEntries, IndexWrites, StateError, StateReader, StateResult, WriteSet,
};
use redb::{
    Database, Durability, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition, TableError,
};
use std::{path::Path, sync::Arc};

/// Latest value of every state key.
pub(crate) const STATE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("state");
/// Jellyfish Merkle Tree nodes, keyed by borsh(NodeKey).
pub(crate) const JMT_NODES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("jmt_nodes");
/// Blocks by height (borsh).
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
/// Block height by block hash.
const BLOCK_HASHES: TableDefinition<'_, &[u8], u64> = TableDefinition::new("block_hashes");
/// Receipts by transaction hash (borsh); a receipt also locates its transaction.
const RECEIPTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("receipts");
/// State history: key ‖ height (big-endian) → the key's value before the block at that height
/// wrote it ([`encode_before`]). Reading state at an older block finds the first change after it.
const HISTORY: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("history");
/// The keys each kept block changed (32 bytes each, concatenated), to prune its history.
const HISTORY_KEYS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("history_keys");
/// The VMs' secondary index ([`IndexWrites`]): written with each block, never hashed.
const INDEX: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("index");
/// Singletons: the chain head, whether the index covers every committed block, and the first
/// block of the kept history.
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const HEAD: &str = "head";
const INDEXED: &str = "indexed";
/// The layout of the secondary index; a database whose index has another (or none) is
/// re-indexed once when it opens. 2: the ledger's holders joined the VMs' entries.
const INDEX_VERSION: u8 = 2;
const HISTORY_FROM: &str = "history_from";
/// The highest block whose change set pruning removed: no state before it can be rebuilt,
/// whatever window the node runs with later.
const PRUNED_THROUGH: &str = "pruned_through";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failure: {0}")]
    Db(String),
    #[error("corrupt record in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("state root computation failed: {0}")]
    Merkle(String),
    #[error("block {got} does not extend the head (expected height {expected})")]
    NotNextBlock { expected: u64, got: u64 },
    /// The secondary index has no history: it is read at the head only.
    #[error("the secondary index is kept at the head only, not at block {height}")]
    IndexAtHeadOnly { height: u64 },
    /// State at `height` is not kept: older than the history window, or past the head.
    #[error("state at block {height} is not kept (kept: blocks {oldest}..={head})")]
    NotKept { height: u64, oldest: u64, head: u64 },
}

macro_rules! db_err {
    ($($t:ty),*) => {$(impl From<$t> for StoreError {
        fn from(e: $t) -> Self { Self::Db(e.to_string()) }
    })*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<StoreError> for StateError {
    fn from(e: StoreError) -> Self {
        Self::Backend(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub use nvm_primitives::{ChainHead, StateProof, TxLocation};

/// Checks that `state_root` commits to `value` at `key` (absence when `value` is `None`).
/// Needs only the root from a block header: this is what a light client runs.
pub fn verify_state_proof(
    state_root: &[u8; 32],
    key: &StateKey,
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<(), String> {
    let proof: jmt::proof::SparseMerkleProof<sha2::Sha256> =
        borsh::from_slice(proof).map_err(|e| format!("malformed proof: {e}"))?;
    proof.verify(jmt::RootHash(*state_root), KeyHash(*key), value).map_err(|e| e.to_string())
}

/// A block's new state root, with the tree nodes to write when the block commits.
pub struct PreparedState {
    pub root: [u8; 32],
    pub version: u64,
    batch: TreeUpdateBatch,
}

/// The node's database.
pub struct Store {
    db: Database,
    cache: Arc<StateCache>,
    history: HistoryWindow,
}

fn decode<T: BorshDeserialize>(table: &'static str, bytes: &[u8]) -> StoreResult<T> {
    borsh::from_slice(bytes).map_err(|e| StoreError::Corrupt { table, reason: e.to_string() })
}

pub(crate) fn open_read<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    def: TableDefinition<'_, K, V>,
) -> StoreResult<Option<ReadOnlyTable<K, V>>> {
    match txn.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The chain head as `txn` sees it.
fn read_head(txn: &ReadTransaction) -> StoreResult<Option<ChainHead>> {
    let Some(meta) = open_read(txn, META)? else { return Ok(None) };
    meta.get(HEAD)?.map(|v| decode("meta", v.value())).transpose()
}

impl Store {
    /// Opens (or creates) the database file at `path`. An interrupted commit is rolled back by
    /// redb's recovery, so what is found is exactly the last committed block.
    pub fn open(path: &Path) -> StoreResult<Self> {
        Self::over(Database::create(path)?)
    }

    /// A store in memory (gone when dropped): the same engine and proofs, for tests of what runs
    /// over the node.
    pub fn in_memory() -> StoreResult<Self> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Self::over(db)
    }

    fn over(db: Database) -> StoreResult<Self> {
        let store = Self { db, cache: Arc::default(), history: HistoryWindow::default() };
        if let Some(head) = store.head()? {
            store.cache.advance(head.height, &WriteSet::new());
        }
        Ok(store)
    }

    /// How much state history to keep from now on (blocks committed before keep what they had).
    pub fn with_history(mut self, history: HistoryWindow) -> Self {
        self.history = history;
        self
    }

    pub fn head(&self) -> StoreResult<Option<ChainHead>> {
        read_head(&self.db.begin_read()?)
    }

    /// A consistent view of the latest committed state (and of the index at the same block).
    pub fn snapshot(&self) -> StoreResult<Snapshot> {
        let txn = self.db.begin_read()?;
        let table = open_read(&txn, STATE)?;
        let index = open_read(&txn, INDEX)?;
        let head = read_head(&txn)?;
        Ok(Snapshot { table, index, head, cache: self.cache.clone(), past: None })
    }

    /// The state as it was after the block at `height`, read through the kept history; the
    /// head's own snapshot when `height` is the head. [`StoreError::NotKept`] when the history
    /// no longer (or never) covers it. The index is the head's (it keeps no history).
    pub fn snapshot_at(&self, height: u64) -> StoreResult<Snapshot> {
        let txn = self.db.begin_read()?;
        let Some(head) = read_head(&txn)? else {
            return Err(StoreError::NotKept { height, oldest: 0, head: 0 });
        };
        let oldest = self.oldest_state(&txn, head.height)?;
        if height > head.height || height < oldest {
            return Err(StoreError::NotKept { height, oldest, head: head.height });
        }
        let table = open_read(&txn, STATE)?;
        let index = open_read(&txn, INDEX)?;
        if height == head.height {
            return Ok(Snapshot {
                table,
                index,
                head: Some(head),
                cache: self.cache.clone(),
                past: None,
            });
        }
        let block: Option<Block> = match open_read(&txn, BLOCKS)? {
            Some(blocks) => blocks.get(height)?.map(|v| decode("blocks", v.value())).transpose()?,
            None => None,
        };
        let block = block.ok_or(StoreError::NotKept { height, oldest, head: head.height })?;
        let past = Some(Past { height, history: open_read(&txn, HISTORY)? });
        let head = Some(ChainHead::of(&block.header));
        Ok(Snapshot { table, index, head, cache: self.cache.clone(), past })
    }

    /// The oldest height whose state the kept history reconstructs, with the head at `head`.
    fn oldest_state(&self, txn: &ReadTransaction, head: u64) -> StoreResult<u64> {
        let (recorded_from, pruned_through): (Option<u64>, Option<u64>) =
            match open_read(txn, META)? {
                Some(meta) => (
                    meta.get(HISTORY_FROM)?.map(|v| decode("meta", v.value())).transpose()?,
                    meta.get(PRUNED_THROUGH)?.map(|v| decode("meta", v.value())).transpose()?,
                ),
                None => (None, None),
            };
        // Without history, only the head; a block's change set gives the state before it.
        let Some(from) = recorded_from else { return Ok(head) };
        // The state after a pruned block needs the change sets of the blocks after it only.
        let from = from.max(pruned_through.map_or(0, |p| p + 1));
        let window_start = match self.history {
            HistoryWindow::All => 0,
            HistoryWindow::Blocks(n) => head.saturating_sub(n),
        };
        Ok(from.saturating_sub(1).max(window_start).min(head))
    }

    /// Every state key the blocks after `height` changed, with its value after `height` (each
    /// once, in key order), read in one transaction while the history covers them: what
    /// restoring the state of `height` writes back.
    pub fn changes_since(&self, height: u64) -> StoreResult<Vec<(StateKey, Option<Vec<u8>>)>> {
        let txn = self.db.begin_read()?;
        let keys = self.changed_keys_since(&txn, height)?;
        let Some(history) = open_read(&txn, HISTORY)? else { return Ok(Vec::new()) };
        keys.into_iter()
            .map(|key| {
                let from = history_key(&key, height + 1);
                let to = history_key(&key, u64::MAX);
                let first = history.range(from.as_slice()..=to.as_slice())?.next().transpose()?;
                let first = first.ok_or_else(|| StoreError::Corrupt {
                    table: "history",
                    reason: "a changed key has no change".into(),
                })?;
                Ok((key, decode_before(first.1.value())?))
            })
            .collect()
    }

    /// [`Store::changes_since`]'s keys, as `txn` sees them.
    fn changed_keys_since(&self, txn: &ReadTransaction, height: u64) -> StoreResult<Vec<StateKey>> {
        let head = read_head(txn)?.map_or(0, |h| h.height);
        let oldest = self.oldest_state(txn, head)?;
        if height > head || height < oldest {
            return Err(StoreError::NotKept { height, oldest, head });
        }
        let mut keys = std::collections::BTreeSet::new();
        if let Some(changed) = open_read(txn, HISTORY_KEYS)? {
            for entry in changed.range(height + 1..)? {
                let (_, block_keys) = entry?;
                for key in block_keys.value().chunks_exact(32) {
                    keys.insert(<StateKey>::try_from(key).map_err(|_| StoreError::Corrupt {
                        table: "history_keys",
                        reason: "a key is not 32 bytes".into(),
                    })?);
                }
            }
        }
        Ok(keys.into_iter().collect())
    }

    /// The heights whose state [`Store::snapshot_at`] serves: `(oldest, head)`.
    pub fn kept_states(&self) -> StoreResult<Option<(u64, u64)>> {
        let txn = self.db.begin_read()?;
        let Some(head) = read_head(&txn)? else { return Ok(None) };
        Ok(Some((self.oldest_state(&txn, head.height)?, head.height)))
    }

    /// Whether the index, as it is laid out now, covers every committed block: false for a
    /// database written before the index (or this layout of it) existed, until
    /// [`Store::complete_index`] fills it in.
    pub fn indexed(&self) -> StoreResult<bool> {
        let txn = self.db.begin_read()?;
        let Some(meta) = open_read(&txn, META)? else { return Ok(false) };
        Ok(meta.get(INDEXED)?.is_some_and(|v| v.value() == [INDEX_VERSION]))
    }

    /// A setting of this node's kept beside its chain (none of the chain's: a dev chain's moved
    /// clock), `None` when never set.
    pub fn setting(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let Some(meta) = open_read(&txn, META)? else { return Ok(None) };
        Ok(meta.get(format!("setting:{name}").as_str())?.map(|v| v.value().to_vec()))
    }

    /// Keeps `value` as the setting `name`, durably before it returns.
    pub fn set_setting(&self, name: &str, value: &[u8]) -> StoreResult<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.open_table(META)?.insert(format!("setting:{name}").as_str(), value)?;
        txn.commit()?;
        Ok(())
    }

    /// Writes `index` (built from every committed block) and records that the index is complete.
    pub fn complete_index(&self, index: &IndexWrites) -> StoreResult<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            write_index(&mut txn.open_table(INDEX)?, index)?;
            txn.open_table(META)?.insert(INDEXED, [INDEX_VERSION].as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Computes the state root after applying `writes` at `version` (the block height), on top of
    /// `parents`: the blocks between the committed head and this one, executed but not yet
    /// committed, newest first.
    pub fn prepare_state(
        &self,
        writes: &WriteSet,
        version: u64,
        parents: &[&PreparedState],
    ) -> StoreResult<PreparedState> {
        let txn = self.db.begin_read()?;
        let parent_nodes = parents.iter().map(|p| p.batch.node_batch.nodes()).collect();
        let reader = JmtReader::new(&txn, parent_nodes)?;
        let tree = JellyfishMerkleTree::<_, sha2::Sha256>::new(&reader);
        let values = writes.iter().map(|(k, v)| (KeyHash(*k), v.clone()));
        let (root, batch) =
            tree.put_value_set(values, version).map_err(|e| StoreError::Merkle(e.to_string()))?;
        Ok(PreparedState { root: root.0, version, batch })
    }

    /// Commits a block atomically: block, receipts, state writes, tree nodes, the index's changes
    /// and the new head in one fsync'd transaction. The first block (genesis) marks the index
    /// complete.
    pub fn commit_block(
        &self,
        block: &Block,
        receipts: &[Receipt],
        writes: &WriteSet,
        index: &IndexWrites,
        prepared: &PreparedState,
    ) -> StoreResult<ChainHead> {
        let header = &block.header;
        let expected = self.head()?.map_or(0, |h| h.height + 1);
        if header.height != expected || prepared.version != header.height {
            return Err(StoreError::NotNextBlock { expected, got: header.height });
        }
        if header.state_root != prepared.root {
            return Err(StoreError::Merkle(
                "the header's state root is not the prepared state's".into(),
            ));
        }
        let head = ChainHead::of(header);
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let recording = self.history.records();
            let mut state = txn.open_table(STATE)?;
            let mut history = txn.open_table(HISTORY)?;
            let mut changed = Vec::with_capacity(if recording { writes.len() * 32 } else { 0 });
            for (key, value) in writes {
                let before = match value {
                    Some(v) => state.insert(key.as_slice(), v.as_slice())?,
                    None => state.remove(key.as_slice())?,
                };
                if recording {
                    let before = before.map(|b| b.value().to_vec());
                    history.insert(
                        history_key(key, header.height).as_slice(),
                        encode_before(before.as_deref()).as_slice(),
                    )?;
                    changed.extend_from_slice(key);
                }
            }
            let mut changed_keys = txn.open_table(HISTORY_KEYS)?;
            if recording {
                changed_keys.insert(header.height, changed.as_slice())?;
            }
            let pruned = self.prune_history(&mut history, &mut changed_keys, header.height)?;
            drop((history, changed_keys));
            let mut nodes = txn.open_table(JMT_NODES)?;
            for (key, node) in prepared.batch.node_batch.nodes() {
                let key = borsh::to_vec(key).map_err(|e| StoreError::Merkle(e.to_string()))?;
                let node = borsh::to_vec(node).map_err(|e| StoreError::Merkle(e.to_string()))?;
                nodes.insert(key.as_slice(), node.as_slice())?;
            }
            // Only the head's tree is read (values are kept at their latest version only), so
            // nodes this block replaced are deleted with it: the tree's size tracks the state's.
            for stale in &prepared.batch.stale_node_index_batch {
                let key = borsh::to_vec(&stale.node_key)
                    .map_err(|e| StoreError::Merkle(e.to_string()))?;
                nodes.remove(key.as_slice())?;
            }
            let mut blocks = txn.open_table(BLOCKS)?;
            blocks.insert(header.height, borsh::to_vec(block).expect("vec write").as_slice())?;
            let mut hashes = txn.open_table(BLOCK_HASHES)?;
            hashes.insert(head.hash.as_slice(), header.height)?;
            let mut receipts_table = txn.open_table(RECEIPTS)?;
            for receipt in receipts {
                receipts_table.insert(receipt.tx_hash.as_slice(), receipt.encode().as_slice())?;
            }
            write_index(&mut txn.open_table(INDEX)?, index)?;
            let mut meta = txn.open_table(META)?;
            meta.insert(HEAD, borsh::to_vec(&head).expect("vec write").as_slice())?;
            if header.height == 0 {
                meta.insert(INDEXED, [INDEX_VERSION].as_slice())?;
            }
            if let Some(pruned) = pruned {
                meta.insert(PRUNED_THROUGH, borsh::to_vec(&pruned).expect("vec write").as_slice())?;
            }
            if !self.history.records() {
                meta.remove(HISTORY_FROM)?;
            } else if meta.get(HISTORY_FROM)?.is_none() {
                let from = borsh::to_vec(&header.height).expect("vec write");
                meta.insert(HISTORY_FROM, from.as_slice())?;
            }
        }
        txn.commit()?;
        self.cache.advance(head.height, writes);
        Ok(head)
    }

    /// The head's value of `key` with a Merkle proof against the head's state root (inclusion when
    /// present, exclusion when absent), read in one transaction so the three agree.
    pub fn prove(&self, key: &StateKey) -> StoreResult<StateProof> {
        let mut proofs = self.prove_many(std::slice::from_ref(key))?;
        proofs.pop().ok_or_else(|| StoreError::Merkle("no proof produced".into()))
    }

    /// [`Store::prove`] for several keys, all against the same head.
    pub fn prove_many(&self, keys: &[StateKey]) -> StoreResult<Vec<StateProof>> {
        let txn = self.db.begin_read()?;
        let head = read_head(&txn)?
            .ok_or_else(|| StoreError::Merkle("no committed block to prove against".into()))?;
        let reader = JmtReader::new(&txn, Vec::new())?;
        let tree = JellyfishMerkleTree::<_, sha2::Sha256>::new(&reader);
        keys.iter()
            .map(|key| {
                let (value, proof) = tree
                    .get_with_proof(KeyHash(*key), head.height)
                    .map_err(|e| StoreError::Merkle(e.to_string()))?;
                let proof = borsh::to_vec(&proof).map_err(|e| StoreError::Merkle(e.to_string()))?;
                Ok(StateProof { height: head.height, state_root: head.state_root, value, proof })
            })
            .collect()
    }

    pub fn block(&self, height: u64) -> StoreResult<Option<Block>> {
        let txn = self.db.begin_read()?;
        let Some(blocks) = open_read(&txn, BLOCKS)? else { return Ok(None) };
        blocks.get(height)?.map(|v| decode("blocks", v.value())).transpose()
    }

    pub fn block_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<Block>> {
        let height = {
            let txn = self.db.begin_read()?;
            let Some(hashes) = open_read(&txn, BLOCK_HASHES)? else { return Ok(None) };
            hashes.get(hash.as_slice())?.map(|v| v.value())
        };
        match height {
            Some(h) => self.block(h),
            None => Ok(None),
        }
    }

    /// How many transactions the committed blocks hold (one receipt each; redb keeps the count).
    pub fn transaction_count(&self) -> StoreResult<u64> {
        let txn = self.db.begin_read()?;
        let Some(receipts) = open_read(&txn, RECEIPTS)? else { return Ok(0) };
        Ok(redb::ReadableTableMetadata::len(&receipts)?)
    }

    pub fn receipt(&self, tx_hash: &TxHash) -> StoreResult<Option<Receipt>> {
        let txn = self.db.begin_read()?;
        let Some(receipts) = open_read(&txn, RECEIPTS)? else { return Ok(None) };
        receipts.get(tx_hash.as_slice())?.map(|v| decode("receipts", v.value())).transpose()
    }

    pub fn tx_location(&self, tx_hash: &TxHash) -> StoreResult<Option<TxLocation>> {
        Ok(self.receipt(tx_hash)?.map(|r| TxLocation { height: r.block_height, index: r.index }))
    }
}

/// Blocks' change sets pruned per commit at most: a node that shrinks its window catches up over
/// a few blocks instead of stalling one commit.
const PRUNE_PER_COMMIT: usize = 64;

impl Store {
    /// Drops the change sets of blocks the window no longer covers (all of them without history);
    /// returns the highest block whose change set it dropped.
    fn prune_history(
        &self,
        history: &mut redb::Table<'_, &[u8], &[u8]>,
        changed_keys: &mut redb::Table<'_, u64, &[u8]>,
        head: u64,
    ) -> StoreResult<Option<u64>> {
        let keep_above = match self.history {
            HistoryWindow::All => return Ok(None),
            HistoryWindow::Blocks(0) => head,
            HistoryWindow::Blocks(n) => head.saturating_sub(n),
        };
        let mut expired = Vec::new();
        for entry in changed_keys.range(..=keep_above)?.take(PRUNE_PER_COMMIT) {
            let (height, keys) = entry?;
            expired.push((height.value(), keys.value().to_vec()));
        }
        let highest = expired.last().map(|(height, _)| *height);
        for (height, keys) in expired {
            for key in keys.chunks_exact(32) {
                history.remove(history_key(key, height).as_slice())?;
            }
            changed_keys.remove(height)?;
        }
        Ok(highest)
    }
}

/// A state key's change at `height`: key ‖ height (big-endian), so one key's changes sort by
/// height and the first after a height is one range read.
fn history_key(key: &[u8], height: u64) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..32].copy_from_slice(key);
    out[32..].copy_from_slice(&height.to_be_bytes());
    out
}

/// A value before a block wrote it: 0 for absent, 1 ‖ bytes for present.
fn encode_before(before: Option<&[u8]>) -> Vec<u8> {
    match before {
        None => vec![0],
        Some(bytes) => [&[1u8][..], bytes].concat(),
    }
}

fn decode_before(stored: &[u8]) -> StoreResult<Option<Vec<u8>>> {
    match stored.split_first() {
        Some((0, [])) => Ok(None),
        Some((1, bytes)) => Ok(Some(bytes.to_vec())),
        _ => Err(StoreError::Corrupt { table: "history", reason: "bad value tag".into() }),
    }
}

fn write_index(table: &mut redb::Table<'_, &[u8], &[u8]>, index: &IndexWrites) -> StoreResult<()> {
    for (key, value) in index {
        match value {
            Some(v) => table.insert(key.as_slice(), v.as_slice())?,
            None => table.remove(key.as_slice())?,
        };
    }
    Ok(())
}

/// A read-only view of committed state, shared by the threads executing a block.
pub struct Snapshot {
    table: Option<ReadOnlyTable<&'static [u8], &'static [u8]>>,
    index: Option<ReadOnlyTable<&'static [u8], &'static [u8]>>,
    /// The head this snapshot reads at (`None` before genesis).
    head: Option<ChainHead>,
    cache: Arc<StateCache>,
    /// Set when the snapshot is of a block before the head: values come through the history.
    past: Option<Past>,
}

/// What a snapshot of an older block reads besides the head's state.
struct Past {
    height: u64,
    history: Option<ReadOnlyTable<&'static [u8], &'static [u8]>>,
}

impl Past {
    /// `key`'s value before the first block after `height` that changed it; `None` when no
    /// block since changed it (the head's value stands).
    fn value(&self, key: &StateKey) -> StateResult<Option<Option<Vec<u8>>>> {
        let Some(history) = &self.history else { return Ok(None) };
        let from = history_key(key, self.height + 1);
        let to = history_key(key, u64::MAX);
        let mut range = history
            .range(from.as_slice()..=to.as_slice())
            .map_err(|e| StateError::Backend(e.to_string()))?;
        match range.next() {
            Some(entry) => {
                let (_, value) = entry.map_err(|e| StateError::Backend(e.to_string()))?;
                Ok(Some(decode_before(value.value())?))
            }
            None => Ok(None),
        }
    }
}

impl Snapshot {
    /// The height of the block whose state this is (`None` before genesis).
    pub fn height(&self) -> Option<u64> {
        self.head.as_ref().map(|h| h.height)
    }

    /// The block whose state this is (`None` before genesis).
    pub fn head(&self) -> Option<&ChainHead> {
        self.head.as_ref()
    }

    /// The index's entries under `prefix` at this block, in key order from `from` (a key under
    /// `prefix`, or `prefix` itself for all), at most `limit` of them.
    pub fn scan_index(
        &self,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> StoreResult<IndexEntries> {
        if let Some(past) = &self.past {
            return Err(StoreError::IndexAtHeadOnly { height: past.height });
        }
        let Some(index) = &self.index else { return Ok(Vec::new()) };
        let mut found = Vec::new();
        for entry in index.range(from.max(prefix)..)?.take(limit) {
            let (key, value) = entry?;
            if !key.value().starts_with(prefix) {
                break;
            }
            found.push((key.value().to_vec(), value.value().to_vec()));
        }
        Ok(found)
    }
}

impl StateReader for Snapshot {
    fn get(&self, key: &StateKey) -> StateResult<Option<Vec<u8>>> {
        if let Some(past) = &self.past
            && let Some(value) = past.value(key)?
        {
            return Ok(value);
        }
        // (An older block's snapshot is never at the cache's height: it neither reads nor fills
        // it.)
        let height = self.height();
        if let Some(height) = height
            && let Some(value) = self.cache.get(height, key)
        {
            return Ok(value);
        }
        let Some(table) = &self.table else { return Ok(None) };
        let value = table.get(key.as_slice()).map_err(|e| StateError::Backend(e.to_string()))?;
        let value = value.map(|v| v.value().to_vec());
        if let Some(height) = height {
            self.cache.fill(height, *key, value.clone());
        }
        Ok(value)
    }
}
