//! The unified token ledger (SPEC §3).

mod events;
pub mod holders;
mod spl;

pub use events::{amount_log, approval_topic, transfer_topic, transfers_from_nets};
pub use spl::{
    ASSOCIATED_TOKEN_PROGRAM, AssociatedAccount, MAX_SPL_OWNERS, SPL_TOKEN_PROGRAM,
    associated_account_key, associated_token_address, spl_owners_key,
};

use borsh::{BorshDeserialize, BorshSerialize};
use nvm_primitives::{IdCom, Mint, StateKey, sha256_parts};
use nvm_state_api::{AccessSet, StateAccess, StateAccessExt, StateError};

/// The native token's mint id.
pub const NATIVE_MINT: Mint = [0; 32];
/// The native token is kept at 18 decimals; each VM view shows it in its own unit.
pub const NATIVE_DECIMALS: u8 = 18;
/// Longest token name or symbol, in bytes.
pub const MAX_METADATA_LEN: usize = 64;
/// Most decimals a token may have (10^38 still fits in a u128).
pub const MAX_DECIMALS: u8 = 38;

/// `SHA-256("balance:" ‖ mint ‖ id_com)` (paper storage key).
pub fn balance_key(mint: &Mint, id_com: &IdCom) -> StateKey {
    sha256_parts(&[b"balance:", mint, id_com])
}

/// `SHA-256("allowance:" ‖ mint ‖ owner ‖ spender)` (paper storage key).
pub fn allowance_key(mint: &Mint, owner: &IdCom, spender: &IdCom) -> StateKey {
    sha256_parts(&[b"allowance:", mint, owner, spender])
}

/// Where a token answers as an ERC-20 in the EVM: `SHA-256("erc20-addr:" ‖ mint)[12..32]` (SPEC §3).
pub fn erc20_view_address(mint: &Mint) -> [u8; 20] {
    let digest = sha256_parts(&[b"erc20-addr:", mint]);
    let mut address = [0; 20];
    address.copy_from_slice(&digest[12..]);
    address
}

/// `SHA-256("erc20:mint-of:" ‖ address)` → the mint whose ERC-20 view answers at `address`
/// (the view address is a one-way hash of the mint, so the EVM looks the mint up here).
pub fn erc20_index_key(address: &[u8; 20]) -> StateKey {
    sha256_parts(&[b"erc20:mint-of:", address])
}

/// `SHA-256("holdings:" ‖ id_com)` → the mints other than the native token the identity has
/// been credited, sorted (the list never shrinks): so that merging an identity into another — a
/// link, or value swept from an address that came to belong to someone — moves every balance
/// without the transaction having to list the mints.
pub fn holdings_key(id_com: &IdCom) -> StateKey {
    sha256_parts(&[b"holdings:", id_com])
}

/// Most mints one identity's holdings list keeps, so that a merge's work is bounded; past it a
/// link still moves the mints its transaction lists.
pub const MAX_HOLDINGS: usize = 256;

/// `SHA-256("token:" ‖ mint)` → [`TokenInfo`].
pub fn token_key(mint: &Mint) -> StateKey {
    sha256_parts(&[b"token:", mint])
}

/// `SHA-256("token-count")` → how many tokens other than the native one exist: each new one is
/// numbered next, from 1 (a VM view that names tokens by a number, as Tron's TRC-10 ids do,
/// derives its ids from these numbers).
pub fn token_count_key() -> StateKey {
    nvm_primitives::sha256(b"token-count")
}

/// `SHA-256("token-number:" ‖ number)` → the mint numbered `number` (big-endian u64).
pub fn token_by_number_key(number: u64) -> StateKey {
    sha256_parts(&[b"token-number:", &number.to_be_bytes()])
}

/// `SHA-256("token-number-of:" ‖ mint)` → the mint's number.
pub fn token_number_key(mint: &Mint) -> StateKey {
    sha256_parts(&[b"token-number-of:", mint])
}

/// Per-mint state.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TokenInfo {
    pub name: String,
    pub symbol: String,
    pub decimals: u8,
    pub supply: u128,
    /// Who may mint; `None` means the supply is fixed.
    pub authority: Option<IdCom>,
}

impl TokenInfo {
    /// The native token's record as a chain's first state creates it: fixed supply (counted from
    /// the balances genesis credits), no mint authority.
    pub fn native() -> Self {
        Self {
            name: "n-VM".into(),
            symbol: "NVM".into(),
            decimals: NATIVE_DECIMALS,
            supply: 0,
            authority: None,
        }
    }
}

