//! Contract calls in Tron transactions (`TriggerSmartContract`, signed as TronWeb signs them) on
//! the Tron variant, their energy paid from `fee_limit` at the chain's energy price: a call that
//! writes storage and logs, a revert that keeps nothing but its energy fee, an out-of-energy halt
//! that pays all it offered; calls that can never run are refused with nothing changed.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use common::*;
use nvm_identity::VmAddress;
use nvm_ledger::NATIVE_MINT;
use nvm_node::MemoryNode;
use nvm_node_api::{ChainReader, TxSubmitter};
use nvm_primitives::TxStatus;
use nvm_state_api::StateReader;
use nvm_vm_evm::{AccountSpace, EvmOp};
use nvm_vm_native::NativeOp;
use nvm_vm_tvm::{ENERGY_PRICE_SUN, UNITS_PER_SUN, energy_limit};

/// Runtime: with no calldata, `slot0 += 1`, LOG0 and return the new value; with calldata, write
/// `slot1 = 7` and then REVERT (so the write must vanish).
const RUNTIME: &str = concat!(
    "36601b57",                             // CALLDATASIZE → revert path
    "6000546001018060005560005260206000a0", // slot0 + 1, SSTORE, MSTORE, LOG0(0, 32)
    "60206000f3",                           // RETURN(0, 32)
    "5b600760015560006000fd",               // JUMPDEST; slot1 = 7; REVERT(0, 0)
);

fn slot(node: &MemoryNode, contract: &Address, index: u64) -> U256 {
    let snapshot = node.snapshot().unwrap();
    let key = AccountSpace::TRON.storage_key(contract, &U256::from(index));
    snapshot.get(&key).unwrap().map(|b| U256::from_be_slice(&b)).unwrap_or_default()
}

#[test]
fn a_tron_contract_call_pays_its_energy_from_fee_limit_whatever_its_outcome() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    // The dev identity deploys the contract in Tron's space; a fresh Tron key gets 100 TRX.
    let init = hex::decode(format!("602680600b6000396000f3{RUNTIME}")).unwrap();
    let deploy = EvmOp::Create { value: 0, init_code: init, gas_limit: 200_000 }.encode_at(0x40);
    let key = PrivateKeySigner::random();
    let owner = key.address().into_array();
    let fund = NativeOp::Transfer {
        mint: NATIVE_MINT,
        to: VmAddress::Tvm(owner),
        amount: 100 * 1_000_000 * UNITS_PER_SUN,
    };
    for (nonce, payload) in [deploy, fund.encode()].into_iter().enumerate() {
        let raw = nvm_vms::dev::dev_envelope(nonce as u64, payload);
        node.submit(vec![raw]).unwrap().pop().unwrap().unwrap();
    }
    assert_eq!(node.seal(10, 1_000).unwrap().included, 2);
    let contract = AccountSpace::TRON.account_of(&nvm_vms::dev::dev_id()).create(0);
    let head = node.head().unwrap();
    let (reference, later) = ((head.height, head.hash), head.timestamp_ms as i64 + 60_000);
    let call = |data: Vec<u8>, fee_limit: i64| {
        let contract = trigger(owner, contract.into_array(), data);
        signed_with_fee_limit(&key, contract, reference, later, fee_limit)
    };

    // Refused, nothing admitted: no energy bought, more than Tron's most, more than the owner
    // holds, a call to an address with no code.
    for (raw, reason) in [
        (call(vec![], 100), "buys no energy"),
        (call(vec![], 15_000_000_001), "above the most"),
        (call(vec![], 15_000_000_000), "insufficient"),
        (
            signed_with_fee_limit(
                &key,
                trigger(owner, [3; 20], vec![]),
                reference,
                later,
                10_000_000,
            ),
            "no contract at 41",
        ),
    ] {
        let err = refusal(&node, raw).to_string();
        assert!(err.contains(reason), "{err} (expected {reason:?})");
    }

    let price = ENERGY_PRICE_SUN * UNITS_PER_SUN;
    let ten_trx = 10_000_000;
    let ok = call(vec![], ten_trx);
    let reverts = call(vec![1], ten_trx);
    // Enough energy for the transaction's base cost, not for the storage write.
    let starved_limit = 23_000 * ENERGY_PRICE_SUN as i64;
    let starved = call(vec![], starved_limit);
    let before = balance(node.handle(), VmAddress::Tvm(owner));
    let hashes: Vec<_> = node
        .submit(vec![ok.clone(), reverts.clone(), starved.clone()])
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(node.seal(10, 2_000).unwrap().included, 3);
    let receipts: Vec<_> = hashes.iter().map(|h| node.receipt(h).unwrap().unwrap()).collect();
    let bandwidth = |raw: &[u8]| (raw.len() as u128 - 1) * 1_000 * UNITS_PER_SUN;

    // The call ran on the Tron variant: its write in Tron's space, its log, energy = gas.
    assert_eq!((receipts[0].status.clone(), receipts[0].opcode), (TxStatus::Success, 0x40));
    assert_eq!(receipts[0].logs.len(), 1);
    assert_eq!(slot(&node, &contract, 0), U256::from(1));
    assert!(receipts[0].gas_used > 21_000 && receipts[0].gas_used < energy_limit(ten_trx as u64));
    assert_eq!(receipts[0].fee_paid, bandwidth(&ok) + u128::from(receipts[0].gas_used) * price);
    // The revert kept nothing but paid its energy.
    assert!(matches!(receipts[1].status, TxStatus::Reverted { .. }), "{:?}", receipts[1].status);
    assert_eq!(slot(&node, &contract, 1), U256::ZERO);
    assert_eq!(
        receipts[1].fee_paid,
        bandwidth(&reverts) + u128::from(receipts[1].gas_used) * price
    );
    // Out of energy: halted, every unit it offered paid.
    assert!(matches!(receipts[2].status, TxStatus::Halted { .. }), "{:?}", receipts[2].status);
    assert_eq!(receipts[2].gas_used, energy_limit(starved_limit as u64));
    assert_eq!(
        receipts[2].fee_paid,
        bandwidth(&starved) + u128::from(receipts[2].gas_used) * price
    );
    // The owner paid exactly the three fees; its identity's nonce is untouched (Tron
    // transactions are replayed by txID, not nonce).
    let paid: u128 = receipts.iter().map(|r| r.fee_paid).sum();
    assert_eq!(before - balance(node.handle(), VmAddress::Tvm(owner)), paid);
    let snapshot = node.snapshot().unwrap();
    let mut view = nvm_state_api::TxOverlay::new(&*snapshot);
    let id = nvm_identity::Registry::resolve(&mut view, &VmAddress::Tvm(owner)).unwrap();
    assert_eq!(nvm_identity::Registry::nonce(&mut view, &id).unwrap(), 0);
    // Replays are refused for good.
    assert!(refusal(&node, ok).to_string().contains("processed"));
}
