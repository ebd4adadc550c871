//! Property tests of block execution over random transaction sequences (failing ones included).
//! Replay a failure with the seed proptest prints (`PROPTEST_...` env vars / regression file).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "properties/addresses.rs"]
mod addresses;
mod common;
#[path = "properties/scripts.rs"]
mod scripts;
#[path = "properties/wide.rs"]
mod wide;

use common::*;
use nvm_executor::{ExecutionMode, TxError, VerifiedTx};
use nvm_identity::{AddressFormat, VmAddress, derive_address, legacy_id_com};

/// SPEC §2's formats, in the order the steps below number them.
const EVERY_FORMAT: [&AddressFormat; 5] = [
    &nvm_identity::NATIVE_FORMAT,
    &nvm_identity::EVM_FORMAT,
    &nvm_identity::SVM_FORMAT,
    &nvm_identity::BVM_FORMAT,
    &nvm_identity::TVM_FORMAT,
];
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::{IdCom, SchemeId, TxStatus};
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_native::NativeOp;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

/// A random step: who sends what. Nonces are tracked so most transactions are valid, but some
/// replay or skip a nonce on purpose.
#[derive(Clone, Debug)]
enum Step {
    Transfer {
        from: usize,
        to: usize,
        vm: usize,
        amount: u128,
        nonce_skew: i8,
    },
    TransferToStranger {
        from: usize,
        amount: u128,
    },
    CreateToken {
        from: usize,
    },
    Mint {
        from: usize,
        to: usize,
        amount: u128,
    },
    Approve {
        from: usize,
        to: usize,
        amount: u128,
    },
    TransferFrom {
        from: usize,
        owner: usize,
        to: usize,
        amount: u128,
    },
    Burn {
        from: usize,
        amount: u128,
    },
    NewcomerJoins,
    /// Pays the newcomer at its EVM address (which may get registered in the same block).
    PayNewcomer {
        from: usize,
        amount: u128,
    },
    Forged {
        signer: usize,
        victim: usize,
        amount: u128,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let who = 0..ACTORS;
    let amount = prop_oneof![0u128..3_000, 900_000u128..2_000_000];
    prop_oneof![
        6 => (who.clone(), who.clone(), 0usize..5, amount.clone(), prop_oneof![8 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)])
            .prop_map(|(from, to, vm, amount, nonce_skew)| Step::Transfer { from, to, vm, amount, nonce_skew }),
        1 => (who.clone(), amount.clone()).prop_map(|(from, amount)| Step::TransferToStranger { from, amount }),
        1 => who.clone().prop_map(|from| Step::CreateToken { from }),
        2 => (who.clone(), who.clone(), amount.clone()).prop_map(|(from, to, amount)| Step::Mint { from, to, amount }),
        1 => (who.clone(), who.clone(), amount.clone()).prop_map(|(from, to, amount)| Step::Approve { from, to, amount }),
        2 => (who.clone(), who.clone(), who.clone(), amount.clone())
            .prop_map(|(from, owner, to, amount)| Step::TransferFrom { from, owner, to, amount }),
        1 => (who.clone(), amount.clone()).prop_map(|(from, amount)| Step::Burn { from, amount }),
        1 => Just(Step::NewcomerJoins),
        1 => (who.clone(), amount.clone()).prop_map(|(from, amount)| Step::PayNewcomer { from, amount }),
        1 => (who.clone(), who, amount).prop_map(|(signer, victim, amount)| Step::Forged { signer, victim, amount }),
    ]
}

/// A step's transaction with what the isolation property needs to know of it.
struct Built {
    tx: VerifiedTx,
    /// The identity whose key really signed it (for a forgery, not the sender it claims).
    signer: IdCom,
    /// The allowance it grants if it succeeds: (mint, owner, spender).
    approval: Option<([u8; 32], IdCom, IdCom)>,
}

/// Turns steps into signed transactions, tracking nonces.
fn build(steps: &[Step], actors: &[Actor]) -> Vec<VerifiedTx> {
    build_all(steps, actors).0.into_iter().map(|b| b.tx).collect()
}

