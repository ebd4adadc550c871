//! The writes of a block so far, layered over committed state.

use crate::KeyMap;
use crate::{StateKey, StateReader, StateResult};
use std::collections::BTreeMap;

/// A block's final write set, sorted by key (as the Merkle tree wants it); `None` deletes.
pub type WriteSet = BTreeMap<StateKey, Option<Vec<u8>>>;

/// Changes to the node's secondary index (`None` deletes): entries a VM keeps beside the state,
/// under keys of its own prefix, to find accounts by a field (a Solana account by its owner
/// program) without scanning the state, whose keys are hashes. Not consensus state: no root
/// commits to it, and each node derives it from the blocks it commits.
pub type IndexWrites = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Index entries as a scan reads them: key and value, in key order.
pub type IndexEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// Committed state plus the writes of the transactions executed so far in this block. Read-only
/// while a batch executes in parallel; transactions' writes are merged between batches.
pub struct BlockState<'a> {
    base: &'a dyn StateReader,
    writes: KeyMap<Option<Vec<u8>>>,
}

impl<'a> BlockState<'a> {
    pub fn new(base: &'a dyn StateReader) -> Self {
        Self { base, writes: KeyMap::default() }
    }

    pub fn merge(&mut self, writes: KeyMap<Option<Vec<u8>>>) {
        self.writes.extend(writes);
    }

    pub fn into_write_set(self) -> WriteSet {
        self.writes.into_iter().collect()
    }
}

impl StateReader for BlockState<'_> {
    fn get(&self, key: &StateKey) -> StateResult<Option<Vec<u8>>> {
        match self.writes.get(key) {
            Some(entry) => Ok(entry.clone()),
            None => self.base.get(key),
        }
    }
}

/// The state after a block: its final writes over the state before it.
pub struct AfterWrites<'a> {
    before: &'a dyn StateReader,
    writes: &'a WriteSet,
}

impl<'a> AfterWrites<'a> {
    pub fn new(before: &'a dyn StateReader, writes: &'a WriteSet) -> Self {
        Self { before, writes }
    }
}

impl StateReader for AfterWrites<'_> {
    fn get(&self, key: &StateKey) -> StateResult<Option<Vec<u8>>> {
        match self.writes.get(key) {
            Some(entry) => Ok(entry.clone()),
            None => self.before.get(key),
        }
    }
}
