//! A TRX transfer signed as TronWeb signs it, on the chain: admitted against a recent block
//! (TAPoS), included, paying the recipient's Tron address and the bandwidth fee; a replay, an
//! expired transaction, an unknown reference block and a contract call with no fee limit are
//! refused with nothing changed.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::*;

use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use nvm_executor::{AdmissionError, TxError};
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::NATIVE_MINT;
use nvm_node::MemoryNode;
use nvm_node_api::{ChainReader, TxSubmitter};
use nvm_primitives::TxStatus;
use nvm_state_api::TxOverlay;
use nvm_vm_native::NativeOp;
use nvm_vm_tvm::UNITS_PER_SUN;

#[test]
fn the_dev_chain_funds_the_dev_mnemonics_keys_as_tron_keys() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let addresses = nvm_vm_tvm::dev_tron_addresses();
    assert_eq!(addresses.len(), 10);
    for address in addresses {
        assert_eq!(
            balance(node.handle(), VmAddress::Tvm(address)),
            10_000 * UNITS_PER_SUN * 1_000_000
        );
    }
    // TronWeb's first hardhat/anvil account, as Tron shows it.
    assert_eq!(
        VmAddress::Tvm(nvm_vm_tvm::dev_tron_addresses()[0]).display(),
        VmAddress::Tvm(hex_20("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")).display()
    );
}

fn hex_20(text: &str) -> [u8; 20] {
    let bytes: Vec<u8> =
        (0..40).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect();
    bytes.try_into().unwrap()
}

#[test]
fn a_trx_transfer_is_admitted_by_tapos_and_pays_the_recipient() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    // The key has no identity: its Tron address's legacy identity is funded, 100 TRX.
    let (key, owner) = funded_tron_key(&node);
    let head = node.head().unwrap();
    let reference = (head.height, head.hash);
    let later = i64::try_from(head.timestamp_ms).unwrap() + 60_000;

    let to = [7; 20];
    let pay = signed(&key, transfer(owner, to, 1_500_000), reference, later);
    let txid = node.submit(vec![pay.clone()]).unwrap().pop().unwrap().unwrap();
    // Refused, nothing kept: the same bytes again, an expired one, an unknown reference block,
    // a contract call offering nothing for its energy.
    assert!(matches!(refusal(&node, pay.clone()), AdmissionError::AlreadyKnown(_)));
    let expired = signed(&key, transfer(owner, to, 1), reference, 1);
    assert!(matches!(refusal(&node, expired), AdmissionError::Invalid(TxError::Rejected { .. })));
    let nowhere = signed(&key, transfer(owner, to, 1), (head.height, [9; 32]), later);
    let err = refusal(&node, nowhere);
    assert!(err.to_string().contains("TAPoS"), "{err}");
    let call = trigger(owner, [5; 20], vec![]);
    // A contract call that offers nothing for its energy.
    let err = refusal(&node, signed(&key, call, reference, later));
    assert!(err.to_string().contains("buys no energy"), "{err}");
    // Nothing moved, or a move to oneself (as java-tron refuses them).
    let nothing = signed(&key, transfer(owner, to, 0), reference, later);
    assert!(refusal(&node, nothing).to_string().contains("must move more than 0"));
    let itself = signed(&key, transfer(owner, owner, 5), reference, later);
    assert!(refusal(&node, itself).to_string().contains("yourself"));
    assert_eq!(node.pending_count(), 1);

    let before = balance(node.handle(), VmAddress::Tvm(owner));
    assert_eq!(node.seal(10, 2_000).unwrap().included, 1);
    let receipt = node.receipt(&txid).unwrap().unwrap();
    assert_eq!((receipt.status, receipt.opcode), (TxStatus::Success, 0x42));
    assert_eq!(balance(node.handle(), VmAddress::Tvm(to)), 1_500_000 * UNITS_PER_SUN);
    // The owner paid the sun moved and the bandwidth of the transaction's bytes.
    let bandwidth = (pay.len() as u128 - 1) * 1_000 * UNITS_PER_SUN;
    assert_eq!(receipt.fee_paid, bandwidth);
    assert_eq!(
        before - balance(node.handle(), VmAddress::Tvm(owner)),
        1_500_000 * UNITS_PER_SUN + bandwidth
    );
    // Once included, the txID is spent: the same transaction is refused for good.
    assert!(matches!(refusal(&node, pay), AdmissionError::Invalid(TxError::AlreadyProcessed)));
    assert_eq!(
        node.executor().vms.block_tx_hash(&node.block(2).unwrap().unwrap().transactions[0]),
        Some(txid)
    );
}

