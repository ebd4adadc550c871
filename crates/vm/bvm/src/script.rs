//! Script verification by Bitcoin Core's interpreter (`libbitcoinconsensus` 26). Every input is
//! checked with all the spent outputs — without them the library skips taproot's rules, and a
//! P2TR output would be spendable by anyone — and with every consensus rule on.

use bitcoin::{Transaction, TxOut, consensus::encode::serialize};

/// Every rule libbitcoinconsensus enforces: P2SH, strict DER, NULLDUMMY, CHECKLOCKTIMEVERIFY,
/// CHECKSEQUENCEVERIFY, segwit and taproot (Bitcoin's consensus rules since block 709,632).
pub const CONSENSUS_FLAGS: u32 =
    bitcoinconsensus::VERIFY_ALL_PRE_TAPROOT | bitcoinconsensus::VERIFY_TAPROOT;

/// Why an input does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The scripts ran and failed. (libbitcoinconsensus reports no finer reason than this.)
    #[error("input {input}: script verification failed (Bitcoin Core's interpreter)")]
    Failed { input: usize },
    /// The interpreter refused the call itself (a transaction it cannot deserialize, spent
    /// outputs that do not match its inputs, …).
    #[error("input {input}: {reason}")]
    Refused { input: usize, reason: String },
    #[error("the transaction spends {inputs} inputs but {spent} spent outputs were given")]
    SpentOutputsMismatch { inputs: usize, spent: usize },
}

/// Verifies input `input` of `tx` (its consensus serialization in `tx_bytes`) against `spent`,
/// the outputs every input spends, in input order, under `flags`.
pub fn verify_input(
    tx_bytes: &[u8],
    input: usize,
    spent: &[TxOut],
    flags: u32,
) -> Result<(), ScriptError> {
    let prevout = spent
        .get(input)
        .ok_or(ScriptError::SpentOutputsMismatch { inputs: input + 1, spent: spent.len() })?;
    // The library reads the scripts through these pointers; `spent` outlives the call.
    let utxos: Vec<bitcoinconsensus::Utxo> = spent
        .iter()
        .map(|out| bitcoinconsensus::Utxo {
            script_pubkey: out.script_pubkey.as_bytes().as_ptr(),
            script_pubkey_len: u32::try_from(out.script_pubkey.len()).unwrap_or(u32::MAX),
            value: i64::try_from(out.value.to_sat()).unwrap_or(i64::MAX),
        })
        .collect();
    let spent_outputs = (flags & bitcoinconsensus::VERIFY_TAPROOT != 0).then_some(utxos.as_slice());
    bitcoinconsensus::verify_with_flags(
        prevout.script_pubkey.as_bytes(),
        prevout.value.to_sat(),
        tx_bytes,
        spent_outputs,
        input,
        flags,
    )
    .map_err(|e| match e {
        bitcoinconsensus::Error::ERR_SCRIPT => ScriptError::Failed { input },
        other => ScriptError::Refused { input, reason: other.to_string() },
    })
}

/// Verifies every input of `tx` against the outputs it spends (in input order) under the
/// consensus rules; the first failing input is the error.
pub fn verify_inputs(tx: &Transaction, spent: &[TxOut]) -> Result<(), ScriptError> {
    if spent.len() != tx.input.len() {
        return Err(ScriptError::SpentOutputsMismatch {
            inputs: tx.input.len(),
            spent: spent.len(),
        });
    }
    let bytes = serialize(tx);
    (0..tx.input.len()).try_for_each(|input| verify_input(&bytes, input, spent, CONSENSUS_FLAGS))
}
