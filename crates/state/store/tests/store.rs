//! The store against a real redb file: roots, reopen, and refusal of out-of-order blocks.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use nvm_primitives::{Block, BlockHeader, Receipt, TxStatus};
use nvm_state_api::{StateReader, WriteSet};
use nvm_storage::{Store, StoreError};
use proptest::prelude::*;

fn block(height: u64, state_root: [u8; 32]) -> Block {
    Block {
        header: BlockHeader {
            chain_id: 1,
            height,
            parent_hash: [0; 32],
            timestamp_ms: height,
            proposer: [0; 32],
            tx_root: [0; 32],
            receipts_root: [0; 32],
            state_root,
            gas_used: 0,
            base_fee_per_gas: 7,
        },
        transactions: vec![],
    }
}

fn commit(store: &Store, height: u64, writes: &WriteSet) -> [u8; 32] {
    let prepared = store.prepare_state(writes, height, &[]).unwrap();
    let root = prepared.root;
    let receipt = Receipt {
        tx_hash: [height as u8; 32],
        block_height: height,
        index: 0,
        sender: [0; 32],
        opcode: 3,
        status: TxStatus::Success,
        fee_paid: 1,
        gas_used: 0,
        logs: vec![],
        vm_data: vec![],
    };
    store
        .commit_block(&block(height, root), &[receipt], writes, &Default::default(), &prepared)
        .unwrap();
    root
}

#[test]
fn commits_survive_reopen_and_roots_track_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let mut w0 = WriteSet::new();
    w0.insert([1; 32], Some(vec![1]));
    w0.insert([2; 32], Some(vec![2]));
    let mut w1 = WriteSet::new();
    w1.insert([2; 32], None);
    w1.insert([3; 32], Some(vec![3]));
    let (r0, r1) = {
        let store = Store::open(&path).unwrap();
        (commit(&store, 0, &w0), commit(&store, 1, &w1))
    };
    assert_ne!(r0, r1);
    let store = Store::open(&path).unwrap();
    let head = store.head().unwrap().unwrap();
    assert_eq!((head.height, head.state_root), (1, r1));
    let snap = store.snapshot().unwrap();
    assert_eq!(snap.get(&[1; 32]).unwrap(), Some(vec![1]));
    assert_eq!(snap.get(&[2; 32]).unwrap(), None);
    assert_eq!(store.receipt(&[1; 32]).unwrap().unwrap().block_height, 1);
    assert_eq!(store.block(1).unwrap().unwrap().header.state_root, r1);
    // A block that does not extend the head is refused and changes nothing.
    let prepared = store.prepare_state(&w1, 5, &[]).unwrap();
    assert!(matches!(
        store.commit_block(&block(5, prepared.root), &[], &w1, &Default::default(), &prepared),
        Err(StoreError::NotNextBlock { expected: 2, got: 5 })
    ));
    assert_eq!(store.head().unwrap().unwrap(), head);
}

/// `n` cases, or `PROPTEST_CASES` when it is set (a longer search than the suite's).
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(16), .. ProptestConfig::default() })]
    /// The root depends only on the final contents, not on how they were split into blocks.
    #[test]
    fn root_is_a_function_of_contents(entries in proptest::collection::btree_map(any::<[u8; 32]>(), proptest::collection::vec(any::<u8>(), 1..8), 1..20), split in 0usize..20) {
        let all: WriteSet = entries.iter().map(|(k, v)| (*k, Some(v.clone()))).collect();
        let dir = tempfile::tempdir().unwrap();
        let one = Store::open(&dir.path().join("a")).unwrap();
        let root_one = commit(&one, 0, &all);
        let two = Store::open(&dir.path().join("b")).unwrap();
        let first: WriteSet = all.iter().take(split).map(|(k, v)| (*k, v.clone())).collect();
        let rest: WriteSet = all.iter().skip(split).map(|(k, v)| (*k, v.clone())).collect();
        commit(&two, 0, &first);
        let root_two = commit(&two, 1, &rest);
        prop_assert_eq!(root_one, root_two);
    }
}

