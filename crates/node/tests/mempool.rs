//! The mempool against a dev genesis and the VMs the binary runs: nonce order, per-sender bounds,
//! refusals that leave no trace, senders interleaved by arrival, the base fee and gas limits.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use nvm_executor::{ChainConfig, Executor, TxError, VerifiedTx};
use nvm_node::{
    AdmissionError, DEV_CHAIN_ID, DEV_TX_FEE, Genesis, MAX_PENDING_PER_SENDER, Mempool,
};
use nvm_primitives::IdCom;
use nvm_state_api::MemoryState;
use nvm_vm_api::BlockEnv;
use nvm_vms::dev::dev_transfer;

fn vms() -> nvm_executor::VmRegistry {
    nvm_vms::registry().unwrap()
}

fn setup() -> (Executor, MemoryState, IdCom) {
    let genesis = Genesis::dev(&vms());
    let mut state = MemoryState::default();
    state.apply(&genesis.writes().unwrap());
    let config = ChainConfig {
        chain_id: DEV_CHAIN_ID,
        tx_fee: DEV_TX_FEE,
        shards: 64,
        block_gas_limit: nvm_vm_evm::BLOCK_GAS_LIMIT,
    };
    (Executor::new(vms(), config), state, genesis.accounts[0].id_com())
}

/// The block after genesis, at `base_fee`.
fn next(base_fee: u64) -> BlockEnv {
    BlockEnv {
        chain_id: DEV_CHAIN_ID,
        height: 1,
        timestamp_ms: 0,
        proposer: [0; 32],
        parent_hash: [0; 32],
        base_fee_per_gas: base_fee,
        gas_limit: nvm_vm_evm::BLOCK_GAS_LIMIT,
    }
}

fn transfer(_sender: IdCom, nonce: u64) -> Vec<u8> {
    dev_transfer(nonce, [9; 32], 1)
}

#[test]
fn ready_hands_out_consecutive_nonces_only() {
    let (executor, state, dev) = setup();
    let pool = Mempool::new(100);
    for nonce in [2, 0, 1, 5] {
        pool.submit_raw(&executor, &state, &next(0), vec![transfer(dev, nonce)])
            .pop()
            .unwrap()
            .unwrap();
    }
    let ready: Vec<u64> =
        pool.ready(&state, 10, u64::MAX, 0).iter().map(VerifiedTx::nonce).collect();
    assert_eq!(ready, vec![0, 1, 2], "nonce 5 waits for 3 and 4");
    assert_eq!(pool.pending_nonce(&dev, 0), 3);
}

#[test]
fn only_local_transactions_waiting_since_a_mark_are_announced_again() {
    let (executor, state, dev) = setup();
    let pool = Mempool::new(100);
    let (gossiped, submitted) = (transfer(dev, 0), transfer(dev, 1));
    for raw in [&gossiped, &submitted] {
        pool.submit_raw(&executor, &state, &next(0), vec![raw.clone()]).pop().unwrap().unwrap();
    }
    pool.record_local(&[submitted.as_slice()]).unwrap();
    let mark = pool.arrivals();
    assert_eq!(pool.waiting_since(mark, 10), vec![submitted.clone()]);
    assert!(pool.waiting_since(0, 10).is_empty(), "nothing arrived by mark 0");
    // Announced again, it is recognised by its bytes.
    let again = pool.submit_raw(&executor, &state, &next(0), vec![submitted]);
    assert!(matches!(again[0], Err(AdmissionError::AlreadyKnown(_))));
    assert_eq!(pool.len(), 2);
}

#[test]
fn a_refused_transaction_leaves_no_trace() {
    let (executor, state, dev) = setup();
    let pool = Mempool::new(100);
    let overdraft = dev_transfer(0, [9; 32], u128::MAX / 2);
    let refused = pool.submit_raw(&executor, &state, &next(0), vec![overdraft]);
    assert!(matches!(refused[0], Err(AdmissionError::InsufficientFunds { .. })));
    assert_eq!(pool.senders(), 0, "an empty queue was left for the sender");
    assert_eq!(pool.pending_nonce(&dev, 0), 0);
}

