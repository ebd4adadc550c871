//! SPL Token accounts over the ledger (SPEC §3). A mint account *is* a ledger token (its address
//! is the mint id) and a token account shows its owner's ledger balance: when the SVM loads an
//! account owned by the token program, its `supply` or `amount` field is read from the ledger;
//! when the transaction commits, what the program changed in those fields is applied to the
//! ledger — the loaded owner's balance debited by the loaded amount, the stored owner's credited
//! by the stored amount — so no wrapped copy exists and every VM sees the same balance.
//!
//! Token accounts resolve to their owner's identity, so two token accounts of one owner and one
//! mint show the same balance (the ledger has one per identity). Committing checks that every
//! debit is covered: a transaction spending the same balance twice through two such accounts
//! fails as a whole.

use crate::accounts::identity_of;
use nvm_identity::{Registry, VmAddress, derive_address};
use nvm_ledger::{
    Ledger, LedgerError, NATIVE_MINT, TokenInfo, balance_key, state_failure as ledger_state,
    token_key,
};
use nvm_primitives::Mint as MintId;
use nvm_state_api::{StateAccess, StateAccessExt, StateError};
use solana_account::{AccountSharedData, ReadableAccount, WritableAccount};
use solana_program_option::COption;
use solana_program_pack::Pack;
use solana_pubkey::Pubkey;
use spl_token_interface::state::{Account, AccountState, Mint};

/// What a token-program account held when the SVM loaded it: the reference its changes are
/// measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadedToken {
    Account { mint: [u8; 32], owner: [u8; 32], amount: u64 },
    Mint { supply: u64 },
}

fn is_token_program(owner: &Pubkey) -> bool {
    *owner == crate::SPL_TOKEN_PROGRAM_ID
}

