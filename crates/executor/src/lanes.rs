//! Context-based sharding (SPEC §4): which lane each transaction of a new block runs in.

use nvm_primitives::sha256_parts;
use nvm_state_api::{AccessSet, KeyMap, KeySet, StateKey};

/// K, the number of shards.
pub const DEFAULT_SHARDS: u64 = 64;

/// `shard = u64_be(SHA-256(u32_le(len(vm)) ‖ vm ‖ ctx)[0..8]) mod K`; no tag or an all-zero tag
/// is shard 0.
/// (`vm` is the VM's name, [`nvm_vm_api::Vm::name`].)
pub fn shard_of(vm: &str, context: Option<&[u8; 16]>, shards: u64) -> u64 {
    let Some(ctx) = context.filter(|c| **c != [0; 16]) else { return 0 };
    let name = vm.as_bytes();
    let len = u32::try_from(name.len()).unwrap_or(u32::MAX).to_le_bytes();
    let digest = sha256_parts(&[&len, name, ctx]);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % shards.max(1)
}

/// Which shards touch a key, as far as ordering asks: the first, and whether another did too —
/// "does a shard other than this one touch it" without a set of shards per key.
#[derive(Clone, Copy)]
struct Touched {
    first: u64,
    others: bool,
}

impl Touched {
    fn note(map: &mut KeyMap<Self>, key: StateKey, shard: u64) {
        map.entry(key)
            .and_modify(|touched| touched.others |= touched.first != shard)
            .or_insert(Self { first: shard, others: false });
    }

    fn by_other_than(&self, shard: u64) -> bool {
        self.others || self.first != shard
    }
}

/// Orders a block's transactions into lanes: shard 0, 1, … K-1 (each in arrival order), then the
/// shared lane. A transaction goes to the shared lane when it touches a key another shard
/// touches, or a key of an earlier shared-lane transaction. Any two conflicting transactions
/// therefore keep their arrival order, so the lane order is equivalent to arrival order.
/// Returns the permutation (indices into the inputs).
pub fn order_by_lanes(shards: &[u64], access: &[&AccessSet]) -> Vec<usize> {
    let keys: usize = access.iter().map(|a| a.writes.len() + a.reads.len()).sum();
    let mut writers: KeyMap<Touched> = KeyMap::with_capacity_and_hasher(keys, Default::default());
    let mut readers: KeyMap<Touched> = KeyMap::with_capacity_and_hasher(keys, Default::default());
    for (shard, set) in shards.iter().zip(access) {
        for key in &set.writes {
            Touched::note(&mut writers, *key, *shard);
        }
        for key in &set.reads {
            Touched::note(&mut readers, *key, *shard);
        }
    }
    let others = |map: &KeyMap<Touched>, key: &StateKey, shard: u64| {
        map.get(key).is_some_and(|touched| touched.by_other_than(shard))
    };
    let mut shared_writes = KeySet::default();
    let mut shared_reads = KeySet::default();
    let mut lanes: Vec<(u64, usize)> = Vec::with_capacity(shards.len());
    // After an exclusive transaction (it may touch anything) everything runs in the shared lane.
    let mut after_exclusive = false;
    for (i, (shard, set)) in shards.iter().zip(access).enumerate() {
        after_exclusive |= set.exclusive;
        let cross = after_exclusive
            || set.writes.iter().any(|k| {
                others(&writers, k, *shard)
                    || others(&readers, k, *shard)
                    || shared_writes.contains(k)
                    || shared_reads.contains(k)
            })
            || set.reads.iter().any(|k| others(&writers, k, *shard) || shared_writes.contains(k));
        if cross {
            shared_writes.extend(set.writes.iter().copied());
            shared_reads.extend(set.reads.iter().copied());
            lanes.push((u64::MAX, i));
        } else {
            lanes.push((*shard, i));
        }
    }
    lanes.sort_by_key(|(lane, i)| (*lane, *i));
    lanes.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_tag_is_shard_zero_and_formula_is_stable() {
        assert_eq!(shard_of("native", None, 64), 0);
        assert_eq!(shard_of("native", Some(&[0; 16]), 64), 0);
        let ctx = [7u8; 16];
        let digest = sha256_parts(&[&6u32.to_le_bytes(), b"native", &ctx]);
        let expected = u64::from_be_bytes(digest[..8].try_into().unwrap()) % 64;
        assert_eq!(shard_of("native", Some(&ctx), 64), expected);
    }

    #[test]
    fn cross_shard_conflicts_go_to_the_shared_lane_in_order() {
        let set = |w: u8| {
            let mut s = AccessSet::default();
            s.write([w; 32]);
            s
        };
        // tx0 shard 5 key 1; tx1 shard 2 key 1 (conflict); tx2 shard 5 key 9; tx3 shard 5 key 1.
        let sets = [set(1), set(1), set(9), set(1)];
        let order = order_by_lanes(&[5, 2, 5, 5], &sets.iter().collect::<Vec<_>>());
        assert_eq!(order, vec![2, 0, 1, 3]);
    }
}
