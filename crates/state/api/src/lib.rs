//! The state interface between VMs, the executor and storage.
//!
//! State is a flat map from 32-byte keys (each a SHA-256 of a domain prefix and fields, as in the
//! paper's `SHA-256("balance:" ‖ mint ‖ id_com)`) to byte values.

mod access;
mod block_state;
mod overlay;

pub use access::AccessSet;
pub use block_state::{AfterWrites, BlockState, IndexEntries, IndexWrites, WriteSet};
pub use nvm_primitives::StateKey;
pub use overlay::{Checkpoint, TxOverlay};

use std::collections::{HashMap, HashSet};

/// How maps and sets of state keys hash them: foldhash, seeded per process, instead of std's
/// SipHash — a key is already a SHA-256 output, and every transaction looks keys up in several of
/// these (its overlay, its access sets, the block's writes, the store's cache). Random seeding
/// keeps a sender from grinding keys into one bucket.
pub type KeyHasher = foldhash::fast::RandomState;
/// A map from state keys ([`KeyHasher`]).
pub type KeyMap<V> = HashMap<StateKey, V, KeyHasher>;
/// A set of state keys ([`KeyHasher`]).
pub type KeySet = HashSet<StateKey, KeyHasher>;

/// Failures of the state backend itself (never caused by a transaction's content).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("storage backend failed: {0}")]
    Backend(String),
    #[error("corrupt state value at key 0x{key}: {reason}")]
    Corrupt { key: String, reason: String },
}

pub type StateResult<T> = Result<T, StateError>;

/// Read-only access to a consistent state snapshot; shared between threads during parallel execution.
pub trait StateReader: Send + Sync {
    fn get(&self, key: &StateKey) -> StateResult<Option<Vec<u8>>>;
}

impl<T: StateReader + ?Sized> StateReader for &T {
    fn get(&self, key: &StateKey) -> StateResult<Option<Vec<u8>>> {
        (**self).get(key)
    }
}

impl<T: StateReader + ?Sized> StateReader for Box<T> {
    fn get(&self, key: &StateKey) -> StateResult<Option<Vec<u8>>> {
        (**self).get(key)
    }
}

/// What a VM may do to state while executing one transaction.
pub trait StateAccess {
    fn get(&mut self, key: &StateKey) -> StateResult<Option<Vec<u8>>>;
    fn set(&mut self, key: StateKey, value: Vec<u8>);
    fn delete(&mut self, key: StateKey);

    /// Notes that `holder`'s balance of `mint` was written: state keys are hashes, so the
    /// node's index of holders (no part of consensus) learns whose balances a block changed
    /// from these notes. A note of a write later reverted is harmless (the index reads the
    /// balance the block left); a missed one leaves the index stale.
    fn note_balance(&mut self, _mint: &[u8; 32], _holder: &[u8; 32]) {}
}

/// Typed helpers over [`StateAccess`]: borsh-encoded values, absent = default where it makes sense.
pub trait StateAccessExt: StateAccess {
    fn get_decoded<T: borsh::BorshDeserialize>(
        &mut self,
        key: &StateKey,
    ) -> StateResult<Option<T>> {
        self.get(key)?.map(|bytes| decode_value(key, &bytes)).transpose()
    }

    fn set_encoded<T: borsh::BorshSerialize>(&mut self, key: StateKey, value: &T) {
        self.set(key, borsh::to_vec(value).expect("writing to a Vec cannot fail"));
    }

    fn get_u128(&mut self, key: &StateKey) -> StateResult<u128> {
        Ok(self.get_decoded(key)?.unwrap_or(0))
    }

    /// Stores `value`, deleting the key when it is zero so that empty balances leave no trace.
    fn set_u128(&mut self, key: StateKey, value: u128) {
        if value == 0 { self.delete(key) } else { self.set_encoded(key, &value) }
    }

    fn get_u64(&mut self, key: &StateKey) -> StateResult<u64> {
        Ok(self.get_decoded(key)?.unwrap_or(0))
    }
}

impl<T: StateAccess + ?Sized> StateAccessExt for T {}

/// Decodes a borsh value read from state, naming the key when the bytes are corrupt.
pub fn decode_value<T: borsh::BorshDeserialize>(key: &StateKey, bytes: &[u8]) -> StateResult<T> {
    borsh::from_slice(bytes).map_err(|e| StateError::Corrupt {
        key: key.iter().map(|b| format!("{b:02x}")).collect(),
        reason: e.to_string(),
    })
}

/// A complete in-memory state, for tests, benchmarks and genesis building.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryState {
    pub entries: HashMap<StateKey, Vec<u8>>,
}

impl MemoryState {
    /// Applies a block's writes.
    pub fn apply(&mut self, writes: &WriteSet) {
        for (key, value) in writes {
            match value {
                Some(v) => self.entries.insert(*key, v.clone()),
                None => self.entries.remove(key),
            };
        }
    }
}

impl StateReader for MemoryState {
    fn get(&self, key: &StateKey) -> StateResult<Option<Vec<u8>>> {
        Ok(self.entries.get(key).cloned())
    }
}

/// How much state history a node keeps, so that reads at a recent block (`eth_call` at block
/// N, a trace replaying a block) see the state as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryWindow {
    /// The state after each of the last `n` blocks before the head (0: the head only).
    Blocks(u64),
    /// Every block's state since history was first kept (an archive node).
    All,
}

impl Default for HistoryWindow {
    /// geth's and reth's default: the last 128 blocks.
    fn default() -> Self {
        Self::Blocks(128)
    }
}

impl HistoryWindow {
    /// Whether blocks record what they change (all but `Blocks(0)`).
    pub fn records(self) -> bool {
        self != Self::Blocks(0)
    }
}
