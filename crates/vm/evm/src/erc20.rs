//! The ERC-20 view of the ledger (SPEC §3): every mint answers at its own EVM address.

use alloy_primitives::Address;
use nvm_primitives::{Mint, sha256_parts};

/// Where a ledger token answers as an ERC-20: `SHA-256("erc20-addr:" ‖ mint)[12..32]`.
pub fn erc20_address(mint: &Mint) -> Address {
    Address::from_slice(&sha256_parts(&[b"erc20-addr:", mint])[12..])
}
