//! A new VM is one crate and one line: the counter VM, registered beside the real VMs in this
//! test only, runs through admission, block production, commit, receipts and its own RPC
//! method on an in-memory node — nothing outside its crate knows it.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use nvm_executor::{AdmissionError, TxError};
use nvm_identity::derive_address;
use nvm_node::{DEV_CHAIN_ID, MemoryNode, dev_key};
use nvm_node_api::{ChainReader, TxSubmitter};
use nvm_primitives::TxStatus;
use nvm_rpc::NodeContext;
use nvm_rpc::testing::{call, error_code};
use nvm_vm_counter::{COUNTER_FORMAT, COUNTER_TX_TAG, CounterOp, CounterVm, signed_increment};
use nvm_vms::dev::{dev_envelope, dev_id};
use serde_json::json;
use std::sync::Arc;

fn the_vms() -> nvm_executor::VmRegistry {
    let counter = Arc::new(CounterVm);
    // The one line: the counter for its opcodes and its wallet format.
    nvm_vms::registry()
        .unwrap()
        .register(counter.clone())
        .unwrap()
        .register_format(counter)
        .unwrap()
}

fn refusal(node: &MemoryNode, raw: Vec<u8>) -> AdmissionError {
    node.submit(vec![raw]).unwrap().pop().unwrap().unwrap_err()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vm_registered_in_a_test_runs_end_to_end() {
    let node = MemoryNode::dev(the_vms()).unwrap();
    let ctx = NodeContext::new(node.api());
    let rpc = nvm_rpc::rpc_module(ctx, &[nvm_vm_counter::rpc::register]);
    let dev = format!("0x{}", hex_of(&dev_id()));
    assert_eq!(call(&rpc, "counter_get", json!([dev])).await["counter"], json!(0));
    let info = call(&rpc, "nvm_chainInfo", json!([])).await;
    assert!(info["vms"].as_array().unwrap().contains(&json!("counter")), "{info}");
    let counter_format = json!({ "code": COUNTER_TX_TAG, "name": "counter", "length": 20 });
    assert!(info["addressFormats"].as_array().unwrap().contains(&counter_format), "{info}");

    // Its address format: the identities of this chain have a counter address each, indexed
    // from genesis, which every method taking an address reads (bare or named).
    let ctr = derive_address(&COUNTER_FORMAT, &dev_id()).display();
    assert!(ctr.starts_with("ctr") && ctr.len() == 43, "{ctr}");
    let identity = call(&rpc, "nvm_getIdentity", json!([ctr])).await;
    assert_eq!(identity["id_com"], json!(dev));
    assert_eq!(identity["registered"], json!(true));
    assert_eq!(identity["addresses"]["counter"], json!(ctr));
    assert!(identity.get("external").is_none(), "the identity's own address: {identity}");
    let named = format!("counter:{}", &ctr[3..]);
    assert_eq!(call(&rpc, "counter_get", json!([named])).await["idCom"], json!(dev));
    for bad in [&ctr[..41], "ctr0xzz"] {
        assert_eq!(error_code(&rpc, "nvm_getIdentity", json!([bad])).await, -32602, "{bad}");
    }

    // Through a native envelope (its opcode routes to it) and through its own wallet format.
    let by_envelope = dev_envelope(0, CounterOp::Increment { by: 2 }.encode());
    let by_wallet = signed_increment(&dev_key(), DEV_CHAIN_ID, 1, 3);
    let hashes: Vec<_> = node
        .submit(vec![by_envelope, by_wallet])
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();

    // Bad input is refused and changes nothing: a forged signature, another chain, a nonce
    // already taken, an opcode of no VM, a counter payload that does not decode.
    let mut forged = signed_increment(&dev_key(), DEV_CHAIN_ID, 2, 1);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(matches!(refusal(&node, forged), AdmissionError::Invalid(TxError::Rejected { .. })));
    let other_chain = signed_increment(&dev_key(), DEV_CHAIN_ID + 1, 2, 1);
    assert!(matches!(
        refusal(&node, other_chain),
        AdmissionError::Invalid(TxError::WrongChain { .. })
    ));
    let taken = signed_increment(&dev_key(), DEV_CHAIN_ID, 1, 9);
    assert!(matches!(refusal(&node, taken), AdmissionError::NonceTaken(_)), "nonce 1 is pending");
    let nobody = dev_envelope(2, vec![0x60, 0]);
    assert!(matches!(
        refusal(&node, nobody),
        AdmissionError::Invalid(TxError::UnknownOpcode(0x60))
    ));
    let garbled = dev_envelope(2, vec![0x50, 1]);
    assert!(matches!(refusal(&node, garbled), AdmissionError::Invalid(TxError::InvalidPayload(_))));
    assert_eq!(node.pending_count(), 2);

    let report = node.seal(100, 1_000).unwrap();
    assert_eq!((report.included, report.failed), (2, 0));
    for (hash, expected) in hashes.iter().zip([2u64, 5]) {
        let receipt = node.receipt(hash).unwrap().unwrap();
        assert_eq!(receipt.status, TxStatus::Success);
        assert_eq!(receipt.opcode, 0x50);
        assert_eq!(receipt.logs[0].data, expected.to_le_bytes());
    }
    // The wallet transaction's receipt carries the VM's own data; the block lists it by its
    // format's hash.
    let wallet_receipt = node.receipt(&hashes[1]).unwrap().unwrap();
    assert_eq!(wallet_receipt.vm_data, 5u64.to_le_bytes());
    let block = node.block(1).unwrap().unwrap();
    let listed: Vec<_> =
        block.transactions.iter().map(|raw| node.executor().vms.block_tx_hash(raw)).collect();
    assert_eq!(listed, hashes.iter().map(|h| Some(*h)).collect::<Vec<_>>());

    let after = call(&rpc, "counter_get", json!([dev])).await;
    assert_eq!(after["counter"], json!(5));
    assert_eq!(call(&rpc, "counter_get", json!([ctr])).await["counter"], json!(5));
    assert_eq!(error_code(&rpc, "counter_get", json!(["not an address"])).await, -32602);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
