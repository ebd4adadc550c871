//! The EVM over the unified state: deploy and call a contract through native envelopes; a revert,
//! a halt and out-of-gas leave nothing behind; value moves between the EVM and the ledger.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use alloy_primitives::{Address, U256};
use common::*;
use nvm_executor::{BlockOutcome, ExecutionMode, VerifiedTx};
use nvm_identity::{VmAddress, derive_address, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::TxStatus;
use nvm_state_api::{MemoryState, StateReader, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_evm::{EvmOp, code_hash_key, evm_address, storage_key};
use nvm_vm_native::NativeOp;

/// Runtime: with no calldata, `slot0 += 1`, LOG0 and return the new value; with calldata,
/// write `slot1 = 7` and then REVERT (so the write must vanish).
const RUNTIME: &str = concat!(
    "36",
    "601b",
    "57", // CALLDATASIZE PUSH1 0x1b JUMPI
    "600054",
    "600101",
    "80",
    "600055", // slot0 + 1, DUP, SSTORE slot0
    "600052",
    "60206000a0",
    "60206000f3", // MSTORE 0; LOG0(0, 32); RETURN(0, 32)
    "5b",
    "6007600155",
    "60006000fd", // JUMPDEST; SSTORE slot1 = 7; REVERT(0, 0)
);

/// Init code: copy the runtime (38 bytes at offset 11) to memory and return it.
fn init_code() -> Vec<u8> {
    hex::decode(format!("602680600b6000396000f3{RUNTIME}")).unwrap()
}

fn run(state: &mut MemoryState, height: u64, txs: Vec<VerifiedTx>) -> BlockOutcome {
    let env = BlockEnv { height, ..env() };
    let serial =
        executor().execute_block(&*state, &env, txs.clone(), ExecutionMode::Serial).unwrap();
    let parallel = executor().execute_block(&*state, &env, txs, ExecutionMode::Parallel).unwrap();
    // EVM transactions declare what they touch coarsely enough never to need the fallback.
    assert!(!parallel.fell_back_to_serial, "the parallel run fell back to serial");
    assert_eq!(serial, BlockOutcome { widest_batch: 0, ..parallel }, "parallel != serial");
    state.apply(&serial.writes);
    serial
}

fn slot(state: &MemoryState, contract: &Address, index: u64) -> U256 {
    state
        .get(&storage_key(contract, &U256::from(index)))
        .unwrap()
        .map(|b| U256::from_be_slice(&b))
        .unwrap_or_default()
}

fn native_balance(state: &MemoryState, id: &[u8; 32]) -> u128 {
    Ledger::balance(&mut TxOverlay::new(state), &NATIVE_MINT, id).unwrap()
}

fn status(outcome: &BlockOutcome, i: usize) -> &TxStatus {
    &outcome.included[i].receipt.status
}

#[test]
fn deploy_call_revert_and_out_of_gas() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let a = &actors[0];
    let deployer = evm_address(&a.id);
    let contract = deployer.create(0);

    let deploy = EvmOp::Create { value: 0, init_code: init_code(), gas_limit: 200_000 };
    let out = run(&mut state, 1, vec![sign_payload(a, a.id, 0, deploy.encode())]);
    assert_eq!(status(&out, 0), &TxStatus::Success);
    assert!(state.get(&code_hash_key(&contract)).unwrap().is_some(), "no code at {contract}");

    let call = |nonce, data: Vec<u8>, gas_limit| {
        sign_payload(
            a,
            a.id,
            nonce,
            EvmOp::Call { to: contract.into_array(), value: 0, data, gas_limit }.encode(),
        )
    };
    let out = run(&mut state, 2, vec![call(1, vec![], 100_000), call(2, vec![], 100_000)]);
    assert_eq!(status(&out, 1), &TxStatus::Success);
    assert_eq!(slot(&state, &contract, 0), U256::from(2));
    let log = &out.included[1].receipt.logs[0];
    assert_eq!(&log.source[12..], contract.as_slice());
    assert_eq!(U256::from_be_slice(&log.data), U256::from(2));

    // A revert: the receipt says so, the slot-1 write is gone, the fee is paid, the nonce moves.
    let before = native_balance(&state, &a.id);
    let out = run(&mut state, 3, vec![call(3, vec![1], 100_000)]);
    match status(&out, 0) {
        reverted @ TxStatus::Reverted { .. } => {
            let reason = reverted.error().unwrap();
            assert!(reason.contains("execution reverted"), "{reason}");
        }
        other => panic!("expected a revert, got {other:?}"),
    }
    assert_eq!(slot(&state, &contract, 1), U256::ZERO);
    assert_eq!(slot(&state, &contract, 0), U256::from(2));
    assert_eq!(native_balance(&state, &a.id), before - FEE);
    // Out of gas: halted, nothing written.
    let out = run(&mut state, 4, vec![call(4, vec![], 21_100)]);
    assert!(matches!(status(&out, 0), TxStatus::Halted { .. }));
    assert!(status(&out, 0).error().unwrap().contains("halted"));
    assert_eq!(slot(&state, &contract, 0), U256::from(2));
    // The next nonce is still in step.
    let out = run(&mut state, 5, vec![call(5, vec![], 100_000)]);
    assert_eq!(status(&out, 0), &TxStatus::Success);
    assert_eq!(slot(&state, &contract, 0), U256::from(3));
}

#[test]
fn value_moves_between_evm_and_ledger_and_is_conserved() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let (a, b) = (&actors[0], &actors[1]);
    let contract = evm_address(&a.id).create(0);
    let contract_id = legacy_id_com(&VmAddress::Evm(contract.into_array())).unwrap();
    let holders = [a.id, b.id, contract_id, env().proposer];
    let total = |s: &MemoryState| holders.iter().map(|id| native_balance(s, id)).sum::<u128>();
    let before = total(&state);

    let txs = vec![
        // Deploy with value: the contract's balance is its legacy identity's ledger balance.
        sign_payload(
            a,
            a.id,
            0,
            EvmOp::Create { value: 5_000, init_code: init_code(), gas_limit: 200_000 }.encode(),
        ),
        // An EVM transfer to b's EVM address credits b's identity in the ledger.
        sign_payload(
            a,
            a.id,
            1,
            EvmOp::Transfer { to: evm_address(&b.id).into_array(), value: 700 }.encode(),
        ),
        // A native transfer to the contract's EVM address is the same balance the EVM sees.
        sign(
            b,
            b.id,
            0,
            &NativeOp::Transfer {
                mint: NATIVE_MINT,
                to: VmAddress::Evm(contract.into_array()),
                amount: 300,
            },
        ),
        // Sending more than the balance fails and moves nothing.
        sign_payload(b, b.id, 1, EvmOp::Transfer { to: [9; 20], value: u128::MAX / 2 }.encode()),
    ];
    let out = run(&mut state, 1, txs);
    assert!(out.included[..3].iter().all(|i| i.receipt.status == TxStatus::Success));
    assert!(matches!(status(&out, 3), TxStatus::Failed { .. }));
    assert_eq!(native_balance(&state, &contract_id), 5_300);
    assert_eq!(native_balance(&state, &b.id), START + 700 - 300 - 2 * FEE);
    assert_eq!(native_balance(&state, &a.id), START - 5_000 - 700 - 2 * FEE);
    assert_eq!(total(&state), before, "value created or destroyed");
    // b's EVM address is b: the EVM saw the identity, not a separate account.
    assert_eq!(
        nvm_identity::Registry::resolve(
            &mut TxOverlay::new(&state),
            &derive_address(&nvm_identity::EVM_FORMAT, &b.id)
        )
        .unwrap(),
        b.id
    );
}

