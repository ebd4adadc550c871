//! Write-set batching: groups ordered transactions into batches that can run in parallel.

use nvm_state_api::AccessSet;

/// Assigns each transaction the earliest batch after every earlier transaction it conflicts with
/// (one writes a key the other reads or writes). Executing batches in order, and the members of
/// a batch in any order, is then equivalent to executing the transactions in their given order.
/// Returns the batches as lists of indices, each in increasing order.
pub fn schedule_batches(access: &[&AccessSet]) -> Vec<Vec<usize>> {
    // For each key: (1 + batch of its last writer, 1 + latest batch of a reader), 0 = none.
    let mut last: nvm_state_api::KeyMap<(usize, usize)> = Default::default();
    let mut batches: Vec<Vec<usize>> = Vec::new();
    // No transaction may run before this batch (the one after the last exclusive transaction).
    let mut barrier = 0;
    for (i, set) in access.iter().enumerate() {
        if set.exclusive {
            let batch = batches.len().max(barrier);
            batches.resize_with(batch + 1, Vec::new);
            batches[batch].push(i);
            barrier = batch + 1;
            continue;
        }
        let mut batch = barrier;
        for key in &set.reads {
            if let Some((w, _)) = last.get(key) {
                batch = batch.max(*w);
            }
        }
        for key in &set.writes {
            if let Some((w, r)) = last.get(key) {
                batch = batch.max(*w).max(*r);
            }
        }
        for key in &set.reads {
            let entry = last.entry(*key).or_default();
            entry.1 = entry.1.max(batch + 1);
        }
        for key in &set.writes {
            let entry = last.entry(*key).or_default();
            entry.0 = entry.0.max(batch + 1);
        }
        if batches.len() <= batch {
            batches.resize_with(batch + 1, Vec::new);
        }
        batches[batch].push(i);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(reads: &[u8], writes: &[u8]) -> AccessSet {
        let mut s = AccessSet::default();
        reads.iter().for_each(|k| {
            s.read([*k; 32]);
        });
        writes.iter().for_each(|k| {
            s.write([*k; 32]);
        });
        s
    }

    #[test]
    fn disjoint_run_together_conflicts_wait() {
        let sets = [
            set(&[], &[1]),
            set(&[], &[2]),
            set(&[1], &[3]), // reads what tx0 writes
            set(&[9], &[]),
            set(&[], &[9]), // writes what tx3 reads
            set(&[9], &[]), // reads what tx4 writes
        ];
        let batches = schedule_batches(&sets.iter().collect::<Vec<_>>());
        assert_eq!(batches, vec![vec![0, 1, 3], vec![2, 4], vec![5]]);
    }

    #[test]
    fn exclusive_runs_alone_between_the_others() {
        let alone = AccessSet { exclusive: true, ..AccessSet::default() };
        let sets = [set(&[], &[1]), set(&[], &[2]), alone, set(&[], &[3]), set(&[], &[4])];
        let batches = schedule_batches(&sets.iter().collect::<Vec<_>>());
        assert_eq!(batches, vec![vec![0, 1], vec![2], vec![3, 4]]);
    }

    #[test]
    fn readers_share_a_batch() {
        let sets = [set(&[1], &[2]), set(&[1], &[3]), set(&[1], &[4])];
        let batches = schedule_batches(&sets.iter().collect::<Vec<_>>());
        assert_eq!(batches, vec![vec![0, 1, 2]]);
    }
}
