//! Agave's SVM over the unified state: a System-program transfer moves ledger balances (lamports
//! are the native token in 9 decimals), a real mainnet program build (SPL Memo) runs, and a
//! failing transaction pays its fee and changes nothing else.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::block;

use nvm_identity::{VmAddress, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT, TokenInfo};
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_svm::{LAMPORTS_PER_SIGNATURE, SvmRuntime, UNITS_PER_LAMPORT, accounts};
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::{Transaction, sanitized::SanitizedTransaction};
use std::collections::HashSet;

const SOL: u64 = 1_000_000_000;

fn ledger_units(state: &MemoryState, address: &Pubkey) -> u128 {
    let id = legacy_id_com(&VmAddress::Svm(address.to_bytes())).unwrap();
    Ledger::balance(&mut TxOverlay::new(state), &NATIVE_MINT, &id).unwrap()
}

/// A chain whose native token exists and where `payer` holds 10 SOL (and 7 sub-lamport units,
/// which no Solana transaction may create or lose).
fn funded(payer: &Pubkey) -> MemoryState {
    let empty = MemoryState::default();
    let mut state = TxOverlay::new(&empty);
    Ledger::create_token(&mut state, &NATIVE_MINT, TokenInfo::native()).unwrap();
    let id = legacy_id_com(&VmAddress::Svm(payer.to_bytes())).unwrap();
    Ledger::credit(&mut state, &NATIVE_MINT, &id, u128::from(10 * SOL) * UNITS_PER_LAMPORT + 7)
        .unwrap();
    // SPL Memo v3, the mainnet build `solana-program-binaries` ships, placed as genesis would.
    let memo = Pubkey::from_str_const("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
    for (address, account) in
        solana_program_binaries::by_id(&memo, &solana_rent::Rent::default()).unwrap()
    {
        accounts::store(&mut state, &address, &account).unwrap();
    }
    let (writes, _) = state.into_writes();
    let mut out = MemoryState::default();
    out.apply(&writes.into_iter().collect());
    out
}

/// Runs one instruction signed and paid for by `payer`, and applies what it wrote.
fn run(
    runtime: &SvmRuntime,
    state: &mut MemoryState,
    payer: &Keypair,
    ix: Instruction,
) -> nvm_vm_svm::SvmOutcome {
    let tx = Transaction::new_signed_with_payer(
        &[ix],
        Some(&payer.pubkey()),
        &[payer],
        Default::default(),
    );
    let tx = SanitizedTransaction::try_from_legacy_transaction(tx, &HashSet::new()).unwrap();
    let mut overlay = TxOverlay::new(&*state);
    let outcome = runtime.execute(&mut overlay, &block(), &tx).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    outcome
}

#[test]
fn system_transfer_moves_ledger_balances_in_lamports() {
    let runtime = SvmRuntime::new().unwrap();
    let payer = Keypair::new();
    let to = Pubkey::new_unique();
    let mut state = funded(&payer.pubkey());
    let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, SOL);
    let outcome = run(&runtime, &mut state, &payer, ix);
    assert_eq!(outcome.status, Ok(()), "{:?}", outcome.logs);
    assert_eq!(outcome.fee_lamports, LAMPORTS_PER_SIGNATURE);
    assert_eq!(ledger_units(&state, &to), u128::from(SOL) * UNITS_PER_LAMPORT);
    let left = u128::from(9 * SOL - LAMPORTS_PER_SIGNATURE) * UNITS_PER_LAMPORT + 7;
    assert_eq!(ledger_units(&state, &payer.pubkey()), left, "the sub-lamport dust stays");
}

#[test]
fn spl_memo_runs_and_a_failure_only_pays_its_fee() {
    let runtime = SvmRuntime::new().unwrap();
    let payer = Keypair::new();
    let mut state = funded(&payer.pubkey());
    let memo = Pubkey::from_str_const("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
    let ix = Instruction::new_with_bytes(
        memo,
        b"hello n-VM",
        vec![AccountMeta::new_readonly(payer.pubkey(), true)],
    );
    let outcome = run(&runtime, &mut state, &payer, ix);
    assert_eq!(outcome.status, Ok(()), "{:?}", outcome.logs);
    assert!(
        outcome.logs.iter().any(|l| l.contains("Memo (len 10): \"hello n-VM\"")),
        "{:?}",
        outcome.logs
    );
    assert!(outcome.meta.compute_units > 0);

    // Transferring more than the payer holds fails inside the System program: fee only.
    let before = ledger_units(&state, &payer.pubkey());
    let to = Pubkey::new_unique();
    let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, 100 * SOL);
    let outcome = run(&runtime, &mut state, &payer, ix);
    assert!(outcome.status.is_err(), "{outcome:?}");
    assert_eq!(ledger_units(&state, &to), 0);
    assert_eq!(
        ledger_units(&state, &payer.pubkey()),
        before - u128::from(LAMPORTS_PER_SIGNATURE) * UNITS_PER_LAMPORT
    );
}
