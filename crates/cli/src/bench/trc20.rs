//! TRC-20 transfers in signed Tron transactions through the node: a ledger token's TRC-20 view
//! called by `TriggerSmartContract`s (secp256k1 recovery of the txID at admission, TAPoS and
//! replay checks, energy bought from `fee_limit`, the Tron variant of revm running the view over
//! ledger balances, state root, fsync'd commit), beside the same transactions' decoding and
//! signature recovery alone on all cores (the ceiling).

use super::{BenchArgs, pipeline};
use alloy_primitives::{Address, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, sol};
use nvm_identity::{VmAddress, id_com_from_credential};
use nvm_ledger::erc20_view_address;
use nvm_node::{DEV_CHAIN_ID, DEV_TX_FEE, GenesisAccount};
use nvm_primitives::{ENVELOPE_VERSION, SchemeId, TxBody, sha256};
use nvm_vm_native::NativeOp;
use nvm_vm_tvm::{Any, Contract, Raw, TRON_TX_TAG, TransactionWire, TriggerSmartContract, TronTx};
use prost::Message;
use rayon::prelude::*;
use std::time::Instant;

sol! {
    function transfer(address to, uint256 value) external returns (bool);
}

/// Sun each transfer offers for energy (10 TRX: about 47,600 energy; one uses about 36,000).
const FEE_LIMIT_SUN: i64 = 10_000_000;

fn tron(address: &Address) -> Vec<u8> {
    [&[nvm_vm_tvm::TRON_ADDRESS_PREFIX][..], address.as_slice()].concat()
}

/// A signed `TriggerSmartContract` of `key` calling `view`'s `transfer(to, 1)`, as a block holds
/// it; `stamp` makes each transaction's txID its own.
fn transfer_tx(
    key: &PrivateKeySigner,
    view: &Address,
    to: Address,
    reference: (u64, [u8; 32]),
    stamp: i64,
) -> Result<Vec<u8>, String> {
    let call = TriggerSmartContract {
        owner_address: tron(&key.address()),
        contract_address: tron(view),
        call_value: 0,
        data: transferCall { to, value: U256::from(1) }.abi_encode(),
        call_token_value: 0,
        token_id: 0,
    };
    let raw = Raw {
        ref_block_bytes: ((reference.0 & 0xffff) as u16).to_be_bytes().to_vec(),
        ref_block_num: 0,
        ref_block_hash: reference.1[8..16].to_vec(),
        expiration: 3_600_000,
        data: Vec::new(),
        contract: vec![Contract {
            r#type: 31,
            parameter: Some(Any {
                type_url: "type.googleapis.com/protocol.TriggerSmartContract".into(),
                value: call.encode_to_vec(),
            }),
            permission_id: 0,
        }],
        timestamp: stamp,
        fee_limit: FEE_LIMIT_SUN,
    };
    let raw_data = raw.encode_to_vec();
    let txid = B256::from(sha256(&raw_data));
    let signature = key.sign_hash_sync(&txid).map_err(|e| e.to_string())?.as_bytes().to_vec();
    let wire = TransactionWire { raw_data, signature: vec![signature] }.encode_to_vec();
    Ok([&[TRON_TX_TAG][..], &wire].concat())
}

pub(super) fn run(args: &BenchArgs) -> Result<f64, String> {
    let (senders, block_txs) = super::announce(
        args,
        "TRC-20 transfers (a ledger token's TRC-20 view, signed Tron transactions)",
        2,
    );
    let keys: Vec<PrivateKeySigner> = (0..senders)
        .into_par_iter()
        .map(|i| {
            let seed = B256::from(sha256(format!("bench tron sender {i}").as_bytes()));
            PrivateKeySigner::from_bytes(&seed).map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let addresses: Vec<Address> = keys.iter().map(PrivateKeySigner::address).collect();
    // Each sender's Tron address holds TRX for its energy; an issuer identity holds the token.
    let trx = 10_000 * 1_000_000 * nvm_vm_tvm::UNITS_PER_SUN;
    let funded = addresses.iter().map(|a| (VmAddress::Tvm(a.into_array()), trx)).collect();
    let issuer = super::key_of("bench trc20 issuer", 0);
    let issuer_id = id_com_from_credential(SchemeId::Ed25519, &issuer.public_key(), &[0; 32]);
    let account = GenesisAccount {
        scheme: SchemeId::Ed25519,
        public_key: issuer.public_key(),
        salt: [0; 32],
        balance: 10u128.pow(24),
    };
    // Each transfer reserves the energy its fee_limit buys out of the block's gas: room for a
    // full block of them (as the ERC-20 workload sizes its blocks by its gas limit).
    let energy = nvm_vm_tvm::energy_limit(FEE_LIMIT_SUN as u64);
    let genesis = nvm_node::Genesis {
        block_gas_limit: energy * block_txs as u64,
        ..super::bench_genesis(vec![account], funded)
    };
    let (chain, _temp) = super::open_chain(args, &genesis)?;

    // Not timed: the token, then a million units to every sender's Tron address.
    let started = Instant::now();
    let envelope = |nonce: u64, op: NativeOp| {
        let body = TxBody {
            version: ENVELOPE_VERSION,
            chain_id: DEV_CHAIN_ID,
            sender: issuer_id,
            nonce,
            max_fee: DEV_TX_FEE,
            context: None,
            payload: op.encode(),
        };
        issuer.sign_transaction(body).map(|tx| tx.encode()).map_err(|e| e.to_string())
    };
    let supply = 1_000_000 * senders as u128;
    let create = NativeOp::CreateToken {
        name: "Bench".into(),
        symbol: "BNC".into(),
        decimals: 6,
        initial_supply: supply,
    };
    super::setup_block(&chain, vec![envelope(0, create)?], 1)?;
    let mint = nvm_vm_native::token_mint_id(&issuer_id, 0);
    let grants = addresses
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let to = VmAddress::Tvm(a.into_array());
            envelope(1 + i as u64, NativeOp::Transfer { mint, to, amount: 1_000_000 })
        })
        .collect::<Result<Vec<_>, _>>()?;
    super::setup_block(&chain, grants, 2)?;
    let head = chain.head().map_err(|e| e.to_string())?;
    println!("set up a token and {senders} holders in {:.2?} (not timed)", started.elapsed());

    // The measured transfers: sender i pays its neighbour one unit through the TRC-20 view.
    let view = Address::from(erc20_view_address(&mint));
    let started = Instant::now();
    let raws: Vec<Vec<u8>> = (0..args.txs)
        .into_par_iter()
        .map(|j| {
            let s = j % senders;
            let to = addresses[(s + 1) % senders];
            transfer_tx(&keys[s], &view, to, (head.height, head.hash), j as i64)
        })
        .collect::<Result<_, String>>()?;
    println!("signed {} transactions in {:.2?} (not timed below)", raws.len(), started.elapsed());

    let ceiling = super::signature_ceiling(&raws, "signature-recovery", |raw| {
        TronTx::decode(&raw[1..]).is_ok()
    });
    let ours = pipeline::sustained(&chain, raws, block_txs, args.txs)?;
    println!(
        "TRC-20 transfers: n-VM {ours:.0} tx/s (recovery at admission -> TAPoS, energy -> Tron variant over the ledger -> state root -> fsync'd commit), {:.2}x the recovery ceiling",
        ours / ceiling
    );
    Ok(ours)
}
