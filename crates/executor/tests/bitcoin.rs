//! Bitcoin transactions in blocks (issue 16): a P2WPKH spend signed with a real key, as a Bitcoin
//! wallet signs it, pays an identity's BVM address (its ledger balance) and a change output (a
//! new UTXO), the fee goes to the proposer; a replay, a forged signature, outputs above inputs
//! and a double spend are each refused with the state as it was.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use bitcoin::{
    Amount, EcdsaSighashType, OutPoint, ScriptBuf, Sequence, Transaction, Txid, Witness,
    absolute::LockTime,
    hashes::Hash,
    secp256k1::{Message, Secp256k1},
    sighash::SighashCache,
};
use common::{wallets::*, *};
use nvm_executor::{BlockOutcome, ExecutionMode, TxError, VerifiedTx};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::TxStatus;
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_bvm::{UNITS_PER_SAT, Utxo, utxo};

const FUNDED: u64 = 100_000;

fn block(state: &mut MemoryState, height: u64, txs: Vec<VerifiedTx>) -> BlockOutcome {
    let env = nvm_vm_api::BlockEnv { height, ..env() };
    let outcome = executor().execute_block(&*state, &env, txs, ExecutionMode::Parallel).unwrap();
    state.apply(&outcome.writes);
    outcome
}

fn native(state: &MemoryState, id: &[u8; 32]) -> u128 {
    Ledger::balance(&mut TxOverlay::new(state), &NATIVE_MINT, id).unwrap()
}

fn unspent(state: &MemoryState, outpoint: &OutPoint) -> Option<Utxo> {
    utxo::get(&mut TxOverlay::new(state), outpoint).unwrap()
}

#[test]
fn a_wallet_signed_spend_pays_an_identity_and_change_and_nothing_is_spent_twice() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let wallet = Wallet::new(7);
    let funding = OutPoint { txid: Txid::from_byte_array([1; 32]), vout: 0 };
    let mut overlay = TxOverlay::new(&state);
    let coin =
        Utxo { value: FUNDED, script_pubkey: wallet.script().to_bytes(), height: 0, time_ms: 0 };
    utxo::create(&mut overlay, &funding, &coin).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());

    // 60,000 sat to actor 0's BVM address, 39,000 back to the wallet, 1,000 to the proposer.
    let a = actors[0].id;
    let mut tx = spend(funding, vec![(60_000, bvm_output(&a)), (39_000, wallet.script())]);
    wallet.sign(&mut tx, 0, FUNDED);
    let (before, proposer) = (native(&state, &a), native(&state, &env().proposer));

    // A forged signature (another key's) and outputs above inputs: refused, nothing changes —
    // also by a node that already verified the real transaction (same txid, other witness).
    let mut forged = tx.clone();
    Wallet::new(8).sign(&mut forged, 0, FUNDED);
    let node = executor();
    let next = nvm_vm_api::BlockEnv { height: 1, ..env() };
    node.check_envelope(&state, &tagged(&tx), false, &next).unwrap();
    let outcome =
        node.execute_block(&state, &next, vec![tagged(&forged)], ExecutionMode::Parallel).unwrap();
    assert!(outcome.included.is_empty(), "a verdict for one witness covered another");
    assert!(
        matches!(&outcome.rejected[0].1, TxError::Rejected { message, .. }
            if message.contains("input 0: SCRIPT_ERR_EQUALVERIFY")),
        "{:?}",
        outcome.rejected
    );
    let mut greedy = spend(funding, vec![(FUNDED + 1, wallet.script())]);
    wallet.sign(&mut greedy, 0, FUNDED);
    let outcome = block(&mut state, 1, vec![tagged(&greedy)]);
    assert!(outcome.rejected[0].1.to_string().contains("above inputs"), "{:?}", outcome.rejected);
    assert_eq!(unspent(&state, &funding), Some(coin.clone()));

    // The real spend; a second spend of the same coin in the same block is left out.
    let mut again = spend(funding, vec![(90_000, wallet.script())]);
    wallet.sign(&mut again, 0, FUNDED);
    let outcome = block(&mut state, 1, vec![tagged(&tx), tagged(&again)]);
    assert_eq!(outcome.included.len(), 1);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    let spent_here = format!("input 0: {funding} already spent in block 1");
    assert!(outcome.rejected[0].1.to_string().contains(&spent_here), "{:?}", outcome.rejected);
    assert_eq!(native(&state, &a), before + 60_000 * UNITS_PER_SAT);
    assert_eq!(native(&state, &env().proposer), proposer + 1_000 * UNITS_PER_SAT);
    assert_eq!(unspent(&state, &funding), None);
    let change = OutPoint { txid: tx.compute_txid(), vout: 1 };
    assert_eq!(unspent(&state, &change).map(|u| (u.value, u.height)), Some((39_000, 1)));
    let listed = utxo::of_script(&mut TxOverlay::new(&state), wallet.script().as_bytes()).unwrap();
    assert_eq!(listed.iter().map(|(o, _)| *o).collect::<Vec<_>>(), vec![change]);
    // Across blocks too, by the block that spent it.
    let outcome = block(&mut state, 2, vec![tagged(&again)]);
    assert!(outcome.rejected[0].1.to_string().contains(&spent_here), "{:?}", outcome.rejected);

    // The same transaction again, in a later block: already processed.
    let outcome = block(&mut state, 2, vec![tagged(&tx)]);
    assert_eq!(outcome.rejected[0].1, TxError::AlreadyProcessed);
}

