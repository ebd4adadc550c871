//! TRC-10: every ledger token other than the native one is a Tron asset too, its id
//! `1_000_000 + n` for the `n`th token the ledger created (java-tron numbers its assets from
//! 1000001 up the same way). The id names the same mint the ERC-20, SPL and TRC-20 views move.

use nvm_ledger::{Ledger, LedgerResult};
use nvm_primitives::Mint;
use nvm_state_api::StateAccess;

/// What the first token's id is offset by.
const ASSET_ID_BASE: u64 = 1_000_000;
/// The first TRC-10 id (java-tron's first asset's).
pub const FIRST_ASSET_ID: u64 = ASSET_ID_BASE + 1;

/// The TRC-10 id of `mint`, if it is a ledger token other than the native one.
pub fn asset_id(state: &mut dyn StateAccess, mint: &Mint) -> LedgerResult<Option<u64>> {
    Ok(Ledger::token_number(state, mint)?.and_then(|n| n.checked_add(ASSET_ID_BASE)))
}

/// The mint whose TRC-10 id is `id`, if any.
pub fn asset_mint(state: &mut dyn StateAccess, id: u64) -> LedgerResult<Option<Mint>> {
    match id.checked_sub(ASSET_ID_BASE) {
        Some(number) if number > 0 => Ledger::token_by_number(state, number),
        _ => Ok(None),
    }
}

/// The id a `TransferAssetContract`'s `asset_name` names: its decimal digits, as java-tron
/// writes them once tokens are named by id (no sign, no leading zero), from [`FIRST_ASSET_ID`].
pub fn parse_asset_id(name: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(name).ok()?;
    if text.is_empty() || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|id| *id >= FIRST_ASSET_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_are_canonical_ids() {
        assert_eq!(parse_asset_id(b"1000001"), Some(1_000_001));
        for bad in [&b""[..], b"1000000", b"01000001", b"+1000001", b"1000001 ", b"TRX", b"\xff"] {
            assert_eq!(parse_asset_id(bad), None, "{bad:?}");
        }
        assert_eq!(parse_asset_id(b"99999999999999999999"), None, "past u64");
    }
}