fn hex32(bytes: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(bytes))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("insufficient balance of token {}: need {needed}, have {available}", hex32(.mint))]
    Overdraft { mint: Mint, needed: u128, available: u128 },
    #[error("insufficient allowance of token {}: need {needed}, allowed {available}", hex32(.mint))]
    InsufficientAllowance { mint: Mint, needed: u128, available: u128 },
    #[error("token {} supply would overflow", hex32(.0))]
    SupplyOverflow(Mint),
    #[error("no token {}", hex32(.0))]
    UnknownToken(Mint),
    #[error("token {} already exists", hex32(.0))]
    TokenExists(Mint),
    #[error("identity {} is not the mint authority of token {}", hex32(.caller), hex32(.mint))]
    NotAuthority { mint: Mint, caller: IdCom },
    #[error("invalid token metadata: {0}")]
    InvalidMetadata(String),
    #[error(transparent)]
    State(#[from] StateError),
}

pub type LedgerResult<T> = Result<T, LedgerError>;

/// A ledger error on a path whose amounts were already checked: only a state failure can cause
/// it, anything else is a broken invariant (this node failed).
pub fn state_failure(e: LedgerError) -> StateError {
    match e {
        LedgerError::State(s) => s,
        other => StateError::Backend(format!("ledger invariant broken: {other}")),
    }
}

/// Ledger operations over any [`StateAccess`]. Each either succeeds or returns an error having
/// written nothing.
pub struct Ledger;

impl Ledger {
    pub fn token(state: &mut dyn StateAccess, mint: &Mint) -> LedgerResult<Option<TokenInfo>> {
        Ok(state.get_decoded(&token_key(mint))?)
    }

    fn existing_token(state: &mut dyn StateAccess, mint: &Mint) -> LedgerResult<TokenInfo> {
        Self::token(state, mint)?.ok_or(LedgerError::UnknownToken(*mint))
    }

    pub fn balance(state: &mut dyn StateAccess, mint: &Mint, id: &IdCom) -> LedgerResult<u128> {
        Ok(state.get_u128(&balance_key(mint, id))?)
    }

    /// Writes `id`'s balance of `mint` as it is, noting whose it is for the node's index of
    /// holders ([`StateAccess::note_balance`]): every balance write goes through here. Supply
    /// and holdings are the caller's to keep.
    pub fn set_balance(state: &mut dyn StateAccess, mint: &Mint, id: &IdCom, amount: u128) {
        state.set_u128(balance_key(mint, id), amount);
        state.note_balance(mint, id);
    }

    pub fn allowance(
        state: &mut dyn StateAccess,
        mint: &Mint,
        owner: &IdCom,
        spender: &IdCom,
    ) -> LedgerResult<u128> {
        Ok(state.get_u128(&allowance_key(mint, owner, spender))?)
    }

    /// Removes `amount` from `from` without moving it anywhere yet (fees, the debit half of a move).
    pub fn debit(
        state: &mut dyn StateAccess,
        mint: &Mint,
        from: &IdCom,
        amount: u128,
    ) -> LedgerResult<()> {
        let available = Self::balance(state, mint, from)?;
        let left = available.checked_sub(amount).ok_or(LedgerError::Overdraft {
            mint: *mint,
            needed: amount,
            available,
        })?;
        Self::set_balance(state, mint, from, left);
        Ok(())
    }

    /// Adds `amount` to `to` (the credit half of a move; supply is unchanged).
    pub fn credit(
        state: &mut dyn StateAccess,
        mint: &Mint,
        to: &IdCom,
        amount: u128,
    ) -> LedgerResult<()> {
        let before = Self::balance(state, mint, to)?;
        let sum = before.checked_add(amount).ok_or(LedgerError::SupplyOverflow(*mint))?;
        Self::set_balance(state, mint, to, sum);
        // A balance that was not zero was noted when it first was credited.
        if before == 0 && amount > 0 {
            Self::note_holding(state, mint, to)?;
        }
        Ok(())
    }

    /// The mints other than the native token `id` has been credited (see [`holdings_key`]).
    pub fn holdings(state: &mut dyn StateAccess, id: &IdCom) -> LedgerResult<Vec<Mint>> {
        Ok(state.get_decoded(&holdings_key(id))?.unwrap_or_default())
    }

    /// Adds `mint` to `id`'s holdings, if it is not there, not the native token, and the list
    /// has room (for balances credited other than through [`Ledger::credit`]: an ERC-20 view's);
    /// the first time, `id`'s associated token accounts of `mint` are indexed (see [`spl`]).
    pub fn note_holding(state: &mut dyn StateAccess, mint: &Mint, id: &IdCom) -> LedgerResult<()> {
        if *mint == NATIVE_MINT {
            return Ok(());
        }
        let mut held = Self::holdings(state, id)?;
        if let Err(at) = held.binary_search(mint) {
            Self::index_associated_of(state, id, mint)?;
            if held.len() < MAX_HOLDINGS {
                held.insert(at, *mint);
                state.set_encoded(holdings_key(id), &held);
            }
        }
        Ok(())
    }

