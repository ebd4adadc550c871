use super::*;
use nvm_state_api::{MemoryState, TxOverlay};
use proptest::prelude::*;

const A: IdCom = [1; 32];
const B: IdCom = [2; 32];
const C: IdCom = [3; 32];
const TOKEN: Mint = [9; 32];

fn token(authority: IdCom) -> TokenInfo {
    TokenInfo {
        name: "Test".into(),
        symbol: "TST".into(),
        decimals: 6,
        supply: 0,
        authority: Some(authority),
    }
}

fn with_token(state: &mut TxOverlay<'_>) {
    Ledger::create_token(state, &TOKEN, token(A)).unwrap();
    Ledger::mint(state, &TOKEN, &A, &A, 1_000).unwrap();
}

#[test]
fn overdraft_changes_nothing() {
    let base = MemoryState::default();
    let mut state = TxOverlay::new(&base);
    with_token(&mut state);
    let cp = state.checkpoint();
    let err = Ledger::transfer(&mut state, &TOKEN, &A, &B, 1_001).unwrap_err();
    assert_eq!(err, LedgerError::Overdraft { mint: TOKEN, needed: 1_001, available: 1_000 });
    assert_eq!(state.checkpoint(), cp, "a failed transfer journals no write");
}

#[test]
fn only_the_authority_mints_and_burns() {
    let base = MemoryState::default();
    let mut state = TxOverlay::new(&base);
    with_token(&mut state);
    assert_eq!(
        Ledger::mint(&mut state, &TOKEN, &B, &B, 1),
        Err(LedgerError::NotAuthority { mint: TOKEN, caller: B })
    );
    Ledger::burn(&mut state, &TOKEN, &A, 400).unwrap();
    assert_eq!(Ledger::token(&mut state, &TOKEN).unwrap().unwrap().supply, 600);
    assert_eq!(Ledger::balance(&mut state, &TOKEN, &A).unwrap(), 600);
}

#[test]
fn supply_overflow_is_an_error() {
    let base = MemoryState::default();
    let mut state = TxOverlay::new(&base);
    with_token(&mut state);
    assert_eq!(
        Ledger::mint(&mut state, &TOKEN, &A, &B, u128::MAX),
        Err(LedgerError::SupplyOverflow(TOKEN))
    );
    assert_eq!(Ledger::balance(&mut state, &TOKEN, &B).unwrap(), 0);
}

#[test]
fn allowance_flow() {
    let base = MemoryState::default();
    let mut state = TxOverlay::new(&base);
    with_token(&mut state);
    Ledger::approve(&mut state, &TOKEN, &A, &B, 300).unwrap();
    assert!(matches!(
        Ledger::transfer_from(&mut state, &TOKEN, &B, &A, &C, 301),
        Err(LedgerError::InsufficientAllowance { .. })
    ));
    Ledger::transfer_from(&mut state, &TOKEN, &B, &A, &C, 200).unwrap();
    assert_eq!(Ledger::allowance(&mut state, &TOKEN, &A, &B).unwrap(), 100);
    assert_eq!(Ledger::balance(&mut state, &TOKEN, &C).unwrap(), 200);
}

#[derive(Debug, Clone)]
enum Op {
    Transfer(usize, usize, u128),
    Approve(usize, usize, u128),
    TransferFrom(usize, usize, usize, u128),
    Mint(usize, usize, u128),
    Burn(usize, u128),
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0usize..4;
    let amount = prop_oneof![0u128..2_000, Just(u128::MAX)];
    prop_oneof![
        (who.clone(), who.clone(), amount.clone()).prop_map(|(a, b, n)| Op::Transfer(a, b, n)),
        (who.clone(), who.clone(), amount.clone()).prop_map(|(a, b, n)| Op::Approve(a, b, n)),
        (who.clone(), who.clone(), who.clone(), amount.clone())
            .prop_map(|(s, o, t, n)| Op::TransferFrom(s, o, t, n)),
        (who.clone(), who.clone(), amount.clone()).prop_map(|(a, b, n)| Op::Mint(a, b, n)),
        (who, amount).prop_map(|(a, n)| Op::Burn(a, n)),
    ]
}

