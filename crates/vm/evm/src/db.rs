//! revm's `Database` over the unified state.

use alloy_primitives::{Address, B256, U256};
use nvm_identity::{AddressFormat, Registry, VmAddress, derive_address};
use nvm_ledger::{Ledger, LedgerError, NATIVE_MINT};
use nvm_primitives::{StateKey, sha256_parts};
use nvm_state_api::{StateAccess, StateAccessExt, StateError, TxOverlay};
use nvm_vm_api::block_hash_key;
use revm::{
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, Database},
    primitives::KECCAK_EMPTY,
    state::AccountInfo,
};

/// Whose 20-byte addresses revm's accounts are: Ethereum's (the EVM), or a variant's (the Tron
/// VM's are Tron's, `nvm_vm_tvm::TRON_SPACE`). It decides which identity an address is (SPEC §2:
/// an identity's addresses in two formats differ) and where an account's code and storage live,
/// so code deployed in one space never runs in another.
#[derive(Clone, Copy, Debug)]
pub struct AccountSpace {
    /// The format of its addresses (20 bytes long).
    pub format: &'static AddressFormat,
    /// What its code-hash keys hash before the address (Ethereum's: `evm:codehash:`).
    pub code_hash_tag: &'static [u8],
    /// What its storage keys hash before the address and slot (Ethereum's: `evm:storage:`).
    pub storage_tag: &'static [u8],
}

impl PartialEq for AccountSpace {
    fn eq(&self, other: &Self) -> bool {
        (self.format.code, self.code_hash_tag, self.storage_tag)
            == (other.format.code, other.code_hash_tag, other.storage_tag)
    }
}

impl Eq for AccountSpace {}

impl AccountSpace {
    /// Ethereum's accounts: SPEC §2's EVM addresses.
    pub const ETHEREUM: Self = Self {
        format: &nvm_identity::EVM_FORMAT,
        code_hash_tag: b"evm:codehash:",
        storage_tag: b"evm:storage:",
    };

    /// `raw` as an address of this space.
    pub fn address(&self, raw: [u8; 20]) -> VmAddress {
        VmAddress::from_code(self.format.code, &raw).expect("an account space's format is 20 bytes")
    }

    /// An identity's own account in this space (SPEC §2).
    pub fn account_of(&self, id_com: &[u8; 32]) -> Address {
        Address::from_slice(derive_address(self.format, id_com).as_bytes())
    }

    /// Where an account's code hash lives (Ethereum's: [`code_hash_key`]).
    pub fn code_hash_key(&self, address: &Address) -> StateKey {
        sha256_parts(&[self.code_hash_tag, address.as_slice()])
    }

    /// Where an account's storage slot lives (Ethereum's: [`storage_key`]).
    pub fn storage_key(&self, address: &Address, slot: &U256) -> StateKey {
        sha256_parts(&[self.storage_tag, address.as_slice(), &slot.to_be_bytes::<32>()])
    }
}

/// `SHA-256("evm:codehash:" ‖ address)` → the keccak hash of the account's code.
pub fn code_hash_key(address: &Address) -> StateKey {
    sha256_parts(&[b"evm:codehash:", address.as_slice()])
}

/// `SHA-256("evm:code:" ‖ code hash)` → the code (shared by every account with the same code).
pub fn code_key(code_hash: &B256) -> StateKey {
    sha256_parts(&[b"evm:code:", code_hash.as_slice()])
}

/// `SHA-256("evm:storage:" ‖ address ‖ slot)` → the slot's 32-byte big-endian value.
pub fn storage_key(address: &Address, slot: &U256) -> StateKey {
    sha256_parts(&[b"evm:storage:", address.as_slice(), &slot.to_be_bytes::<32>()])
}

/// A state failure seen through revm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct DbError(#[from] pub StateError);

impl DBErrorMarker for DbError {}

impl From<LedgerError> for DbError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::State(s) => Self(s),
            other => Self(StateError::Backend(other.to_string())),
        }
    }
}

/// The unified state as revm sees it. Each EVM address is an identity's (through the reverse
/// index; any other address is its legacy identity): its balance is that identity's native
/// ledger balance in wei, its nonce the identity's nonce.
pub struct UnifiedDb<'s, 'b> {
    pub(crate) state: &'s mut TxOverlay<'b>,
    space: AccountSpace,
    /// The transaction running (what the funding transactions of its payments into scripts
    /// name); zero in simulations.
    origin: [u8; 32],
    /// Which addresses are ERC-20 views (asked on every account load, slot read and call).
    views: std::collections::HashMap<Address, Option<[u8; 32]>>,
}

impl<'s, 'b> UnifiedDb<'s, 'b> {
    /// Over Ethereum's accounts.
    pub fn new(state: &'s mut TxOverlay<'b>) -> Self {
        Self::in_space(state, AccountSpace::ETHEREUM)
    }

    /// Over the accounts of `space`.
    pub fn in_space(state: &'s mut TxOverlay<'b>, space: AccountSpace) -> Self {
        Self { state, space, origin: [0; 32], views: Default::default() }
    }

