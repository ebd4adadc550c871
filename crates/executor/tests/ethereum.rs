//! Ethereum-signed transactions in blocks: gas at the EIP-1559 price (tip to the proposer, base
//! fee burned from the supply), invalid ones leaving no trace, and an Ethereum account linked to
//! an identity spending that identity's balance.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use common::*;
use nvm_executor::{BlockOutcome, ExecutionMode, TxError, VerifiedTx};
use nvm_identity::{Registry, VmAddress, evm_link_message, legacy_id_com};
use nvm_ledger::{Ledger, NATIVE_MINT, token_key};
use nvm_primitives::TxStatus;
use nvm_state_api::{MemoryState, StateAccessExt, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_native::NativeOp;

const ETH: u128 = 1_000_000_000_000_000_000;
const GWEI: u128 = 1_000_000_000;

fn signer(i: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&[i + 1; 32].into()).unwrap()
}

fn legacy(address: Address) -> [u8; 32] {
    legacy_id_com(&VmAddress::Evm(address.into_array())).unwrap()
}

/// The executor tests' genesis, with `eth` more native tokens for each signer's address and
/// the supply set to what is held.
fn funded(signers: &[&PrivateKeySigner], eth: u128) -> MemoryState {
    let actors: Vec<_> = (0..ACTORS).map(actor).collect();
    let mut state = genesis(&actors);
    let mut overlay = TxOverlay::new(&state);
    for s in signers {
        Ledger::credit(&mut overlay, &NATIVE_MINT, &legacy(s.address()), eth * ETH).unwrap();
    }
    let mut info = Ledger::token(&mut overlay, &NATIVE_MINT).unwrap().unwrap();
    info.supply = START * (ACTORS as u128 + 1) + signers.len() as u128 * eth * ETH;
    overlay.set_encoded(token_key(&NATIVE_MINT), &info);
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    state
}

struct Eip1559 {
    nonce: u64,
    to: Address,
    value: u128,
    max_fee: u128,
    tip: u128,
    chain: u64,
    gas: u64,
    data: Vec<u8>,
}

impl Default for Eip1559 {
    fn default() -> Self {
        Self {
            nonce: 0,
            to: Address::repeat_byte(7),
            value: ETH,
            max_fee: 3 * GWEI,
            tip: GWEI,
            chain: CHAIN,
            gas: 21_000,
            data: Vec::new(),
        }
    }
}

fn eth_tx(from: &PrivateKeySigner, t: Eip1559) -> VerifiedTx {
    let tx = TxEip1559 {
        chain_id: t.chain,
        nonce: t.nonce,
        gas_limit: t.gas,
        max_fee_per_gas: t.max_fee,
        max_priority_fee_per_gas: t.tip,
        to: TxKind::Call(t.to),
        value: U256::from(t.value),
        access_list: Default::default(),
        input: t.data.into(),
    };
    let signature = from.sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
    VerifiedTx::verify(&vms(), nvm_vm_evm::tag_ethereum(&raw)).unwrap()
}

fn block(state: &mut MemoryState, height: u64, txs: Vec<VerifiedTx>) -> BlockOutcome {
    let env = BlockEnv { height, ..env() };
    let outcome = executor().execute_block(&*state, &env, txs, ExecutionMode::Parallel).unwrap();
    state.apply(&outcome.writes);
    outcome
}

fn native(state: &MemoryState, id: &[u8; 32]) -> u128 {
    Ledger::balance(&mut TxOverlay::new(state), &NATIVE_MINT, id).unwrap()
}

fn supply(state: &MemoryState) -> u128 {
    Ledger::token(&mut TxOverlay::new(state), &NATIVE_MINT).unwrap().unwrap().supply
}