#[test]
fn inputs_verify_in_parallel_and_the_first_bad_one_is_named_with_cores_reason() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let wallet = Wallet::new(11);
    let coins: Vec<OutPoint> = (0..4u8)
        .map(|i| OutPoint { txid: Txid::from_byte_array([0x40 + i; 32]), vout: 0 })
        .collect();
    let coin =
        Utxo { value: FUNDED, script_pubkey: wallet.script().to_bytes(), height: 0, time_ms: 0 };
    let mut overlay = TxOverlay::new(&state);
    for outpoint in &coins {
        utxo::create(&mut overlay, outpoint, &coin).unwrap();
    }
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());

    let mut tx = spend(coins[0], vec![(4 * FUNDED - 1_000, bvm_output(&actors[0].id))]);
    for outpoint in &coins[1..] {
        let mut input = tx.input[0].clone();
        input.previous_output = *outpoint;
        tx.input.push(input);
    }
    // Inputs 2 and 3 signed by another key, input 1 for a wrong amount (its segwit sighash
    // commits to the amount): input 1 is the one named, with Core's reason.
    let mut bad = tx.clone();
    wallet.sign(&mut bad, 0, FUNDED);
    wallet.sign(&mut bad, 1, FUNDED + 1);
    Wallet::new(12).sign(&mut bad, 2, FUNDED);
    Wallet::new(12).sign(&mut bad, 3, FUNDED);
    let outcome = block(&mut state, 1, vec![tagged(&bad)]);
    let reasons: Vec<String> = outcome.rejected.iter().map(|(_, e)| e.to_string()).collect();
    // (CHECKSIG fails: the script ends false.)
    assert!(reasons[0].contains("input 1: SCRIPT_ERR_EVAL_FALSE"), "{reasons:?}");
    assert!(coins.iter().all(|c| unspent(&state, c).is_some()));

    for input in 0..coins.len() {
        wallet.sign(&mut tx, input, FUNDED);
    }
    let outcome = block(&mut state, 1, vec![tagged(&tx)]);
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    assert!(coins.iter().all(|c| unspent(&state, c).is_none()));
}

