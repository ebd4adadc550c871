//! The node's index of holders by balance: for each mint, every identity holding some, largest
//! first — what `getLargestAccounts`, `getTokenLargestAccounts` and the SPL view's listing of
//! token accounts nobody created read. The state cannot answer these (its keys are hashes), so
//! the node keeps this beside it as blocks commit, from the balances each block wrote (the
//! (mint, holder) notes of [`nvm_state_api::StateAccess::note_balance`]); it is no part of any
//! root.
//!
//! - `ledger:rank:` ‖ mint ‖ !balance (u128, big-endian) ‖ holder → nothing: key order is
//!   largest balance first within a mint. Whoever has held some keeps an entry when the balance
//!   falls to zero (an SPL token account stays when emptied; a dev chain's `evm_revert` finds
//!   every holder's balance key here); a balance never held has none.

use crate::{Mint, NATIVE_MINT, balance_key, transfer_topic};
use nvm_primitives::{IdCom, Receipt};
use nvm_state_api::{IndexWrites, StateError, StateReader, decode_value};
use std::collections::BTreeSet;

pub const RANK_PREFIX: &[u8] = b"ledger:rank:";

/// (mint, holder) of the balances a block wrote.
pub type NotedBalances = BTreeSet<(Mint, IdCom)>;

/// Where `mint`'s holders start in the index.
pub fn rank_prefix(mint: &Mint) -> Vec<u8> {
    [RANK_PREFIX, mint.as_slice()].concat()
}

/// The entry of `holder`'s `balance` of `mint`.
pub fn rank_key(mint: &Mint, balance: u128, holder: &IdCom) -> Vec<u8> {
    [RANK_PREFIX, mint.as_slice(), &(!balance).to_be_bytes(), holder.as_slice()].concat()
}

/// The (mint, balance, holder) an index key names, if it is a rank entry.
pub fn ranked(key: &[u8]) -> Option<(Mint, u128, IdCom)> {
    let rest = key.strip_prefix(RANK_PREFIX)?;
    let (mint, rest) = rest.split_first_chunk::<32>()?;
    let (inverted, holder) = rest.split_first_chunk::<16>()?;
    Some((*mint, !u128::from_be_bytes(*inverted), holder.try_into().ok()?))
}

/// `holder`'s balance of `mint` in `state`.
pub fn balance_in(
    state: &dyn StateReader,
    mint: &Mint,
    holder: &IdCom,
) -> Result<u128, StateError> {
    let key = balance_key(mint, holder);
    state.get(&key)?.map_or(Ok(0), |bytes| decode_value(&key, &bytes))
}

/// Adds to `index` the moves of the `noted` balances between `before` and `after` a block.
/// Over an empty `before` (filling the index of a database written before it existed) it adds
/// each one's entry as `after` has it.
pub fn index_balances<'a>(
    before: &dyn StateReader,
    after: &dyn StateReader,
    noted: impl IntoIterator<Item = &'a (Mint, IdCom)>,
    index: &mut IndexWrites,
) -> Result<(), StateError> {
    for (mint, holder) in noted {
        let (old, new) = (balance_in(before, mint, holder)?, balance_in(after, mint, holder)?);
        if old == new {
            continue;
        }
        // The old entry goes (a zero one, if the holder had emptied it before); the new one
        // stays at zero too, since this holder held some.
        index.insert(rank_key(mint, old, holder), None);
        index.insert(rank_key(mint, new, holder), Some(Vec::new()));
    }
    Ok(())
}

/// The balances a committed block's receipts show moving: each `Transfer` log's identities, each
/// sender's native balance (its fee) and the proposer's (the fees it got). What the index is
/// filled from for blocks committed before it existed, whose notes are gone; a balance a VM
/// moved without a log (an EVM value transfer) is found when its holder next appears in one.
pub fn noted_in_receipts(receipts: &[Receipt], proposer: &IdCom) -> NotedBalances {
    let mut noted = BTreeSet::from([(NATIVE_MINT, *proposer)]);
    let topic = transfer_topic();
    for receipt in receipts {
        noted.insert((NATIVE_MINT, receipt.sender));
        for log in receipt.logs.iter().filter(|l| l.topics.first() == Some(&topic)) {
            for holder in log.topics.iter().skip(1).filter(|h| **h != [0; 32]) {
                noted.insert((log.source, *holder));
            }
        }
    }
    noted
}

#[cfg(test)]
mod tests {
    use super::*;
    use nvm_state_api::MemoryState;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn state_of(balances: &BTreeMap<(Mint, IdCom), u128>) -> MemoryState {
        let mut state = MemoryState::default();
        for ((mint, holder), amount) in balances.iter().filter(|(_, a)| **a > 0) {
            state.entries.insert(balance_key(mint, holder), borsh::to_vec(amount).unwrap());
        }
        state
    }

    proptest! {
        /// However balances move block after block, the index lists exactly the balances held
        /// after some block (at zero once emptied), each mint's largest first.
        #[test]
        fn index_follows_every_block(blocks in prop::collection::vec(
            prop::collection::vec((0u8..3, 0u8..5, 0u128..4), 0..6), 1..8)) {
            let mut balances: BTreeMap<(Mint, IdCom), u128> = BTreeMap::new();
            let mut held = BTreeSet::new();
            let mut index: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for block in blocks {
                let before = state_of(&balances);
                let mut noted = BTreeSet::new();
                for (mint, holder, amount) in block {
                    balances.insert(([mint; 32], [holder; 32]), amount);
                    noted.insert(([mint; 32], [holder; 32]));
                }
                // Held at the end of a block (one a block filled and emptied never was).
                held.extend(balances.iter().filter(|(_, a)| **a > 0).map(|(at, _)| *at));
                let mut writes = IndexWrites::new();
                index_balances(&before, &state_of(&balances), &noted, &mut writes).unwrap();
                for (key, value) in writes {
                    match value {
                        Some(v) => index.insert(key, v),
                        None => index.remove(&key),
                    };
                }
            }
            let listed: Vec<(Mint, u128, IdCom)> = index.keys().map(|k| ranked(k).unwrap()).collect();
            let mut expected: Vec<(Mint, u128, IdCom)> = balances
                .iter()
                .filter(|(at, _)| held.contains(*at))
                .map(|((mint, holder), amount)| (*mint, *amount, *holder))
                .collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            prop_assert_eq!(listed, expected);
        }
    }
}