/// [`build`], with each transaction's real signer and approval, and every mint the steps use.
fn build_all(steps: &[Step], actors: &[Actor]) -> (Vec<Built>, Vec<[u8; 32]>) {
    let mut nonces = [0u64; ACTORS];
    let mut tokens: Vec<[u8; 32]> = vec![NATIVE_MINT];
    let mut out = Vec::new();
    let next = |i: usize, nonces: &mut [u64; ACTORS]| {
        let n = nonces[i];
        nonces[i] += 1;
        n
    };
    for s in steps {
        let signer = match s {
            Step::NewcomerJoins => newcomer().id,
            Step::Forged { signer, .. } => actors[*signer].id,
            Step::Transfer { from, .. }
            | Step::TransferToStranger { from, .. }
            | Step::CreateToken { from }
            | Step::Mint { from, .. }
            | Step::Approve { from, .. }
            | Step::TransferFrom { from, .. }
            | Step::Burn { from, .. }
            | Step::PayNewcomer { from, .. } => actors[*from].id,
        };
        let mut approval = None;
        let tx = match s.clone() {
            Step::Transfer { from, to, vm, amount, nonce_skew } => {
                let mint = tokens[amount as usize % tokens.len()];
                let to = derive_address(EVERY_FORMAT[vm], &actors[to].id);
                let nonce = (next(from, &mut nonces) as i64 + nonce_skew as i64).max(0) as u64;
                if nonce_skew > 0 {
                    nonces[from] -= 1;
                }
                sign(
                    &actors[from],
                    actors[from].id,
                    nonce,
                    &NativeOp::Transfer { mint, to, amount },
                )
            }
            Step::TransferToStranger { from, amount } => {
                let to = VmAddress::Evm([0x5A; 20]);
                let n = next(from, &mut nonces);
                sign(
                    &actors[from],
                    actors[from].id,
                    n,
                    &NativeOp::Transfer { mint: NATIVE_MINT, to, amount },
                )
            }
            Step::CreateToken { from } => {
                let n = next(from, &mut nonces);
                tokens.push(nvm_vm_native::token_mint_id(&actors[from].id, n));
                let op = NativeOp::CreateToken {
                    name: "T".into(),
                    symbol: "T".into(),
                    decimals: 6,
                    initial_supply: 5_000,
                };
                sign(&actors[from], actors[from].id, n, &op)
            }
            Step::Mint { from, to, amount } => {
                let mint = *tokens.last().unwrap();
                let n = next(from, &mut nonces);
                let to = VmAddress::Native(actors[to].id);
                sign(&actors[from], actors[from].id, n, &NativeOp::Mint { mint, to, amount })
            }
            Step::Approve { from, to, amount } => {
                let mint = tokens[from % tokens.len()];
                approval = Some((mint, actors[from].id, actors[to].id));
                let n = next(from, &mut nonces);
                let spender = derive_address(&nvm_identity::TVM_FORMAT, &actors[to].id);
                sign(
                    &actors[from],
                    actors[from].id,
                    n,
                    &NativeOp::Approve { mint, spender, amount },
                )
            }
            Step::TransferFrom { from, owner, to, amount } => {
                let mint = tokens[owner % tokens.len()];
                let n = next(from, &mut nonces);
                let op = NativeOp::TransferFrom {
                    mint,
                    owner: derive_address(&nvm_identity::SVM_FORMAT, &actors[owner].id),
                    to: VmAddress::Native(actors[to].id),
                    amount,
                };
                sign(&actors[from], actors[from].id, n, &op)
            }
            Step::Burn { from, amount } => {
                let mint = *tokens.last().unwrap();
                let n = next(from, &mut nonces);
                sign(&actors[from], actors[from].id, n, &NativeOp::Burn { mint, amount })
            }
            Step::NewcomerJoins => {
                let n = newcomer();
                let op = NativeOp::CreateIdentity {
                    scheme: SchemeId::Secp256k1Ecdsa as u8,
                    public_key: n.key.public_key(),
                    salt: [1; 32],
                };
                sign(&n, n.id, 0, &op)
            }
            Step::PayNewcomer { from, amount } => {
                let to = derive_address(&nvm_identity::EVM_FORMAT, &newcomer().id);
                let n = next(from, &mut nonces);
                sign(
                    &actors[from],
                    actors[from].id,
                    n,
                    &NativeOp::Transfer { mint: NATIVE_MINT, to, amount },
                )
            }
            Step::Forged { signer, victim, amount } => {
                // Signed by `signer` but claiming to be `victim`: must never execute.
                let to = VmAddress::Native(actors[signer].id);
                sign(
                    &actors[signer],
                    actors[victim].id,
                    nonces[victim],
                    &NativeOp::Transfer { mint: NATIVE_MINT, to, amount },
                )
            }
        };
        out.push(Built { tx, signer, approval });
    }
    (out, tokens)
}

/// Everyone who can hold value in these tests.
fn holders(actors: &[Actor]) -> Vec<IdCom> {
    let mut ids: Vec<IdCom> = actors.iter().map(|a| a.id).collect();
    ids.push(newcomer().id);
    ids.push(env().proposer);
    ids.push(legacy_id_com(&VmAddress::Evm([0x5A; 20])).unwrap());
    ids.push(legacy_id_com(&derive_address(&nvm_identity::EVM_FORMAT, &newcomer().id)).unwrap());
    ids
}

