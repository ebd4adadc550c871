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
use nvm_node::MemoryNode;
use nvm_node_api::{ChainReader, TxSubmitter};
use nvm_primitives::TxStatus;
use nvm_state_api::StateReader;
use nvm_vm_evm::EvmOp;
use nvm_vm_tvm::{ENERGY_PRICE_SUN, UNITS_PER_SUN, energy_limit};

/// Runtime: with no calldata, `slot0 += 1`, LOG0 and return the new value; with calldata, write
/// `slot1 = 7` and then REVERT (so the write must vanish).
const RUNTIME: &str = concat!(
    "36601b57",                             // CALLDATASIZE → revert path
    "6000546001018060005560005260206000a0", // slot0 + 1, SSTORE, MSTORE, LOG0(0, 32)
    "60206000f3",                           // RETURN(0, 32)
    "5b600760015560006000fd",               // JUMPDEST; slot1 = 7; REVERT(0, 0)
);

#[test]
fn a_tron_contract_call_pays_its_energy_from_fee_limit_whatever_its_outcome() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    // The dev identity deploys the contract in Tron's space; a fresh Tron key gets 100 TRX.
    let init = init_code(RUNTIME);
    let deploy = EvmOp::Create { value: 0, init_code: init, gas_limit: 200_000 }.encode_at(0x40);
    let key = PrivateKeySigner::random();
    let owner = key.address().into_array();
    let hashes: Vec<_> = [nvm_vms::dev::dev_envelope(0, deploy), fund_100_trx(1, owner)]
        .into_iter()
        .map(|raw| node.submit(vec![raw]).unwrap().pop().unwrap().unwrap())
        .collect();
    assert_eq!(node.seal(10, 1_000).unwrap().included, 2);
    let deployer = nvm_vm_tvm::TRON_SPACE.account_of(&nvm_vms::dev::dev_id());
    let contract = nvm_vm_tvm::contract_address(&hashes[0], &deployer);
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

/// A `CreateSmartContract` of `owner` deploying `bytecode`.
fn create(owner: [u8; 20], bytecode: Vec<u8>) -> nvm_vm_tvm::Contract {
    deployment(owner, bytecode, 0, 0)
}

/// Init code of a factory whose runtime, called, deploys an empty contract with `CREATE2` (salt
/// 7) and returns its address.
fn factory_init() -> Vec<u8> {
    // Runtime: MSTORE8 0x00 at 0 (the child's init code: STOP, one byte); CREATE2(value 0,
    // offset 0, size 1, salt 7); MSTORE it at 0; RETURN(0, 32).
    init_code(&"6000600053600760016000 6000f5 60005260206000f3".replace(' ', ""))
}

