//! Agave's SVM over the unified state: a System-program transfer moves ledger balances (lamports
//! are the native token in 9 decimals), real mainnet program builds (SPL Memo, Token-2022) run,
//! and a failing transaction pays its fee and changes nothing else.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{block, create_rent_exempt};

use nvm_identity::{VmAddress, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT, TokenInfo};
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_svm::{
    LAMPORTS_PER_SIGNATURE, ReadableAccount, SvmRuntime, TOKEN_2022_PROGRAM_ID, UNITS_PER_LAMPORT,
    accounts,
};
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
    // SPL Memo v3 and Token-2022, the mainnet builds `solana-program-binaries` ships, placed as
    // genesis would.
    let memo = Pubkey::from_str_const("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
    for program in [memo, TOKEN_2022_PROGRAM_ID] {
        for (address, account) in
            solana_program_binaries::by_id(&program, &solana_rent::Rent::default()).unwrap()
        {
            accounts::store(&mut state, &address, &account).unwrap();
        }
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
    run_signed(runtime, state, payer, &[ix], &[])
}

/// Runs `ixs` as one transaction paid for by `payer` and signed by `signers` too.
fn run_signed(
    runtime: &SvmRuntime,
    state: &mut MemoryState,
    payer: &Keypair,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> nvm_vm_svm::SvmOutcome {
    let mut all = vec![payer];
    all.extend_from_slice(signers);
    let tx =
        Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, Default::default());
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
    assert!(!outcome.halted);

    // Out of compute units (a 500-unit limit, Compute Budget's SetComputeUnitLimit): halted,
    // as an EVM transaction out of gas; a program's own error below is not.
    let limit = Instruction::new_with_bytes(
        solana_sdk_ids::compute_budget::ID,
        &[[2u8].as_slice(), &500u32.to_le_bytes()].concat(),
        vec![],
    );
    let starved = Instruction::new_with_bytes(
        memo,
        "x".repeat(200).as_bytes(),
        vec![AccountMeta::new_readonly(payer.pubkey(), true)],
    );
    let outcome = run_signed(&runtime, &mut state, &payer, &[limit, starved], &[]);
    assert!(
        outcome.status.as_ref().is_err_and(|e| e.contains("ProgramFailedToComplete")),
        "{outcome:?}"
    );
    assert!(outcome.halted, "{outcome:?}");

    // Transferring more than the payer holds fails inside the System program: fee only.
    let before = ledger_units(&state, &payer.pubkey());
    let to = Pubkey::new_unique();
    let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, 100 * SOL);
    let outcome = run(&runtime, &mut state, &payer, ix);
    assert!(outcome.status.is_err() && !outcome.halted, "{outcome:?}");
    assert_eq!(ledger_units(&state, &to), 0);
    assert_eq!(
        ledger_units(&state, &payer.pubkey()),
        before - u128::from(LAMPORTS_PER_SIGNATURE) * UNITS_PER_LAMPORT
    );
}

#[test]
fn token_2022_build_runs_as_a_program_of_its_own() {
    use solana_program_pack::Pack;
    use spl_token_interface::{instruction as token, state};
    let runtime = SvmRuntime::new().unwrap();
    let (payer, mint, alice, bob) =
        (Keypair::new(), Keypair::new(), Keypair::new(), Keypair::new());
    let mut state = funded(&payer.pubkey());
    // Token-2022's base instructions are SPL Token's, at its own program id.
    let at_2022 = |mut ix: Instruction| {
        ix.program_id = TOKEN_2022_PROGRAM_ID;
        ix
    };
    let create = |account: &Keypair, space: usize| {
        create_rent_exempt(&payer.pubkey(), &account.pubkey(), space, &TOKEN_2022_PROGRAM_ID)
    };
    let spl = nvm_vm_svm::SPL_TOKEN_PROGRAM_ID;
    let (m, a, b) = (mint.pubkey(), alice.pubkey(), bob.pubkey());
    let init_mint = at_2022(token::initialize_mint2(&spl, &m, &a, None, 2).unwrap());
    let mut ixs = vec![create(&mint, state::Mint::LEN), init_mint];
    for (account, owner) in [(&alice, &a), (&bob, &b)] {
        ixs.push(create(account, state::Account::LEN));
        ixs.push(at_2022(token::initialize_account3(&spl, &account.pubkey(), &m, owner).unwrap()));
    }
    let outcome = run_signed(&runtime, &mut state, &payer, &ixs, &[&mint, &alice, &bob]);
    assert_eq!(outcome.status, Ok(()), "{:?}", outcome.logs);

    let mint_to = at_2022(token::mint_to(&spl, &m, &a, &a, &[], 1_000).unwrap());
    let pay = at_2022(token::transfer_checked(&spl, &a, &m, &b, &a, &[], 300, 2).unwrap());
    let outcome = run_signed(&runtime, &mut state, &payer, &[mint_to, pay], &[&alice]);
    assert_eq!(outcome.status, Ok(()), "{:?}", outcome.logs);
    let program = TOKEN_2022_PROGRAM_ID.to_string();
    assert!(outcome.logs.iter().any(|l| l.contains("Instruction: TransferChecked")));
    assert!(outcome.logs.iter().any(|l| *l == format!("Program {program} success")));
    // Its accounts are its own data (the ledger backs only the canonical SPL Token program).
    assert!(outcome.ledger_logs.is_empty());
    let amount = |state: &mut MemoryState, address: &Pubkey| {
        let account = accounts::load(&mut TxOverlay::new(&*state), address).unwrap().unwrap();
        assert_eq!(*account.owner(), TOKEN_2022_PROGRAM_ID);
        state::Account::unpack(account.data()).unwrap().amount
    };
    assert_eq!((amount(&mut state, &a), amount(&mut state, &b)), (700, 300));
    let mint_data = accounts::load(&mut TxOverlay::new(&state), &m).unwrap().unwrap();
    let supply = state::Mint::unpack(mint_data.data()).unwrap();
    assert_eq!((supply.supply, supply.decimals), (1_000, 2));

    // Overdraft: Token-2022's own error, fee only.
    let before = ledger_units(&state, &payer.pubkey());
    let pay = at_2022(token::transfer_checked(&spl, &b, &m, &a, &b, &[], 301, 2).unwrap());
    let outcome = run_signed(&runtime, &mut state, &payer, &[pay], &[&bob]);
    assert!(outcome.status.unwrap_err().contains("Custom\":1"));
    assert_eq!((amount(&mut state, &a), amount(&mut state, &b)), (700, 300));
    let fee = u128::from(2 * LAMPORTS_PER_SIGNATURE) * UNITS_PER_LAMPORT;
    assert_eq!(ledger_units(&state, &payer.pubkey()), before - fee);
}
