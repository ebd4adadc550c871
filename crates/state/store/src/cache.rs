//! Hot state of the committed head, kept in memory so block execution rarely reads redb.

use nvm_primitives::StateKey;
use nvm_state_api::{KeyMap, WriteSet};
use parking_lot::RwLock;

/// Most entries kept; the cache is emptied when it would grow past this (bounded memory without
/// eviction bookkeeping; hot keys come back on the next block).
const CAPACITY: usize = 1 << 20;

#[derive(Default)]
struct Inner {
    /// The head height the entries belong to.
    height: Option<u64>,
    entries: KeyMap<Option<Vec<u8>>>,
}

/// Values (or absence) of state keys at one head height. A snapshot uses it only when taken at
/// that same height, so a reader never mixes two versions of the state.
#[derive(Default)]
pub(crate) struct StateCache {
    inner: RwLock<Inner>,
}

impl StateCache {
    pub(crate) fn get(&self, height: u64, key: &StateKey) -> Option<Option<Vec<u8>>> {
        let inner = self.inner.read();
        if inner.height != Some(height) {
            return None;
        }
        inner.entries.get(key).cloned()
    }

    /// Remembers a value read from redb at `height`, if the cache is still at that height.
    pub(crate) fn fill(&self, height: u64, key: StateKey, value: Option<Vec<u8>>) {
        let mut inner = self.inner.write();
        if inner.height != Some(height) {
            return;
        }
        if inner.entries.len() >= CAPACITY {
            inner.entries.clear();
        }
        inner.entries.insert(key, value);
    }

    /// Moves the cache to `height` after the block at `height` committed with `writes`.
    pub(crate) fn advance(&self, height: u64, writes: &WriteSet) {
        let mut inner = self.inner.write();
        if inner.height.map(|h| h + 1) != Some(height) {
            inner.entries.clear();
        } else {
            for (key, value) in writes {
                if let Some(entry) = inner.entries.get_mut(key) {
                    entry.clone_from(value);
                }
            }
        }
        inner.height = Some(height);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_only_its_height_and_follows_commits() {
        let cache = StateCache::default();
        cache.advance(0, &WriteSet::new());
        cache.fill(0, [1; 32], Some(vec![1]));
        assert_eq!(cache.get(0, &[1; 32]), Some(Some(vec![1])));
        let mut writes = WriteSet::new();
        writes.insert([1; 32], None);
        cache.advance(1, &writes);
        assert_eq!(cache.get(0, &[1; 32]), None, "an older snapshot must not use the cache");
        assert_eq!(cache.get(1, &[1; 32]), Some(None));
        cache.fill(0, [2; 32], Some(vec![2]));
        assert_eq!(cache.get(1, &[2; 32]), None, "an older snapshot must not fill the cache");
        cache.advance(5, &WriteSet::new());
        assert_eq!(cache.get(5, &[1; 32]), None, "a gap empties the cache");
    }
}