#[test]
fn one_sender_cannot_fill_the_pool() {
    let (executor, state, dev) = setup();
    let pool = Mempool::new(10_000);
    let raws: Vec<_> = (0..MAX_PENDING_PER_SENDER as u64).map(|n| transfer(dev, n)).collect();
    assert!(pool.submit_raw(&executor, &state, &next(0), raws).iter().all(Result::is_ok));
    let extra = pool.submit_raw(
        &executor,
        &state,
        &next(0),
        vec![transfer(dev, MAX_PENDING_PER_SENDER as u64)],
    );
    assert!(matches!(extra[0], Err(AdmissionError::SenderFull(MAX_PENDING_PER_SENDER))));
    let far = pool.submit_raw(
        &executor,
        &state,
        &next(0),
        vec![transfer(dev, MAX_PENDING_PER_SENDER as u64 + 1)],
    );
    assert!(matches!(far[0], Err(AdmissionError::NonceTooFarAhead { .. })));
    assert_eq!(pool.len(), MAX_PENDING_PER_SENDER);
}

/// A value transfer signed by the dev mnemonic's first account (fee cap 2 gwei).
fn signed(nonce: u64) -> Vec<u8> {
    use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_signer::SignerSync;
    use alloy_signer_local::{MnemonicBuilder, coins_bip39::English};
    let wallet =
        MnemonicBuilder::<English>::default().phrase(nvm_vm_evm::DEV_MNEMONIC).build().unwrap();
    let tx = TxEip1559 {
        chain_id: DEV_CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        to: alloy_primitives::TxKind::Call(alloy_primitives::Address::repeat_byte(1)),
        ..Default::default()
    };
    let signature = wallet.sign_hash_sync(&tx.signature_hash()).unwrap();
    nvm_vm_evm::tag_ethereum(&TxEnvelope::from(tx.into_signed(signature)).encoded_2718())
}

#[test]
fn senders_interleave_by_arrival_and_each_keeps_its_nonce_order() {
    let (executor, state, dev) = setup();
    let pool = Mempool::new(100);
    // Arrivals: eth 1, dev 0, eth 0, dev 1.
    let arrivals = [signed(1), transfer(dev, 0), signed(0), transfer(dev, 1)];
    for raw in &arrivals {
        pool.submit_raw(&executor, &state, &next(0), vec![raw.clone()]).pop().unwrap().unwrap();
    }
    let ready: Vec<Vec<u8>> =
        pool.ready(&state, 10, u64::MAX, 0).iter().map(|t| t.raw().to_vec()).collect();
    // dev 0 (arrived 2nd), eth 0 and eth 1 (eth 0 arrived 3rd, and eth 1 cannot precede
    // it), dev 1 (4th).
    let expected = [&arrivals[1], &arrivals[2], &arrivals[0], &arrivals[3]];
    assert_eq!(ready.iter().collect::<Vec<_>>(), expected);
    assert_eq!(pool.ready(&state, 2, u64::MAX, 0).len(), 2, "at most `max`");
}

#[test]
fn an_ethereum_transaction_under_the_base_fee_waits_and_gas_limits_a_block() {
    let (executor, state, _) = setup();
    let pool = Mempool::new(100);
    for result in
        pool.submit_raw(&executor, &state, &next(1_000_000_000), vec![signed(0), signed(1)])
    {
        result.unwrap();
    }
    let refused = pool.submit_raw(&executor, &state, &next(3_000_000_000), vec![signed(2)]);
    assert!(matches!(refused[0], Err(AdmissionError::Invalid(TxError::FeeCapTooLow { .. }))));
    assert!(pool.ready(&state, 10, u64::MAX, 3_000_000_000).is_empty(), "the fee cap is under it");
    assert_eq!(pool.ready(&state, 10, u64::MAX, 1_000_000_000).len(), 2);
    // Gas limits are not added up (the block fills by gas used), but one over the block's
    // gas limit by itself waits.
    assert_eq!(pool.ready(&state, 10, 21_000, 1_000_000_000).len(), 2, "each fits alone");
    assert!(pool.ready(&state, 10, 20_999, 1_000_000_000).is_empty(), "neither fits");
}