proptest! {
    /// Sum of balances always equals supply, and a failing operation changes nothing.
    #[test]
    fn value_is_conserved(ops in proptest::collection::vec(op(), 1..60)) {
        let ids = [A, B, C, [4; 32]];
        let base = MemoryState::default();
        let mut state = TxOverlay::new(&base);
        Ledger::create_token(&mut state, &TOKEN, token(A)).unwrap();
        for op in ops {
            let cp = state.checkpoint();
            let result = match op {
                Op::Transfer(a, b, n) => Ledger::transfer(&mut state, &TOKEN, &ids[a], &ids[b], n),
                Op::Approve(a, b, n) => Ledger::approve(&mut state, &TOKEN, &ids[a], &ids[b], n),
                Op::TransferFrom(s, o, t, n) =>
                    Ledger::transfer_from(&mut state, &TOKEN, &ids[s], &ids[o], &ids[t], n),
                Op::Mint(a, b, n) => Ledger::mint(&mut state, &TOKEN, &ids[a], &ids[b], n),
                Op::Burn(a, n) => Ledger::burn(&mut state, &TOKEN, &ids[a], n),
            };
            if result.is_err() {
                prop_assert_eq!(state.checkpoint(), cp);
            }
            let supply = Ledger::token(&mut state, &TOKEN).unwrap().unwrap().supply;
            let mut sum = 0u128;
            for id in &ids {
                sum += Ledger::balance(&mut state, &TOKEN, id).unwrap();
            }
            prop_assert_eq!(sum, supply);
        }
    }
}

proptest! {
    /// The boundary of a plain transfer: exactly the whole balance moves (to another holder, or
    /// as a debit), and one unit more is an overdraft that writes nothing — whatever the balance.
    #[test]
    fn the_whole_balance_moves_and_one_unit_more_is_an_overdraft(
        balance in prop_oneof![1u128..10_000, (u128::MAX / 2)..u128::MAX],
        held_by_recipient in 0u128..1_000,
    ) {
        let base = MemoryState::default();
        let mut state = TxOverlay::new(&base);
        Ledger::create_token(&mut state, &TOKEN, token(A)).unwrap();
        Ledger::mint(&mut state, &TOKEN, &A, &A, balance).unwrap();
        Ledger::credit(&mut state, &TOKEN, &B, held_by_recipient.min(u128::MAX - balance)).unwrap();
        let recipient_before = Ledger::balance(&mut state, &TOKEN, &B).unwrap();

        for attempt in [
            Ledger::transfer(&mut state, &TOKEN, &A, &B, balance + 1),
            Ledger::debit(&mut state, &TOKEN, &A, balance + 1),
        ] {
            prop_assert_eq!(
                attempt,
                Err(LedgerError::Overdraft { mint: TOKEN, needed: balance + 1, available: balance })
            );
        }
        prop_assert_eq!(Ledger::balance(&mut state, &TOKEN, &A).unwrap(), balance);

        let cp = state.checkpoint();
        Ledger::debit(&mut state, &TOKEN, &A, balance).unwrap();
        prop_assert_eq!(Ledger::balance(&mut state, &TOKEN, &A).unwrap(), 0);
        state.revert(cp);

        Ledger::transfer(&mut state, &TOKEN, &A, &B, balance).unwrap();
        prop_assert_eq!(Ledger::balance(&mut state, &TOKEN, &A).unwrap(), 0);
        prop_assert_eq!(Ledger::balance(&mut state, &TOKEN, &B).unwrap(), recipient_before + balance);
    }

    /// The same boundary through an allowance: `transfer_from` of exactly the allowance (and the
    /// whole balance) succeeds and spends the allowance to zero; one unit more of either fails.
    #[test]
    fn transfer_from_spends_exactly_the_allowance(balance in 1u128..1_000_000, allowance in 1u128..1_000_000) {
        let base = MemoryState::default();
        let mut state = TxOverlay::new(&base);
        Ledger::create_token(&mut state, &TOKEN, token(A)).unwrap();
        Ledger::mint(&mut state, &TOKEN, &A, &A, balance).unwrap();
        Ledger::approve(&mut state, &TOKEN, &A, &B, allowance).unwrap();
        let limit = balance.min(allowance);
        let cp = state.checkpoint();
        prop_assert!(Ledger::transfer_from(&mut state, &TOKEN, &B, &A, &C, limit + 1).is_err());
        prop_assert_eq!(state.checkpoint(), cp, "a refused transfer_from writes nothing");
        Ledger::transfer_from(&mut state, &TOKEN, &B, &A, &C, limit).unwrap();
        prop_assert_eq!(Ledger::allowance(&mut state, &TOKEN, &A, &B).unwrap(), allowance - limit);
        prop_assert_eq!(Ledger::balance(&mut state, &TOKEN, &A).unwrap(), balance - limit);
        prop_assert_eq!(Ledger::balance(&mut state, &TOKEN, &C).unwrap(), limit);
    }
}