fn native_total(state: &MemoryState, ids: &[IdCom]) -> u128 {
    let mut view = TxOverlay::new(state);
    ids.iter().map(|id| Ledger::balance(&mut view, &NATIVE_MINT, id).unwrap()).sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), .. ProptestConfig::default() })]

    /// The parallel scheduler gives exactly the serial result: receipts, rejections, writes.
    #[test]
    fn parallel_equals_serial(steps in proptest::collection::vec(step(), 1..80)) {
        let actors: Vec<_> = (0..ACTORS).map(actor).collect();
        let state = genesis(&actors);
        let txs = build(&steps, &actors);
        let exec = executor();
        let ordered: Vec<VerifiedTx> =
            exec.order_for_block(&state, &env(), txs).into_iter().map(|(tx, _)| tx).collect();
        let serial = exec.execute_block(&state, &env(), ordered.clone(), ExecutionMode::Serial).unwrap();
        let parallel = exec.execute_block(&state, &env(), ordered, ExecutionMode::Parallel).unwrap();
        prop_assert_eq!(&serial.included, &parallel.included);
        prop_assert_eq!(&serial.rejected, &parallel.rejected);
        prop_assert_eq!(&serial.writes, &parallel.writes);
        prop_assert_eq!(serial.fees, parallel.fees);
        prop_assert_eq!(&serial.noted_balances, &parallel.noted_balances);
    }

    /// Native value is conserved across any block (fees move to the proposer), and every
    /// created token's holders hold exactly its supply, failing transactions included; forged
    /// transactions are always rejected.
    #[test]
    fn value_conserved_and_forgeries_rejected(steps in proptest::collection::vec(step(), 1..80)) {
        let actors: Vec<_> = (0..ACTORS).map(actor).collect();
        let mut state = genesis(&actors);
        let ids = holders(&actors);
        let before = native_total(&state, &ids);
        let (built, tokens) = build_all(&steps, &actors);
        let txs: Vec<VerifiedTx> = built.into_iter().map(|b| b.tx).collect();
        let forged: Vec<_> = steps.iter().zip(&txs)
            .filter(|(s, _)| matches!(s, Step::Forged { signer, victim, .. } if signer != victim))
            .map(|(_, tx)| tx.hash()).collect();
        let outcome = executor().execute_block(&state, &env(), txs, ExecutionMode::Parallel).unwrap();
        for hash in &forged {
            let rejected = outcome.rejected.iter().find(|(tx, _)| tx.hash() == *hash);
            prop_assert!(matches!(rejected, Some((_, TxError::CredentialMismatch(_)))));
        }
        let pre = state.clone();
        state.apply(&outcome.writes);
        prop_assert_eq!(native_total(&state, &ids), before);
        // Every balance the block changed is noted, whichever VM wrote it (the node's index of
        // holders learns of balances from nothing else).
        let (mut was, mut is) = (TxOverlay::new(&pre), TxOverlay::new(&state));
        for mint in &tokens {
            for id in &ids {
                let changed = Ledger::balance(&mut was, mint, id).unwrap()
                    != Ledger::balance(&mut is, mint, id).unwrap();
                prop_assert!(!changed || outcome.noted_balances.contains(&(*mint, *id)),
                    "the balance of {} in {} changed unnoted", hex::encode(id), hex::encode(mint));
            }
        }
        // Every other token: what its holders hold is its supply (mints and burns move both).
        let mut view = TxOverlay::new(&state);
        for mint in tokens.iter().filter(|m| **m != NATIVE_MINT) {
            let Some(info) = Ledger::token(&mut view, mint).unwrap() else { continue };
            let held: u128 = ids.iter().map(|id| Ledger::balance(&mut view, mint, id).unwrap()).sum();
            prop_assert_eq!(held, info.supply, "token {}", hex::encode(mint));
        }
    }

    /// A transaction never lowers the balance, in any token, of an identity other than the
    /// one whose key really signed it, unless that identity's approval of the signer for that
    /// token succeeded earlier (identity isolation). Forgeries claim their victim as sender, so
    /// the check is against the key, not the claim.
    #[test]
    fn only_the_signer_or_an_approver_is_debited(steps in proptest::collection::vec(step(), 1..40)) {
        let actors: Vec<_> = (0..ACTORS).map(actor).collect();
        let mut state = genesis(&actors);
        let ids = holders(&actors);
        let exec = executor();
        let (built, tokens) = build_all(&steps, &actors);
        let balances = |state: &MemoryState| -> Vec<([u8; 32], IdCom, u128)> {
            let mut view = TxOverlay::new(state);
            tokens.iter().flat_map(|mint| ids.iter().map(move |id| (*mint, *id)))
                .map(|(mint, id)| (mint, id, Ledger::balance(&mut view, &mint, &id).unwrap()))
                .collect()
        };
        let mut approvals: HashSet<([u8; 32], IdCom, IdCom)> = HashSet::new();
        // A derived address's own legacy identity is no one's (no key exists for a SHA-256
        // output): value stranded there before the address had an owner may move to that owner
        // (`Registry::sweep`) and nowhere else.
        let owner_of_stranded: HashMap<IdCom, IdCom> = ids
            .iter()
            .flat_map(|owner| EVERY_FORMAT.into_iter().filter_map(move |vm| {
                legacy_id_com(&derive_address(vm, owner)).map(|stranded| (stranded, *owner))
            }))
            .collect();
        for (i, b) in built.into_iter().enumerate() {
            let before = balances(&state);
            let env = BlockEnv { height: i as u64, ..env() };
            let outcome = exec.execute_block(&state, &env, vec![b.tx], ExecutionMode::Serial).unwrap();
            let succeeded = outcome.included.first().is_some_and(|inc| inc.receipt.status == TxStatus::Success);
            state.apply(&outcome.writes);
            let after = balances(&state);
            let fee_paid = outcome.included.first().map_or(0, |inc| inc.receipt.fee_paid);
            // Whether `owner` received at least `by` of `mint` (counting the fee it paid, if it
            // signed: a newcomer's own creation sweeps its addresses and pays its fee).
            let received = |mint: [u8; 32], owner: IdCom, by: u128| {
                let fee = if owner == b.signer && mint == NATIVE_MINT { fee_paid } else { 0 };
                before.iter().zip(&after).any(|((m, h, old), (_, _, now))| {
                    *m == mint && *h == owner && now + fee >= old + by
                })
            };
            for ((mint, id, old), (_, _, now)) in before.iter().copied().zip(after.iter().copied()) {
                let swept = owner_of_stranded.get(&id).is_some_and(|owner| received(mint, *owner, old.saturating_sub(now)));
                if now < old && id != b.signer && !swept {
                    prop_assert!(
                        approvals.contains(&(mint, id, b.signer)),
                        "step {} ({:?}): {} debited in mint {} without approving the signer",
                        i, steps[i], hex::encode(id), hex::encode(mint)
                    );
                }
            }
            if succeeded && let Some(approval) = b.approval {
                approvals.insert(approval);
            }
        }
    }
}