#[test]
fn gas_is_paid_at_the_effective_price_tip_to_proposer_base_fee_burned() {
    let alice = signer(0);
    let mut state = funded(&[&alice], 10);
    let base_fee = u128::from(env().base_fee_per_gas);
    let proposer = Registry::resolve(
        &mut TxOverlay::new(&state),
        &VmAddress::Evm(nvm_vm_evm::evm_address(&env().proposer).into_array()),
    )
    .unwrap();
    let (supply_before, proposer_before) = (supply(&state), native(&state, &proposer));

    let outcome = block(&mut state, 1, vec![eth_tx(&alice, Eip1559::default())]);
    let receipt = &outcome.included[0].receipt;
    assert_eq!(receipt.status, TxStatus::Success);
    assert_eq!(receipt.gas_used, 21_000);
    assert_eq!(outcome.gas_used, 21_000);
    let price = (base_fee + GWEI).min(3 * GWEI);
    assert_eq!(receipt.fee_paid, 21_000 * price);
    assert_eq!(native(&state, &legacy(alice.address())), 10 * ETH - ETH - 21_000 * price);
    assert_eq!(native(&state, &legacy(Address::repeat_byte(7))), ETH);
    assert_eq!(native(&state, &proposer), proposer_before + 21_000 * (price - base_fee));
    assert_eq!(supply(&state), supply_before - 21_000 * base_fee, "the base fee is burned");
}

#[test]
fn invalid_ethereum_transactions_are_left_out_and_change_nothing() {
    let (alice, broke) = (signer(0), signer(1));
    let mut state = funded(&[&alice], 10);
    block(&mut state, 1, vec![eth_tx(&alice, Eip1559::default())]);
    let unprotected = {
        let tx = TxLegacy {
            chain_id: None,
            gas_limit: 21_000,
            gas_price: 3 * GWEI,
            to: TxKind::Call(Address::ZERO),
            ..Default::default()
        };
        let signature = alice.sign_hash_sync(&tx.signature_hash()).unwrap();
        TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
    };
    assert!(matches!(
        VerifiedTx::verify(&vms(), nvm_vm_evm::tag_ethereum(&unprotected)),
        Err(TxError::Rejected { kind: nvm_executor::Rejection::WrongChain, .. })
    ));
    let candidates = vec![
        eth_tx(&alice, Eip1559::default()), // replayed nonce 0
        eth_tx(&alice, Eip1559 { nonce: 1, chain: CHAIN + 1, ..Default::default() }), // wrong chain
        eth_tx(&alice, Eip1559 { nonce: 1, max_fee: 1, tip: 1, ..Default::default() }), // below base fee
        eth_tx(&alice, Eip1559 { nonce: 1, value: 100 * ETH, ..Default::default() }),   // overdraft
        eth_tx(&broke, Eip1559::default()), // no funds at all
    ];
    let outcome = block(&mut state, 2, candidates);
    assert!(outcome.included.is_empty());
    assert!(outcome.writes.is_empty(), "rejected transactions wrote {:?}", outcome.writes.len());
    let reasons: Vec<String> = outcome.rejected.iter().map(|(_, e)| e.to_string()).collect();
    assert!(reasons[0].contains("nonce too low"), "{reasons:?}");
    assert!(matches!(outcome.rejected[1].1, TxError::WrongChain { .. }));
    assert!(matches!(outcome.rejected[2].1, TxError::FeeCapTooLow { .. }));
    assert!(matches!(outcome.rejected[3].1, TxError::InsufficientFunds { .. }));
    assert!(matches!(outcome.rejected[4].1, TxError::InsufficientFunds { available: 0, .. }));
}

