//! Paying native value into a script from any VM: the value becomes the output of a synthetic
//! funding transaction (so wallets can reference a real txid), or, when the script is one an
//! identity shows, that identity's ledger balance.

use crate::{UNITS_PER_SAT, Utxo, funding_key, script_key, utxo_key};
use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness, absolute::LockTime,
    consensus::encode::serialize, hashes::Hash, script::PushBytesBuf, transaction::Version,
};
use nvm_identity::{Registry, VmAddress, index_key, script_index_key};
use nvm_ledger::{Ledger, LedgerError, NATIVE_MINT};
use nvm_primitives::{IdCom, TxHash};
use nvm_state_api::{AccessSet, StateAccess, StateAccessExt, StateError};

/// The synthetic transaction whose output the `index`-th payment into a script made by the
/// transaction `origin` is: one coinbase-style input whose scriptSig pushes `origin` (and, past
/// the first payment, the index: every payment has its own txid) and one output.
pub fn funding_transaction(
    origin: &TxHash,
    index: u32,
    value_sat: u64,
    script_pubkey: &[u8],
) -> Transaction {
    let mut pushed = origin.to_vec();
    if index > 0 {
        pushed.extend_from_slice(&index.to_le_bytes());
    }
    let mut script_sig = ScriptBuf::new();
    if let Ok(push) = PushBytesBuf::try_from(pushed) {
        script_sig.push_slice(push);
    }
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig,
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(value_sat),
            script_pubkey: ScriptBuf::from_bytes(script_pubkey.to_vec()),
        }],
    }
}

/// The satoshi in `amount` base units, if it is a positive whole number of them that a Bitcoin
/// output can hold; else why not.
pub fn whole_satoshi(amount: u128) -> Result<u64, String> {
    if amount == 0 || !amount.is_multiple_of(UNITS_PER_SAT) {
        return Err(format!(
            "{amount} is not a whole number of satoshi (1 satoshi = {UNITS_PER_SAT} base units)"
        ));
    }
    u64::try_from(amount / UNITS_PER_SAT)
        .ok()
        .filter(|sats| *sats <= Amount::MAX_MONEY.to_sat())
        .ok_or_else(|| format!("{amount} is more than 21 million BTC"))
}

/// The identity an output's value credits instead of becoming a UTXO: the owner of the BVM
/// address a witness-v1 program `OP_1 <32 bytes>` names, if an identity shows it, or the
/// identity that linked the script (a linked Bitcoin key's).
pub fn credited_identity(
    state: &mut dyn StateAccess,
    bytes: &[u8],
) -> Result<Option<IdCom>, StateError> {
    if let Some(program) = bvm_program(bytes)
        && let Some(id) = state.get_decoded(&index_key(&VmAddress::Bvm(program)))?
    {
        return Ok(Some(id));
    }
    Registry::script_owner(state, bytes)
}

/// Who a script's tokens other than the native one belong to: the identity it credits, else its
/// legacy identity (SPEC §2), where they wait for a key of the script to link.
pub fn script_holder(
    state: &mut dyn StateAccess,
    script_pubkey: &[u8],
) -> Result<IdCom, StateError> {
    Ok(credited_identity(state, script_pubkey)?
        .unwrap_or_else(|| nvm_identity::legacy_btc_id(script_pubkey)))
}

/// The 32 bytes of a witness-v1 program `OP_1 PUSH32 <program>`.
fn bvm_program(script_pubkey: &[u8]) -> Option<[u8; 32]> {
    match script_pubkey {
        [0x51, 0x20, program @ ..] => program.try_into().ok(),
        _ => None,
    }
}

/// Declares the reads [`credited_identity`] makes.
pub fn declare_credited(access: &mut AccessSet, script_pubkey: &[u8]) {
    if let Some(program) = bvm_program(script_pubkey) {
        access.read(index_key(&VmAddress::Bvm(program)));
    }
    access.read(script_index_key(script_pubkey));
}

/// One payment of native value into a script.
#[derive(Clone, Copy, Debug)]
pub struct ScriptPayment<'a> {
    /// The transaction paying, and which of its payments into scripts this is.
    pub origin: TxHash,
    pub index: u32,
    pub value_sat: u64,
    pub script_pubkey: &'a [u8],
}

/// Where a [`ScriptPayment`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paid {
    /// The script is one an identity shows: its ledger balance.
    Credited(IdCom),
    /// A new UTXO, the output of the funding transaction with this txid (internal byte order).
    Locked(OutPoint),
}

impl Paid {
    /// The new UTXO's txid as wallets show it (display byte order), if the payment made one.
    pub fn shown_txid(&self) -> Option<[u8; 32]> {
        match self {
            Self::Locked(outpoint) => Some(shown(outpoint.txid.to_byte_array())),
            Self::Credited(_) => None,
        }
    }
}

/// A txid in internal byte order as wallets show it (reversed).
fn shown(mut txid: [u8; 32]) -> [u8; 32] {
    txid.reverse();
    txid
}

impl ScriptPayment<'_> {
    pub fn funding(&self) -> Transaction {
        funding_transaction(&self.origin, self.index, self.value_sat, self.script_pubkey)
    }

    /// The funding transaction's txid in internal byte order (wallets show it reversed).
    pub fn txid(&self) -> [u8; 32] {
        self.funding().compute_txid().to_byte_array()
    }

    /// [`Self::txid`] as wallets show it (display byte order).
    pub fn shown_txid(&self) -> [u8; 32] {
        shown(self.txid())
    }

    /// Declares what [`Self::pay`] reads and writes, resolving the script against `view`.
    pub fn declare(
        &self,
        view: &mut dyn StateAccess,
        access: &mut AccessSet,
    ) -> Result<(), StateError> {
        declare_credited(access, self.script_pubkey);
        access.read(crate::recent_times_key());
        match credited_identity(view, self.script_pubkey)? {
            Some(id) => {
                access.write(nvm_ledger::balance_key(&NATIVE_MINT, &id));
            }
            None => {
                let txid = self.funding().compute_txid();
                access
                    .write(utxo_key(&OutPoint { txid, vout: 0 }))
                    .write(script_key(self.script_pubkey))
                    .write(funding_key(&txid.to_byte_array()));
            }
        }
        Ok(())
    }

    /// Puts the value (taken from its payer already) under the script in the block at `height`:
    /// a new UTXO with its funding transaction kept for `nvm_getBitcoinTransaction`, or the
    /// credited identity's balance.
    pub fn pay(&self, state: &mut dyn StateAccess, height: u64) -> Result<Paid, LedgerError> {
        if let Some(id) = credited_identity(state, self.script_pubkey)? {
            let amount = u128::from(self.value_sat) * UNITS_PER_SAT;
            Ledger::credit(state, &NATIVE_MINT, &id, amount)?;
            return Ok(Paid::Credited(id));
        }
        let tx = self.funding();
        let outpoint = OutPoint { txid: tx.compute_txid(), vout: 0 };
        let created = Utxo {
            value: self.value_sat,
            script_pubkey: self.script_pubkey.to_vec(),
            height,
            time_ms: crate::median_time_past(state)?.saturating_mul(1000),
        };
        crate::create(state, &outpoint, &created)?;
        state.set(funding_key(&outpoint.txid.to_byte_array()), serialize(&tx));
        Ok(Paid::Locked(outpoint))
    }
}
