//! A journaled write set over a read-only snapshot: one per transaction.

use crate::{AccessSet, KeyMap, StateAccess, StateKey, StateReader, StateResult};

/// A position in a [`TxOverlay`]'s journal to roll back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint(usize);

/// The writes of one transaction over a snapshot. Every write is journaled so that
/// [`TxOverlay::revert`] restores exactly the state at a checkpoint (the paper's execution
/// isolation: a failing operation leaves nothing behind). It also records what was accessed, so
/// the scheduler can check a transaction stayed within its declared access set.
pub struct TxOverlay<'a> {
    base: &'a dyn StateReader,
    writes: KeyMap<Option<Vec<u8>>>,
    /// Values already read from `base`: a transaction reads its nonce and balances several times.
    cache: KeyMap<Option<Vec<u8>>>,
    /// (key, the overlay's entry before the write), newest last.
    journal: Vec<(StateKey, Option<Option<Vec<u8>>>)>,
    observed: AccessSet,
    /// (mint, holder) of every balance written ([`StateAccess::note_balance`]), reverted
    /// writes included.
    balances: Vec<([u8; 32], [u8; 32])>,
}

impl<'a> TxOverlay<'a> {
    pub fn new(base: &'a dyn StateReader) -> Self {
        Self {
            base,
            writes: KeyMap::default(),
            cache: KeyMap::default(),
            journal: Vec::new(),
            observed: AccessSet::default(),
            balances: Vec::new(),
        }
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint(self.journal.len())
    }

    /// Undoes every write made after `checkpoint`.
    pub fn revert(&mut self, checkpoint: Checkpoint) {
        while self.journal.len() > checkpoint.0 {
            let Some((key, previous)) = self.journal.pop() else { break };
            match previous {
                Some(entry) => self.writes.insert(key, entry),
                None => self.writes.remove(&key),
            };
        }
    }

    /// The keys this transaction read and wrote so far (reverted writes included).
    pub fn observed(&self) -> &AccessSet {
        &self.observed
    }

    /// The (mint, holder) pairs whose balances this transaction wrote, taken out (a pair once
    /// per write: callers gather them in a set).
    pub fn take_noted_balances(&mut self) -> Vec<([u8; 32], [u8; 32])> {
        std::mem::take(&mut self.balances)
    }

    /// The final writes, to merge into the block.
    pub fn into_writes(self) -> (KeyMap<Option<Vec<u8>>>, AccessSet) {
        (self.writes, self.observed)
    }

    fn record(&mut self, key: StateKey, value: Option<Vec<u8>>) {
        self.observed.writes.insert(key);
        let previous = self.writes.insert(key, value);
        self.journal.push((key, previous));
    }
}

impl StateAccess for TxOverlay<'_> {
    fn get(&mut self, key: &StateKey) -> StateResult<Option<Vec<u8>>> {
        self.observed.reads.insert(*key);
        if let Some(entry) = self.writes.get(key).or_else(|| self.cache.get(key)) {
            return Ok(entry.clone());
        }
        let value = self.base.get(key)?;
        self.cache.insert(*key, value.clone());
        Ok(value)
    }

    fn set(&mut self, key: StateKey, value: Vec<u8>) {
        self.record(key, Some(value));
    }

    fn delete(&mut self, key: StateKey) {
        self.record(key, None);
    }

    fn note_balance(&mut self, mint: &[u8; 32], holder: &[u8; 32]) {
        self.balances.push((*mint, *holder));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryState, StateAccessExt};

    #[test]
    fn revert_restores_checkpoint() {
        let mut base = MemoryState::default();
        base.entries.insert([1; 32], vec![1]);
        let mut tx = TxOverlay::new(&base);
        tx.set([2; 32], vec![2]);
        let cp = tx.checkpoint();
        tx.set([1; 32], vec![9]);
        tx.delete([2; 32]);
        tx.set([3; 32], vec![3]);
        tx.revert(cp);
        assert_eq!(tx.get(&[1; 32]).unwrap(), Some(vec![1]));
        assert_eq!(tx.get(&[2; 32]).unwrap(), Some(vec![2]));
        assert_eq!(tx.get(&[3; 32]).unwrap(), None);
    }

    #[test]
    fn zero_u128_deletes() {
        let base = MemoryState::default();
        let mut tx = TxOverlay::new(&base);
        tx.set_u128([1; 32], 5);
        tx.set_u128([1; 32], 0);
        let (writes, _) = tx.into_writes();
        assert_eq!(writes.get(&[1; 32]), Some(&None));
    }
}
