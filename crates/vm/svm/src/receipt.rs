//! What a Solana transaction's receipt records beyond the common fields — its `vm_data` — as
//! Solana's `getTransaction` reports it in `meta`. Only this crate and the Solana RPC read it.

use borsh::{BorshDeserialize, BorshSerialize};

/// Compute units, the balances of a Solana transaction's accounts before and after it (in its
/// account-key order) and its programs' log lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SvmMeta {
    pub compute_units: u64,
    pub pre_balances: Vec<u64>,
    pub post_balances: Vec<u64>,
    pub pre_token_balances: Vec<TokenBalance>,
    pub post_token_balances: Vec<TokenBalance>,
    /// `Program log: …` and the runtime's lines.
    pub log_messages: Vec<String>,
}

/// An SPL token account's balance as a Solana transaction saw it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TokenBalance {
    pub account_index: u8,
    pub mint: [u8; 32],
    pub owner: [u8; 32],
    pub program_id: [u8; 32],
    pub amount: u64,
    pub decimals: u8,
}

impl SvmMeta {
    /// The bytes a receipt's `vm_data` holds.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }

    /// The meta of a receipt's `vm_data`; none recorded (a Solana instruction sent in a native
    /// envelope) reads as empty.
    pub fn decode(vm_data: &[u8]) -> Result<Self, borsh::io::Error> {
        if vm_data.is_empty() {
            return Ok(Self::default());
        }
        borsh::from_slice(vm_data)
    }
}