#[test]
fn timelocks_count_in_n_vm_blocks_and_a_premature_spend_changes_nothing() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let wallet = Wallet::new(9);
    let coin =
        Utxo { value: FUNDED, script_pubkey: wallet.script().to_bytes(), height: 2, time_ms: 0 };
    let (relative, absolute) = (
        OutPoint { txid: Txid::from_byte_array([2; 32]), vout: 0 },
        OutPoint { txid: Txid::from_byte_array([3; 32]), vout: 0 },
    );
    let mut overlay = TxOverlay::new(&state);
    utxo::create(&mut overlay, &relative, &coin).unwrap();
    utxo::create(&mut overlay, &absolute, &coin).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());

    // BIP68: five blocks after the coin's block (2), so not before height 7.
    let mut waits = spend(relative, vec![(FUNDED - 500, wallet.script())]);
    waits.input[0].sequence = Sequence::from_height(5);
    wallet.sign(&mut waits, 0, FUNDED);
    // nLockTime 10: final only in a block above height 10.
    let mut later = spend(absolute, vec![(FUNDED - 500, wallet.script())]);
    later.lock_time = LockTime::from_height(10).unwrap();
    wallet.sign(&mut later, 0, FUNDED);

    let outcome = block(&mut state, 6, vec![tagged(&waits), tagged(&later)]);
    assert!(outcome.included.is_empty());
    let reasons: Vec<String> = outcome.rejected.iter().map(|(_, e)| e.to_string()).collect();
    assert!(reasons[0].contains("relative lock of 5 blocks"), "{reasons:?}");
    assert!(reasons[1].contains("nLockTime"), "{reasons:?}");
    assert_eq!(unspent(&state, &relative), Some(coin.clone()));

    let outcome = block(&mut state, 7, vec![tagged(&waits), tagged(&later)]);
    assert_eq!(outcome.included.len(), 1, "{:?}", outcome.rejected);
    assert!(!outcome.fell_back_to_serial, "a Bitcoin transaction declares what it touches");
    let outcome = block(&mut state, 11, vec![tagged(&later)]);
    assert_eq!(outcome.included.len(), 1, "{:?}", outcome.rejected);
    assert_eq!((unspent(&state, &relative), unspent(&state, &absolute)), (None, None));
}

/// Closes a block at `time_s` as the node does: the BVM's hook records its time.
fn close_block(state: &mut MemoryState, height: u64, time_s: u64) {
    use nvm_vm_api::ChainHooks;
    let env = nvm_vm_api::BlockEnv { height, timestamp_ms: time_s * 1000, ..env() };
    let mut writes = nvm_vm_api::BlockWrites::new();
    let parent = nvm_vm_api::ParentBlock::default();
    nvm_vm_bvm::BvmVm::default().end_block(&*state, &parent, &env, &mut writes).unwrap();
    state.apply(&writes.into_iter().collect());
}

#[test]
fn time_locks_follow_the_median_of_the_last_eleven_blocks_not_one_proposers_clock() {
    const T0: u64 = 1_700_000_000;
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let wallet = Wallet::new(10);
    let coin = |time_s: u64| Utxo {
        value: FUNDED,
        script_pubkey: wallet.script().to_bytes(),
        height: 1,
        time_ms: time_s * 1000,
    };
    let (absolute, relative) = (
        OutPoint { txid: Txid::from_byte_array([4; 32]), vout: 0 },
        OutPoint { txid: Txid::from_byte_array([5; 32]), vout: 0 },
    );
    let mut overlay = TxOverlay::new(&state);
    utxo::create(&mut overlay, &absolute, &coin(T0)).unwrap();
    utxo::create(&mut overlay, &relative, &coin(T0)).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());

    // Final once the median time past is above T0 + 600; 2 × 512 s after the coin's time.
    let mut later = spend(absolute, vec![(FUNDED - 500, wallet.script())]);
    later.lock_time = LockTime::from_time(u32::try_from(T0 + 600).unwrap()).unwrap();
    later.input[0].sequence = Sequence::ENABLE_LOCKTIME_NO_RBF;
    wallet.sign(&mut later, 0, FUNDED);
    let mut waits = spend(relative, vec![(FUNDED - 500, wallet.script())]);
    waits.input[0].sequence = Sequence::from_512_second_intervals(2);
    wallet.sign(&mut waits, 0, FUNDED);

    // Eleven blocks 100 s apart: the median is the sixth, T0 + 500.
    for i in 0..11 {
        close_block(&mut state, i + 1, T0 + 100 * i);
    }
    // A proposer whose clock runs far ahead moves the median by one block only (to T0 + 600,
    // not above the lock): both stay locked, and nothing changes.
    close_block(&mut state, 12, T0 + 100_000);
    let outcome = block(&mut state, 13, vec![tagged(&later), tagged(&waits)]);
    assert!(outcome.included.is_empty());
    let reasons: Vec<String> = outcome.rejected.iter().map(|(_, e)| e.to_string()).collect();
    assert!(reasons[0].contains("nLockTime"), "{reasons:?}");
    assert!(reasons[1].contains("relative lock of 1024 s"), "{reasons:?}");
    assert_eq!(unspent(&state, &absolute), Some(coin(T0)));

    // One more block on time: the median passes T0 + 600 (the nLockTime), then T0 + 1024.
    close_block(&mut state, 13, T0 + 1_100);
    let outcome = block(&mut state, 14, vec![tagged(&later), tagged(&waits)]);
    assert_eq!(outcome.included.len(), 1, "{:?}", outcome.rejected);
    for (i, time) in [T0 + 1_200, T0 + 1_300, T0 + 1_400, T0 + 1_500].into_iter().enumerate() {
        close_block(&mut state, 14 + i as u64, time);
    }
    let outcome = block(&mut state, 18, vec![tagged(&waits)]);
    assert_eq!(outcome.included.len(), 1, "{:?}", outcome.rejected);
}

