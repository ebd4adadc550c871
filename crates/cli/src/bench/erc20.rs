//! ERC-20 transfers of a Solidity token in signed EIP-1559 transactions through the node
//! (ecrecover at admission, gas paid from ledger balances, revm, state root, fsync'd commit), and
//! the very same transactions through plain revm over an in-memory database, in the same run.

use super::{BenchArgs, pipeline, rate};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, sol};
use nvm_identity::VmAddress;
use nvm_node::{DEV_CHAIN_ID, Genesis};
use nvm_primitives::sha256;
use nvm_vm_evm::GenesisContract;
use nvm_vm_evm::{EthereumTx, INITIAL_BASE_FEE};
use rayon::prelude::*;
use revm::{
    Context, ExecuteCommitEvm, MainBuilder, MainContext,
    context::{BlockEnv, CfgEnv, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
    primitives::hardfork::SpecId,
    state::{AccountInfo, Bytecode},
};
use std::time::Instant;

sol! {
    function transfer(address to, uint256 value) external returns (bool);
}

/// Runtime code of `tests/eth-clients/contracts/Token.sol` (solc 0.8.30, optimizer on).
const TOKEN_RUNTIME: &str = include_str!("token_runtime.hex");
/// Where the token lives in both runs.
const TOKEN: Address = Address::repeat_byte(0x70);
/// Storage slots of Token.sol: `totalSupply` and the `balanceOf` mapping.
const TOTAL_SUPPLY_SLOT: u64 = 2;
const BALANCES_SLOT: u64 = 3;
/// Gas limit of each transfer (one uses ~35–52k).
const TRANSFER_GAS_LIMIT: u64 = 60_000;
const START_BALANCE: u128 = 10u128.pow(24);

/// Solidity's slot of `balanceOf[owner]`: `keccak256(owner ‖ slot)`.
fn balance_slot(owner: &Address) -> U256 {
    let mut preimage = [0u8; 64];
    preimage[12..32].copy_from_slice(owner.as_slice());
    preimage[32..].copy_from_slice(&U256::from(BALANCES_SLOT).to_be_bytes::<32>());
    U256::from_be_bytes(keccak256(preimage).0)
}

fn word(value: U256) -> [u8; 32] {
    value.to_be_bytes::<32>()
}

pub(super) fn run(args: &BenchArgs) -> Result<f64, String> {
    let (senders, block_txs) =
        super::announce(args, "ERC-20 transfers (Solidity token, signed EIP-1559 transactions)", 2);
    let signers: Vec<PrivateKeySigner> = (0..senders)
        .into_par_iter()
        .map(|i| {
            let seed = B256::from(sha256(format!("bench evm sender {i}").as_bytes()));
            PrivateKeySigner::from_bytes(&seed).map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let addresses: Vec<Address> = signers.iter().map(PrivateKeySigner::address).collect();
    let code = hex::decode(TOKEN_RUNTIME.trim()).map_err(|e| e.to_string())?;
    let token_balance = U256::from(START_BALANCE);
    let mut storage =
        vec![(word(U256::from(TOTAL_SUPPLY_SLOT)), word(token_balance * U256::from(senders)))];
    storage.extend(addresses.iter().map(|a| (word(balance_slot(a)), word(token_balance))));

    let started = Instant::now();
    let raws: Vec<Vec<u8>> = (0..args.txs)
        .into_par_iter()
        .map(|j| {
            let (s, round) = (j % senders, j / senders);
            let to = addresses[(s + 1 + round % (senders - 1)) % senders];
            let tx = TxEip1559 {
                chain_id: DEV_CHAIN_ID,
                nonce: round as u64,
                gas_limit: TRANSFER_GAS_LIMIT,
                max_fee_per_gas: 100 * u128::from(INITIAL_BASE_FEE),
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(TOKEN),
                value: U256::ZERO,
                access_list: Default::default(),
                input: transferCall { to, value: U256::from(1) }.abi_encode().into(),
            };
            let signature =
                signers[s].sign_hash_sync(&tx.signature_hash()).map_err(|e| e.to_string())?;
            Ok(TxEnvelope::from(tx.into_signed(signature)).encoded_2718())
        })
        .collect::<Result<_, String>>()?;
    println!("signed {} transactions in {:.2?} (not timed below)", raws.len(), started.elapsed());
    let ceiling =
        super::signature_ceiling(&raws, "ecrecover", |raw| EthereumTx::decode(raw).is_ok());

    // Plain revm: the same transactions, decoded and recovered, on one thread.
    let t = Instant::now();
    let decoded: Vec<EthereumTx> = raws
        .iter()
        .map(|raw| EthereumTx::decode(raw).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let recover_time = t.elapsed();
    let mut db = CacheDB::new(EmptyDB::default());
    for address in &addresses {
        db.insert_account_info(*address, AccountInfo::from_balance(U256::from(START_BALANCE)));
    }
    let bytecode = Bytecode::new_raw(code.clone().into());
    db.insert_account_info(TOKEN, AccountInfo::default().with_code(bytecode));
    for (slot, value) in &storage {
        db.insert_account_storage(TOKEN, U256::from_be_bytes(*slot), U256::from_be_bytes(*value))
            .map_err(|e| e.to_string())?;
    }
    let mut cfg = CfgEnv::new_with_spec(SpecId::default());
    cfg.chain_id = DEV_CHAIN_ID;
    let block = BlockEnv {
        number: U256::from(1),
        basefee: INITIAL_BASE_FEE,
        gas_limit: u64::MAX,
        ..BlockEnv::default()
    };
    let mut evm = Context::mainnet().with_db(db).with_block(block).with_cfg(cfg).build_mainnet();
    let t = Instant::now();
    for tx in &decoded {
        match evm.transact_commit(tx.revm_tx()) {
            Ok(ExecutionResult::Success { .. }) => {}
            other => return Err(format!("plain revm: a transfer did not succeed: {other:?}")),
        }
    }
    let revm_time = t.elapsed();
    let plain = rate(decoded.len(), revm_time);
    let plain_with_recovery = rate(decoded.len(), revm_time + recover_time);
    println!(
        "plain revm (in-memory CacheDB, one thread): {plain:>10.0} tx/s executing ({revm_time:.2?}); {plain_with_recovery:.0} tx/s with decoding + ecrecover ({recover_time:.2?})"
    );

    // n-VM: the same bytes through the node's pipeline.
    let external =
        addresses.iter().map(|a| (VmAddress::Evm(a.into_array()), START_BALANCE)).collect();
    let mut genesis = Genesis {
        block_gas_limit: TRANSFER_GAS_LIMIT * block_txs as u64,
        ..super::bench_genesis(Vec::new(), external)
    };
    let token = GenesisContract { address: TOKEN.into_array(), code, storage };
    genesis.parts.push(std::sync::Arc::new(nvm_vm_evm::GenesisContracts(vec![token])));
    let (chain, _temp) = super::open_chain(args, &genesis)?;
    let t = Instant::now();
    let tagged = raws.iter().map(|raw| nvm_vm_evm::tag_ethereum(raw)).collect();
    let included = pipeline::drive(&chain, tagged, block_txs)?;
    let ours = rate(included, t.elapsed());
    if included != args.txs {
        return Err(format!("only {included} of {} transactions were included", args.txs));
    }
    println!(
        "ERC-20 transfers: n-VM {ours:.0} tx/s (admission with ecrecover -> EVM -> state root -> fsync'd commit) vs plain revm {plain:.0} tx/s executing in memory: {:.2}x ({:.2}x of plain revm with ecrecover); {:.2}x the ecrecover ceiling",
        ours / plain,
        ours / plain_with_recovery,
        ours / ceiling
    );
    Ok(ours)
}
