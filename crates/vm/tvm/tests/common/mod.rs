//! Tron transactions for the tests: built and signed as TronWeb builds and signs them.

#![allow(dead_code)] // each test binary uses its own part

use alloy_primitives::{B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use nvm_executor::AdmissionError;
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_node::MemoryNode;
use nvm_node_api::{NodeApi, TxSubmitter};
use nvm_state_api::TxOverlay;
use nvm_vm_tvm::{
    Any, Contract, Raw, TRON_TX_TAG, TransactionWire, TransferAssetContract, TransferContract,
    TriggerSmartContract,
};
use prost::Message;

pub fn tron(address: [u8; 20]) -> Vec<u8> {
    [&[0x41][..], &address].concat()
}

/// A signed transaction of one contract, referencing block `(height, hash)`, expiring at
/// `expiration` ms, as a block carries it.
pub fn signed(
    key: &PrivateKeySigner,
    contract: Contract,
    reference: (u64, [u8; 32]),
    expiration: i64,
) -> Vec<u8> {
    signed_with_fee_limit(key, contract, reference, expiration, 0)
}

/// [`signed`] offering `fee_limit` sun for energy.
pub fn signed_with_fee_limit(
    key: &PrivateKeySigner,
    contract: Contract,
    reference: (u64, [u8; 32]),
    expiration: i64,
    fee_limit: i64,
) -> Vec<u8> {
    let raw = Raw {
        ref_block_bytes: (reference.0 as u16).to_be_bytes().to_vec(),
        ref_block_num: 0,
        ref_block_hash: reference.1[8..16].to_vec(),
        expiration,
        data: vec![],
        contract: vec![contract],
        timestamp: 0,
        fee_limit,
    };
    let raw_data = raw.encode_to_vec();
    let txid = nvm_primitives::sha256(&raw_data);
    let signature = key.sign_hash_sync(&B256::from(txid)).unwrap().as_bytes().to_vec();
    let wire = TransactionWire { raw_data, signature: vec![signature] }.encode_to_vec();
    [&[TRON_TX_TAG][..], &wire].concat()
}

pub fn transfer(owner: [u8; 20], to: [u8; 20], sun: i64) -> Contract {
    let c = TransferContract { owner_address: tron(owner), to_address: tron(to), amount: sun };
    Contract {
        r#type: 1,
        parameter: Some(Any {
            type_url: "type.googleapis.com/protocol.TransferContract".into(),
            value: c.encode_to_vec(),
        }),
        permission_id: 0,
    }
}

/// A `TransferAssetContract` of `amount` of the TRC-10 asset `asset_name` (its id's digits).
pub fn transfer_asset(owner: [u8; 20], to: [u8; 20], asset_name: &str, amount: i64) -> Contract {
    let c = TransferAssetContract {
        asset_name: asset_name.as_bytes().to_vec(),
        owner_address: tron(owner),
        to_address: tron(to),
        amount,
    };
    Contract {
        r#type: 2,
        parameter: Some(Any {
            type_url: "type.googleapis.com/protocol.TransferAssetContract".into(),
            value: c.encode_to_vec(),
        }),
        permission_id: 0,
    }
}

/// `address`'s identity's balance of `mint`.
pub fn token_balance(node: &dyn NodeApi, mint: &nvm_primitives::Mint, address: VmAddress) -> u128 {
    let snapshot = node.snapshot().unwrap();
    let mut view = TxOverlay::new(&snapshot);
    let id = Registry::resolve(&mut view, &address).unwrap();
    Ledger::balance(&mut view, mint, &id).unwrap()
}

pub fn balance(node: &dyn NodeApi, address: VmAddress) -> u128 {
    let snapshot = node.snapshot().unwrap();
    let mut view = TxOverlay::new(&snapshot);
    let id = Registry::resolve(&mut view, &address).unwrap();
    Ledger::balance(&mut view, &NATIVE_MINT, &id).unwrap()
}

pub fn refusal(node: &MemoryNode, raw: Vec<u8>) -> AdmissionError {
    node.submit(vec![raw]).unwrap().pop().unwrap().unwrap_err()
}

/// A `TriggerSmartContract` of `owner` calling `contract` with `data`.
pub fn trigger(owner: [u8; 20], contract: [u8; 20], data: Vec<u8>) -> Contract {
    trigger_with_token(owner, contract, data, 0, 0)
}

/// [`trigger`] sending `call_token_value` of the TRC-10 asset `token_id`.
pub fn trigger_with_token(
    owner: [u8; 20],
    contract: [u8; 20],
    data: Vec<u8>,
    token_id: i64,
    call_token_value: i64,
) -> Contract {
    let call = TriggerSmartContract {
        owner_address: tron(owner),
        contract_address: tron(contract),
        call_value: 0,
        data,
        call_token_value,
        token_id,
    };
    Contract {
        r#type: 31,
        parameter: Some(Any {
            type_url: "type.googleapis.com/protocol.TriggerSmartContract".into(),
            value: call.encode_to_vec(),
        }),
        permission_id: 0,
    }
}

/// The native envelope (dev identity, `nonce`) that gives a fresh Tron key 100 TRX: the key has no
/// identity, so its Tron address's legacy identity holds them.
pub fn fund_100_trx(nonce: u64, owner: [u8; 20]) -> Vec<u8> {
    let fund = nvm_vm_native::NativeOp::Transfer {
        mint: NATIVE_MINT,
        to: VmAddress::Tvm(owner),
        amount: 100 * 1_000_000 * nvm_vm_tvm::UNITS_PER_SUN,
    };
    nvm_vms::dev::dev_envelope(nonce, fund.encode())
}

/// A fresh Tron key holding 100 TRX on `node`, in a block of its own.
pub fn funded_tron_key(node: &MemoryNode) -> (PrivateKeySigner, [u8; 20]) {
    let key = PrivateKeySigner::random();
    let owner = key.address().into_array();
    node.submit(vec![fund_100_trx(0, owner)]).unwrap().pop().unwrap().unwrap();
    node.seal(10, 1_000).unwrap();
    (key, owner)
}

/// Runs `txs` (block transactions) as the next block, in parallel and serially: all included,
/// side by side in one batch, none touching what it did not declare, the same writes both ways.
pub fn run_side_by_side(node: &MemoryNode, txs: Vec<Vec<u8>>) {
    use nvm_executor::{ExecutionMode, VerifiedTx};
    use nvm_node_api::ChainReader;
    let count = txs.len();
    let executor = node.executor();
    let txs: Vec<VerifiedTx> =
        txs.into_iter().map(|raw| VerifiedTx::verify(&executor.vms, raw).unwrap()).collect();
    let head = node.head().unwrap();
    let (env, state) = node.next_block(head.timestamp_ms + 1_000).unwrap();
    let parallel =
        executor.execute_block(&*state, &env, txs.clone(), ExecutionMode::Parallel).unwrap();
    let serial = executor.execute_block(&*state, &env, txs, ExecutionMode::Serial).unwrap();
    assert_eq!(parallel.included.len(), count, "{:?}", parallel.rejected);
    assert!(!parallel.fell_back_to_serial, "a transfer touched what it did not declare");
    assert_eq!(parallel.widest_batch, count, "the transfers did not run side by side");
    assert_eq!(parallel.writes, serial.writes, "parallel != serial");
}

/// Slot `index` of a contract in Tron's account space.
pub fn slot(node: &MemoryNode, contract: &alloy_primitives::Address, index: u64) -> U256 {
    use nvm_node_api::ChainReader;
    use nvm_state_api::StateReader;
    let snapshot = node.snapshot().unwrap();
    let key = nvm_vm_tvm::TRON_SPACE.storage_key(contract, &U256::from(index));
    snapshot.get(&key).unwrap().map(|b| U256::from_be_slice(&b)).unwrap_or_default()
}

/// Init code that deploys `runtime` (hex) as it is.
pub fn init_code(runtime: &str) -> Vec<u8> {
    let len = runtime.len() / 2;
    assert!(len < 256, "a one-byte length");
    hex::decode(format!("60{len:02x}80600b6000396000f3{runtime}")).unwrap()
}

/// A `CreateSmartContract` of `owner` deploying `bytecode` (init code), sending
/// `call_token_value` of the TRC-10 asset `token_id`.
pub fn deployment(
    owner: [u8; 20],
    bytecode: Vec<u8>,
    token_id: i64,
    call_token_value: i64,
) -> Contract {
    let smart = nvm_vm_tvm::SmartContract {
        origin_address: tron(owner),
        bytecode,
        consume_user_resource_percent: 100,
        origin_energy_limit: 10_000_000,
        ..Default::default()
    };
    let deploy = nvm_vm_tvm::CreateSmartContract {
        owner_address: tron(owner),
        new_contract: Some(smart),
        call_token_value,
        token_id,
    };
    Contract {
        r#type: 30,
        parameter: Some(Any {
            type_url: "type.googleapis.com/protocol.CreateSmartContract".into(),
            value: deploy.encode_to_vec(),
        }),
        permission_id: 0,
    }
}
