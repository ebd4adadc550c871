//! A contract pays Bitcoin scripts through the native token's ERC-20 view (`transferToScript`,
//! issue 16): each payment is a UTXO with a real funding transaction, atomically with the rest of
//! the EVM transaction (a revert leaves no coin and no debit), and the coin is then spent by the
//! key its script names, as a Bitcoin wallet signs it.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, sol};
use bitcoin::{OutPoint, Transaction, consensus::encode::deserialize, hashes::Hash};
use common::{wallets::*, *};
use nvm_executor::{BlockOutcome, ExecutionMode, VerifiedTx};
use nvm_identity::{VmAddress, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::TxStatus;
use nvm_state_api::{MemoryState, StateReader, TxOverlay};
use nvm_vm_bvm::{UNITS_PER_SAT, utxo};
use nvm_vm_evm::{EvmOp, erc20_address, evm_address};

sol! {
    function transferToScript(bytes script, uint256 value) external returns (bytes32);
}

/// Runtime of a relay: calldata `n ‖ target(20) ‖ data` calls `target` with `data` `n` times,
/// reverting everything if any call fails, and returns the last call's 32-byte result.
const RELAY: &str = concat!(
    "366015900380601560003760003560f81c", // len = CALLDATASIZE - 21; copy data; n = calldata[0]
    "5b8015603257602082836000600060013560601c5af1", // loop: n == 0 → done; CALL, result at len
    "1560375760019003601156",             // failed → fail; n -= 1; → loop
    "5b602082f3",                         // done: RETURN(len, 32)
    "5b60006000fd",                       // fail: REVERT(0, 0)
);

fn relay_init_code() -> Vec<u8> {
    hex::decode(format!("603d80600b6000396000f3{RELAY}")).unwrap()
}

fn block(state: &mut MemoryState, height: u64, txs: Vec<VerifiedTx>) -> BlockOutcome {
    let env = nvm_vm_api::BlockEnv { height, ..env() };
    let serial =
        executor().execute_block(&*state, &env, txs.clone(), ExecutionMode::Serial).unwrap();
    let parallel = executor().execute_block(&*state, &env, txs, ExecutionMode::Parallel).unwrap();
    assert_eq!(serial, BlockOutcome { widest_batch: 0, ..parallel }, "parallel != serial");
    state.apply(&serial.writes);
    serial
}

fn native(state: &MemoryState, id: &[u8; 32]) -> u128 {
    Ledger::balance(&mut TxOverlay::new(state), &NATIVE_MINT, id).unwrap()
}

fn coins(state: &MemoryState, wallet: &Wallet) -> Vec<(OutPoint, u64)> {
    let found = utxo::of_script(&mut TxOverlay::new(state), wallet.script().as_bytes()).unwrap();
    found.into_iter().map(|(outpoint, coin)| (outpoint, coin.value)).collect()
}

/// `n` calls of `transferToScript(script, sats)` on the native view, through the relay.
fn pay_scripts(relay: Address, n: u8, script: &[u8], units: u128) -> Vec<u8> {
    let call = transferToScriptCall { script: script.to_vec().into(), value: U256::from(units) };
    let mut data = vec![n];
    data.extend(erc20_address(&NATIVE_MINT).as_slice());
    data.extend(call.abi_encode());
    EvmOp::Call { to: relay.into_array(), value: 0, data, gas_limit: 1_000_000 }.encode()
}

#[test]
fn a_contract_pays_scripts_atomically_and_the_coins_are_spendable_by_their_key() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let (a, b) = (&actors[0], &actors[1]);
    let funded = 100_000 * UNITS_PER_SAT;
    let mut overlay = TxOverlay::new(&state);
    Ledger::credit(&mut overlay, &NATIVE_MINT, &a.id, funded).unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());

    let relay = evm_address(&a.id).create(0);
    let relay_id = legacy_id_com(&VmAddress::Evm(relay.into_array())).unwrap();
    let create = EvmOp::Create { value: funded, init_code: relay_init_code(), gas_limit: 300_000 };
    let out = block(&mut state, 1, vec![sign_payload(a, a.id, 0, create.encode())]);
    assert_eq!(out.included[0].receipt.status, TxStatus::Success);
    assert_eq!(native(&state, &relay_id), funded);

    let wallet = Wallet::new(21);
    let script = wallet.script().to_bytes();
    let sats = |n: u128| n * UNITS_PER_SAT;
    let call = |nonce, n, script: &[u8], units| {
        sign_payload(a, a.id, nonce, pay_scripts(relay, n, script, units))
    };
    let supply = |s: &MemoryState| {
        Ledger::token(&mut TxOverlay::new(s), &NATIVE_MINT).unwrap().unwrap().supply
    };
    let supply_before = supply(&state);
    let out = block(
        &mut state,
        2,
        vec![
            // Two payments in one transaction: two coins, each its own funding transaction.
            call(1, 2, &script, sats(30_000)),
            // Two more do not fit in what is left: the first is undone with the second.
            call(2, 2, &script, sats(30_000)),
            // Not a whole number of satoshi: refused.
            call(3, 1, &script, sats(1) + 1),
            // An identity's BVM address: its balance, no coin.
            call(4, 1, bvm_output(&b.id).as_bytes(), sats(10_000)),
        ],
    );
    let statuses: Vec<_> = out.included.iter().map(|i| &i.receipt.status).collect();
    assert_eq!(statuses[0], &TxStatus::Success);
    assert!(matches!(statuses[1], TxStatus::Reverted { .. }), "{statuses:?}");
    assert!(matches!(statuses[2], TxStatus::Reverted { .. }), "{statuses:?}");
    assert_eq!(statuses[3], &TxStatus::Success);
    assert_eq!(native(&state, &relay_id), funded - sats(70_000));
    assert_eq!(native(&state, &b.id), START + sats(10_000));
    assert_eq!(supply(&state), supply_before, "paying a script made or burned value");
    // The view's count of a transaction's payments is bookkeeping, never stored.
    assert_eq!(state.get(&nvm_primitives::sha256(b"erc20:script-payments")).unwrap(), None);

    let mut paid = coins(&state, &wallet);
    assert_eq!(paid.len(), 2, "{paid:?}");
    assert_ne!(paid[0].0.txid, paid[1].0.txid);
    assert!(paid.iter().all(|(outpoint, value)| outpoint.vout == 0 && *value == 30_000));
    // Each payment is in the receipt as the view's event, with its coin's txid as wallets show
    // it; each funding transaction's bytes are kept and hash to it.
    let logs = &out.included[0].receipt.logs;
    assert_eq!(logs.len(), 2);
    for (log, (outpoint, _)) in logs.iter().zip(&paid) {
        let mut shown = log.topics[2];
        shown.reverse();
        assert!(paid.iter().any(|(o, _)| o.txid.to_byte_array() == shown), "{log:?}");
        let key = utxo::funding_key(&outpoint.txid.to_byte_array());
        let funding: Transaction = deserialize(&state.get(&key).unwrap().unwrap()).unwrap();
        assert_eq!(funding.compute_txid(), outpoint.txid);
        assert_eq!(funding.output[0].script_pubkey, wallet.script());
    }

    // The wallet spends one coin to a's BVM address: a's ledger balance.
    let (coin, value) = paid.remove(0);
    let mut spend_tx = spend(coin, vec![(value - 1_000, bvm_output(&a.id))]);
    wallet.sign(&mut spend_tx, 0, value);
    let a_before = native(&state, &a.id);
    let out = block(&mut state, 3, vec![tagged(&spend_tx)]);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(native(&state, &a.id), a_before + sats(u128::from(value) - 1_000));
    assert_eq!(coins(&state, &wallet), paid);
}