fn clamp(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// An initialized token account's fields.
fn token_account(account: &AccountSharedData) -> Option<Account> {
    (is_token_program(account.owner()) && account.data().len() == Account::LEN)
        .then(|| Account::unpack(account.data()).ok())
        .flatten()
}

fn token_mint(account: &AccountSharedData) -> Option<Mint> {
    (is_token_program(account.owner()) && account.data().len() == Mint::LEN)
        .then(|| Mint::unpack(account.data()).ok())
        .flatten()
}

/// The ledger's side of an account the token program owns, written into its SPL layout.
pub fn on_load(
    state: &mut dyn StateAccess,
    address: &Pubkey,
    account: &mut AccountSharedData,
) -> Result<Option<LoadedToken>, StateError> {
    if let Some(mut token) = token_account(account) {
        let owner = identity_of(state, &token.owner)?;
        token.amount = clamp(state.get_u128(&balance_key(&token.mint.to_bytes(), &owner))?);
        Account::pack(token, account.data_as_mut_slice()).ok();
        return Ok(Some(LoadedToken::Account {
            mint: token.mint.to_bytes(),
            owner: token.owner.to_bytes(),
            amount: token.amount,
        }));
    }
    if let Some(mut mint) = token_mint(account) {
        let info = Ledger::token(state, &address.to_bytes()).map_err(ledger_state)?;
        mint.supply = clamp(info.map_or(0, |i| i.supply));
        Mint::pack(mint, account.data_as_mut_slice()).ok();
        return Ok(Some(LoadedToken::Mint { supply: mint.supply }));
    }
    Ok(None)
}

/// A ledger token no SVM transaction has touched yet, shown as an SPL mint owned by the token
/// program: its authority's Solana address as the mint authority, its supply and decimals.
pub fn synthesized_mint(
    state: &mut dyn StateAccess,
    address: &Pubkey,
    lamports: u64,
) -> Result<Option<(AccountSharedData, LoadedToken)>, StateError> {
    let id: MintId = address.to_bytes();
    if id == NATIVE_MINT {
        return Ok(None);
    }
    let Some(info) = Ledger::token(state, &id).map_err(ledger_state)? else { return Ok(None) };
    let authority = info.authority.map(|a| {
        Pubkey::new_from_array(
            derive_address(&nvm_identity::SVM_FORMAT, &a).as_bytes().try_into().unwrap_or_default(),
        )
    });
    let mint = Mint {
        mint_authority: authority.map_or(COption::None, COption::Some),
        supply: clamp(info.supply),
        decimals: info.decimals,
        is_initialized: true,
        freeze_authority: COption::None,
    };
    let mut account = AccountSharedData::new(lamports, Mint::LEN, &crate::SPL_TOKEN_PROGRAM_ID);
    Mint::pack(mint, account.data_as_mut_slice()).ok();
    Ok(Some((account, LoadedToken::Mint { supply: mint.supply })))
}

/// An associated token account the ledger indexed ([`nvm_ledger::associated_account_key`]) that
/// no one created: an initialized SPL account of its owner for its mint, showing the owner's
/// ledger balance, so that wallets find a balance credited by any VM where they look for it.
pub fn synthesized_associated(
    state: &mut dyn StateAccess,
    address: &Pubkey,
    lamports: u64,
) -> Result<Option<(AccountSharedData, Option<LoadedToken>)>, StateError> {
    let found = Ledger::associated_account(state, &address.to_bytes()).map_err(ledger_state)?;
    let Some(associated) = found else { return Ok(None) };
    let token = Account {
        mint: Pubkey::new_from_array(associated.mint),
        owner: Pubkey::new_from_array(associated.owner),
        state: AccountState::Initialized,
        ..Account::default()
    };
    let mut account = AccountSharedData::new(lamports, Account::LEN, &crate::SPL_TOKEN_PROGRAM_ID);
    Account::pack(token, account.data_as_mut_slice()).ok();
    let loaded = on_load(state, address, &mut account)?;
    Ok(Some((account, loaded)))
}

/// Whether an account without lamports stays: an indexed associated token account of its
/// owner and mint (what the ledger would show there anyway), so a delegate set on it is kept.
pub fn kept_by_ledger(
    state: &mut dyn StateAccess,
    address: &Pubkey,
    account: &AccountSharedData,
) -> Result<bool, StateError> {
    let Some(token) = token_account(account) else { return Ok(false) };
    let found = Ledger::associated_account(state, &address.to_bytes()).map_err(ledger_state)?;
    Ok(found.is_some_and(|a| a.owner == token.owner.to_bytes() && a.mint == token.mint.to_bytes()))
}

/// Why a transaction's account changes cannot be applied to the ledger.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// A debit the ledger cannot cover: one balance spent twice through two of its addresses.
    #[error("the ledger cannot cover a debit: {0}")]
    Ledger(LedgerError),
    #[error(transparent)]
    State(#[from] StateError),
}

pub(crate) fn ledger(e: LedgerError) -> CommitError {
    match e {
        LedgerError::State(e) => CommitError::State(e),
        other => CommitError::Ledger(other),
    }
}

/// One account's effect on the ledger.
pub struct TokenChange {
    pub address: Pubkey,
    pub loaded: Option<LoadedToken>,
    pub stored: Option<LoadedToken>,
    /// A mint's authority as the program left it.
    pub mint_authority: Option<COption<Pubkey>>,
    pub decimals: u8,
}

/// What a written account means for the ledger, if it is (or was) a token-program account.
pub fn change_of(
    address: &Pubkey,
    loaded: Option<LoadedToken>,
    account: &AccountSharedData,
) -> Option<TokenChange> {
    let (stored, mint_authority, decimals) = if let Some(token) = token_account(account) {
        let stored = (token.state != AccountState::Uninitialized).then_some(LoadedToken::Account {
            mint: token.mint.to_bytes(),
            owner: token.owner.to_bytes(),
            amount: token.amount,
        });
        (stored, None, 0)
    } else if let Some(mint) = token_mint(account) {
        (Some(LoadedToken::Mint { supply: mint.supply }), Some(mint.mint_authority), mint.decimals)
    } else {
        (None, None, 0)
    };
    (loaded.is_some() || stored.is_some()).then_some(TokenChange {
        address: *address,
        loaded,
        stored,
        mint_authority,
        decimals,
    })
}

/// One side of a token account's change as the ledger applies it: the amount of `mint` the account
/// was loaded with (debited from its loaded owner) or stored with (credited to its stored owner).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountMove {
    pub mint: MintId,
    pub owner: nvm_primitives::IdCom,
    pub amount: u64,
    pub credit: bool,
}

