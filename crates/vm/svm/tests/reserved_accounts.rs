//! Sysvars and builtin programs are never written, as on Solana: a transaction that marks one
//! writable has that lock demoted to read-only when it is decoded (Agave's reserved account
//! keys). The node synthesizes those accounts (their lamports are no ledger balance), so a
//! write-back of one would create or destroy native value; here every transfer into one fails
//! and the ledger's total is exactly what it was, less the fees.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::block;
use nvm_identity::{VmAddress, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT, TokenInfo};
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_svm::{SolanaTx, SvmOutcome, SvmRuntime, UNITS_PER_LAMPORT, account_key};
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::{Transaction, versioned::VersionedTransaction};

const SOL: u64 = 1_000_000_000;

/// The native balance (base units) of the identity behind a Solana address.
fn units(state: &MemoryState, address: &Pubkey) -> u128 {
    let id = legacy_id_com(&VmAddress::Svm(address.to_bytes())).unwrap();
    Ledger::balance(&mut TxOverlay::new(state), &NATIVE_MINT, &id).unwrap()
}

fn funded(payer: &Pubkey) -> MemoryState {
    let empty = MemoryState::default();
    let mut overlay = TxOverlay::new(&empty);
    Ledger::create_token(&mut overlay, &NATIVE_MINT, TokenInfo::native()).unwrap();
    let id = legacy_id_com(&VmAddress::Svm(payer.to_bytes())).unwrap();
    let funds = u128::from(10 * SOL) * UNITS_PER_LAMPORT;
    Ledger::credit(&mut overlay, &NATIVE_MINT, &id, funds).unwrap();
    let (writes, _) = overlay.into_writes();
    let mut state = MemoryState::default();
    state.apply(&writes.into_iter().collect());
    state
}

/// Runs `instructions` signed by `payer` as a wallet sends them (through the node's decoder).
fn run(
    runtime: &SvmRuntime,
    state: &mut MemoryState,
    payer: &Keypair,
    instructions: &[Instruction],
) -> SvmOutcome {
    let tx = Transaction::new_signed_with_payer(
        instructions,
        Some(&payer.pubkey()),
        &[payer],
        Default::default(),
    );
    let wire = bincode::serialize(&VersionedTransaction::from(tx)).unwrap();
    let tx = SolanaTx::decode(&wire).unwrap();
    let mut overlay = TxOverlay::new(&*state);
    let outcome = runtime.execute(&mut overlay, &block(), tx.sanitized()).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    outcome
}

#[test]
fn a_write_locked_sysvar_or_builtin_is_read_only_and_value_is_conserved() {
    let runtime = SvmRuntime::new().unwrap();
    let payer = Keypair::new();
    let mut state = funded(&payer.pubkey());
    let clock = solana_sdk_ids::sysvar::clock::id();
    let compute_budget = solana_sdk_ids::compute_budget::id();
    let instructions = solana_sdk_ids::sysvar::instructions::id();
    let token = nvm_vm_svm::SPL_TOKEN_PROGRAM_ID;
    let watched = [payer.pubkey(), clock, compute_budget, instructions, token];
    let total = |state: &MemoryState| watched.iter().map(|a| units(state, a)).sum::<u128>();
    let before = total(&state);
    let mut fees = 0u128;

    // Transfers into the Clock sysvar, a builtin not invoked, the Instructions sysvar and
    // n-VM's SPL Token builtin: each write lock demoted, so the System program refuses.
    for target in [clock, compute_budget, instructions, token] {
        let transfer =
            solana_system_interface::instruction::transfer(&payer.pubkey(), &target, SOL);
        let outcome = run(&runtime, &mut state, &payer, &[transfer]);
        assert!(
            matches!(&outcome.status, Err(reason) if reason.contains("ReadonlyLamportChange")),
            "a transfer into {target}: {:?}",
            outcome.status
        );
        fees += u128::from(outcome.fee_lamports) * UNITS_PER_LAMPORT;
    }
    // A transaction that only lists the Clock as writable runs, and writes nothing back to it.
    let mut listing =
        solana_system_interface::instruction::transfer(&payer.pubkey(), &payer.pubkey(), 0);
    listing.accounts.push(AccountMeta::new(clock, false));
    let outcome = run(&runtime, &mut state, &payer, &[listing]);
    assert_eq!(outcome.status, Ok(()));
    fees += u128::from(outcome.fee_lamports) * UNITS_PER_LAMPORT;

    assert_eq!(total(&state) + fees, before, "native value created or destroyed");
    for target in [clock, compute_budget, instructions, token] {
        assert_eq!(units(&state, &target), 0, "{target} holds no value");
        assert!(!state.entries.contains_key(&account_key(&target)), "{target} was stored");
    }
}
