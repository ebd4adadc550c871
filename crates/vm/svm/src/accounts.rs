//! Solana accounts over the unified state (SPEC §2–§3).
//!
//! Every 32-byte address is an identity's: one in the reverse index, else the address's
//! `legacy_sol:` identity. An account's **lamports are that identity's native-token balance**
//! in 9 decimals (the ledger keeps 18): the lower 9 digits — less than a lamport — are not shown
//! to Solana programs and are kept as they are when lamports change, so no value is created or
//! lost by rounding. Owner, executable flag and data live under the account's own key.

use crate::token_ledger::{self, CommitError, LoadedToken};
use borsh::{BorshDeserialize, BorshSerialize};
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::{Ledger, NATIVE_MINT, balance_key};
use nvm_primitives::{IdCom, StateKey, sha256_parts};
use nvm_state_api::{StateAccess, StateAccessExt, StateError};
use solana_account::{AccountSharedData, ReadableAccount, WritableAccount};
use solana_pubkey::Pubkey;

/// Native base units per lamport: the ledger's 18 decimals over Solana's 9.
pub const UNITS_PER_LAMPORT: u128 = 1_000_000_000;

/// `SHA-256("svm:account:" ‖ address)` → [`StoredAccount`]: what an account holds besides lamports.
pub fn account_key(address: &Pubkey) -> StateKey {
    sha256_parts(&[b"svm:account:", address.as_ref()])
}

/// An account's owner, flag and data; absent for a plain system-owned account with no data.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StoredAccount {
    pub owner: [u8; 32],
    pub executable: bool,
    pub rent_epoch: u64,
    pub data: Vec<u8>,
}

/// The identity whose native balance an account's lamports are.
pub fn identity_of(state: &mut dyn StateAccess, address: &Pubkey) -> Result<IdCom, StateError> {
    Registry::resolve(state, &VmAddress::Svm(address.to_bytes()))
}

/// The account at `address` as the SVM sees it; `None` when it holds nothing at all.
pub fn load(
    state: &mut dyn StateAccess,
    address: &Pubkey,
) -> Result<Option<AccountSharedData>, StateError> {
    Ok(load_tracked(state, address)?.map(|(account, _)| account))
}

/// [`load`], and for an account of the token program, the ledger values it was given (what the
/// transaction's changes are measured against when it commits).
pub fn load_tracked(
    state: &mut dyn StateAccess,
    address: &Pubkey,
) -> Result<Option<(AccountSharedData, Option<LoadedToken>)>, StateError> {
    let lamports = lamports(state, address)?;
    let stored: Option<StoredAccount> = state.get_decoded(&account_key(address))?;
    let Some(s) = stored else {
        if let Some((mint, loaded)) = token_ledger::synthesized_mint(state, address, lamports)? {
            return Ok(Some((mint, Some(loaded))));
        }
        if let Some(found) = token_ledger::synthesized_associated(state, address, lamports)? {
            return Ok(Some(found));
        }
        return Ok((lamports > 0).then(|| {
            (AccountSharedData::new(lamports, 0, &solana_sdk_ids::system_program::id()), None)
        }));
    };
    let mut account = AccountSharedData::new(lamports, 0, &Pubkey::new_from_array(s.owner));
    account.set_data_from_slice(&s.data);
    account.set_executable(s.executable);
    account.set_rent_epoch(s.rent_epoch);
    let loaded = token_ledger::on_load(state, address, &mut account)?;
    Ok(Some((account, loaded)))
}

/// The lamports `address` shows: its identity's native balance in whole lamports.
pub fn lamports(state: &mut dyn StateAccess, address: &Pubkey) -> Result<u64, StateError> {
    let id = identity_of(state, address)?;
    identity_lamports(state, &id)
}

fn identity_lamports(state: &mut dyn StateAccess, id: &IdCom) -> Result<u64, StateError> {
    let units = state.get_u128(&balance_key(&NATIVE_MINT, id))?;
    Ok(u64::try_from(units / UNITS_PER_LAMPORT).unwrap_or(u64::MAX))
}

/// Writes an account as given: its lamports become the identity's native balance (its
/// sub-lamport remainder kept), the rest goes under the account's key. For setting accounts up;
/// a transaction's writes go through [`commit`].
pub fn store(
    state: &mut dyn StateAccess,
    address: &Pubkey,
    account: &AccountSharedData,
) -> Result<(), StateError> {
    let id = identity_of(state, address)?;
    let dust = state.get_u128(&balance_key(&NATIVE_MINT, &id))? % UNITS_PER_LAMPORT;
    let units = u128::from(account.lamports()) * UNITS_PER_LAMPORT + dust;
    nvm_ledger::Ledger::set_balance(state, &NATIVE_MINT, &id, units);
    store_fields(state, address, account)
}

/// Commits the accounts a transaction wrote. Lamports move as changes — every account's new
/// lamports credited to its identity, then the lamports it was loaded with debited — because two
/// addresses of one identity (its derived address and a linked Solana key) each show the whole
/// balance: spending it twice through both fails (an overdraft) instead of creating value. The
/// state must still be the one the transaction was loaded from; on error the caller reverts.
pub fn commit(
    state: &mut dyn StateAccess,
    writes: &[(Pubkey, AccountSharedData)],
) -> Result<(), CommitError> {
    let mut moves = Vec::with_capacity(writes.len());
    for (address, account) in writes {
        // A written account's legacy identity is found at every address it shows from now on.
        let id = Registry::resolve_and_index(state, &VmAddress::Svm(address.to_bytes()))?;
        moves.push((id, identity_lamports(state, &id)?, account.lamports()));
    }
    let units = |lamports: u64| u128::from(lamports) * UNITS_PER_LAMPORT;
    for (id, _, after) in &moves {
        Ledger::credit(state, &NATIVE_MINT, id, units(*after)).map_err(token_ledger::ledger)?;
    }
    for (id, before, _) in &moves {
        Ledger::debit(state, &NATIVE_MINT, id, units(*before)).map_err(token_ledger::ledger)?;
    }
    for (address, account) in writes {
        store_fields(state, address, account)?;
    }
    Ok(())
}

/// An account's owner, flag and data under its own key (lamports live in the ledger).
fn store_fields(
    state: &mut dyn StateAccess,
    address: &Pubkey,
    account: &AccountSharedData,
) -> Result<(), StateError> {
    let plain = account.data().is_empty()
        && !account.executable()
        && *account.owner() == solana_sdk_ids::system_program::id();
    let closed = account.lamports() == 0 && !token_ledger::kept_by_ledger(state, address, account)?;
    if plain || closed {
        // A system account without data, or one closed (no lamports left): nothing besides
        // lamports to keep, as Solana garbage-collects empty accounts. (An associated token
        // account the ledger shows lives without lamports: its delegate, if set, is kept.)
        state.delete(account_key(address));
    } else {
        let stored = StoredAccount {
            owner: account.owner().to_bytes(),
            executable: account.executable(),
            rent_epoch: account.rent_epoch(),
            data: account.data().to_vec(),
        };
        state.set_encoded(account_key(address), &stored);
    }
    Ok(())
}
