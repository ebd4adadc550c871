//! The SVM's secondary index: Solana accounts by owner program (`getProgramAccounts`) and token
//! accounts by the wallet that owns them (`getTokenAccountsByOwner`), which the state cannot
//! answer (its keys are hashes). Kept beside the state as each block commits
//! ([`nvm_vm_api::ChainHooks::index_block`]), for the accounts its transactions name — a Solana
//! transaction can write no other (address lookup tables are refused) — and for the programs
//! genesis places.
//!
//! - `svm:owner:` ‖ owner program ‖ address → nothing
//! - `svm:token-owner:` ‖ wallet ‖ address → mint ‖ token program (an initialized account of
//!   SPL Token or Token-2022)
//! - `svm:sig:` ‖ address ‖ !height ‖ !position → signature: each Solana wallet transaction, under
//!   every account it names, newest first (`getSignaturesForAddress`; the heights and positions
//!   are stored inverted, big-endian, so key order is newest first)
//!
//! Not indexed: the token accounts and mints the ledger shows without anyone having created
//! them (an associated account of a balance, a mint of a token made by another VM): the ledger
//! finds those from the wallet's identity (`Ledger::holdings`).

use crate::{
    ASSOCIATED_TOKEN_PROGRAM_ID, Pubkey, SOLANA_TX_TAG, SPL_TOKEN_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID, VersionedTransaction, account_key, accounts::StoredAccount,
};
use nvm_primitives::Transaction;
use nvm_state_api::{IndexWrites, StateError, StateReader, decode_value};
use solana_message::Message;
use solana_program_pack::Pack;
use spl_token_interface::state::Account;
use std::collections::{BTreeMap, BTreeSet};

pub const OWNER_PREFIX: &[u8] = b"svm:owner:";
pub const TOKEN_OWNER_PREFIX: &[u8] = b"svm:token-owner:";
pub const SIGNATURE_PREFIX: &[u8] = b"svm:sig:";

/// The key of the signature of the transaction at `position` of block `height` under `address`.
pub fn signature_key(address: &[u8; 32], height: u64, position: u32) -> Vec<u8> {
    [SIGNATURE_PREFIX, address, &(!height).to_be_bytes(), &(!position).to_be_bytes()].concat()
}

/// The index key of `address` under `prefix` and `field` (an owner program, a wallet).
pub fn index_key(prefix: &[u8], field: &[u8; 32], address: &[u8; 32]) -> Vec<u8> {
    [prefix, field.as_slice(), address.as_slice()].concat()
}

/// The account an index key names (its last 32 bytes).
pub fn indexed_address(key: &[u8]) -> Option<[u8; 32]> {
    key.len().checked_sub(32).and_then(|start| key[start..].try_into().ok())
}

/// What a block transaction names, if it is a Solana one (a wallet transaction, or an SVM
/// envelope): every account it can write, and a wallet transaction's signature (an envelope has
/// none: its n-VM hash names it).
fn named_accounts(raw: &[u8]) -> (Vec<Pubkey>, Option<[u8; 64]>) {
    if let Some(wire) = raw.strip_prefix(&[SOLANA_TX_TAG]) {
        return match bincode::deserialize::<VersionedTransaction>(wire) {
            Ok(tx) => (
                tx.message.static_account_keys().to_vec(),
                tx.signatures.first().map(|s| (*s).into()),
            ),
            Err(_) => (Vec::new(), None),
        };
    }
    let op = Transaction::decode(raw)
        .ok()
        .and_then(|tx| (tx.body.opcode() == Some(crate::OPCODE_INVOKE)).then_some(tx.body.payload));
    let keys = match op.as_deref().and_then(|payload| crate::SvmOp::decode(payload).ok()) {
        Some((crate::SvmOp::Invoke { message }, _)) => {
            bincode::deserialize::<Message>(&message).map(|m| m.account_keys).unwrap_or_default()
        }
        None => Vec::new(),
    };
    (keys, None)
}

/// An account's index entries, from what is stored under its key.
fn entries(
    state: &dyn StateReader,
    address: &[u8; 32],
) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, StateError> {
    let key = account_key(&Pubkey::new_from_array(*address));
    let Some(bytes) = state.get(&key)? else { return Ok(BTreeMap::new()) };
    let stored: StoredAccount = decode_value(&key, &bytes)?;
    let mut found = BTreeMap::from([(index_key(OWNER_PREFIX, &stored.owner, address), Vec::new())]);
    let token_program =
        [SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID].iter().any(|p| p.to_bytes() == stored.owner);
    let token = stored.data.get(..Account::LEN).and_then(|base| Account::unpack(base).ok());
    if let Some(token) = token.filter(|_| token_program) {
        let value = [token.mint.to_bytes(), stored.owner].concat();
        found.insert(index_key(TOKEN_OWNER_PREFIX, &token.owner.to_bytes(), address), value);
    }
    Ok(found)
}

/// Adds to `index` what changed for the accounts the transactions of block `height` name (and at
/// genesis for its programs) between `before` and `after`, and each wallet transaction's
/// signature under every account it names.
pub(crate) fn index_block(
    before: &dyn StateReader,
    after: &dyn StateReader,
    height: u64,
    transactions: &[Vec<u8>],
    index: &mut IndexWrites,
) -> Result<(), StateError> {
    let mut named = BTreeSet::new();
    for (position, raw) in (0u32..).zip(transactions) {
        let (keys, signature) = named_accounts(raw);
        for key in keys.iter().map(Pubkey::to_bytes) {
            if let Some(signature) = signature {
                index.insert(signature_key(&key, height, position), Some(signature.to_vec()));
            }
            named.insert(key);
        }
    }
    if height == 0 {
        named.insert(ASSOCIATED_TOKEN_PROGRAM_ID.to_bytes());
    }
    for address in named {
        let (old, new) = (entries(before, &address)?, entries(after, &address)?);
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            index.insert(key.clone(), None);
        }
        for (key, value) in new {
            if old.get(&key) != Some(&value) {
                index.insert(key, Some(value));
            }
        }
    }
    Ok(())
}
