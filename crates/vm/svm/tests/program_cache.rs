//! What a Solana program runs as is a function of the state alone, never of what a node's program
//! cache happens to hold: a node that ran a program before it was upgraded or closed, and one
//! started afresh after, run the same code (Agave's rules: an upgrade takes effect from the next
//! block, a closed program runs no more), and a block executed then abandoned (a competing
//! proposal won) leaves nothing behind. Otherwise two validators compute different receipts and
//! state roots for one block.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use nvm_identity::{VmAddress, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT, TokenInfo};
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_svm::{AccountSharedData, ReadableAccount, SvmRuntime, UNITS_PER_LAMPORT, accounts};
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::{Transaction, sanitized::SanitizedTransaction};

const SOL: u64 = 1_000_000_000;
const LOADER_V3: Pubkey = solana_sdk_ids::bpf_loader_upgradeable::ID;
const MEMO_V3: Pubkey = Pubkey::from_str_const("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
const MEMO_V4: Pubkey = Pubkey::from_str_const("Memo4c2pN8afCj432Lb7RMVKi9PbQnnW7ewFFaV3oAH");
/// Where a loader-v3 program's ELF starts in its program data account.
const PROGRAM_DATA_HEADER: usize = 45;

fn env(height: u64) -> BlockEnv {
    BlockEnv {
        chain_id: 7,
        height,
        timestamp_ms: 1_700_000_000_000 + height * 1_000,
        proposer: [0xEE; 32],
        parent_hash: [0x11; 32],
        base_fee_per_gas: 0,
        gas_limit: 0,
    }
}

/// The ELF of a program `solana-program-binaries` ships.
fn elf(id: &Pubkey) -> Vec<u8> {
    let accounts = solana_program_binaries::by_id(id, &Default::default()).unwrap();
    let data = accounts.last().unwrap().1.data().to_vec();
    if accounts.len() == 2 { data[PROGRAM_DATA_HEADER..].to_vec() } else { data }
}

/// A state where `program` is memo v3 under loader v3 with `payer` its upgrade authority, and
/// `buffer` holds memo v4 (same authority); returns it and the program data address.
fn upgradeable_memo(payer: &Keypair, program: &Pubkey, buffer: &Pubkey) -> (MemoryState, Pubkey) {
    let rent = solana_rent::Rent::default();
    let empty = MemoryState::default();
    let mut overlay = TxOverlay::new(&empty);
    Ledger::create_token(&mut overlay, &NATIVE_MINT, TokenInfo::native()).unwrap();
    let id = legacy_id_com(&VmAddress::Svm(payer.pubkey().to_bytes())).unwrap();
    let funds = u128::from(100 * SOL) * UNITS_PER_LAMPORT;
    Ledger::credit(&mut overlay, &NATIVE_MINT, &id, funds).unwrap();
    let [(address, account), (data_address, mut data_account)] =
        solana_program_binaries::bpf_loader_upgradeable_program_accounts(
            program,
            &elf(&MEMO_V3),
            &rent,
        );
    // `ProgramData { slot, upgrade_authority_address: Some(payer) }`.
    data_account.data[12] = 1;
    data_account.data[13..45].copy_from_slice(payer.pubkey().as_ref());
    accounts::store(&mut overlay, &address, &AccountSharedData::from(account)).unwrap();
    accounts::store(&mut overlay, &data_address, &AccountSharedData::from(data_account)).unwrap();
    // `Buffer { authority_address: Some(payer) }` ‖ memo v4.
    let mut bytes = vec![1, 0, 0, 0, 1];
    bytes.extend_from_slice(payer.pubkey().as_ref());
    bytes.extend_from_slice(&elf(&MEMO_V4));
    let mut staged =
        AccountSharedData::new(rent.minimum_balance(bytes.len()), bytes.len(), &LOADER_V3);
    staged.set_data_from_slice(&bytes);
    accounts::store(&mut overlay, buffer, &staged).unwrap();
    let (writes, _) = overlay.into_writes();
    let mut state = MemoryState::default();
    state.apply(&writes.into_iter().collect());
    (state, data_address)
}

/// Loader v3's `Upgrade` of `program` from `buffer`, by `payer`.
fn upgrade(program: &Pubkey, data: &Pubkey, buffer: &Pubkey, payer: &Keypair) -> Instruction {
    let accounts = vec![
        AccountMeta::new(*data, false),
        AccountMeta::new(*program, false),
        AccountMeta::new(*buffer, false),
        AccountMeta::new(payer.pubkey(), false),
        AccountMeta::new_readonly(solana_sdk_ids::sysvar::rent::id(), false),
        AccountMeta::new_readonly(solana_sdk_ids::sysvar::clock::id(), false),
        AccountMeta::new_readonly(payer.pubkey(), true),
    ];
    Instruction::new_with_bytes(LOADER_V3, &3u32.to_le_bytes(), accounts)
}

/// Loader v3's `Close` of `program`, its lamports to `payer`.
fn close(program: &Pubkey, data: &Pubkey, payer: &Keypair) -> Instruction {
    let accounts = vec![
        AccountMeta::new(*data, false),
        AccountMeta::new(payer.pubkey(), false),
        AccountMeta::new_readonly(payer.pubkey(), true),
        AccountMeta::new(*program, false),
    ];
    Instruction::new_with_bytes(LOADER_V3, &5u32.to_le_bytes(), accounts)
}

fn memo(program: &Pubkey, payer: &Keypair, text: &str) -> Instruction {
    let signer = vec![AccountMeta::new_readonly(payer.pubkey(), true)];
    Instruction::new_with_bytes(*program, text.as_bytes(), signer)
}

/// How a transaction ended and what it logged (which memo build ran shows in its logs).
type Ran = (Result<(), String>, Vec<String>);

/// Runs `instructions` at `height`; keeps its writes if `commit`.
fn run(
    runtime: &SvmRuntime,
    state: &mut MemoryState,
    height: u64,
    payer: &Keypair,
    instructions: &[Instruction],
    commit: bool,
) -> Ran {
    let tx = Transaction::new_signed_with_payer(
        instructions,
        Some(&payer.pubkey()),
        &[payer],
        Default::default(),
    );
    let tx =
        SanitizedTransaction::try_from_legacy_transaction(tx, nvm_vm_svm::reserved_account_keys())
            .unwrap();
    let mut overlay = TxOverlay::new(&*state);
    let outcome = runtime.execute(&mut overlay, &env(height), &tx).unwrap();
    let (writes, _) = overlay.into_writes();
    if commit {
        state.apply(&writes.into_iter().collect());
    }
    (outcome.status, outcome.logs)
}

#[test]
fn a_warm_cache_and_a_fresh_one_agree_after_an_upgrade_and_a_close() {
    let payer = Keypair::new();
    let (program, buffer) = (Pubkey::new_unique(), Pubkey::new_unique());
    let (mut state, data) = upgradeable_memo(&payer, &program, &buffer);
    let warm = SvmRuntime::new().unwrap();
    // The warm node runs memo v3 (it is now in its cache).
    let before = run(&warm, &mut state, 3, &payer, &[memo(&program, &payer, "v3")], true);
    assert_eq!(before.0, Ok(()), "{:?}", before.1);

    let upgraded =
        run(&warm, &mut state, 4, &payer, &[upgrade(&program, &data, &buffer, &payer)], true);
    assert_eq!(upgraded.0, Ok(()), "{:?}", upgraded.1);
    // In the upgrade's own block the program is not runnable (Agave's delayed visibility), the
    // next block runs the new build; on the warm node exactly as on a node started afresh.
    for (height, text) in [(4, "same block"), (5, "next block")] {
        let invoke = [memo(&program, &payer, text)];
        let on_warm = run(&warm, &mut state.clone(), height, &payer, &invoke, false);
        let fresh = SvmRuntime::new().unwrap();
        let on_fresh = run(&fresh, &mut state.clone(), height, &payer, &invoke, false);
        assert_eq!(on_warm, on_fresh, "{text}");
    }
    let fresh = SvmRuntime::new().unwrap();
    let (in_block, _) =
        run(&fresh, &mut state.clone(), 4, &payer, &[memo(&program, &payer, "x")], false);
    assert!(in_block.is_err(), "an upgraded program runs in its upgrade's block");
    let next = run(&warm, &mut state, 5, &payer, &[memo(&program, &payer, "v4")], true);
    assert_eq!(next.0, Ok(()));
    assert_ne!(next.1, before.1, "the upgrade did not change what runs");

    let closed = run(&warm, &mut state, 6, &payer, &[close(&program, &data, &payer)], true);
    assert_eq!(closed.0, Ok(()), "{:?}", closed.1);
    let invoke = [memo(&program, &payer, "after close")];
    let on_warm = run(&warm, &mut state.clone(), 7, &payer, &invoke, false);
    let on_fresh = run(&SvmRuntime::new().unwrap(), &mut state, 7, &payer, &invoke, false);
    assert_eq!(on_warm, on_fresh, "after the close");
    assert!(on_warm.0.is_err(), "a closed program still runs");
}

#[test]
fn a_block_executed_then_abandoned_leaves_nothing_in_the_cache() {
    let payer = Keypair::new();
    let (program, buffer) = (Pubkey::new_unique(), Pubkey::new_unique());
    let (mut canonical, data) = upgradeable_memo(&payer, &program, &buffer);
    let warm = SvmRuntime::new().unwrap();
    // A proposal at height 4 upgrades the program and runs it; it loses to another proposal.
    let mut abandoned = canonical.clone();
    let upgraded =
        run(&warm, &mut abandoned, 4, &payer, &[upgrade(&program, &data, &buffer, &payer)], true);
    assert_eq!(upgraded.0, Ok(()), "{:?}", upgraded.1);
    // (It fails there — not yet visible — but loads the new build into the cache.)
    let _ = run(&warm, &mut abandoned, 4, &payer, &[memo(&program, &payer, "abandoned")], true);
    // On the chain that won, the program was never upgraded.
    let invoke = [memo(&program, &payer, "canonical")];
    let on_warm = run(&warm, &mut canonical.clone(), 5, &payer, &invoke, false);
    let on_fresh = run(&SvmRuntime::new().unwrap(), &mut canonical, 5, &payer, &invoke, false);
    assert_eq!(on_warm, on_fresh);
}