#[test]
fn ledger_value_locked_under_a_script_is_spent_back_to_an_identity_and_nothing_is_created() {
    use nvm_vm_bvm::BvmOp;
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let (a, b) = (&actors[0], actors[1].id);
    let wallet = Wallet::new(11);
    let mut overlay = TxOverlay::new(&state);
    Ledger::credit(&mut overlay, &NATIVE_MINT, &a.id, 1_000_000 * UNITS_PER_SAT).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    let lock = |amount| {
        let op = BvmOp::Lock { script_pubkey: wallet.script().to_bytes(), amount };
        op.encode()
    };
    let held = |state: &MemoryState| {
        native(state, &a.id) + native(state, &b) + native(state, &env().proposer)
    };

    // A lock of a fraction of a satoshi never enters a block.
    let outcome = block(&mut state, 1, vec![sign_payload(a, a.id, 0, lock(UNITS_PER_SAT / 2))]);
    assert!(
        outcome.rejected[0].1.to_string().contains("whole number of satoshi"),
        "{:?}",
        outcome.rejected
    );

    // 100,000 sat of A's balance into a UTXO under the wallet's P2WPKH script.
    let before = held(&state);
    let amount = 100_000 * UNITS_PER_SAT;
    let outcome = block(&mut state, 1, vec![sign_payload(a, a.id, 0, lock(amount))]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success, "{:?}", outcome.rejected);
    let txid = Txid::from_byte_array(utxo_txid(&state, &wallet));
    let funding = OutPoint { txid, vout: 0 };
    assert_eq!(unspent(&state, &funding).map(|u| u.value), Some(100_000));
    assert_eq!(held(&state) + amount, before, "the value left the ledger balances for the UTXO");

    // Locked under B's BVM address (its `bc1p…`): that is B's ledger balance, not a UTXO.
    let to_b = BvmOp::Lock { script_pubkey: bvm_output(&b).to_bytes(), amount: UNITS_PER_SAT };
    let b_before = native(&state, &b);
    let outcome = block(&mut state, 2, vec![sign_payload(a, a.id, 1, to_b.encode())]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success, "{:?}", outcome.rejected);
    assert!(!outcome.fell_back_to_serial);
    assert_eq!(native(&state, &b), b_before + UNITS_PER_SAT);
    let at_b = utxo::of_script(&mut TxOverlay::new(&state), bvm_output(&b).as_bytes()).unwrap();
    assert!(at_b.is_empty());

    // The wallet spends it to B's BVM address: back in the ledger, less the fee (to the proposer).
    let mut tx = spend(funding, vec![(99_000, bvm_output(&b))]);
    wallet.sign(&mut tx, 0, 100_000);
    let outcome = block(&mut state, 3, vec![tagged(&tx)]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success, "{:?}", outcome.rejected);
    assert_eq!(
        held(&state),
        before,
        "every unit is back in a ledger balance: nothing created or lost"
    );
    assert_eq!(unspent(&state, &funding), None);
}

fn gold(state: &MemoryState, id: &[u8; 32]) -> u128 {
    Ledger::balance(&mut TxOverlay::new(state), &GOLD, id).unwrap()
}