#[test]
fn a_linked_ethereum_account_spends_the_identity_balance() {
    let metamask = signer(2);
    let mut state = funded(&[&metamask], 2);
    let a = actor(0);
    let message = evm_link_message(CHAIN, &a.id);
    let link = |signature: Vec<u8>| NativeOp::LinkEvmAccount {
        address: metamask.address().into_array(),
        signature,
        mints: Vec::new(),
    };

    // Signed by another key: the link fails, nothing but fee and nonce change.
    let forged = signer(3).sign_message_sync(message.as_bytes()).unwrap().as_bytes().to_vec();
    let outcome = block(&mut state, 1, vec![sign(&a, a.id, 0, &link(forged))]);
    assert!(
        matches!(&outcome.included[0].receipt.status, TxStatus::Failed { reason } if reason.contains("not by"))
    );

    // Linked: the account's 2 NVM move to the identity, and its transactions act for it.
    let signature = metamask.sign_message_sync(message.as_bytes()).unwrap().as_bytes().to_vec();
    let outcome = block(&mut state, 2, vec![sign(&a, a.id, 1, &link(signature.clone()))]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    assert_eq!(native(&state, &legacy(metamask.address())), 0);
    let held = native(&state, &a.id);
    assert_eq!(held, START - 2 * FEE + 2 * ETH);
    let spend = eth_tx(&metamask, Eip1559 { nonce: 2, value: ETH / 2, ..Default::default() });
    let outcome = block(&mut state, 3, vec![spend]);
    let receipt = &outcome.included[0].receipt;
    assert_eq!((receipt.status.clone(), receipt.sender), (TxStatus::Success, a.id));
    assert_eq!(native(&state, &a.id), held - ETH / 2 - receipt.fee_paid);

    // The identity as the block's proposer: the linked account (the caller) and the coinbase
    // (its derived address) are two EVM accounts of one identity; both changes count.
    let held = native(&state, &a.id);
    let env = BlockEnv { height: 4, proposer: a.id, ..env() };
    let spend = eth_tx(&metamask, Eip1559 { nonce: 3, value: ETH / 4, ..Default::default() });
    let outcome =
        executor().execute_block(&state, &env, vec![spend], ExecutionMode::Serial).unwrap();
    state.apply(&outcome.writes);
    let burned = 21_000 * u128::from(env.base_fee_per_gas);
    assert_eq!(native(&state, &a.id), held - ETH / 4 - burned, "the tip comes back, nothing else");

    // The account cannot be linked twice.
    let again = block(&mut state, 5, vec![sign(&a, a.id, 4, &link(signature))]);
    assert!(
        matches!(&again.included[0].receipt.status, TxStatus::Failed { reason } if reason.contains("already belongs"))
    );
}

/// One identity, every address (SPEC §2): ETH sent to a fresh Ethereum address X is at the
/// Solana address the node shows for X's legacy identity (S = its derived SVM address), value
/// sent to S is X's too, and X's key spends both — in every VM's view the same balance.
#[test]
fn value_sent_to_any_address_a_legacy_identity_shows_is_its_own() {
    let (sender, wallet) = (signer(4), signer(5));
    let mut state = funded(&[&sender], 5);
    let x = legacy(wallet.address());
    let shown = |format| nvm_identity::derive_address(format, &x);
    let s = shown(&nvm_identity::SVM_FORMAT);

    let pay =
        eth_tx(&sender, Eip1559 { to: wallet.address(), value: 3 * ETH, ..Default::default() });
    assert_eq!(block(&mut state, 1, vec![pay]).included[0].receipt.status, TxStatus::Success);
    for format in [&nvm_identity::EVM_FORMAT, &nvm_identity::SVM_FORMAT, &nvm_identity::TVM_FORMAT]
    {
        let resolved = Registry::resolve(&mut TxOverlay::new(&state), &shown(format)).unwrap();
        assert_eq!(resolved, x, "{} address of X's legacy identity", format.name);
    }
    let pubkey = nvm_vm_svm::Pubkey::new_from_array(*s.as_bytes().first_chunk().unwrap());
    let lamports = nvm_vm_svm::accounts::lamports(&mut TxOverlay::new(&state), &pubkey).unwrap();
    assert_eq!(u128::from(lamports), 3 * ETH / nvm_vm_svm::UNITS_PER_LAMPORT, "the Solana view");

    // Someone pays S natively: it is X's balance, which X's key then spends in one go.
    let a = actor(0);
    let to_s = NativeOp::Transfer { mint: NATIVE_MINT, to: s, amount: START / 2 };
    assert_eq!(
        block(&mut state, 2, vec![sign(&a, a.id, 0, &to_s)]).included[0].receipt.status,
        TxStatus::Success
    );
    let held = native(&state, &x);
    assert_eq!(held, 3 * ETH + START / 2);
    let spend = eth_tx(&wallet, Eip1559 { value: held - 21_000 * 3 * GWEI, ..Default::default() });
    let outcome = block(&mut state, 3, vec![spend]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success, "{:?}", outcome.rejected);
    assert!(native(&state, &x) < 21_000 * 3 * GWEI, "X's key spent what was sent to S");
}

/// A link moves everything the wallet's legacy identity held — here a token the link
/// transaction does not list — because the ledger keeps each identity's holdings.
#[test]
fn a_link_moves_every_token_the_wallet_held_listed_or_not() {
    let wallet = signer(6);
    let mut state = funded(&[&wallet], 1);
    let legacy = legacy(wallet.address());
    with_gold(&mut state, &legacy, 5_000);

    let a = actor(0);
    let outcome = block(&mut state, 1, vec![sign(&a, a.id, 0, &link_wallet(&wallet, &a.id))]);
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    let gold = |id: &[u8; 32]| Ledger::balance(&mut TxOverlay::new(&state), &GOLD, id).unwrap();
    assert_eq!((gold(&legacy), gold(&a.id)), (0, 5_000), "the unlisted token moved too");
    assert_eq!(native(&state, &legacy), 0);
}

/// A credit through an ERC-20 view is a credit like any other: the recipient's holdings list the
/// token, the addresses its legacy identity shows are indexed, and a later link moves the token
/// without listing it. A reverted view transfer leaves neither behind.
#[test]
fn an_erc20_view_credit_is_noted_and_indexed_like_any_credit() {
    use nvm_vm_evm::{EvmOp, erc20_address};
    let (wallet, other) = (signer(7), signer(8));
    let mut state = funded(&[], 0);
    let a = actor(0);
    with_gold(&mut state, &a.id, 5_000);

    let view_call = |nonce, to: Address, amount| {
        let data = erc20_transfer(to.into_array(), amount);
        let op = EvmOp::Call {
            to: erc20_address(&GOLD).into_array(),
            value: 0,
            data,
            gas_limit: 100_000,
        };
        sign_payload(&a, a.id, nonce, op.encode())
    };
    let outcome = block(
        &mut state,
        1,
        vec![view_call(0, wallet.address(), 1_200), view_call(1, other.address(), 9_999)],
    );
    assert_eq!(outcome.included[0].receipt.status, TxStatus::Success);
    assert!(matches!(outcome.included[1].receipt.status, TxStatus::Reverted { .. }));
    let mut view = TxOverlay::new(&state);
    let x = legacy(wallet.address());
    assert_eq!(Ledger::holdings(&mut view, &x).unwrap(), vec![GOLD]);
    assert!(Ledger::holdings(&mut view, &legacy(other.address())).unwrap().is_empty(), "reverted");
    let shown = nvm_identity::derive_address(&nvm_identity::SVM_FORMAT, &x);
    assert_eq!(Registry::resolve(&mut view, &shown).unwrap(), x, "X's Solana address is X's");
    let unnamed = nvm_identity::derive_address(&nvm_identity::SVM_FORMAT, &legacy(other.address()));
    assert_ne!(
        Registry::resolve(&mut view, &unnamed).unwrap(),
        legacy(other.address()),
        "reverted"
    );

    // Linked to another identity, X brings its GOLD along unlisted.
    let b = actor(1);
    let link = link_wallet(&wallet, &b.id);
    assert_eq!(
        block(&mut state, 2, vec![sign(&b, b.id, 0, &link)]).included[0].receipt.status,
        TxStatus::Success
    );
    assert_eq!(Ledger::balance(&mut TxOverlay::new(&state), &GOLD, &b.id).unwrap(), 1_200);
}

/// The native operation by which identity `to` links `wallet`, signed by the wallet's key.
fn link_wallet(wallet: &PrivateKeySigner, to: &[u8; 32]) -> NativeOp {
    let message = evm_link_message(CHAIN, to);
    let signature = wallet.sign_message_sync(message.as_bytes()).unwrap().as_bytes().to_vec();
    NativeOp::LinkEvmAccount {
        address: wallet.address().into_array(),
        signature,
        mints: Vec::new(),
    }
}

/// Creates GOLD with its whole supply, `amount`, held by `holder`.
fn with_gold(state: &mut MemoryState, holder: &[u8; 32], amount: u128) {
    let mut overlay = TxOverlay::new(&*state);
    create_gold(&mut overlay);
    Ledger::credit(&mut overlay, &GOLD, holder, amount).unwrap();
    let mut info = Ledger::token(&mut overlay, &GOLD).unwrap().unwrap();
    info.supply = amount;
    overlay.set_encoded(token_key(&GOLD), &info);
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
}

/// ABI words: a selector, then 32-byte arguments.
fn call_data(selector: [u8; 4], words: &[U256]) -> Vec<u8> {
    let mut data = selector.to_vec();
    data.extend(words.iter().flat_map(|w| w.to_be_bytes::<32>()));
    data
}

#[test]
fn an_overspend_through_two_addresses_of_one_identity_is_included_failed_and_pays_its_gas() {
    let alice = signer(0);
    let mut state = funded(&[&alice], 10);
    // Alice's identity shows at her key's address and at its derived one: revm sees the same
    // 10 ETH at both.
    let id = legacy(alice.address());
    let mut overlay = TxOverlay::new(&state);
    Registry::resolve_and_index(&mut overlay, &VmAddress::Evm(alice.address().into_array()))
        .unwrap();
    let (writes, _) = overlay.into_writes();
    state.apply(&writes.into_iter().collect());
    let Some(derived) = nvm_identity::derive_address(&nvm_identity::EVM_FORMAT, &id).evm() else {
        unreachable!()
    };
    let word = |a: Address| U256::from_be_slice(a.as_slice());
    let view = nvm_vm_evm::erc20_address(&NATIVE_MINT);
    let to = Address::repeat_byte(0x77);
    // She lets herself spend her own balance through the native token's ERC-20 view, then moves
    // everything she holds from the derived address while paying gas from the other.
    let approve =
        call_data([0x09, 0x5e, 0xa7, 0xb3], &[word(alice.address()), U256::from(u128::MAX)]);
    let call = |nonce, data| Eip1559 {
        nonce,
        to: view,
        value: 0,
        gas: 200_000,
        data,
        ..Default::default()
    };
    let before = supply(&state);
    let approved = block(&mut state, 1, vec![eth_tx(&alice, call(0, approve))]);
    assert_eq!(approved.included[0].receipt.status, TxStatus::Success);
    let held = native(&state, &id);
    let drain = call_data(
        [0x23, 0xb8, 0x72, 0xdd],
        &[word(Address::from(derived)), word(to), U256::from(held)],
    );
    let outcome = block(&mut state, 2, vec![eth_tx(&alice, call(1, drain))]);
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    let receipts = [&approved.included[0].receipt, &outcome.included[0].receipt];
    // Included as failed, nothing moved, its gas paid and its nonce used.
    assert!(matches!(receipts[1].status, TxStatus::Failed { .. }), "{:?}", receipts[1].status);
    assert_eq!(native(&state, &legacy(to)), 0);
    assert!(receipts[1].fee_paid > 0);
    assert_eq!(native(&state, &id), 10 * ETH - receipts[0].fee_paid - receipts[1].fee_paid);
    assert_eq!(Registry::nonce(&mut TxOverlay::new(&state), &id).unwrap(), 2);
    // Value conserved: the supply fell by the burned base fees only.
    let base_fee = u128::from(env().base_fee_per_gas);
    let gas = u128::from(receipts[0].gas_used + receipts[1].gas_used);
    assert_eq!(supply(&state), before - gas * base_fee);
}