#[test]
fn a_tron_transaction_deploys_at_trons_address_and_create2_uses_trons_prefix() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let (key, owner) = funded_tron_key(&node);
    let head = node.head().unwrap();
    let (reference, later) = ((head.height, head.hash), head.timestamp_ms as i64 + 60_000);

    // Too little for a deployment's base cost (the transaction's and the creation's): refused.
    let deploy_with = |fee_limit| {
        signed_with_fee_limit(&key, create(owner, factory_init()), reference, later, fee_limit)
    };
    let err = refusal(&node, deploy_with(10_000_000)).to_string();
    assert!(err.contains("less than the transaction's base cost"), "{err}");
    let deploy = deploy_with(20_000_000);
    let txid = node.submit(vec![deploy]).unwrap().pop().unwrap().unwrap();
    assert_eq!(node.seal(10, 2_000).unwrap().included, 1);
    let receipt = node.receipt(&txid).unwrap().unwrap();
    assert_eq!((receipt.status, receipt.opcode), (TxStatus::Success, 0x41));
    // java-tron's address for it: keccak256(txID ‖ 0x41 ‖ owner)[12..].
    let factory = nvm_vm_tvm::contract_address(&txid, &Address::from(owner));
    let snapshot = node.snapshot().unwrap();
    assert!(snapshot.get(&nvm_vm_tvm::TRON_SPACE.code_hash_key(&factory)).unwrap().is_some());
    assert!(
        snapshot
            .get(&nvm_vm_tvm::TRON_SPACE.code_hash_key(&Address::from(owner).create(0)))
            .unwrap()
            .is_none()
    );

    // The factory's CREATE2 child is at Tron's CREATE2 address (0x41, not Ethereum's 0xff).
    let call = signed_with_fee_limit(
        &key,
        trigger(owner, factory.into_array(), vec![]),
        reference,
        later,
        20_000_000,
    );
    let txid = node.submit(vec![call]).unwrap().pop().unwrap().unwrap();
    assert_eq!(node.seal(10, 3_000).unwrap().included, 1);
    assert_eq!(node.receipt(&txid).unwrap().unwrap().status, TxStatus::Success);
    let child_init_hash = alloy_primitives::keccak256([0x00]);
    let child = nvm_vm_tvm::create2_address(&factory, U256::from(7), child_init_hash);
    assert_ne!(child, factory.create2(U256::from(7).to_be_bytes::<32>(), child_init_hash));
    let snapshot = node.snapshot().unwrap();
    // An empty runtime leaves no code, but the account exists with nonce 1 (EIP-161).
    let created = snapshot
        .get(&nvm_identity::nonce_key(
            &nvm_identity::legacy_id_com(&VmAddress::Tvm(child.into_array())).unwrap(),
        ))
        .unwrap();
    assert!(created.is_some(), "no account at Tron's CREATE2 address {child}");
    let ethereum = factory.create2(U256::from(7).to_be_bytes::<32>(), child_init_hash);
    let id = nvm_identity::legacy_id_com(&VmAddress::Tvm(ethereum.into_array())).unwrap();
    assert_eq!(snapshot.get(&nvm_identity::nonce_key(&id)).unwrap(), None);
}

/// Init code of a factory whose runtime, called, makes two contracts with `CREATE` (init code
/// `STOP`) with a `CALL` to a key between them, and keeps their addresses in slots 0 and 1.
fn nested_factory_init() -> Vec<u8> {
    let create_into = |slot: u8| format!("600160006000f060{slot:02x}55");
    let call_a_key = format!("60006000600060006000 73{} 5a f1 50", "5a".repeat(20));
    let runtime = format!("6000600053 {} {call_a_key} {} 00", create_into(0), create_into(1));
    init_code(&runtime.replace(' ', ""))
}

#[test]
fn nested_creates_are_numbered_by_the_transactions_internal_transactions() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let (key, owner) = funded_tron_key(&node);
    let head = node.head().unwrap();
    let (reference, later) = ((head.height, head.hash), head.timestamp_ms as i64 + 60_000);
    let deploy = create(owner, nested_factory_init());
    let deploy = signed_with_fee_limit(&key, deploy, reference, later, 20_000_000);
    let txid = node.submit(vec![deploy]).unwrap().pop().unwrap().unwrap();
    assert_eq!(node.seal(10, 2_000).unwrap().included, 1);
    let factory = nvm_vm_tvm::contract_address(&txid, &Address::from(owner));

    let call = trigger(owner, factory.into_array(), vec![]);
    let call = signed_with_fee_limit(&key, call, reference, later, 50_000_000);
    let txid = node.submit(vec![call]).unwrap().pop().unwrap().unwrap();
    assert_eq!(node.seal(10, 3_000).unwrap().included, 1);
    assert_eq!(node.receipt(&txid).unwrap().unwrap().status, TxStatus::Success);
    // java-tron's numbering: the first CREATE is internal transaction 0, its child frame 1 had
    // none of its own, the CALL was 1, so the second CREATE is 2.
    let first = nvm_vm_tvm::nested_contract_address(&txid, 0);
    let second = nvm_vm_tvm::nested_contract_address(&txid, 2);
    let word = |address: Address| U256::from_be_slice(address.as_slice());
    assert_eq!(slot(&node, &factory, 0), word(first));
    assert_eq!(slot(&node, &factory, 1), word(second));
    assert_ne!(first, factory.create(1), "not Ethereum's sender-and-nonce address");
}