/// The txid of the one UTXO paying `wallet`'s script.
fn utxo_txid(state: &MemoryState, wallet: &Wallet) -> [u8; 32] {
    let listed = utxo::of_script(&mut TxOverlay::new(state), wallet.script().as_bytes()).unwrap();
    assert_eq!(listed.len(), 1);
    listed[0].0.txid.to_byte_array()
}

#[test]
fn spends_of_disjoint_coins_run_in_one_parallel_batch() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let wallets: Vec<Wallet> = (20..24).map(Wallet::new).collect();
    let mut overlay = TxOverlay::new(&state);
    let mut spends = Vec::new();
    for (i, wallet) in wallets.iter().enumerate() {
        let coin = OutPoint { txid: Txid::from_byte_array([30 + i as u8; 32]), vout: 0 };
        let utxo = Utxo {
            value: FUNDED,
            script_pubkey: wallet.script().to_bytes(),
            height: 0,
            time_ms: 0,
        };
        utxo::create(&mut overlay, &coin, &utxo).unwrap();
        let mut tx = spend(coin, vec![(FUNDED - 1_000, bvm_output(&actors[i].id))]);
        wallet.sign(&mut tx, 0, FUNDED);
        spends.push(tagged(&tx));
    }
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    let outcome = block(&mut state, 1, spends);
    assert_eq!(outcome.included.len(), 4, "{:?}", outcome.rejected);
    assert!(!outcome.fell_back_to_serial);
    assert_eq!(outcome.widest_batch, 4, "four disjoint spends, one batch");
}

/// A hash-time-locked contract as a P2WSH script: `receiver` takes it with the preimage of
/// `hash`, or `refund` after `blocks` blocks (CSV).
fn htlc(hash: [u8; 32], receiver: &Wallet, refund: &Wallet, blocks: i64) -> ScriptBuf {
    use bitcoin::opcodes::all::*;
    bitcoin::script::Builder::new()
        .push_opcode(OP_IF)
        .push_opcode(OP_SHA256)
        .push_slice(hash)
        .push_opcode(OP_EQUALVERIFY)
        .push_slice(receiver.public.to_bytes())
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_int(blocks)
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_slice(refund.public.to_bytes())
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// Signs input 0 of `tx` (spending `value` under P2WSH `script`) and puts the witness `items`,
/// the signature first and the script last, as a wallet finalizing the path does.
fn sign_htlc(
    tx: &mut Transaction,
    wallet: &Wallet,
    script: &ScriptBuf,
    value: u64,
    items: &[&[u8]],
) {
    let sighash = SighashCache::new(&*tx)
        .p2wsh_signature_hash(0, script, Amount::from_sat(value), EcdsaSighashType::All)
        .unwrap();
    let signature = Secp256k1::new().sign_ecdsa(&Message::from(sighash), &wallet.key);
    let signature = bitcoin::ecdsa::Signature { signature, sighash_type: EcdsaSighashType::All };
    let mut witness = Witness::new();
    witness.push(signature.to_vec());
    for item in items {
        witness.push(item);
    }
    witness.push(script.as_bytes());
    tx.input[0].witness = witness;
}

#[test]
fn an_htlc_swap_pays_the_receiver_with_the_preimage_or_refunds_after_the_timeout() {
    use nvm_vm_bvm::BvmOp;
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let (alice, bob) = (&actors[0], actors[1].id);
    let (alice_key, bob_key) = (Wallet::new(40), Wallet::new(41));
    let mut overlay = TxOverlay::new(&state);
    Ledger::credit(&mut overlay, &NATIVE_MINT, &alice.id, 1_000_000 * UNITS_PER_SAT).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());

    let secret = *b"the swap's secret, 32 bytes long";
    let script = htlc(nvm_primitives::sha256(&secret), &bob_key, &alice_key, 10);
    let address = ScriptBuf::new_p2wsh(&script.wscript_hash());
    // Alice locks two coins under the contract (two swaps): one Bob claims, one she takes back.
    let lock = BvmOp::Lock { script_pubkey: address.to_bytes(), amount: 50_000 * UNITS_PER_SAT };
    let outcome = block(
        &mut state,
        1,
        vec![
            sign_payload(alice, alice.id, 0, lock.encode()),
            sign_payload(alice, alice.id, 1, lock.encode()),
        ],
    );
    assert_eq!(outcome.included.len(), 2, "{:?}", outcome.rejected);
    let coins = utxo::of_script(&mut TxOverlay::new(&state), address.as_bytes()).unwrap();
    let (claimed, refunded) = (coins[0].0, coins[1].0);

    // Bob's claim with a wrong preimage fails; with the secret it pays his identity.
    let bob_before = native(&state, &bob);
    let mut claim = spend(claimed, vec![(49_000, bvm_output(&bob))]);
    sign_htlc(&mut claim, &bob_key, &script, 50_000, &[b"not the secret", &[1]]);
    let outcome = block(&mut state, 2, vec![tagged(&claim)]);
    assert!(outcome.included.is_empty() && outcome.rejected[0].1.to_string().contains("input 0"));
    sign_htlc(&mut claim, &bob_key, &script, 50_000, &[&secret, &[1]]);
    let outcome = block(&mut state, 2, vec![tagged(&claim)]);
    assert_eq!(outcome.included.len(), 1, "{:?}", outcome.rejected);
    assert_eq!(native(&state, &bob), bob_before + 49_000 * UNITS_PER_SAT);

    // Alice's refund (the CSV path, sequence 10): refused before 10 blocks, accepted after.
    let alice_before = native(&state, &alice.id);
    let mut refund = spend(refunded, vec![(49_000, bvm_output(&alice.id))]);
    refund.input[0].sequence = Sequence::from_height(10);
    sign_htlc(&mut refund, &alice_key, &script, 50_000, &[&[]]);
    let outcome = block(&mut state, 5, vec![tagged(&refund)]);
    assert!(outcome.rejected[0].1.to_string().contains("relative lock"), "{:?}", outcome.rejected);
    // Bob's key cannot take the refund path either.
    let mut stolen = refund.clone();
    sign_htlc(&mut stolen, &bob_key, &script, 50_000, &[&[]]);
    let outcome = block(&mut state, 11, vec![tagged(&stolen)]);
    assert!(outcome.rejected[0].1.to_string().contains("input 0"), "{:?}", outcome.rejected);
    let outcome = block(&mut state, 11, vec![tagged(&refund)]);
    assert_eq!(outcome.included.len(), 1, "{:?}", outcome.rejected);
    assert_eq!(native(&state, &alice.id), alice_before + 49_000 * UNITS_PER_SAT);
    assert!(utxo::of_script(&mut TxOverlay::new(&state), address.as_bytes()).unwrap().is_empty());
}