    /// Moves `amount` of `mint` from `from` to `to`.
    pub fn transfer(
        state: &mut dyn StateAccess,
        mint: &Mint,
        from: &IdCom,
        to: &IdCom,
        amount: u128,
    ) -> LedgerResult<()> {
        Self::existing_token(state, mint)?;
        let available = Self::balance(state, mint, from)?;
        if available < amount {
            return Err(LedgerError::Overdraft { mint: *mint, needed: amount, available });
        }
        if from == to || amount == 0 {
            return Ok(());
        }
        // Check the credit first so that a failure leaves both balances untouched.
        let to_balance = Self::balance(state, mint, to)?;
        let new_to = to_balance.checked_add(amount).ok_or(LedgerError::SupplyOverflow(*mint))?;
        Self::set_balance(state, mint, from, available - amount);
        Self::set_balance(state, mint, to, new_to);
        if to_balance == 0 {
            Self::note_holding(state, mint, to)?;
        }
        Ok(())
    }

    /// Moves everything `from` holds — the native balance, each of `mints` and every mint in its
    /// holdings — to `to` (a link merging a legacy identity into the linking one), with a
    /// `Transfer` log per move.
    pub fn move_all(
        state: &mut dyn StateAccess,
        from: &IdCom,
        to: &IdCom,
        mints: &[Mint],
        logs: &mut Vec<nvm_primitives::Log>,
    ) -> LedgerResult<()> {
        let held = Self::holdings(state, from)?;
        let mut moved: Vec<Mint> = Vec::with_capacity(mints.len() + held.len() + 1);
        for mint in std::iter::once(&NATIVE_MINT).chain(mints).chain(&held) {
            if moved.contains(mint) {
                continue;
            }
            moved.push(*mint);
            let amount = Self::balance(state, mint, from)?;
            if amount > 0 {
                Self::transfer(state, mint, from, to, amount)?;
                logs.push(amount_log(mint, transfer_topic(), from, to, amount));
            }
        }
        Ok(())
    }

    /// Declares what [`Ledger::move_all`] touches, with `from`'s holdings as `state` has them.
    pub fn declare_move_all(
        state: &mut dyn StateAccess,
        access: &mut AccessSet,
        from: &IdCom,
        to: &IdCom,
        mints: &[Mint],
    ) -> LedgerResult<()> {
        access.read(holdings_key(from));
        let held = Self::holdings(state, from)?;
        for mint in std::iter::once(&NATIVE_MINT).chain(mints).chain(&held) {
            Self::declare_transfer(access, mint, from, to);
        }
        Ok(())
    }

    pub fn approve(
        state: &mut dyn StateAccess,
        mint: &Mint,
        owner: &IdCom,
        spender: &IdCom,
        amount: u128,
    ) -> LedgerResult<()> {
        Self::existing_token(state, mint)?;
        state.set_u128(allowance_key(mint, owner, spender), amount);
        Ok(())
    }

    /// Moves `amount` from `owner` to `to` on behalf of `spender`, spending its allowance
    /// (an allowance of `u128::MAX` is unlimited, as ERC-20 wallets expect).
    pub fn transfer_from(
        state: &mut dyn StateAccess,
        mint: &Mint,
        spender: &IdCom,
        owner: &IdCom,
        to: &IdCom,
        amount: u128,
    ) -> LedgerResult<()> {
        let key = allowance_key(mint, owner, spender);
        let allowed = state.get_u128(&key)?;
        if allowed < amount {
            return Err(LedgerError::InsufficientAllowance {
                mint: *mint,
                needed: amount,
                available: allowed,
            });
        }
        Self::transfer(state, mint, owner, to, amount)?;
        if allowed != u128::MAX {
            state.set_u128(key, allowed - amount);
        }
        Ok(())
    }

    /// Registers a new token with zero supply.
    pub fn create_token(
        state: &mut dyn StateAccess,
        mint: &Mint,
        info: TokenInfo,
    ) -> LedgerResult<()> {
        if info.name.len() > MAX_METADATA_LEN || info.symbol.len() > MAX_METADATA_LEN {
            return Err(LedgerError::InvalidMetadata(format!(
                "name and symbol must be at most {MAX_METADATA_LEN} bytes"
            )));
        }
        if info.decimals > MAX_DECIMALS {
            return Err(LedgerError::InvalidMetadata(format!(
                "decimals must be at most {MAX_DECIMALS}, got {}",
                info.decimals
            )));
        }
        if Self::token(state, mint)?.is_some() {
            return Err(LedgerError::TokenExists(*mint));
        }
        state.set_encoded(token_key(mint), &TokenInfo { supply: 0, ..info });
        state.set(erc20_index_key(&erc20_view_address(mint)), mint.to_vec());
        if *mint != NATIVE_MINT {
            let number = state
                .get_u64(&token_count_key())?
                .checked_add(1)
                .ok_or_else(|| LedgerError::InvalidMetadata("no token number left".into()))?;
            state.set_encoded(token_count_key(), &number);
            state.set_encoded(token_number_key(mint), &number);
            state.set(token_by_number_key(number), mint.to_vec());
        }
        Ok(())
    }

