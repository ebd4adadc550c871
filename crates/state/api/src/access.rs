//! Read and write sets, declared before execution and observed during it.

use crate::{KeySet, StateKey};

/// The keys a transaction reads and writes. Two transactions conflict when one writes a key the
/// other reads or writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessSet {
    pub reads: KeySet,
    pub writes: KeySet,
    /// What the transaction touches cannot be known in advance (arbitrary contract code): it
    /// runs alone, after everything before it and before everything after it.
    pub exclusive: bool,
}

impl AccessSet {
    pub fn read(&mut self, key: StateKey) -> &mut Self {
        self.reads.insert(key);
        self
    }

    pub fn write(&mut self, key: StateKey) -> &mut Self {
        self.writes.insert(key);
        self
    }

    /// True when every access in `observed` was declared here (a declared write also covers
    /// reads); an exclusive declaration covers anything.
    pub fn covers(&self, observed: &Self) -> bool {
        self.exclusive
            || observed.writes.iter().all(|k| self.writes.contains(k))
                && observed.reads.iter().all(|k| self.reads.contains(k) || self.writes.contains(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_counts_writes_as_reads() {
        let mut declared = AccessSet::default();
        declared.write([1; 32]).read([2; 32]);
        let mut observed = AccessSet::default();
        observed.read([1; 32]).read([2; 32]);
        assert!(declared.covers(&observed));
        observed.write([2; 32]);
        assert!(!declared.covers(&observed));
    }
}