#[test]
fn a_taproot_script_path_spend_verifies_with_the_spent_outputs_and_only_for_the_leaf_key() {
    use bitcoin::{
        TapLeafHash, TapSighashType,
        key::Keypair,
        opcodes::all::OP_CHECKSIG,
        secp256k1::SecretKey,
        sighash::Prevouts,
        taproot::{LeafVersion, TaprootBuilder},
    };
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let secp = Secp256k1::new();
    let keypair =
        |seed: u8| Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[seed; 32]).unwrap());
    let (internal, leaf_key, intruder) = (keypair(50), keypair(51), keypair(52));
    // Spendable by the internal key (key path) or by the leaf key through its script (script path).
    let leaf = bitcoin::script::Builder::new()
        .push_x_only_key(&leaf_key.x_only_public_key().0)
        .push_opcode(OP_CHECKSIG)
        .into_script();
    let tree = TaprootBuilder::new()
        .add_leaf(0, leaf.clone())
        .unwrap()
        .finalize(&secp, internal.x_only_public_key().0)
        .unwrap();
    let output = ScriptBuf::new_p2tr(&secp, internal.x_only_public_key().0, tree.merkle_root());
    let coin = OutPoint { txid: Txid::from_byte_array([70; 32]), vout: 0 };
    let mut overlay = TxOverlay::new(&state);
    let utxo_value =
        Utxo { value: FUNDED, script_pubkey: output.to_bytes(), height: 0, time_ms: 0 };
    utxo::create(&mut overlay, &coin, &utxo_value).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());

    let control = tree.control_block(&(leaf.clone(), LeafVersion::TapScript)).unwrap();
    let prevout = bitcoin::TxOut { value: Amount::from_sat(FUNDED), script_pubkey: output };
    let signed_by = |signer: &Keypair| {
        let mut tx = spend(coin, vec![(FUNDED - 1_000, bvm_output(&actors[2].id))]);
        let sighash = SighashCache::new(&tx)
            .taproot_script_spend_signature_hash(
                0,
                &Prevouts::All(&[&prevout]),
                TapLeafHash::from_script(&leaf, LeafVersion::TapScript),
                TapSighashType::Default,
            )
            .unwrap();
        let signature = secp.sign_schnorr_no_aux_rand(&Message::from(sighash), signer);
        let mut witness = Witness::new();
        witness.push(signature.as_ref());
        witness.push(leaf.as_bytes());
        witness.push(control.serialize());
        tx.input[0].witness = witness;
        tx
    };

    // Another key's valid Schnorr signature through the same leaf: refused, the coin unspent.
    let outcome = block(&mut state, 1, vec![tagged(&signed_by(&intruder))]);
    assert!(outcome.rejected[0].1.to_string().contains("input 0"), "{:?}", outcome.rejected);
    assert!(unspent(&state, &coin).is_some());
    let before = native(&state, &actors[2].id);
    let outcome = block(&mut state, 1, vec![tagged(&signed_by(&leaf_key))]);
    assert_eq!(outcome.included.len(), 1, "{:?}", outcome.rejected);
    assert_eq!(native(&state, &actors[2].id), before + (FUNDED - 1_000) as u128 * UNITS_PER_SAT);
    assert!(unspent(&state, &coin).is_none());
}