    /// Running the transaction `origin`.
    pub fn with_origin(mut self, origin: [u8; 32]) -> Self {
        self.origin = origin;
        self
    }
}

/// Access to the node's state under revm, for the ledger's ERC-20 views.
pub trait StateDb {
    fn state(&mut self) -> &mut dyn StateAccess;

    /// The mint whose ERC-20 view is at `address`, if any.
    fn view_mint(&mut self, address: &Address) -> Result<Option<[u8; 32]>, DbError>;

    /// Whose addresses the accounts are.
    fn space(&self) -> AccountSpace;

    /// The hash of the transaction running (zero in simulations).
    fn origin(&self) -> [u8; 32];
}

impl StateDb for UnifiedDb<'_, '_> {
    fn state(&mut self) -> &mut dyn StateAccess {
        self.state
    }

    fn space(&self) -> AccountSpace {
        self.space
    }

    fn origin(&self) -> [u8; 32] {
        self.origin
    }

    fn view_mint(&mut self, address: &Address) -> Result<Option<[u8; 32]>, DbError> {
        if let Some(known) = self.views.get(address) {
            return Ok(*known);
        }
        let mint = view_mint(self.state, address)?;
        self.views.insert(*address, mint);
        Ok(mint)
    }
}

/// What an ERC-20 view's address shows as code: `INVALID`. Never run (the view is a precompile),
/// but it makes the address a contract to `EXTCODESIZE` and to tools.
pub const ERC20_VIEW_CODE: [u8; 1] = [0xFE];

/// The view stub, analysed once, and its hash.
static VIEW_CODE: std::sync::LazyLock<(Bytecode, B256)> = std::sync::LazyLock::new(|| {
    let code = Bytecode::new_raw(ERC20_VIEW_CODE.to_vec().into());
    let hash = code.hash_slow();
    (code, hash)
});

/// Contract code by hash, with revm's jump-destination analysis done: code is content-addressed
/// (its key is its hash), so every transaction and block can share it without invalidation.
static ANALYSED_CODE: std::sync::LazyLock<
    parking_lot::RwLock<std::collections::HashMap<B256, Bytecode>>,
> = std::sync::LazyLock::new(Default::default);
/// Most contracts kept analysed; past it the cache starts over.
const CODE_CACHE_ENTRIES: usize = 4_096;

/// The mint whose ERC-20 view is at `address`, if any.
pub(crate) fn view_mint(
    state: &mut dyn StateAccess,
    address: &Address,
) -> Result<Option<[u8; 32]>, DbError> {
    Ok(Ledger::mint_of_erc20_view(state, &address.into_array())?)
}

impl Database for UnifiedDb<'_, '_> {
    type Error = DbError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, DbError> {
        if StateDb::view_mint(self, &address)?.is_some() {
            let (code, hash) = &*VIEW_CODE;
            return Ok(Some(AccountInfo::new(U256::ZERO, 0, *hash, code.clone())));
        }
        let id = Registry::resolve(self.state, &self.space.address(address.into_array()))?;
        let balance = Ledger::balance(self.state, &NATIVE_MINT, &id)?;
        let nonce = Registry::nonce(self.state, &id)?;
        let code_hash = match self.state.get(&self.space.code_hash_key(&address))? {
            Some(bytes) if bytes.len() == 32 => B256::from_slice(&bytes),
            _ => KECCAK_EMPTY,
        };
        if balance == 0 && nonce == 0 && code_hash == KECCAK_EMPTY {
            return Ok(None);
        }
        Ok(Some(
            AccountInfo::new(U256::from(balance), nonce, code_hash, Bytecode::default())
                .without_code(),
        ))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, DbError> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        if code_hash == VIEW_CODE.1 {
            return Ok(VIEW_CODE.0.clone());
        }
        if let Some(code) = ANALYSED_CODE.read().get(&code_hash).cloned() {
            return Ok(code);
        }
        let bytes = self.state.get(&code_key(&code_hash))?.unwrap_or_default();
        let code = Bytecode::new_raw(bytes.into());
        let mut cache = ANALYSED_CODE.write();
        if cache.len() >= CODE_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(code_hash, code.clone());
        Ok(code)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, DbError> {
        // An ERC-20 view's slots are ledger keys (balances, allowances) holding u128 amounts.
        if StateDb::view_mint(self, &address)?.is_some() {
            return Ok(U256::from(self.state.get_u128(&index.to_be_bytes::<32>())?));
        }
        Ok(match self.state.get(&self.space.storage_key(&address, &index))? {
            Some(bytes) if bytes.len() == 32 => U256::from_be_slice(&bytes),
            _ => U256::ZERO,
        })
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, DbError> {
        Ok(match self.state.get(&block_hash_key(number))? {
            Some(bytes) if bytes.len() == 32 => B256::from_slice(&bytes),
            _ => B256::ZERO,
        })
    }
}
