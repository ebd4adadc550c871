//! Solana transactions in blocks: Agave's SVM moves ledger balances, the fee goes to the
//! proposer, and the recent blockhash and the signature stop replays and stale transactions.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::*;
use nvm_executor::{BlockOutcome, ExecutionMode, TxError, VerifiedTx};
use nvm_identity::{VmAddress, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::TxStatus;
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_svm::{LAMPORTS_PER_SIGNATURE, UNITS_PER_LAMPORT};
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;

const SOL: u64 = 1_000_000_000;

fn units(state: &MemoryState, id: &[u8; 32]) -> u128 {
    Ledger::balance(&mut TxOverlay::new(state), &NATIVE_MINT, id).unwrap()
}

fn legacy(key: &Keypair) -> [u8; 32] {
    legacy_id_com(&VmAddress::Svm(key.pubkey().to_bytes())).unwrap()
}

fn transfer(from: &Keypair, to: &Keypair, lamports: u64, blockhash: [u8; 32]) -> VerifiedTx {
    let ix = solana_system_interface::instruction::transfer(&from.pubkey(), &to.pubkey(), lamports);
    let tx = Transaction::new_signed_with_payer(
        &[ix],
        Some(&from.pubkey()),
        &[from],
        Hash::new_from_array(blockhash),
    );
    let wire =
        bincode::serialize(&solana_transaction::versioned::VersionedTransaction::from(tx)).unwrap();
    VerifiedTx::verify(VerifiedTx::tag_solana(&wire)).unwrap()
}

fn block(state: &mut MemoryState, env: &BlockEnv, txs: Vec<VerifiedTx>) -> BlockOutcome {
    let outcome = executor().execute_block(&*state, env, txs, ExecutionMode::Parallel).unwrap();
    state.apply(&outcome.writes);
    outcome
}

#[test]
fn solana_transfers_pay_the_proposer_and_cannot_be_replayed() {
    let (alice, bob) = (Keypair::new(), Keypair::new());
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let mut overlay = TxOverlay::new(&state);
    Ledger::credit(
        &mut overlay,
        &NATIVE_MINT,
        &legacy(&alice),
        u128::from(10 * SOL) * UNITS_PER_LAMPORT,
    )
    .unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    let env = BlockEnv { height: 2, ..env() };
    let proposer_before = units(&state, &env.proposer);

    // Names the parent block as its recent blockhash: valid.
    let pay = transfer(&alice, &bob, 2 * SOL, env.parent_hash);
    let outcome = block(&mut state, &env, vec![pay.clone()]);
    let receipt = &outcome.included[0].receipt;
    assert_eq!(receipt.status, TxStatus::Success, "{:?}", receipt.program_logs);
    assert_eq!(receipt.sender, legacy(&alice));
    assert_eq!(receipt.opcode, 0x20);
    let fee = u128::from(LAMPORTS_PER_SIGNATURE) * UNITS_PER_LAMPORT;
    assert_eq!(receipt.fee_paid, fee);
    assert_eq!(units(&state, &legacy(&bob)), u128::from(2 * SOL) * UNITS_PER_LAMPORT);
    assert_eq!(units(&state, &legacy(&alice)), u128::from(8 * SOL) * UNITS_PER_LAMPORT - fee);
    assert_eq!(units(&state, &env.proposer), proposer_before + fee, "the fee went to the proposer");

    // The same signed transaction again (its blockhash still recent: the chain records block 1's
    // hash as it builds block 2), a transaction naming an unknown blockhash: left out, nothing
    // written.
    let mut overlay = TxOverlay::new(&state);
    nvm_state_api::StateAccessExt::set_encoded(
        &mut overlay,
        nvm_vm_svm::recent_blockhash_key(&env.parent_hash),
        &1u64,
    );
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    let next = BlockEnv { height: 3, parent_hash: [0x22; 32], ..env.clone() };
    let stale = transfer(&alice, &bob, SOL, [0x99; 32]);
    let outcome = block(&mut state, &next, vec![pay, stale]);
    assert!(outcome.included.is_empty());
    assert!(outcome.writes.is_empty());
    assert!(matches!(outcome.rejected[0].1, TxError::AlreadyProcessed));
    assert!(matches!(outcome.rejected[1].1, TxError::BlockhashNotFound(_)));
}

#[test]
fn a_tampered_solana_signature_never_verifies() {
    let (alice, bob) = (Keypair::new(), Keypair::new());
    let ix = solana_system_interface::instruction::transfer(&alice.pubkey(), &bob.pubkey(), 1);
    let tx = Transaction::new_signed_with_payer(
        &[ix],
        Some(&alice.pubkey()),
        &[&alice],
        Hash::default(),
    );
    let mut wire =
        bincode::serialize(&solana_transaction::versioned::VersionedTransaction::from(tx)).unwrap();
    let last = wire.len() - 1;
    wire[last] ^= 1; // the transfer amount, under the signature
    assert!(matches!(
        VerifiedTx::verify(VerifiedTx::tag_solana(&wire)),
        Err(TxError::Solana(nvm_vm_svm::SolanaTxError::Signature))
    ));
    wire.push(0);
    assert!(matches!(
        VerifiedTx::verify(VerifiedTx::tag_solana(&wire)),
        Err(TxError::Solana(nvm_vm_svm::SolanaTxError::Malformed(_)))
    ));
}
