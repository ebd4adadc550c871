//! UTXOs in the unified state (SPEC §3): native-token value locked under a Bitcoin script, under
//! the state root like every balance. 1 satoshi is 10¹⁰ of the native token's base units. Every
//! VM pays into scripts through here; spending (verifying scripts) is the BVM's.

mod funding;
mod time;

pub use funding::{
    Paid, ScriptPayment, credited_identity, declare_credited, funding_transaction, script_holder,
    whole_satoshi,
};
pub use time::{
    MEDIAN_TIME_BLOCKS, decode_times, median, median_time_past, recent_times, recent_times_key,
    times_after_block,
};

use bitcoin::{OutPoint, hashes::Hash};
use borsh::{BorshDeserialize, BorshSerialize};
use nvm_primitives::{StateKey, sha256, sha256_parts};
use nvm_state_api::{StateAccess, StateAccessExt, StateError};

/// Native base units (18 decimals) per satoshi (8).
pub const UNITS_PER_SAT: u128 = 10_000_000_000;

/// Longest output script a payment takes (Bitcoin's script size limit).
pub const MAX_SCRIPT_LEN: usize = 10_000;

/// An output script of 1 to [`MAX_SCRIPT_LEN`] bytes, or why not.
pub fn check_script(script_pubkey: &[u8]) -> Result<(), String> {
    if script_pubkey.is_empty() || script_pubkey.len() > MAX_SCRIPT_LEN {
        return Err(format!(
            "an output script has 1 to {MAX_SCRIPT_LEN} bytes, not {}",
            script_pubkey.len()
        ));
    }
    Ok(())
}

/// Most outpoints the per-script list keeps for `nvm_getUtxos` (the UTXOs themselves are not
/// bounded: past it, a script's further UTXOs are spendable but not listed).
pub const MAX_LISTED_PER_SCRIPT: usize = 4_096;

/// `SHA-256("bvm:utxo:" ‖ txid ‖ u32_le(vout))` → the output: unspent (a [`Utxo`]), or the height
/// of the block that spent it — kept in the same entry, so spending updates one key (no more
/// work for the state root than deleting it) and a later spend is refused by name
/// (`already spent in block 812`).
pub fn utxo_key(outpoint: &OutPoint) -> StateKey {
    sha256_parts(&[b"bvm:utxo:", outpoint.txid.as_byte_array(), &outpoint.vout.to_le_bytes()])
}

/// `SHA-256("bvm:script:" ‖ SHA-256(scriptPubKey))` → the outpoints paying that script.
pub fn script_key(script_pubkey: &[u8]) -> StateKey {
    sha256_parts(&[b"bvm:script:", &sha256(script_pubkey)])
}

/// `SHA-256("bvm:tx:" ‖ txid)` → the height of the block that included the Bitcoin transaction:
/// written when it runs, so it never runs twice (its replay key) and can be found by txid.
pub fn tx_key(txid: &[u8; 32]) -> StateKey {
    sha256_parts(&[b"bvm:tx:", txid])
}

/// An output's entry under [`utxo_key`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
enum Coin {
    Unspent(Utxo),
    Spent { height: u64 },
}

fn coin(state: &mut dyn StateAccess, outpoint: &OutPoint) -> Result<Option<Coin>, StateError> {
    state.get_decoded(&utxo_key(outpoint))
}

/// The block that spent the output at `outpoint`, if one did.
pub fn spent_in(
    state: &mut dyn StateAccess,
    outpoint: &OutPoint,
) -> Result<Option<u64>, StateError> {
    Ok(match coin(state, outpoint)? {
        Some(Coin::Spent { height }) => Some(height),
        _ => None,
    })
}

/// `SHA-256("bvm:funding:" ‖ txid)` → the consensus bytes of a synthetic funding transaction (a
/// lock's), for `nvm_getBitcoinTransaction`: it is in no block.
pub fn funding_key(txid: &[u8; 32]) -> StateKey {
    sha256_parts(&[b"bvm:funding:", txid])
}

/// An unspent output.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Utxo {
    /// In satoshi.
    pub value: u64,
    pub script_pubkey: Vec<u8>,
    /// The block that created it (BIP68 height locks count from here).
    pub height: u64,
    /// The median time past ([`median_time_past`]) when it was created, in milliseconds: BIP68
    /// time locks count from here, as Core counts from its block's predecessor's median.
    pub time_ms: u64,
}

/// An outpoint as the per-script list stores it.
type Listed = ([u8; 32], u32);

fn listed(outpoint: &OutPoint) -> Listed {
    (outpoint.txid.to_byte_array(), outpoint.vout)
}

/// The output at `outpoint` if it is unspent.
pub fn get(state: &mut dyn StateAccess, outpoint: &OutPoint) -> Result<Option<Utxo>, StateError> {
    Ok(match coin(state, outpoint)? {
        Some(Coin::Unspent(utxo)) => Some(utxo),
        _ => None,
    })
}

/// Creates the output at `outpoint` and lists it under its script.
pub fn create(
    state: &mut dyn StateAccess,
    outpoint: &OutPoint,
    utxo: &Utxo,
) -> Result<(), StateError> {
    state.set_encoded(utxo_key(outpoint), &Coin::Unspent(utxo.clone()));
    let key = script_key(&utxo.script_pubkey);
    let mut list: Vec<Listed> = state.get_decoded(&key)?.unwrap_or_default();
    if list.len() < MAX_LISTED_PER_SCRIPT {
        list.push(listed(outpoint));
        state.set_encoded(key, &list);
    }
    Ok(())
}

/// Marks the output at `outpoint` spent in the block at `height`, returning it; `None` if it is
/// not unspent.
pub fn spend(
    state: &mut dyn StateAccess,
    outpoint: &OutPoint,
    height: u64,
) -> Result<Option<Utxo>, StateError> {
    let Some(utxo) = get(state, outpoint)? else { return Ok(None) };
    state.set_encoded(utxo_key(outpoint), &Coin::Spent { height });
    let key = script_key(&utxo.script_pubkey);
    let mut list: Vec<Listed> = state.get_decoded(&key)?.unwrap_or_default();
    list.retain(|l| *l != listed(outpoint));
    if list.is_empty() {
        state.delete(key);
    } else {
        state.set_encoded(key, &list);
    }
    Ok(Some(utxo))
}

/// The unspent outputs paying `script_pubkey` (up to [`MAX_LISTED_PER_SCRIPT`]).
pub fn of_script(
    state: &mut dyn StateAccess,
    script_pubkey: &[u8],
) -> Result<Vec<(OutPoint, Utxo)>, StateError> {
    let list: Vec<Listed> = state.get_decoded(&script_key(script_pubkey))?.unwrap_or_default();
    let mut out = Vec::with_capacity(list.len());
    for (txid, vout) in list {
        let outpoint = OutPoint { txid: bitcoin::Txid::from_byte_array(txid), vout };
        if let Some(utxo) = get(state, &outpoint)? {
            out.push((outpoint, utxo));
        }
    }
    Ok(out)
}
