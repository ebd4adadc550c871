//! The Solana VM (opcodes 0x20–0x2F): Agave's SVM over the unified state.

pub mod accounts;
mod chain;
mod faucet;
mod format;
pub mod index;
pub mod ops;
mod receipt;
mod runtime;
pub mod token_ledger;
mod token_program;
mod transaction;
mod vm;

pub use accounts::{UNITS_PER_LAMPORT, account_key};
pub use chain::{DEV_FAUCET_BALANCE, GenesisPrograms, associated_token_elf};
pub use faucet::Faucet;
pub use format::{MAX_BLOCK_COMPUTE_UNITS, SOLANA_TX_TAG, Simulation, SvmVm, tag_solana};
pub use ops::{OPCODE_INVOKE, SvmOp};
pub use receipt::{SvmMeta, TokenBalance};
pub use runtime::{LAMPORTS_PER_SIGNATURE, LinearForks, SvmOutcome, SvmRuntime, read_account};
pub use solana_account::{AccountSharedData, ReadableAccount};
pub use solana_hash::Hash;
pub use solana_message::VersionedMessage;
pub use solana_program_option::COption;
pub use solana_program_pack::Pack;
pub use solana_pubkey::Pubkey;
pub use solana_transaction::versioned::{TransactionVersion, VersionedTransaction};
/// The SPL Token instruction set and account layouts the builtin and the RPC read.
pub use spl_token_interface as spl_token;
pub use transaction::{MAX_SOLANA_TX_SIZE, SolanaTx, SolanaTxError};

/// How many blocks a Solana transaction's recent blockhash stays valid (as on Solana).
pub const MAX_BLOCKHASH_AGE: u64 = 150;

/// `SHA-256("svm:recent-blockhash:" ‖ block hash)` → that block's height, for the blocks whose
/// hashes Solana transactions may name as their recent blockhash.
pub fn recent_blockhash_key(hash: &[u8; 32]) -> nvm_primitives::StateKey {
    nvm_primitives::sha256_parts(&[b"svm:recent-blockhash:", hash])
}

/// Whether a transaction naming `blockhash` may enter the block at `height` whose parent is
/// `parent_hash`: it names the parent, or one of the [`MAX_BLOCKHASH_AGE`] blocks before.
pub fn is_recent_blockhash(
    state: &mut dyn nvm_state_api::StateAccess,
    blockhash: &[u8; 32],
    parent_hash: &[u8; 32],
    height: u64,
) -> Result<bool, nvm_state_api::StateError> {
    use nvm_state_api::StateAccessExt;
    if blockhash == parent_hash {
        return Ok(true);
    }
    let named_at: Option<u64> = state.get_decoded(&recent_blockhash_key(blockhash))?;
    Ok(named_at.is_some_and(|h| height.saturating_sub(h) <= MAX_BLOCKHASH_AGE))
}

/// `SHA-256("svm:signature:" ‖ signature)` → the height that processed it: a Solana
/// transaction's signature is its replay protection.
pub fn signature_key(signature: &[u8; 64]) -> nvm_primitives::StateKey {
    nvm_primitives::sha256_parts(&[b"svm:signature:", signature])
}

/// Lamports an account holding `data_len` bytes needs to be rent-exempt (Solana's default rent).
pub fn rent_exempt_minimum(data_len: usize) -> u64 {
    solana_rent::Rent::default().minimum_balance(data_len)
}

/// The SPL Token program (what wallets and `@solana/spl-token` call by default).
pub const SPL_TOKEN_PROGRAM_ID: Pubkey = nvm_ledger::SPL_TOKEN_PROGRAM;
/// The Associated Token Account program (placed at genesis; the ledger indexes its addresses).
pub const ASSOCIATED_TOKEN_PROGRAM_ID: Pubkey = nvm_ledger::ASSOCIATED_TOKEN_PROGRAM;
/// The Token-2022 program.
pub const TOKEN_2022_PROGRAM_ID: Pubkey =
    Pubkey::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
/// The BPF loader (v2) that owns programs placed at genesis.
pub const BPF_LOADER_ID: Pubkey = solana_sdk_ids::bpf_loader::ID;

/// Accounts no transaction may write: Agave's reserved account keys (every builtin program and
/// sysvar, `ReservedAccountKeys::new_all_activated`) and n-VM's own builtin (SPL Token). A
/// message that write-locks one is sanitized with that lock demoted to read-only, as on Solana.
pub fn reserved_account_keys() -> &'static std::collections::HashSet<Pubkey> {
    use solana_sdk_ids::*;
    static KEYS: std::sync::LazyLock<std::collections::HashSet<Pubkey>> =
        std::sync::LazyLock::new(|| {
            [
                address_lookup_table::id(),
                bpf_loader::id(),
                bpf_loader_deprecated::id(),
                bpf_loader_upgradeable::id(),
                compute_budget::id(),
                config::id(),
                ed25519_program::id(),
                feature::id(),
                loader_v4::id(),
                native_loader::id(),
                secp256k1_program::id(),
                secp256r1_program::id(),
                stake::id(),
                system_program::id(),
                vote::id(),
                zk_token_proof_program::id(),
                zk_elgamal_proof_program::id(),
                sysvar::id(),
                sysvar::clock::id(),
                sysvar::epoch_rewards::id(),
                sysvar::epoch_schedule::id(),
                sysvar::fees::id(),
                sysvar::instructions::id(),
                sysvar::last_restart_slot::id(),
                sysvar::recent_blockhashes::id(),
                sysvar::rent::id(),
                sysvar::rewards::id(),
                sysvar::slot_hashes::id(),
                sysvar::slot_history::id(),
                sysvar::stake_history::id(),
                SPL_TOKEN_PROGRAM_ID,
            ]
            .into_iter()
            .collect()
        });
    &KEYS
}
