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
use nvm_vm_native::NativeOp;
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
    solana(tx)
}

fn solana(tx: Transaction) -> VerifiedTx {
    let wire =
        bincode::serialize(&solana_transaction::versioned::VersionedTransaction::from(tx)).unwrap();
    VerifiedTx::verify(&vms(), nvm_vm_svm::tag_solana(&wire)).unwrap()
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
    // The receipt's Solana part is the SVM's to read: compute units, balances, log lines.
    let meta = nvm_vm_svm::SvmMeta::decode(&receipt.vm_data).unwrap();
    assert_eq!(receipt.status, TxStatus::Success, "{:?}", meta.log_messages);
    assert!(meta.compute_units > 0 && !meta.log_messages.is_empty(), "{meta:?}");
    assert_eq!(meta.pre_balances[1] + 2 * SOL, meta.post_balances[1], "bob, the second key");
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
        VerifiedTx::verify(&vms(), nvm_vm_svm::tag_solana(&wire)),
        Err(TxError::Rejected { kind: nvm_executor::Rejection::Signature, .. })
    ));
    wire.push(0);
    assert!(matches!(
        VerifiedTx::verify(&vms(), nvm_vm_svm::tag_solana(&wire)),
        Err(TxError::Rejected { kind: nvm_executor::Rejection::Malformed, .. })
    ));
}

/// A block at `height` whose parent (a recent blockhash for Solana transactions) is unique.
fn env_at(height: u64) -> BlockEnv {
    BlockEnv { height, parent_hash: [height as u8; 32], ..env() }
}

fn credit(state: &mut MemoryState, id: &[u8; 32], mint: &[u8; 32], amount: u128) {
    let mut overlay = TxOverlay::new(&*state);
    Ledger::credit(&mut overlay, mint, id, amount).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
}

fn link(key: &Keypair, id: &[u8; 32], mints: Vec<[u8; 32]>) -> NativeOp {
    let message = nvm_identity::svm_link_message(CHAIN, id);
    let signature = key.sign_message(message.as_bytes()).as_ref().to_vec();
    NativeOp::LinkSolanaKey { key: key.pubkey().to_bytes(), signature, mints }
}

fn failure(outcome: &BlockOutcome) -> String {
    let status = &outcome.included[0].receipt.status;
    status.error().unwrap_or_else(|| panic!("the transaction succeeded"))
}

