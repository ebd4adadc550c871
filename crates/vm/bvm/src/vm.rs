//! The BVM's envelope operations: a lock moves native ledger value into a UTXO under a script.

use crate::{
    BvmVm,
    ops::BvmOp,
    utxo::{self, UNITS_PER_SAT, Utxo},
};
use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness, absolute::LockTime,
    consensus::encode::serialize, hashes::Hash, script::PushBytesBuf, transaction::Version,
};
use nvm_ledger::{Ledger, LedgerError, NATIVE_MINT};
use nvm_primitives::{TxHash, VmKind};
use nvm_state_api::{AccessSet, StateReader, TxOverlay};
use nvm_vm_api::{ExecOutput, TxEnv, Vm, VmError, VmResult};

/// The synthetic transaction whose output a lock's UTXO is: one coinbase-style input whose
/// scriptSig pushes the envelope's hash (so every lock has its own txid) and one output.
pub fn funding_transaction(envelope: &TxHash, value_sat: u64, script_pubkey: &[u8]) -> Transaction {
    let mut script_sig = ScriptBuf::new();
    if let Ok(push) = PushBytesBuf::try_from(envelope.to_vec()) {
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

/// The lock's funding transaction and the outpoint of its UTXO.
fn funding(env: &TxEnv<'_>, op: &BvmOp) -> VmResult<(Transaction, OutPoint)> {
    let BvmOp::Lock { script_pubkey, amount } = op;
    let sats = u64::try_from(amount / UNITS_PER_SAT)
        .map_err(|_| VmError::Invalid(format!("{amount} is more than any supply")))?;
    let tx = funding_transaction(&env.tx_hash, sats, script_pubkey);
    let outpoint = OutPoint { txid: tx.compute_txid(), vout: 0 };
    Ok((tx, outpoint))
}

impl Vm for BvmVm {
    fn kind(&self) -> VmKind {
        VmKind::Bvm
    }

    fn check(&self, payload: &[u8]) -> VmResult<()> {
        BvmOp::decode(payload).map(|_| ()).map_err(VmError::Invalid)
    }

    fn value_out(&self, payload: &[u8]) -> u128 {
        match BvmOp::decode(payload) {
            Ok(BvmOp::Lock { amount, .. }) => amount,
            Err(_) => 0,
        }
    }

    fn declare(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &dyn StateReader,
        access: &mut AccessSet,
    ) -> VmResult<()> {
        let op = BvmOp::decode(payload).map_err(VmError::Invalid)?;
        let (tx, outpoint) = funding(env, &op)?;
        let BvmOp::Lock { script_pubkey, .. } = &op;
        let script = bitcoin::Script::from_bytes(script_pubkey);
        if let Ok(program) = <[u8; 32]>::try_from(script.as_bytes().get(2..).unwrap_or_default()) {
            access.read(nvm_identity::index_key(&nvm_identity::VmAddress::Bvm(program)));
        }
        if let Some(id) = crate::credited_identity(&mut TxOverlay::new(state), script)? {
            access.write(nvm_ledger::balance_key(&NATIVE_MINT, &id));
        }
        access
            .write(utxo::utxo_key(&outpoint))
            .write(utxo::script_key(script_pubkey))
            .write(utxo::funding_key(&tx.compute_txid().to_byte_array()));
        Ok(())
    }

    /// Debits the sender and creates the UTXO; the output is the funding txid (internal order).
    fn execute(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &mut TxOverlay<'_>,
    ) -> VmResult<ExecOutput> {
        let op = BvmOp::decode(payload).map_err(VmError::Invalid)?;
        let (tx, outpoint) = funding(env, &op)?;
        let BvmOp::Lock { script_pubkey, amount } = op;
        let ledger = |e: LedgerError| match e {
            LedgerError::State(s) => VmError::State(s),
            other => VmError::Failed(other.to_string()),
        };
        Ledger::debit(state, &NATIVE_MINT, &env.sender, amount).map_err(ledger)?;
        let script = bitcoin::Script::from_bytes(&script_pubkey);
        if let Some(id) = crate::credited_identity(state, script)? {
            // An identity's BVM address: its ledger balance, as a Bitcoin output paying it is.
            Ledger::credit(state, &NATIVE_MINT, &id, amount).map_err(ledger)?;
            return Ok(ExecOutput::default());
        }
        let created = Utxo {
            value: tx.output[0].value.to_sat(),
            script_pubkey,
            height: env.block.height,
            time_ms: env.block.timestamp_ms,
        };
        utxo::create(state, &outpoint, &created)?;
        let txid = outpoint.txid.to_byte_array();
        nvm_state_api::StateAccess::set(state, utxo::funding_key(&txid), serialize(&tx));
        Ok(ExecOutput { output: txid.to_vec(), ..ExecOutput::default() })
    }
}
