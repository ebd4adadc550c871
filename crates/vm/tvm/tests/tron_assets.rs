//! TRC-10: a ledger token is a Tron asset with a numeric id from 1000001, moved by a
//! `TransferAssetContract` signed as TronWeb signs it — the same balance the other VMs' views
//! show. Bad transfers (unknown asset, overdraft, nothing moved, to oneself, a malformed id) are
//! refused with nothing changed.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::*;

use nvm_identity::VmAddress;
use nvm_ledger::NATIVE_MINT;
use nvm_node::MemoryNode;
use nvm_node_api::{ChainReader, NodeApi, TxSubmitter};
use nvm_primitives::{Mint, TxStatus};
use nvm_state_api::TxOverlay;
use nvm_vm_native::NativeOp;
use nvm_vm_tvm::UNITS_PER_SUN;

/// The dev identity creates a token of 1,000,000 units (dev nonce `nonce`) and sends `to` 5,000
/// of them; returns the mint.
fn token_held_by(node: &MemoryNode, nonce: u64, to: [u8; 20]) -> Mint {
    let create = NativeOp::CreateToken {
        name: "Gold".into(),
        symbol: "GLD".into(),
        decimals: 2,
        initial_supply: 1_000_000,
    };
    let mint = nvm_vm_native::token_mint_id(&nvm_vms::dev::dev_id(), nonce);
    let pay = NativeOp::Transfer { mint, to: VmAddress::Tvm(to), amount: 5_000 };
    for (i, op) in [create, pay].into_iter().enumerate() {
        node.submit(vec![nvm_vms::dev::dev_envelope(nonce + i as u64, op.encode())]).unwrap();
    }
    node.seal(10, 3_000).unwrap();
    mint
}

fn asset_id(node: &dyn NodeApi, mint: &Mint) -> Option<u64> {
    let snapshot = node.snapshot().unwrap();
    nvm_vm_tvm::asset_id(&mut TxOverlay::new(&snapshot), mint).unwrap()
}

#[test]
fn a_ledger_token_moves_as_a_trc10_asset() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let (key, owner) = funded_tron_key(&node);
    let mint = token_held_by(&node, 1, owner);
    let id = asset_id(node.handle(), &mint).unwrap();
    assert!(id >= nvm_vm_tvm::FIRST_ASSET_ID, "{id}");
    assert_eq!(asset_id(node.handle(), &NATIVE_MINT), None, "TRX is no TRC-10 asset");
    let name = id.to_string();

    let head = node.head().unwrap();
    let reference = (head.height, head.hash);
    let later = i64::try_from(head.timestamp_ms).unwrap() + 60_000;
    let to = [7; 20];
    let send = signed(&key, transfer_asset(owner, to, &name, 1_250), reference, later);
    let txid = node.submit(vec![send.clone()]).unwrap().pop().unwrap().unwrap();

    // Refused, nothing kept.
    let refused = |contract, what: &str| {
        let err = refusal(&node, signed(&key, contract, reference, later)).to_string();
        assert!(err.contains(what), "{what}: {err}");
    };
    refused(transfer_asset(owner, to, &(id + 1).to_string(), 1), "no TRC-10 asset");
    refused(transfer_asset(owner, to, &name, 5_001), "balance is not sufficient");
    refused(transfer_asset(owner, to, &name, 0), "must move more than 0");
    refused(transfer_asset(owner, owner, &name, 1), "yourself");
    refused(transfer_asset(owner, to, "1000000", 1), "TRC-10 id");
    refused(transfer_asset(owner, to, "GLD", 1), "TRC-10 id");
    assert_eq!(node.pending_count(), 1);

    let trx_before = balance(node.handle(), VmAddress::Tvm(owner));
    assert_eq!(node.seal(10, 4_000).unwrap().included, 1);
    let receipt = node.receipt(&txid).unwrap().unwrap();
    assert_eq!((receipt.status, receipt.opcode), (TxStatus::Success, 0x42));
    assert_eq!(token_balance(node.handle(), &mint, VmAddress::Tvm(owner)), 3_750);
    assert_eq!(token_balance(node.handle(), &mint, VmAddress::Tvm(to)), 1_250);
    // The owner paid the bandwidth in TRX, and nothing else.
    let bandwidth = (send.len() as u128 - 1) * 1_000 * UNITS_PER_SUN;
    assert_eq!(trx_before - balance(node.handle(), VmAddress::Tvm(owner)), bandwidth);
}

#[test]
fn tokens_get_ids_in_creation_order() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let first = token_held_by(&node, 0, [1; 20]);
    let second = token_held_by(&node, 2, [1; 20]);
    let (a, b) =
        (asset_id(node.handle(), &first).unwrap(), asset_id(node.handle(), &second).unwrap());
    assert_eq!(b, a + 1);
    let snapshot = node.snapshot().unwrap();
    let mut view = TxOverlay::new(&snapshot);
    assert_eq!(nvm_vm_tvm::asset_mint(&mut view, b).unwrap(), Some(second));
    assert_eq!(nvm_vm_tvm::asset_mint(&mut view, 1_000_000).unwrap(), None);
}

#[test]
fn asset_transfers_of_different_owners_run_in_one_parallel_batch() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let keys: Vec<_> = (0..4).map(|_| alloy_signer_local::PrivateKeySigner::random()).collect();
    for (i, key) in keys.iter().enumerate() {
        let raw = fund_100_trx(i as u64, key.address().into_array());
        node.submit(vec![raw]).unwrap().pop().unwrap().unwrap();
    }
    node.seal(10, 1_000).unwrap();
    let owners: Vec<[u8; 20]> = keys.iter().map(|k| k.address().into_array()).collect();
    let create = NativeOp::CreateToken {
        name: "Gold".into(),
        symbol: "GLD".into(),
        decimals: 2,
        initial_supply: 1_000_000,
    };
    let mint = nvm_vm_native::token_mint_id(&nvm_vms::dev::dev_id(), 4);
    node.submit(vec![nvm_vms::dev::dev_envelope(4, create.encode())]).unwrap();
    for (i, owner) in owners.iter().enumerate() {
        let pay = NativeOp::Transfer { mint, to: VmAddress::Tvm(*owner), amount: 100 };
        node.submit(vec![nvm_vms::dev::dev_envelope(5 + i as u64, pay.encode())]).unwrap();
    }
    node.seal(10, 2_000).unwrap();
    let name = asset_id(node.handle(), &mint).unwrap().to_string();
    let head = node.head().unwrap();
    let reference = (head.height, head.hash);
    let later = i64::try_from(head.timestamp_ms).unwrap() + 60_000;
    // Each owner pays a recipient of its own, one new to the chain; half in TRX, half in the asset.
    let txs = keys.iter().zip(&owners).enumerate().map(|(i, (key, owner))| {
        let to = [0x90 + i as u8; 20];
        let pay = if i % 2 == 0 {
            transfer_asset(*owner, to, &name, 10 + i as i64)
        } else {
            transfer(*owner, to, 1_000)
        };
        signed(key, pay, reference, later)
    });
    run_side_by_side(&node, txs.collect());
}
