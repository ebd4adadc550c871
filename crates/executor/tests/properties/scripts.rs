//! Value conservation across the ledger and Bitcoin scripts (issue 16): random blocks mixing
//! native transfers, locks of ledger value under wallets' scripts and wallet-signed spends of
//! those coins back to identities or to other wallets (double spends and overdrafts among them).
//! After every block the native units in ledger balances plus the satoshi in UTXOs (× 10¹⁰) are
//! what they were, and the parallel run equals the serial one.

use crate::common::{wallets::*, *};
use nvm_executor::VerifiedTx;
use nvm_identity::Registry;
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::IdCom;
use nvm_state_api::{MemoryState, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_bvm::{BvmOp, UNITS_PER_SAT, utxo};
use nvm_vm_native::NativeOp;
use proptest::prelude::*;

const WALLETS: u8 = 3;

#[derive(Clone, Debug)]
enum Step {
    Pay {
        from: usize,
        to: usize,
        amount: u128,
    },
    Lock {
        from: usize,
        wallet: u8,
        sats: u64,
    },
    /// Spends the wallet's oldest coin: `fee` to the proposer, the rest to an identity or a wallet.
    Spend {
        wallet: u8,
        to_identity: Option<usize>,
        to_wallet: u8,
        fee: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..ACTORS, 0..ACTORS, 1u128..5_000).prop_map(|(from, to, amount)| Step::Pay {
            from,
            to,
            amount
        }),
        (0..ACTORS, 0..WALLETS, 1u64..200_000).prop_map(|(from, wallet, sats)| Step::Lock {
            from,
            wallet,
            sats
        }),
        (0..WALLETS, proptest::option::of(0..ACTORS), 0..WALLETS, 0u64..3_000).prop_map(
            |(wallet, to_identity, to_wallet, fee)| Step::Spend {
                wallet,
                to_identity,
                to_wallet,
                fee
            }
        ),
    ]
}

fn wallet(i: u8) -> Wallet {
    Wallet::new(60 + i)
}

fn build(state: &MemoryState, actors: &[Actor], steps: &[Step]) -> Vec<VerifiedTx> {
    let mut view = TxOverlay::new(state);
    let mut used: Vec<IdCom> = Vec::new();
    let mut next = |view: &mut TxOverlay<'_>, id: IdCom| {
        let nonce =
            Registry::nonce(view, &id).unwrap() + used.iter().filter(|u| **u == id).count() as u64;
        used.push(id);
        nonce
    };
    steps
        .iter()
        .filter_map(|step| match *step {
            Step::Pay { from, to, amount } => {
                let a = &actors[from];
                let op = NativeOp::Transfer {
                    mint: NATIVE_MINT,
                    to: nvm_identity::VmAddress::Native(actors[to].id),
                    amount,
                };
                Some(sign(a, a.id, next(&mut view, a.id), &op))
            }
            Step::Lock { from, wallet: w, sats } => {
                let a = &actors[from];
                let op = BvmOp::Lock {
                    script_pubkey: wallet(w).script().to_bytes(),
                    amount: u128::from(sats) * UNITS_PER_SAT,
                };
                Some(sign_payload(a, a.id, next(&mut view, a.id), op.encode()))
            }
            Step::Spend { wallet: w, to_identity, to_wallet, fee } => {
                let payer = wallet(w);
                let coins = utxo::of_script(&mut view, payer.script().as_bytes()).unwrap();
                let (outpoint, coin) = coins.first()?;
                let to = match to_identity {
                    Some(i) => bvm_output(&actors[i].id),
                    None => wallet(to_wallet).script(),
                };
                let mut tx = spend(*outpoint, vec![(coin.value.saturating_sub(fee), to)]);
                payer.sign(&mut tx, 0, coin.value);
                Some(tagged(&tx))
            }
        })
        .collect()
}

/// Native units in ledger balances (actors, the proposer, the newcomer) plus those in UTXOs.
fn total(state: &MemoryState, actors: &[Actor]) -> u128 {
    let mut view = TxOverlay::new(state);
    let mut holders: Vec<IdCom> = actors.iter().map(|a| a.id).collect();
    holders.extend([env().proposer, newcomer().id]);
    let ledger: u128 =
        holders.iter().map(|id| Ledger::balance(&mut view, &NATIVE_MINT, id).unwrap()).sum();
    let locked: u64 = (0..WALLETS)
        .flat_map(|w| utxo::of_script(&mut view, wallet(w).script().as_bytes()).unwrap())
        .map(|(_, coin)| coin.value)
        .sum();
    ledger + u128::from(locked) * UNITS_PER_SAT
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(32), .. ProptestConfig::default() })]

    #[test]
    fn value_is_conserved_across_ledger_balances_and_scripts(blocks in proptest::collection::vec(proptest::collection::vec(step(), 1..6), 1..8)) {
        let actors: Vec<_> = (0..ACTORS).map(actor).collect();
        let mut state = genesis(&actors);
        let mut overlay = TxOverlay::new(&state);
        for a in &actors {
            Ledger::credit(&mut overlay, &NATIVE_MINT, &a.id, 1_000_000 * UNITS_PER_SAT).unwrap();
        }
        let (writes, _) = overlay.into_writes();
        state.apply(&writes.into_iter().collect());
        let start = total(&state, &actors);
        for (height, steps) in blocks.iter().enumerate() {
            let env = BlockEnv { height: height as u64 + 1, ..env() };
            let txs = build(&state, &actors, steps);
            execute_both_ways(&mut state, &env, txs);
            prop_assert_eq!(total(&state, &actors), start, "block {}: value created or lost: {:?}", height + 1, steps);
        }
    }
}