/// Issue 16: a Bitcoin key linked to an identity (the key signs a message as wallets do, the
/// identity signs the transaction) brings the identity what its scripts held — coins under each
/// of its addresses and tokens sent to them — and is paid as the identity from then on. A link
/// signed by another key, or of a key another identity linked, fails and changes nothing.
#[test]
fn a_linked_bitcoin_key_sweeps_its_coins_and_tokens_into_the_identity_and_is_paid_as_it() {
    use nvm_vm_bvm::{BvmOp, key_scripts};
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let (a, b, c) = (&actors[0], &actors[1], &actors[2]);
    let wallet = Wallet::new(21);
    let public = wallet.public.to_bytes().to_vec();
    let [p2pkh, p2wpkh, _, p2tr] = key_scripts(&public).unwrap();
    let mut overlay = TxOverlay::new(&state);
    create_gold(&mut overlay);
    Ledger::credit(&mut overlay, &GOLD, &a.id, 1_000).unwrap();
    Ledger::credit(&mut overlay, &NATIVE_MINT, &a.id, 1_000_000 * UNITS_PER_SAT).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    let legacy = nvm_identity::legacy_btc_id(p2wpkh.as_bytes());
    let coins = |state: &MemoryState, script: &ScriptBuf| {
        utxo::of_script(&mut TxOverlay::new(state), script.as_bytes()).unwrap().len()
    };

    // Coins under the key's P2WPKH and P2TR addresses, and gold sent to its P2WPKH address
    // (held by that script's legacy identity): one parallel block.
    let lock = |script: &ScriptBuf, sats: u128| {
        BvmOp::Lock { script_pubkey: script.to_bytes(), amount: sats * UNITS_PER_SAT }.encode()
    };
    let hold = BvmOp::Hold { mint: GOLD, script_pubkey: p2wpkh.to_bytes(), amount: 300 };
    let outcome = block(
        &mut state,
        1,
        vec![
            sign_payload(a, a.id, 0, lock(&p2wpkh, 50_000)),
            sign_payload(a, a.id, 1, lock(&p2tr, 20_000)),
            sign_payload(a, a.id, 2, hold.encode()),
        ],
    );
    assert!(outcome.included.iter().all(|t| t.receipt.status == TxStatus::Success));
    assert_eq!(outcome.included.len(), 3, "{:?}", outcome.rejected);
    assert!(!outcome.fell_back_to_serial, "locks and holds declare what they touch");
    assert_eq!((coins(&state, &p2wpkh), coins(&state, &p2tr)), (1, 1));
    assert_eq!(gold(&state, &legacy), 300);

    let link = |who: &Actor, nonce, signature: Vec<u8>| {
        let op = BvmOp::LinkKey { public_key: public.clone(), signature, mints: vec![] };
        sign_payload(who, who.id, nonce, op.encode())
    };
    let message = |id| nvm_identity::btc_link_message(env().chain_id, id);

    // Signed by another key, or for another identity: fails, the coins and gold stay.
    for signature in
        [Wallet::new(22).sign_message(&message(&b.id)), wallet.sign_message(&message(&c.id))]
    {
        let before = state.clone();
        let outcome = block(&mut state, 2, vec![link(b, 0, signature)]);
        assert!(
            matches!(&outcome.included[0].receipt.status, TxStatus::Failed { reason } if reason.contains("made by key")),
            "{:?}",
            outcome.included[0].receipt.status
        );
        assert_eq!((coins(&state, &p2wpkh), gold(&state, &b.id)), (1, 0));
        state = before;
    }

    let before = native(&state, &b.id);
    let outcome = block(&mut state, 2, vec![link(b, 0, wallet.sign_message(&message(&b.id)))]);
    let receipt = &outcome.included[0].receipt;
    assert_eq!(receipt.status, TxStatus::Success);
    assert_eq!(native(&state, &b.id), before + 70_000 * UNITS_PER_SAT - receipt.fee_paid);
    assert_eq!((coins(&state, &p2wpkh), coins(&state, &p2tr), gold(&state, &b.id)), (0, 0, 300));
    assert_eq!(receipt.logs.len(), 3, "one Transfer per move");

    // Another identity cannot take the key.
    let outcome = block(&mut state, 3, vec![link(c, 0, wallet.sign_message(&message(&c.id)))]);
    assert!(
        matches!(&outcome.included[0].receipt.status, TxStatus::Failed { reason } if reason.contains("already belongs")),
        "{:?}",
        outcome.included[0].receipt.status
    );

    // Paid at its P2PKH address or in a Bitcoin output to its P2WPKH one: B's balance, no coin.
    let before = native(&state, &b.id);
    let outcome = block(&mut state, 4, vec![sign_payload(a, a.id, 3, lock(&p2pkh, 5_000))]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    let other = Wallet::new(23);
    let outcome =
        block(&mut state, 5, vec![sign_payload(a, a.id, 4, lock(&other.script(), 9_000))]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    let coin = OutPoint { txid: Txid::from_byte_array(utxo_txid(&state, &other)), vout: 0 };
    let mut tx = spend(coin, vec![(8_000, p2wpkh.clone())]);
    other.sign(&mut tx, 0, 9_000);
    let outcome = block(&mut state, 6, vec![tagged(&tx)]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success, "{:?}", outcome.rejected);
    assert_eq!(native(&state, &b.id), before + 13_000 * UNITS_PER_SAT);
    assert_eq!((coins(&state, &p2pkh), coins(&state, &p2wpkh)), (0, 0));
}

#[test]
fn a_block_transaction_is_known_by_its_formats_hash() {
    let vms = vms();
    let wallet = Wallet::new(9);
    let funding = OutPoint { txid: Txid::from_byte_array([3; 32]), vout: 0 };
    let mut tx = spend(funding, vec![(1_000, wallet.script())]);
    wallet.sign(&mut tx, 0, 2_000);
    let raw = tagged(&tx).raw().to_vec();
    // A Bitcoin transaction by its txid, whatever its witness; a native envelope by its body
    // hash; bytes of neither by nothing.
    assert_eq!(vms.block_tx_hash(&raw), Some(tx.compute_txid().to_byte_array()));
    let native = nvm_vms::dev::dev_transfer(0, [1; 32], 1);
    let hash = nvm_primitives::Transaction::decode(&native).unwrap().hash();
    assert_eq!(vms.block_tx_hash(&native), Some(hash));
    assert_eq!(vms.block_tx_hash(&[nvm_vm_bvm::BITCOIN_TX_TAG, 0xff]), None);
    assert_eq!(vms.block_tx_hash(&[0x00]), None);
}
