//! The in-memory node the RPC crates test against is the real node: transactions go through
//! admission, blocks through the executor, and what is read back is what was committed.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use nvm_executor::AdmissionError;
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_node::MemoryNode;
use nvm_node_api::NodeApi;
use nvm_state_api::TxOverlay;
use nvm_vms::dev::{dev_id, dev_transfer};

fn balance(node: &dyn NodeApi, id: &[u8; 32]) -> u128 {
    let snapshot = node.snapshot().unwrap();
    Ledger::balance(&mut TxOverlay::new(&snapshot), &NATIVE_MINT, id).unwrap()
}

#[test]
fn a_sealed_transfer_is_read_back_through_the_node_interface() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let api: &dyn NodeApi = node.handle();
    let to = [7; 32];
    let hash = api.submit(vec![dev_transfer(0, to, 5)]).unwrap().pop().unwrap().unwrap();
    assert_eq!(api.pending_count(), 1);
    assert!(api.pending_tx(&hash).is_some());
    assert_eq!(api.pending_nonce(&dev_id(), 0), 1);
    // A replay is refused and changes nothing.
    let again = api.submit(vec![dev_transfer(0, to, 5)]).unwrap().pop().unwrap();
    assert!(matches!(again, Err(AdmissionError::AlreadyKnown(_))), "{again:?}");
    assert_eq!(balance(api, &to), 0);

    let mut heads = api.watch_heads();
    let report = node.seal(100, 1_000).unwrap();
    assert_eq!((report.height, report.included), (1, 1));
    assert!(heads.has_changed().unwrap());
    assert_eq!(heads.borrow_and_update().height, 1);

    assert_eq!(api.head().unwrap().height, 1);
    assert_eq!(api.pending_count(), 0);
    assert_eq!(balance(api, &to), 5);
    let location = api.tx_location(&hash).unwrap().unwrap();
    assert_eq!(location.height, 1);
    let block = api.block(1).unwrap().unwrap();
    assert_eq!(api.block_by_hash(&block.header.hash()).unwrap().unwrap(), block);
    assert_eq!(api.receipt(&hash).unwrap().unwrap().tx_hash, hash);
    let proofs = api.prove_many(&[nvm_ledger::balance_key(&NATIVE_MINT, &to)]).unwrap();
    assert_eq!((proofs[0].height, proofs[0].state_root), (1, block.header.state_root));
    assert!(proofs[0].value.is_some());
    assert_eq!(api.snapshot().unwrap().height(), Some(1));
}