#[test]
fn replaced_tree_nodes_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let store = Store::open(&path).unwrap();
    let mut writes = WriteSet::new();
    for i in 0..200u8 {
        writes.insert([i; 32], Some(vec![i]));
    }
    commit(&store, 0, &writes);
    drop(store);
    let size_after_genesis = std::fs::metadata(&path).unwrap().len();
    // (No state history: what is measured is the tree.)
    let store = Store::open(&path).unwrap().with_history(nvm_storage::HistoryWindow::Blocks(0));
    for height in 1..60u64 {
        let mut update = WriteSet::new();
        for i in 0..200u8 {
            update.insert([i; 32], Some(vec![i, height as u8]));
        }
        commit(&store, height, &update);
    }
    drop(store);
    // Without pruning, 59 rewrites of every leaf would grow the file many times over.
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(
        size < size_after_genesis * 8,
        "database grew from {size_after_genesis} to {size} bytes"
    );
}

#[test]
fn proofs_verify_against_the_header_root_and_only_for_the_true_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    let mut writes = WriteSet::new();
    for i in 0..50u8 {
        writes.insert([i; 32], Some(vec![i; 3]));
    }
    commit(&store, 0, &writes);
    let mut update = WriteSet::new();
    update.insert([7; 32], Some(vec![70]));
    update.insert([8; 32], None);
    let root = commit(&store, 1, &update);
    assert_eq!(store.block(1).unwrap().unwrap().header.state_root, root);

    let present = store.prove(&[7; 32]).unwrap();
    assert_eq!((present.height, present.state_root), (1, root));
    assert_eq!(present.value.as_deref(), Some(&[70u8][..]));
    nvm_storage::verify_state_proof(&root, &[7; 32], Some(&[70]), &present.proof).unwrap();
    // The same proof does not vouch for another value, another key or another root.
    assert!(nvm_storage::verify_state_proof(&root, &[7; 32], Some(&[71]), &present.proof).is_err());
    assert!(nvm_storage::verify_state_proof(&root, &[9; 32], Some(&[70]), &present.proof).is_err());
    let mut other_root = root;
    other_root[0] ^= 1;
    assert!(
        nvm_storage::verify_state_proof(&other_root, &[7; 32], Some(&[70]), &present.proof)
            .is_err()
    );
    // Deleted and never-written keys are proven absent.
    for key in [[8u8; 32], [200u8; 32]] {
        let absent = store.prove(&key).unwrap();
        assert_eq!(absent.value, None);
        nvm_storage::verify_state_proof(&root, &key, None, &absent.proof).unwrap();
        assert!(nvm_storage::verify_state_proof(&root, &key, Some(&[1]), &absent.proof).is_err());
    }
    assert!(nvm_storage::verify_state_proof(&root, &[7; 32], Some(&[70]), b"garbage").is_err());
}

#[test]
fn root_over_an_uncommitted_parent_equals_root_after_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    let set = |from: u8, to: u8, tag: u8| -> WriteSet {
        (from..to).map(|i| ([i; 32], Some(vec![i, tag]))).collect()
    };
    commit(&store, 0, &set(0, 100, 0));
    let (w1, w2) = (set(50, 150, 1), set(20, 120, 2));
    let p1 = store.prepare_state(&w1, 1, &[]).unwrap();
    // Block 2's root while block 1 is not yet on disk.
    let early = store.prepare_state(&w2, 2, &[&p1]).unwrap();
    store.commit_block(&block(1, p1.root), &[], &w1, &Default::default(), &p1).unwrap();
    let late = store.prepare_state(&w2, 2, &[]).unwrap();
    assert_eq!(early.root, late.root);
    // Committing the early preparation leaves a tree that later blocks and proofs can use.
    store.commit_block(&block(2, early.root), &[], &w2, &Default::default(), &early).unwrap();
    let w3 = set(0, 10, 3);
    let p3 = store.prepare_state(&w3, 3, &[]).unwrap();
    store.commit_block(&block(3, p3.root), &[], &w3, &Default::default(), &p3).unwrap();
    let proof = store.prove(&[60; 32]).unwrap();
    nvm_storage::verify_state_proof(&p3.root, &[60; 32], Some(&[60, 2]), &proof.proof).unwrap();
}