#[test]
fn a_linked_solana_key_spends_the_identity_balance_and_cannot_spend_it_twice() {
    let (phantom, other, bob) = (Keypair::new(), Keypair::new(), Keypair::new());
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let a = &actors[0];
    let mut state = genesis(&actors);
    let sol = |n: u64| u128::from(n * SOL) * UNITS_PER_LAMPORT;
    credit(&mut state, &legacy(&phantom), &NATIVE_MINT, sol(10));
    credit(&mut state, &a.id, &NATIVE_MINT, sol(5));

    // The key holds a token too (sent to its legacy identity before the link).
    let create = NativeOp::CreateToken {
        name: "Gold".into(),
        symbol: "GLD".into(),
        decimals: 6,
        initial_supply: 1_000,
    };
    let mint = nvm_vm_native::token_mint_id(&a.id, 0);
    let to_key =
        NativeOp::Transfer { mint, to: VmAddress::Svm(phantom.pubkey().to_bytes()), amount: 400 };
    let outcome =
        block(&mut state, &env_at(2), vec![sign(a, a.id, 0, &create), sign(a, a.id, 1, &to_key)]);
    assert!(outcome.included.iter().all(|t| t.receipt.status == TxStatus::Success));

    // Signed by another key, or by the right key for another identity: fails, nothing moves.
    let mut forged = link(&other, &a.id, vec![mint]);
    if let NativeOp::LinkSolanaKey { key, .. } = &mut forged {
        *key = phantom.pubkey().to_bytes();
    }
    let outcome = block(&mut state, &env_at(3), vec![sign(a, a.id, 2, &forged)]);
    assert!(failure(&outcome).contains("not"), "{}", failure(&outcome));
    let for_b = link(&phantom, &actors[1].id, vec![]);
    let outcome = block(&mut state, &env_at(4), vec![sign(a, a.id, 3, &for_b)]);
    assert!(failure(&outcome).contains("Ed25519 signature"));
    assert_eq!(units(&state, &legacy(&phantom)), sol(10));

    // Linked: its 10 SOL and 400 GLD move to the identity.
    let before = units(&state, &a.id);
    let outcome =
        block(&mut state, &env_at(5), vec![sign(a, a.id, 4, &link(&phantom, &a.id, vec![mint]))]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    assert_eq!(units(&state, &legacy(&phantom)), 0);
    assert_eq!(units(&state, &a.id), before + sol(10) - FEE);
    let gold =
        |state: &MemoryState, id| Ledger::balance(&mut TxOverlay::new(state), &mint, id).unwrap();
    assert_eq!((gold(&state, &legacy(&phantom)), gold(&state, &a.id)), (0, 1_000));

    // Linking it again, to anyone: refused.
    let again = block(
        &mut state,
        &env_at(6),
        vec![sign(&actors[1], actors[1].id, 0, &link(&phantom, &actors[1].id, vec![]))],
    );
    assert!(failure(&again).contains("already belongs"), "{}", failure(&again));

    // Its Solana transactions act for the identity, on its balance.
    let held = units(&state, &a.id);
    let env = env_at(7);
    let outcome = block(&mut state, &env, vec![transfer(&phantom, &bob, SOL, env.parent_hash)]);
    let receipt = &outcome.included[0].receipt;
    assert_eq!((receipt.status.clone(), receipt.sender), (TxStatus::Success, a.id));
    assert_eq!(units(&state, &a.id), held - sol(1) - receipt.fee_paid);

    // Paying the identity's own derived Solana address moves nothing but the fee.
    let held = units(&state, &a.id);
    let derived = nvm_identity::derive_address(&nvm_identity::SVM_FORMAT, &a.id);
    let Some(derived) = derived.svm() else { unreachable!() };
    let ix =
        solana_system_interface::instruction::transfer(&phantom.pubkey(), &derived.into(), SOL);
    let env = env_at(8);
    let tx = Transaction::new_signed_with_payer(
        &[ix],
        Some(&phantom.pubkey()),
        &[&phantom],
        Hash::new_from_array(env.parent_hash),
    );
    let outcome = block(&mut state, &env, vec![solana(tx)]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    assert_eq!(units(&state, &a.id), held - outcome.included[0].receipt.fee_paid);

    // A second linked key: one transaction spending the whole balance through both keys sees
    // it twice in the SVM, but the ledger covers it once — it fails and pays only its fee.
    let outcome =
        block(&mut state, &env_at(9), vec![sign(a, a.id, 5, &link(&other, &a.id, vec![]))]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    let held = units(&state, &a.id);
    let each = u64::try_from(held / UNITS_PER_LAMPORT).unwrap() - SOL;
    let env = env_at(10);
    let twice = Transaction::new_signed_with_payer(
        &[
            solana_system_interface::instruction::transfer(&phantom.pubkey(), &bob.pubkey(), each),
            solana_system_interface::instruction::transfer(&other.pubkey(), &bob.pubkey(), each),
        ],
        Some(&phantom.pubkey()),
        &[&phantom, &other],
        Hash::new_from_array(env.parent_hash),
    );
    let bob_before = units(&state, &legacy(&bob));
    let outcome = block(&mut state, &env, vec![solana(twice)]);
    assert!(failure(&outcome).contains("LedgerDebit"), "{}", failure(&outcome));
    let fee = outcome.included[0].receipt.fee_paid;
    assert_eq!(units(&state, &a.id), held - fee);
    assert_eq!(units(&state, &legacy(&bob)), bob_before);
}

/// The account a Solana wallet sees at `address` after the block.
fn token_account(state: &MemoryState, address: &[u8; 32]) -> Option<(u64, [u8; 32], [u8; 32])> {
    use nvm_vm_svm::{Pack, Pubkey, ReadableAccount, spl_token::state::Account};
    let account =
        nvm_vm_svm::read_account(&mut TxOverlay::new(state), &Pubkey::new_from_array(*address))
            .unwrap()?;
    assert_eq!(*account.owner(), nvm_vm_svm::SPL_TOKEN_PROGRAM_ID);
    let token = Account::unpack(account.data()).ok()?;
    Some((token.amount, token.owner.to_bytes(), token.mint.to_bytes()))
}

/// `spl-token transfer`'s instruction: `amount` of `mint` from `from`'s associated token account
/// to `to_owner`'s, `from` signing.
fn transfer_checked(
    from: &Keypair,
    to_owner: &[u8; 32],
    mint: &[u8; 32],
    amount: u64,
) -> solana_transaction::Instruction {
    let ata = |owner: &[u8; 32]| nvm_ledger::associated_token_address(owner, mint);
    nvm_vm_svm::spl_token::instruction::transfer_checked(
        &nvm_vm_svm::SPL_TOKEN_PROGRAM_ID,
        &ata(&from.pubkey().to_bytes()).into(),
        &(*mint).into(),
        &ata(to_owner).into(),
        &from.pubkey(),
        &[],
        amount,
        6,
    )
    .unwrap()
}

/// A Solana transaction of `ix` paid and signed by `from`, in a block at `height`.
fn solana_ix(
    from: &Keypair,
    ix: solana_transaction::Instruction,
    height: u64,
) -> (BlockEnv, VerifiedTx) {
    let env = env_at(height);
    let tx = Transaction::new_signed_with_payer(
        &[ix],
        Some(&from.pubkey()),
        &[from],
        Hash::new_from_array(env.parent_hash),
    );
    (env, solana(tx))
}

#[test]
fn a_token_credited_natively_shows_at_the_associated_account_nobody_created_and_moves_from_it() {
    let (phantom, thief) = (Keypair::new(), Keypair::new());
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let a = &actors[0];
    let mut state = genesis(&actors);
    let sol = |n: u64| u128::from(n * SOL) * UNITS_PER_LAMPORT;
    credit(&mut state, &legacy(&phantom), &NATIVE_MINT, sol(1));
    credit(&mut state, &legacy(&thief), &NATIVE_MINT, sol(1));

    // A native token, 400 of it sent to a Solana wallet that never touched it.
    let create = NativeOp::CreateToken {
        name: "Gold".into(),
        symbol: "GLD".into(),
        decimals: 6,
        initial_supply: 1_000,
    };
    let mint = nvm_vm_native::token_mint_id(&a.id, 0);
    let owner = phantom.pubkey().to_bytes();
    let to_key = NativeOp::Transfer { mint, to: VmAddress::Svm(owner), amount: 400 };
    let outcome = block(&mut state, &env_at(2), vec![sign(a, a.id, 0, &create)]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    let outcome = block(&mut state, &env_at(3), vec![sign(a, a.id, 1, &to_key)]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    // The scheduler was told of every index entry the credit wrote.
    assert!(!outcome.fell_back_to_serial);

    // Its associated token account shows it; so does the creator's derived address's.
    let ata = |owner: &[u8; 32]| nvm_ledger::associated_token_address(owner, &mint);
    assert_eq!(token_account(&state, &ata(&owner)), Some((400, owner, mint)));
    let Some(creator) = nvm_identity::derive_address(&nvm_identity::SVM_FORMAT, &a.id).svm() else {
        unreachable!()
    };
    assert_eq!(token_account(&state, &ata(&creator)), Some((600, creator, mint)));

    // Another key cannot spend from it: the token program refuses, nothing moves.
    let mut forged = transfer_checked(&thief, &creator, &mint, 100);
    forged.accounts[0].pubkey = ata(&owner).into();
    let (env, tx) = solana_ix(&thief, forged, 4);
    let outcome = block(&mut state, &env, vec![tx]);
    assert!(failure(&outcome).contains("InstructionError"), "{}", failure(&outcome));
    assert_eq!(token_account(&state, &ata(&owner)), Some((400, owner, mint)));

    // The owner's key moves 150 from it with TransferChecked, as `spl-token transfer` does.
    let (env, tx) = solana_ix(&phantom, transfer_checked(&phantom, &creator, &mint, 150), 5);
    let outcome = block(&mut state, &env, vec![tx]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success, "{outcome:?}");
    assert_eq!(token_account(&state, &ata(&owner)), Some((250, owner, mint)));
    assert_eq!(token_account(&state, &ata(&creator)), Some((750, creator, mint)));
    let gold = |id| Ledger::balance(&mut TxOverlay::new(&state), &mint, id).unwrap();
    assert_eq!((gold(&legacy(&phantom)), gold(&a.id)), (250, 750));
}

/// A Solana transaction that sets its compute unit limit (Compute Budget's
/// SetComputeUnitLimit) and pays `to` one lamport.
fn budgeted(from: &Keypair, to: &Keypair, limit: u32, blockhash: [u8; 32]) -> VerifiedTx {
    let budget = solana_instruction::Instruction::new_with_bytes(
        solana_sdk_ids::compute_budget::ID,
        &[[2u8].as_slice(), &limit.to_le_bytes()].concat(),
        vec![],
    );
    let pay = solana_system_interface::instruction::transfer(&from.pubkey(), &to.pubkey(), 1);
    let tx = Transaction::new_signed_with_payer(
        &[budget, pay],
        Some(&from.pubkey()),
        &[from],
        Hash::new_from_array(blockhash),
    );
    solana(tx)
}

/// Issue 28: a block's Solana transactions use at most the SVM's block compute-unit limit. A
/// transaction enters while its own limit fits in what the block has left, and counts for what it
/// used; one that does not fit is left for a later block (retryable), whether the block is built
/// serially or in parallel.
#[test]
fn solana_transactions_fill_a_block_up_to_its_compute_unit_limit() {
    let (alice, bob) = (Keypair::new(), Keypair::new());
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let mut overlay = TxOverlay::new(&state);
    let funds = u128::from(10 * SOL) * UNITS_PER_LAMPORT;
    Ledger::credit(&mut overlay, &NATIVE_MINT, &legacy(&alice), funds).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    // A system transfer and a compute-budget instruction use 150 units each.
    let svm = nvm_vm_svm::SvmVm::default().with_block_units_limit(1_000);
    let vms = nvm_executor::VmRegistry::new()
        .register(std::sync::Arc::new(nvm_vm_native::NativeVm))
        .and_then(|vms| vms.register_format(std::sync::Arc::new(svm)))
        .unwrap();
    let executor = nvm_executor::Executor::new(vms, executor().config);
    let env = BlockEnv { height: 2, ..env() };
    let txs: Vec<VerifiedTx> =
        (0..3).map(|i| budgeted(&alice, &bob, 400 + i, env.parent_hash)).collect();
    // Solana's default limit (200,000 a instruction) is over the block's at once.
    let unbudgeted = transfer(&alice, &bob, 1, env.parent_hash);
    let mut all = txs.clone();
    all.push(unbudgeted);
    for mode in [ExecutionMode::Serial, ExecutionMode::Parallel] {
        let outcome = executor.execute_block(&state, &env, all.clone(), mode).unwrap();
        let included: Vec<_> = outcome.included.iter().map(|t| t.tx.clone()).collect();
        assert_eq!(included, txs[..2], "{mode:?}: 300 used, 300 used, then 400 > 400 left");
        for (tx, error) in &outcome.rejected {
            assert!(
                matches!(error, TxError::BlockUnitsExhausted { available: 400, .. }),
                "{mode:?}: {error}"
            );
            assert!(error.is_retryable(), "{tx:?} waits for a later block");
        }
        assert_eq!(outcome.rejected.len(), 2);
    }
}

/// Issue 28: the SVM is a VM of native envelopes too. An identity whose credential is not a
/// Solana key runs Solana instructions as its own Solana address (`SvmOp::Invoke`): the System
/// program moves its balance, the Solana fee goes to the proposer. A message signed for an
/// address that is not the sender's fails, and so does a failing instruction — each changing
/// nothing but the envelope's fee.
#[test]
fn an_identity_invokes_solana_programs_as_its_own_solana_address() {
    use nvm_identity::derive_address;

    use nvm_vm_svm::{Pubkey, SvmOp};
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let a = &actors[0];
    let Some(own) = derive_address(&nvm_identity::SVM_FORMAT, &a.id).svm() else { unreachable!() };
    let own = Pubkey::new_from_array(own);
    let mut overlay = TxOverlay::new(&state);
    let funds = u128::from(10 * SOL) * UNITS_PER_LAMPORT;
    Ledger::credit(&mut overlay, &NATIVE_MINT, &a.id, funds).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    let bob = Keypair::new();
    let invoke = |payer: &Pubkey, lamports: u64| {
        let ix = solana_system_interface::instruction::transfer(payer, &bob.pubkey(), lamports);
        let message = solana_message::Message::new(&[ix], Some(payer));
        SvmOp::Invoke { message: bincode::serialize(&message).unwrap() }.encode()
    };
    let env = BlockEnv { height: 2, ..env() };
    let (before, proposer) = (units(&state, &a.id), units(&state, &env.proposer));

    let outcome = block(&mut state, &env, vec![sign_payload(a, a.id, 0, invoke(&own, SOL))]);
    let receipt = &outcome.included[0].receipt;
    assert_eq!(receipt.status, TxStatus::Success, "{:?}", outcome.rejected);
    assert_eq!(receipt.opcode, 0x20);
    let paid = u128::from(SOL) * UNITS_PER_LAMPORT;
    let solana_fee = u128::from(LAMPORTS_PER_SIGNATURE) * UNITS_PER_LAMPORT;
    assert_eq!(units(&state, &legacy(&bob)), paid);
    assert_eq!(units(&state, &a.id), before - paid - solana_fee - receipt.fee_paid);
    assert_eq!(units(&state, &env.proposer), proposer + solana_fee + receipt.fee_paid);

    // Signed for bob's address, or spending more than the sender holds: failed, fee only.
    for (nonce, payload, why) in [
        (1, invoke(&bob.pubkey(), 1), "not one of the sender's Solana addresses"),
        (2, invoke(&own, 1_000_000 * SOL), "InstructionError"),
    ] {
        let (sender, receiver) = (units(&state, &a.id), units(&state, &legacy(&bob)));
        let outcome = block(&mut state, &env, vec![sign_payload(a, a.id, nonce, payload)]);
        let receipt = &outcome.included[0].receipt;
        assert!(
            matches!(&receipt.status, TxStatus::Failed { reason } if reason.contains(why)),
            "{:?}",
            receipt.status
        );
        assert_eq!(units(&state, &a.id), sender - receipt.fee_paid);
        assert_eq!(units(&state, &legacy(&bob)), receiver);
    }

    // Bytes that are not a Solana message never enter a block.
    let junk = sign_payload(a, a.id, 3, SvmOp::Invoke { message: vec![1, 2, 3] }.encode());
    let outcome = block(&mut state, &env, vec![junk]);
    assert!(outcome.rejected[0].1.to_string().contains("malformed Solana message"));
}
