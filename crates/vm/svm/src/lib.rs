//! The Solana VM (opcodes 0x20–0x2F): Agave's SVM over the unified state.

pub mod accounts;
mod runtime;
mod transaction;

pub use accounts::{UNITS_PER_LAMPORT, account_key};
pub use runtime::{LAMPORTS_PER_SIGNATURE, LinearForks, SvmOutcome, SvmRuntime};
pub use transaction::{MAX_SOLANA_TX_SIZE, SolanaTx, SolanaTxError};

/// How many blocks a Solana transaction's recent blockhash stays valid (as on Solana).
pub const MAX_BLOCKHASH_AGE: u64 = 150;

/// `SHA-256("svm:recent-blockhash:" ‖ block hash)` → that block's height, for the blocks whose
/// hashes Solana transactions may name as their recent blockhash.
pub fn recent_blockhash_key(hash: &[u8; 32]) -> nvm_primitives::StateKey {
    nvm_primitives::sha256_parts(&[b"svm:recent-blockhash:", hash])
}

/// `SHA-256("svm:signature:" ‖ signature)` → the height that processed it: a Solana
/// transaction's signature is its replay protection.
pub fn signature_key(signature: &[u8; 64]) -> nvm_primitives::StateKey {
    nvm_primitives::sha256_parts(&[b"svm:signature:", signature])
}