/// The index is written with its block, read by prefix in key order at a snapshot's block, and
/// a later block's changes (an entry gone, one added) do not show in an earlier snapshot.
#[test]
fn the_index_is_written_with_its_block_and_read_by_prefix() {
    let store = Store::in_memory().unwrap();
    assert!(!store.indexed().unwrap(), "nothing committed, nothing indexed");
    let entry = |k: &str, v: &str| (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec()));
    let index: nvm_state_api::IndexWrites =
        [entry("own:b:2", "x"), entry("own:a:1", "y"), entry("own:b:1", "z"), entry("other", "")]
            .into_iter()
            .collect();
    let writes = WriteSet::new();
    let prepared = store.prepare_state(&writes, 0, &[]).unwrap();
    store.commit_block(&block(0, prepared.root), &[], &writes, &index, &prepared).unwrap();
    assert!(store.indexed().unwrap(), "genesis starts a complete index");
    let before = store.snapshot().unwrap();
    let keys = |found: Vec<(Vec<u8>, Vec<u8>)>| {
        found.into_iter().map(|(k, _)| String::from_utf8(k).unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(keys(before.scan_index(b"own:b:", b"own:b:", 10).unwrap()), ["own:b:1", "own:b:2"]);
    assert_eq!(keys(before.scan_index(b"own:", b"own:", 2).unwrap()), ["own:a:1", "own:b:1"]);
    assert_eq!(before.scan_index(b"own:b:1", b"own:b:1", 10).unwrap()[0].1, b"z");
    // From a key on: the entries at and after it.
    assert_eq!(keys(before.scan_index(b"own:", b"own:b:", 10).unwrap()), ["own:b:1", "own:b:2"]);

    let change: nvm_state_api::IndexWrites =
        [(b"own:b:1".to_vec(), None), entry("own:b:3", "w")].into_iter().collect();
    let prepared = store.prepare_state(&writes, 1, &[]).unwrap();
    store.commit_block(&block(1, prepared.root), &[], &writes, &change, &prepared).unwrap();
    assert_eq!(
        keys(store.snapshot().unwrap().scan_index(b"own:b:", b"own:b:", 10).unwrap()),
        ["own:b:2", "own:b:3"]
    );
    assert_eq!(keys(before.scan_index(b"own:b:", b"own:b:", 10).unwrap()), ["own:b:1", "own:b:2"]);
}

/// Commits `blocks` (each a write set over keys 0..8) and checks every height's state against a
/// model: the kept ones read exactly as they were, the others are refused as not kept.
fn check_history(window: nvm_storage::HistoryWindow, blocks: &[Vec<(u8, Option<u8>)>]) {
    let store = Store::in_memory().unwrap().with_history(window);
    let mut model: Vec<std::collections::BTreeMap<u8, u8>> = Vec::new();
    let mut current = std::collections::BTreeMap::new();
    let mut roots = Vec::new();
    for (height, writes) in blocks.iter().enumerate() {
        let mut set = WriteSet::new();
        for (key, value) in writes {
            set.insert([*key; 32], value.map(|v| vec![v]));
            match value {
                Some(v) => current.insert(*key, *v),
                None => current.remove(key),
            };
        }
        roots.push(commit(&store, height as u64, &set));
        model.push(current.clone());
    }
    let head = blocks.len() as u64 - 1;
    let oldest = match window {
        nvm_storage::HistoryWindow::All => 0,
        nvm_storage::HistoryWindow::Blocks(n) => head.saturating_sub(n),
    };
    assert_eq!(store.kept_states().unwrap(), Some((oldest, head)));
    for (height, expected) in model.iter().enumerate() {
        let height = height as u64;
        match store.snapshot_at(height) {
            Ok(snap) => {
                assert!(height >= oldest, "block {height} should not be kept");
                assert_eq!(snap.height(), Some(height));
                assert_eq!(snap.head().unwrap().state_root, roots[height as usize]);
                for key in 0..8u8 {
                    let got = snap.get(&[key; 32]).unwrap();
                    assert_eq!(got, expected.get(&key).map(|v| vec![*v]), "key {key} at {height}");
                }
            }
            Err(StoreError::NotKept { height: h, oldest: o, head: top }) => {
                assert_eq!((h, o, top), (height, oldest, head));
                assert!(height < oldest, "block {height} should be kept");
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(matches!(store.snapshot_at(head + 1), Err(StoreError::NotKept { .. })));
}

fn history_blocks() -> impl Strategy<Value = Vec<Vec<(u8, Option<u8>)>>> {
    let write = (0..8u8, proptest::option::of(any::<u8>()));
    proptest::collection::vec(proptest::collection::vec(write, 0..6), 1..24)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]

    /// State at every kept block reads as it was, whatever the window.
    #[test]
    fn older_blocks_read_as_they_were(blocks in history_blocks(), window in 0u64..6) {
        check_history(nvm_storage::HistoryWindow::Blocks(window), &blocks);
        check_history(nvm_storage::HistoryWindow::All, &blocks);
    }
}

#[test]
fn history_outside_the_window_is_pruned_and_a_shrunk_window_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let rewrite = |v: u8| {
        let mut set = WriteSet::new();
        set.insert([1; 32], Some(vec![v]));
        set
    };
    {
        let store = Store::open(&path).unwrap().with_history(nvm_storage::HistoryWindow::All);
        for height in 0..100u64 {
            commit(&store, height, &rewrite(height as u8));
        }
        assert_eq!(store.snapshot_at(3).unwrap().get(&[1; 32]).unwrap(), Some(vec![3]));
    }
    let size_archive = std::fs::metadata(&path).unwrap().len();
    // Reopened with a window of 4: the older states are refused at once, and pruned as blocks
    // commit (64 blocks' change sets a commit).
    let store = Store::open(&path).unwrap().with_history(nvm_storage::HistoryWindow::Blocks(4));
    assert!(matches!(store.snapshot_at(3), Err(StoreError::NotKept { oldest: 95, .. })));
    for height in 100..400u64 {
        commit(&store, height, &rewrite(height as u8));
    }
    assert_eq!(store.kept_states().unwrap(), Some((395, 399)));
    // Reopened with a wider window, or as an archive: what pruning removed stays unreadable.
    drop(store);
    for wider in [nvm_storage::HistoryWindow::Blocks(128), nvm_storage::HistoryWindow::All] {
        let store = Store::open(&path).unwrap().with_history(wider);
        assert_eq!(store.kept_states().unwrap(), Some((395, 399)), "{wider:?}");
        assert!(matches!(store.snapshot_at(300), Err(StoreError::NotKept { oldest: 395, .. })));
        assert!(store.changes_since(300).is_err());
    }
    let store = Store::open(&path).unwrap().with_history(nvm_storage::HistoryWindow::Blocks(4));
    assert_eq!(store.snapshot_at(395).unwrap().get(&[1; 32]).unwrap(), Some(vec![395u64 as u8]));
    // Without pruning, 400 blocks' change sets would be kept: the file stops growing instead.
    let size_windowed = std::fs::metadata(&path).unwrap().len();
    assert!(size_windowed <= size_archive * 2, "{size_archive} -> {size_windowed}");
    // History off: only the head, and a later window starts from where it was turned back on.
    drop(store);
    let store = Store::open(&path).unwrap().with_history(nvm_storage::HistoryWindow::Blocks(0));
    commit(&store, 400, &rewrite(1));
    assert_eq!(store.kept_states().unwrap(), Some((400, 400)));
    drop(store);
    let store = Store::open(&path).unwrap().with_history(nvm_storage::HistoryWindow::Blocks(128));
    commit(&store, 401, &rewrite(2));
    assert_eq!(store.kept_states().unwrap(), Some((400, 401)));
    assert_eq!(store.snapshot_at(400).unwrap().get(&[1; 32]).unwrap(), Some(vec![1]));
    // What reverting to block 400 writes back: the key, as it was then.
    assert_eq!(store.changes_since(400).unwrap(), vec![([1; 32], Some(vec![1]))]);
    assert_eq!(store.changes_since(401).unwrap(), vec![]);
}
