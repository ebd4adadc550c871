//! Helpers shared by the executor's integration tests: funded actors, genesis, signing.

#![allow(clippy::unwrap_used, dead_code)] // tests: a panic is the failure report

pub mod wallets;

use nvm_executor::{ChainConfig, Executor, VerifiedTx, VmRegistry};
use nvm_identity::{Registry, SecretKey, id_com_from_credential};
use nvm_ledger::{Ledger, NATIVE_MINT, TokenInfo};
use nvm_primitives::{ENVELOPE_VERSION, IdCom, SchemeId, TxBody};
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_native::NativeOp;

pub const CHAIN: u64 = 1337;
pub const FEE: u128 = 10;
pub const START: u128 = 1_000_000;
pub const ACTORS: usize = 6;

pub struct Actor {
    pub key: SecretKey,
    pub id: IdCom,
}

pub fn actor(i: usize) -> Actor {
    let key = SecretKey::from_secret(SchemeId::Ed25519, &[i as u8 + 1; 32]).unwrap();
    let id = id_com_from_credential(SchemeId::Ed25519, &key.public_key(), &[0; 32]);
    Actor { key, id }
}

/// A late joiner: funded at genesis by id_com, registered only by a transaction.
pub fn newcomer() -> Actor {
    let key = SecretKey::from_secret(SchemeId::Secp256k1Ecdsa, &[99; 32]).unwrap();
    let id = id_com_from_credential(SchemeId::Secp256k1Ecdsa, &key.public_key(), &[1; 32]);
    Actor { key, id }
}

pub fn genesis(actors: &[Actor]) -> MemoryState {
    let base = MemoryState::default();
    let mut state = TxOverlay::new(&base);
    Ledger::create_token(&mut state, &NATIVE_MINT, TokenInfo::native()).unwrap();
    for a in actors {
        Registry::create(&mut state, SchemeId::Ed25519, &a.key.public_key(), [0; 32]).unwrap();
        Ledger::credit(&mut state, &NATIVE_MINT, &a.id, START).unwrap();
    }
    Ledger::credit(&mut state, &NATIVE_MINT, &newcomer().id, START).unwrap();
    let (writes, _) = state.into_writes();
    let mut out = MemoryState::default();
    out.apply(&writes.into_iter().collect());
    out
}

/// Signs `payload` (opcode and body) as `sender` with `a`'s key.
pub fn sign_payload(a: &Actor, sender: IdCom, nonce: u64, payload: Vec<u8>) -> VerifiedTx {
    let body = TxBody {
        version: ENVELOPE_VERSION,
        chain_id: CHAIN,
        sender,
        nonce,
        max_fee: FEE,
        context: Some([(nonce % 3) as u8; 16]),
        payload,
    };
    VerifiedTx::verify(&vms(), a.key.sign_transaction(body).unwrap().encode()).unwrap()
}

pub fn sign(a: &Actor, sender: IdCom, nonce: u64, op: &NativeOp) -> VerifiedTx {
    sign_payload(a, sender, nonce, op.encode())
}

pub fn executor() -> Executor {
    executor_with_fee(FEE)
}

/// The VMs the `nvm` binary runs (its one list, `nvm-vms`).
pub fn vms() -> VmRegistry {
    nvm_vms::registry().unwrap()
}

/// Executes `txs` as the block `env` serially and in parallel, checks that both wrote the same,
/// and applies the writes to `state`.
pub fn execute_both_ways(
    state: &mut MemoryState,
    env: &BlockEnv,
    txs: Vec<VerifiedTx>,
) -> nvm_executor::BlockOutcome {
    use nvm_executor::ExecutionMode;
    let serial =
        executor().execute_block(&*state, env, txs.clone(), ExecutionMode::Serial).unwrap();
    let parallel = executor().execute_block(&*state, env, txs, ExecutionMode::Parallel).unwrap();
    assert_eq!(serial.writes, parallel.writes, "parallel != serial");
    state.apply(&serial.writes);
    serial
}

/// An executor charging native envelopes `tx_fee`.
pub fn executor_with_fee(tx_fee: u128) -> Executor {
    Executor::new(
        vms(),
        ChainConfig {
            chain_id: CHAIN,
            tx_fee,
            shards: 64,
            block_gas_limit: nvm_vm_evm::BLOCK_GAS_LIMIT,
        },
    )
}

pub fn env() -> BlockEnv {
    BlockEnv {
        chain_id: CHAIN,
        height: 1,
        timestamp_ms: 0,
        proposer: [0xEE; 32],
        parent_hash: [0x11; 32],
        base_fee_per_gas: nvm_vm_evm::INITIAL_BASE_FEE,
        gas_limit: nvm_vm_evm::BLOCK_GAS_LIMIT,
    }
}

/// ERC-20 calldata: `selector` then each argument as a 32-byte word (for the ledger's views).
fn erc20_call(selector: [u8; 4], addresses: &[[u8; 20]], amount: u128) -> Vec<u8> {
    let mut data = selector.to_vec();
    for address in addresses {
        data.extend([0; 12]);
        data.extend(address);
    }
    data.extend([0; 16]);
    data.extend(amount.to_be_bytes());
    data
}

/// ERC-20 `transfer(address,uint256)` calldata.
pub fn erc20_transfer(to: [u8; 20], amount: u128) -> Vec<u8> {
    erc20_call([0xa9, 0x05, 0x9c, 0xbb], &[to], amount)
}

/// ERC-20 `approve(address,uint256)` calldata.
pub fn erc20_approve(spender: [u8; 20], amount: u128) -> Vec<u8> {
    erc20_call([0x09, 0x5e, 0xa7, 0xb3], &[spender], amount)
}

/// ERC-20 `transferFrom(address,address,uint256)` calldata.
pub fn erc20_transfer_from(from: [u8; 20], to: [u8; 20], amount: u128) -> Vec<u8> {
    erc20_call([0x23, 0xb8, 0x72, 0xdd], &[from, to], amount)
}

/// A second ledger token for tests that move more than the native one.
pub const GOLD: nvm_primitives::Mint = [0x60; 32];

/// Registers [`GOLD`] (6 decimals, no mint authority, supply 0 until set).
pub fn create_gold(state: &mut TxOverlay<'_>) {
    let info = TokenInfo {
        name: "Gold".into(),
        symbol: "GLD".into(),
        decimals: 6,
        supply: 0,
        authority: None,
    };
    Ledger::create_token(state, &GOLD, info).unwrap();
}

/// `n` cases, or `PROPTEST_CASES` when it is set (a longer search than the suite's).
pub fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
}