/// Applies a transaction's token changes to the ledger: credits first, then debits, so that
/// only a real shortfall fails. Returns the account moves it applied, in the changes' order
/// (each account's loaded side, then its stored side). On error nothing must be kept (the
/// caller reverts).
pub fn apply(
    state: &mut dyn StateAccess,
    changes: &[TokenChange],
) -> Result<Vec<AccountMove>, CommitError> {
    let mut moves = Vec::new();
    for change in changes {
        for (side, credit) in [(change.loaded, false), (change.stored, true)] {
            if let Some(LoadedToken::Account { mint, owner, amount }) = side {
                // A token account's owner is named by the transaction: its legacy identity is
                // found at every address it shows (the ERC-20 view's too) from now on.
                let owner = Registry::resolve_and_index(state, &VmAddress::Svm(owner))?;
                moves.push(AccountMove { mint, owner, amount, credit });
            }
        }
        if let Some(LoadedToken::Mint { supply }) = change.stored {
            let before = match change.loaded {
                Some(LoadedToken::Mint { supply }) => supply,
                _ => 0,
            };
            apply_mint(state, change, before, supply)?;
        }
    }
    for m in moves.iter().filter(|m| m.credit) {
        Ledger::credit(state, &m.mint, &m.owner, u128::from(m.amount)).map_err(ledger)?;
    }
    for m in moves.iter().filter(|m| !m.credit) {
        Ledger::debit(state, &m.mint, &m.owner, u128::from(m.amount)).map_err(ledger)?;
    }
    Ok(moves)
}

/// The ledger's `Transfer` logs for the moves [`apply`] made: the nets per mint and identity
/// become transfers (a net no one else's change covers is a mint or a burn).
pub fn transfer_logs(moves: &[AccountMove]) -> Vec<nvm_primitives::Log> {
    let mut nets: Vec<(MintId, Vec<(nvm_primitives::IdCom, i128)>)> = Vec::new();
    for m in moves {
        let signed = if m.credit { i128::from(m.amount) } else { -i128::from(m.amount) };
        let index = match nets.iter().position(|(mint, _)| *mint == m.mint) {
            Some(index) => index,
            None => {
                nets.push((m.mint, Vec::new()));
                nets.len() - 1
            }
        };
        let per_id = &mut nets[index].1;
        match per_id.iter_mut().find(|(id, _)| *id == m.owner) {
            Some((_, net)) => *net += signed,
            None => per_id.push((m.owner, signed)),
        }
    }
    nets.iter().flat_map(|(mint, per_id)| nvm_ledger::transfers_from_nets(mint, per_id)).collect()
}

/// A mint's supply moves by what the program changed; its first initialization creates the
/// ledger token.
fn apply_mint(
    state: &mut dyn StateAccess,
    change: &TokenChange,
    before: u64,
    after: u64,
) -> Result<(), CommitError> {
    let id = change.address.to_bytes();
    let authority = match change.mint_authority {
        Some(COption::Some(key)) => Some(identity_of(state, &key)?),
        _ => None,
    };
    let mut info = match Ledger::token(state, &id).map_err(ledger)? {
        Some(info) => info,
        None => {
            let info = TokenInfo {
                name: String::new(),
                symbol: String::new(),
                decimals: change.decimals,
                supply: 0,
                authority,
            };
            Ledger::create_token(state, &id, info.clone()).map_err(ledger)?;
            info
        }
    };
    info.supply = info
        .supply
        .checked_add(u128::from(after))
        .and_then(|s| s.checked_sub(u128::from(before)))
        .ok_or(CommitError::Ledger(LedgerError::SupplyOverflow(id)))?;
    info.authority = authority;
    state.set_encoded(token_key(&id), &info);
    Ok(())
}

/// `amount` in units of `decimals` as SPL's `AmountToUiAmount` writes it (trailing zeros trimmed).
pub fn ui_amount(amount: u64, decimals: u8) -> String {
    let decimals = usize::from(decimals);
    let text = amount.to_string();
    if decimals == 0 {
        return text;
    }
    let padded = format!("{text:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() { whole.to_string() } else { format!("{whole}.{fraction}") }
}

/// The inverse of [`ui_amount`], by SPL Token's rule: at most one `.`, not both sides empty, no
/// more (non-zero) decimals than the mint has, and the digits a `u64` (Rust's parse, so a leading
/// `+` is taken); `None` otherwise.
pub fn parse_ui_amount(text: &str, decimals: u8) -> Option<u64> {
    let mut parts = text.split('.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next().unwrap_or("").trim_end_matches('0');
    if (whole.is_empty() && fraction.is_empty())
        || parts.next().is_some()
        || fraction.len() > usize::from(decimals)
    {
        return None;
    }
    format!("{whole}{fraction:0<width$}", width = usize::from(decimals)).parse().ok()
}