#[test]
fn evm_and_native_transactions_mix_in_one_block() {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let mut txs = Vec::new();
    for (i, actor) in actors.iter().enumerate() {
        let native = NativeOp::Transfer {
            mint: NATIVE_MINT,
            to: VmAddress::Native([i as u8 + 50; 32]),
            amount: 1,
        };
        txs.push(sign(actor, actor.id, 0, &native));
        if i % 2 == 0 {
            let create = EvmOp::Create { value: 0, init_code: init_code(), gas_limit: 200_000 };
            txs.push(sign_payload(actor, actor.id, 1, create.encode()));
        }
    }
    // `run` checks parallel (EVM transactions alone between batches) == serial.
    let out = run(&mut state, 1, txs);
    assert_eq!(out.included.len(), ACTORS + ACTORS / 2);
    assert!(out.rejected.is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(cases(24)))]

    /// The ERC-20 view's allowance is spent exactly by `transferFrom`: after an `approve`, each
    /// `transferFrom` within both the allowance left and the owner's balance succeeds, moves its
    /// amount and lowers the allowance by it (the largest allowance is unlimited and stays);
    /// any other reverts and changes neither. Checked against the ledger after every block.
    #[test]
    fn transfer_from_spends_the_erc20_allowance_exactly(
        approved in proptest::prop_oneof![0u128..2_000, proptest::strategy::Just(u128::MAX)],
        pulls in proptest::collection::vec(0u128..900, 1..6),
    ) {
        const BALANCE: u128 = 1_500;
        let actors: Vec<_> = (0..ACTORS).map(actor).collect();
        let (owner, spender, to) = (&actors[0], &actors[1], &actors[2]);
        let mut state = genesis(&actors);
        let mut gold = TxOverlay::new(&state);
        let info = nvm_ledger::TokenInfo {
            name: "Gold".into(),
            symbol: "GLD".into(),
            decimals: 6,
            supply: BALANCE,
            authority: None,
        };
        Ledger::create_token(&mut gold, &GOLD, info).unwrap();
        Ledger::credit(&mut gold, &GOLD, &owner.id, BALANCE).unwrap();
        let (writes, _) = gold.into_writes();
        state.apply(&writes.into_iter().collect());

        let view = |data: Vec<u8>| {
            let to = nvm_vm_evm::erc20_address(&GOLD).into_array();
            EvmOp::Call { to, value: 0, data, gas_limit: 100_000 }.encode()
        };
        let approve = erc20_approve(evm_address(&spender.id).into_array(), approved);
        let out = run(&mut state, 1, vec![sign_payload(owner, owner.id, 0, view(approve))]);
        proptest::prop_assert_eq!(status(&out, 0), &TxStatus::Success);

        let gold_of = |s: &MemoryState, id| Ledger::balance(&mut TxOverlay::new(s), &GOLD, id).unwrap();
        let allowance =
            |s: &MemoryState| Ledger::allowance(&mut TxOverlay::new(s), &GOLD, &owner.id, &spender.id).unwrap();
        let (mut left, mut held) = (approved, BALANCE);
        for (nonce, amount) in pulls.into_iter().enumerate() {
            let (from, dest) = (evm_address(&owner.id).into_array(), evm_address(&to.id).into_array());
            let pull = view(erc20_transfer_from(from, dest, amount));
            let out = run(&mut state, 2 + nonce as u64, vec![sign_payload(spender, spender.id, nonce as u64, pull)]);
            if amount <= left && amount <= held {
                proptest::prop_assert_eq!(status(&out, 0), &TxStatus::Success, "pull {}", amount);
                held -= amount;
                if left != u128::MAX {
                    left -= amount;
                }
            } else {
                let reverted = matches!(status(&out, 0), TxStatus::Reverted { .. });
                proptest::prop_assert!(reverted, "pull {} of {}: {:?}", amount, left, status(&out, 0));
            }
            proptest::prop_assert_eq!(allowance(&state), left, "allowance after pulling {}", amount);
            proptest::prop_assert_eq!(gold_of(&state, &owner.id), held);
            proptest::prop_assert_eq!(gold_of(&state, &to.id), BALANCE - held);
        }
    }
}