#[test]
fn value_a_contract_destroys_into_a_view_is_burned_not_lost() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let a = &actors[0];
    // Runtime: SELFDESTRUCT to the native token's view (no call: a view cannot refuse it).
    let runtime = format!("73{}ff", hex::encode(erc20_address(&NATIVE_MINT)));
    let init_code = hex::decode(format!("601680600b6000396000f3{runtime}")).unwrap();
    let contract = evm_address(&a.id).create(0);
    let contract_id = legacy_id_com(&VmAddress::Evm(contract.into_array())).unwrap();
    let supply = |s: &MemoryState| {
        Ledger::token(&mut TxOverlay::new(s), &NATIVE_MINT).unwrap().unwrap().supply
    };
    // The supply the test genesis's balances make.
    let mut overlay = TxOverlay::new(&state);
    let mut native_token = Ledger::token(&mut overlay, &NATIVE_MINT).unwrap().unwrap();
    native_token.supply = (ACTORS as u128 + 1) * START;
    nvm_state_api::StateAccessExt::set_encoded(
        &mut overlay,
        nvm_ledger::token_key(&NATIVE_MINT),
        &native_token,
    );
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    let create = EvmOp::Create { value: 7_000, init_code, gas_limit: 300_000 };
    block(&mut state, 1, vec![sign_payload(a, a.id, 0, create.encode())]);
    assert_eq!(native(&state, &contract_id), 7_000);
    let before = supply(&state);
    let call =
        EvmOp::Call { to: contract.into_array(), value: 0, data: vec![], gas_limit: 100_000 };
    let out = block(&mut state, 2, vec![sign_payload(a, a.id, 1, call.encode())]);
    assert_eq!(out.included[0].receipt.status, TxStatus::Success);
    assert_eq!(native(&state, &contract_id), 0);
    assert_eq!(supply(&state), before - 7_000, "value left every balance but stayed in the supply");
}