#[test]
fn holdings_list_every_mint_credited_but_the_native_one() {
    let base = MemoryState::default();
    let mut state = TxOverlay::new(&base);
    let other: Mint = [8; 32];
    for mint in [TOKEN, other, NATIVE_MINT] {
        Ledger::create_token(&mut state, &mint, token(A)).unwrap();
        Ledger::mint(&mut state, &mint, &A, &A, 1_000).unwrap();
    }
    assert_eq!(Ledger::holdings(&mut state, &A).unwrap(), vec![other, TOKEN], "sorted, no native");
    // A transfer notes its recipient; nothing notes a zero credit; each mint once.
    Ledger::transfer(&mut state, &TOKEN, &A, &B, 5).unwrap();
    Ledger::transfer(&mut state, &TOKEN, &A, &B, 5).unwrap();
    Ledger::credit(&mut state, &other, &C, 0).unwrap();
    assert_eq!(Ledger::holdings(&mut state, &B).unwrap(), vec![TOKEN]);
    assert!(Ledger::holdings(&mut state, &C).unwrap().is_empty());
    // Spending everything keeps the entry (the list never shrinks).
    Ledger::transfer(&mut state, &TOKEN, &B, &A, 10).unwrap();
    assert_eq!(Ledger::holdings(&mut state, &B).unwrap(), vec![TOKEN]);
}

#[test]
fn tokens_are_numbered_in_creation_order_from_one() {
    let base = MemoryState::default();
    let mut state = TxOverlay::new(&base);
    Ledger::create_token(&mut state, &NATIVE_MINT, TokenInfo::native()).unwrap();
    assert_eq!(Ledger::token_number(&mut state, &NATIVE_MINT).unwrap(), None);
    let mut declared = AccessSet::default();
    Ledger::declare_create_token(&mut state, &mut declared, &TOKEN).unwrap();
    assert!(declared.writes.contains(&token_by_number_key(1)));
    Ledger::create_token(&mut state, &TOKEN, token(A)).unwrap();
    Ledger::create_token(&mut state, &[8; 32], token(B)).unwrap();
    assert_eq!(Ledger::token_number(&mut state, &TOKEN).unwrap(), Some(1));
    assert_eq!(Ledger::token_number(&mut state, &[8; 32]).unwrap(), Some(2));
    assert_eq!(Ledger::token_by_number(&mut state, 2).unwrap(), Some([8; 32]));
    assert_eq!(Ledger::token_by_number(&mut state, 3).unwrap(), None);
    // A refused creation takes no number.
    assert!(Ledger::create_token(&mut state, &TOKEN, token(A)).is_err());
    assert_eq!(state.get_u64(&token_count_key()).unwrap(), 2);
}