/// An identity created and paid at its EVM address in the same block: the payment was declared
/// against the pre-block index (the address's legacy identity), so its real write is undeclared.
/// The parallel run must notice, fall back to serial, and give exactly the serial result.
#[test]
fn undeclared_access_falls_back_to_serial() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let state = genesis(&actors);
    let n = newcomer();
    let create = NativeOp::CreateIdentity {
        scheme: SchemeId::Secp256k1Ecdsa as u8,
        public_key: n.key.public_key(),
        salt: [1; 32],
    };
    let pay = NativeOp::Transfer {
        mint: NATIVE_MINT,
        to: derive_address(&nvm_identity::EVM_FORMAT, &n.id),
        amount: 500,
    };
    let txs = vec![sign(&n, n.id, 0, &create), sign(&actors[0], actors[0].id, 0, &pay)];
    let exec = executor();
    let serial = exec.execute_block(&state, &env(), txs.clone(), ExecutionMode::Serial).unwrap();
    let parallel = exec.execute_block(&state, &env(), txs, ExecutionMode::Parallel).unwrap();
    assert!(parallel.fell_back_to_serial, "the stray write went unnoticed");
    assert_eq!(serial.included, parallel.included);
    assert_eq!(serial.writes, parallel.writes);
    let mut after = state;
    after.apply(&parallel.writes);
    let balance = Ledger::balance(&mut TxOverlay::new(&after), &NATIVE_MINT, &n.id).unwrap();
    assert_eq!(balance, START - FEE + 500, "the payment reached the new identity");
}

/// Independent transfers never need the fallback.
#[test]
fn independent_transfers_run_in_parallel_batches() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let state = genesis(&actors);
    let txs: Vec<_> = (0..ACTORS)
        .map(|i| {
            let to = VmAddress::Native([i as u8 + 100; 32]);
            sign(
                &actors[i],
                actors[i].id,
                0,
                &NativeOp::Transfer { mint: NATIVE_MINT, to, amount: 1 },
            )
        })
        .collect();
    let outcome = executor().execute_block(&state, &env(), txs, ExecutionMode::Parallel).unwrap();
    assert!(!outcome.fell_back_to_serial);
    assert_eq!(outcome.included.len(), ACTORS);
}