    /// Declares what [`Ledger::create_token`] writes, its number the one `state` gives next.
    pub fn declare_create_token(
        state: &mut dyn StateAccess,
        access: &mut AccessSet,
        mint: &Mint,
    ) -> LedgerResult<()> {
        access.write(token_key(mint)).write(erc20_index_key(&erc20_view_address(mint)));
        if *mint != NATIVE_MINT {
            let next = state.get_u64(&token_count_key())?.saturating_add(1);
            access
                .write(token_count_key())
                .write(token_number_key(mint))
                .write(token_by_number_key(next));
        }
        Ok(())
    }

    /// The number [`Ledger::create_token`] gave `mint` (none for the native token).
    pub fn token_number(state: &mut dyn StateAccess, mint: &Mint) -> LedgerResult<Option<u64>> {
        Ok(state.get_decoded(&token_number_key(mint))?)
    }

    /// The mint numbered `number`, if any.
    pub fn token_by_number(state: &mut dyn StateAccess, number: u64) -> LedgerResult<Option<Mint>> {
        Ok(state.get(&token_by_number_key(number))?.and_then(|bytes| bytes.try_into().ok()))
    }

    /// The mint whose ERC-20 view answers at `address`, if any.
    pub fn mint_of_erc20_view(
        state: &mut dyn StateAccess,
        address: &[u8; 20],
    ) -> LedgerResult<Option<Mint>> {
        Ok(state.get(&erc20_index_key(address))?.and_then(|bytes| bytes.try_into().ok()))
    }

    /// The token's state, if `caller` is its mint authority.
    fn token_of_authority(
        state: &mut dyn StateAccess,
        mint: &Mint,
        caller: &IdCom,
    ) -> LedgerResult<TokenInfo> {
        let info = Self::existing_token(state, mint)?;
        if info.authority != Some(*caller) {
            return Err(LedgerError::NotAuthority { mint: *mint, caller: *caller });
        }
        Ok(info)
    }

    /// Creates `amount` new units for `to`; only the token's authority may.
    pub fn mint(
        state: &mut dyn StateAccess,
        mint: &Mint,
        caller: &IdCom,
        to: &IdCom,
        amount: u128,
    ) -> LedgerResult<()> {
        let mut info = Self::token_of_authority(state, mint, caller)?;
        info.supply = info.supply.checked_add(amount).ok_or(LedgerError::SupplyOverflow(*mint))?;
        Self::credit(state, mint, to, amount)?;
        state.set_encoded(token_key(mint), &info);
        Ok(())
    }

    /// Destroys `amount` of the authority's own holdings.
    pub fn burn(
        state: &mut dyn StateAccess,
        mint: &Mint,
        caller: &IdCom,
        amount: u128,
    ) -> LedgerResult<()> {
        let mut info = Self::token_of_authority(state, mint, caller)?;
        Self::debit(state, mint, caller, amount)?;
        info.supply = info.supply.checked_sub(amount).ok_or(LedgerError::SupplyOverflow(*mint))?;
        state.set_encoded(token_key(mint), &info);
        Ok(())
    }

    /// Takes `amount` out of `mint`'s supply whose balances are already gone (burned EIP-1559
    /// base fees), so that the supply stays the sum of the balances.
    pub fn retire_supply(
        state: &mut dyn StateAccess,
        mint: &Mint,
        amount: u128,
    ) -> LedgerResult<()> {
        if amount == 0 {
            return Ok(());
        }
        let mut info = Self::existing_token(state, mint)?;
        info.supply = info.supply.checked_sub(amount).ok_or(LedgerError::SupplyOverflow(*mint))?;
        state.set_encoded(token_key(mint), &info);
        Ok(())
    }

    /// Declares what [`Ledger::transfer`] touches.
    pub fn declare_transfer(access: &mut AccessSet, mint: &Mint, from: &IdCom, to: &IdCom) {
        access.read(token_key(mint)).write(balance_key(mint, from));
        Self::declare_credit(access, mint, to);
    }

    /// Declares what [`Ledger::credit`] (and so [`Ledger::mint`]) touches of `to`.
    pub fn declare_credit(access: &mut AccessSet, mint: &Mint, to: &IdCom) {
        access.write(balance_key(mint, to));
        if *mint != NATIVE_MINT {
            access.write(holdings_key(to));
        }
    }
}

#[cfg(test)]
mod tests;