/// TronWeb's `signMessageV2` (TIP-191) of `message` by `key`.
fn sign_message_v2(key: &PrivateKeySigner, message: &str) -> Vec<u8> {
    let prefixed = [
        &b"\x19TRON Signed Message:\n"[..],
        message.len().to_string().as_bytes(),
        message.as_bytes(),
    ]
    .concat();
    let digest = alloy_primitives::keccak256(prefixed);
    key.sign_hash_sync(&digest).unwrap().as_bytes().to_vec()
}

#[test]
fn a_linked_tron_key_moves_its_trx_and_then_acts_for_the_identity() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let key = &PrivateKeySigner::random();
    let owner = key.address().into_array();
    let dev = nvm_vms::dev::dev_id();
    let fund = NativeOp::Transfer {
        mint: NATIVE_MINT,
        to: VmAddress::Tvm(owner),
        amount: 7 * UNITS_PER_SUN * 1_000_000,
    };
    node.submit(vec![nvm_vms::dev::dev_envelope(0, fund.encode())])
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    node.seal(10, 1_000).unwrap();

    let message = nvm_identity::tron_link_message(nvm_node::DEV_CHAIN_ID, &dev);
    // Another identity's message, or another key's signature: the link fails, nothing moves.
    let wrong = sign_message_v2(key, &nvm_identity::tron_link_message(1, &dev));
    let forged = NativeOp::LinkTronKey { address: owner, signature: wrong, mints: vec![] };
    let hash = node
        .submit(vec![nvm_vms::dev::dev_envelope(1, forged.encode())])
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    node.seal(10, 2_000).unwrap();
    assert!(matches!(node.receipt(&hash).unwrap().unwrap().status, TxStatus::Failed { .. }));
    assert_eq!(balance(node.handle(), VmAddress::Tvm(owner)), 7 * UNITS_PER_SUN * 1_000_000);

    let dev_before = balance(node.handle(), VmAddress::Native(dev));
    let link = NativeOp::LinkTronKey {
        address: owner,
        signature: sign_message_v2(key, &message),
        mints: vec![],
    };
    let hash = node
        .submit(vec![nvm_vms::dev::dev_envelope(2, link.encode())])
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    node.seal(10, 3_000).unwrap();
    assert_eq!(node.receipt(&hash).unwrap().unwrap().status, TxStatus::Success);
    // The key's Tron address is the identity's now, with its TRX (less the link's fee).
    let snapshot = node.snapshot().unwrap();
    assert_eq!(
        Registry::resolve(&mut TxOverlay::new(&snapshot), &VmAddress::Tvm(owner)).unwrap(),
        dev
    );
    let fee = node.receipt(&hash).unwrap().unwrap().fee_paid;
    assert_eq!(
        balance(node.handle(), VmAddress::Native(dev)),
        dev_before + 7 * UNITS_PER_SUN * 1_000_000 - fee
    );
    // And a Tron transfer the key signs is paid by the identity.
    let head = node.head().unwrap();
    let later = i64::try_from(head.timestamp_ms).unwrap() + 60_000;
    let pay = signed(key, transfer(owner, [3; 20], 1_000_000), (head.height, head.hash), later);
    let txid = node.submit(vec![pay]).unwrap().pop().unwrap().unwrap();
    node.seal(10, 4_000).unwrap();
    let receipt = node.receipt(&txid).unwrap().unwrap();
    assert_eq!((receipt.status, receipt.sender), (TxStatus::Success, dev));
    assert_eq!(balance(node.handle(), VmAddress::Tvm([3; 20])), 1_000_000 * UNITS_PER_SUN);
}

#[test]
fn trx_transfers_of_different_owners_run_in_one_parallel_batch() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let keys: Vec<PrivateKeySigner> = (0..4).map(|_| PrivateKeySigner::random()).collect();
    for (i, key) in keys.iter().enumerate() {
        let raw = fund_100_trx(i as u64, key.address().into_array());
        node.submit(vec![raw]).unwrap().pop().unwrap().unwrap();
    }
    // Native transfers to Tron addresses new to the chain declare what indexing them touches.
    let funded = node.seal(10, 1_000).unwrap();
    assert!(!funded.fell_back_to_serial, "a native transfer touched what it did not declare");
    let head = node.head().unwrap();
    let reference = (head.height, head.hash);
    let later = i64::try_from(head.timestamp_ms).unwrap() + 60_000;
    // Each owner pays a recipient of its own, one new to the chain.
    let txs = keys.iter().enumerate().map(|(i, key)| {
        let owner = key.address().into_array();
        let pay = transfer(owner, [0x90 + i as u8; 20], 1_000 + i as i64);
        signed(key, pay, reference, later)
    });
    run_side_by_side(&node, txs.collect());
}
