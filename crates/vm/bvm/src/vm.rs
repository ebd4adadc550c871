//! The BVM's envelope operations: a lock moves native ledger value into a UTXO under a script, a
//! hold moves another token to a script's holder, a link gives a Bitcoin key's scripts to an
//! identity.

use crate::{BvmVm, ops::BvmOp};
use bitcoin::hashes::Hash;
use nvm_identity::Registry;
use nvm_ledger::{Ledger, NATIVE_MINT, amount_log, transfer_topic};
use nvm_primitives::{IdCom, VmKind};
use nvm_state_api::{AccessSet, StateAccess, StateReader, TxOverlay};
use nvm_utxo::{self as utxo, Paid, ScriptPayment, UNITS_PER_SAT};
use nvm_vm_api::{ExecOutput, TxEnv, Vm, VmError, VmResult};

/// A lock as a payment into its script: the envelope's first (and only) one.
fn payment<'a>(
    env: &TxEnv<'_>,
    amount: u128,
    script_pubkey: &'a [u8],
) -> VmResult<ScriptPayment<'a>> {
    let value_sat = nvm_utxo::whole_satoshi(amount).map_err(VmError::Invalid)?;
    Ok(ScriptPayment { origin: env.tx_hash, index: 0, value_sat, script_pubkey })
}

fn holder(state: &mut dyn StateAccess, script_pubkey: &[u8]) -> VmResult<IdCom> {
    Ok(nvm_utxo::script_holder(state, script_pubkey)?)
}

impl Vm for BvmVm {
    fn name(&self) -> &'static str {
        VmKind::Bvm.name()
    }

    fn address_format(&self) -> Option<&'static nvm_identity::AddressFormat> {
        Some(&nvm_identity::BVM_FORMAT)
    }

    fn opcodes(&self) -> std::ops::RangeInclusive<u8> {
        VmKind::Bvm.opcodes()
    }

    fn check(&self, payload: &[u8]) -> VmResult<()> {
        BvmOp::decode(payload).map(|_| ()).map_err(VmError::Invalid)
    }

    fn value_out(&self, payload: &[u8]) -> u128 {
        match BvmOp::decode(payload) {
            Ok(BvmOp::Lock { amount, .. }) => amount,
            Ok(BvmOp::Hold { .. } | BvmOp::LinkKey { .. }) | Err(_) => 0,
        }
    }

    fn declare(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &dyn StateReader,
        access: &mut AccessSet,
    ) -> VmResult<()> {
        let mut view = TxOverlay::new(state);
        match BvmOp::decode(payload).map_err(VmError::Invalid)? {
            BvmOp::Lock { script_pubkey, amount } => {
                payment(env, amount, &script_pubkey)?.declare(&mut view, access)?;
            }
            BvmOp::Hold { mint, script_pubkey, .. } => {
                crate::declare_credited(access, &script_pubkey);
                let to = holder(&mut view, &script_pubkey)?;
                Ledger::declare_transfer(access, &mint, &env.sender, &to);
                Ledger::declare_associated(&mut view, access, &mint, &to, &[])
                    .map_err(VmError::from)?;
            }
            // Rare, and its sweep touches coins that the state before the block cannot list
            // (one paid to the key earlier in the same block): it runs alone.
            BvmOp::LinkKey { .. } => access.exclusive = true,
        }
        Ok(())
    }

    /// A lock debits the sender and creates the UTXO (the output is the funding txid, internal
    /// order); a hold moves a token to the script's holder; a link points the key's scripts at
    /// the sender and sweeps what they hold into it.
    fn execute(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &mut TxOverlay<'_>,
    ) -> VmResult<ExecOutput> {
        match BvmOp::decode(payload).map_err(VmError::Invalid)? {
            BvmOp::Lock { script_pubkey, amount } => lock(env, state, script_pubkey, amount),
            BvmOp::Hold { mint, script_pubkey, amount } => {
                let to = holder(state, &script_pubkey)?;
                Ledger::transfer(state, &mint, &env.sender, &to, amount).map_err(VmError::from)?;
                let logs = vec![amount_log(&mint, transfer_topic(), &env.sender, &to, amount)];
                Ok(ExecOutput { logs, ..ExecOutput::default() })
            }
            BvmOp::LinkKey { public_key, signature, mints } => {
                crate::link::verify_link(env.block.chain_id, &env.sender, &public_key, &signature)
                    .map_err(VmError::Failed)?;
                let mut logs = Vec::new();
                for script in crate::link::key_scripts(&public_key).map_err(VmError::Invalid)? {
                    sweep_script(
                        state,
                        env.block.height,
                        &env.sender,
                        script.as_bytes(),
                        &mints,
                        &mut logs,
                    )?;
                }
                Ok(ExecOutput { logs, ..ExecOutput::default() })
            }
        }
    }
}

fn lock(
    env: &TxEnv<'_>,
    state: &mut TxOverlay<'_>,
    script_pubkey: Vec<u8>,
    amount: u128,
) -> VmResult<ExecOutput> {
    let payment = payment(env, amount, &script_pubkey)?;
    Ledger::debit(state, &NATIVE_MINT, &env.sender, amount).map_err(VmError::from)?;
    // A script an identity shows (its BVM address, a linked key's) credits its ledger balance,
    // as a Bitcoin output paying it does; any other holds a new UTXO.
    match payment.pay(state, env.block.height).map_err(VmError::from)? {
        Paid::Credited(_) => Ok(ExecOutput::default()),
        Paid::Locked(outpoint) => Ok(ExecOutput {
            output: outpoint.txid.to_byte_array().to_vec(),
            ..ExecOutput::default()
        }),
    }
}

/// Links `script_pubkey` to `id`: its legacy identity's holdings move to `id`, and so does the
/// value of each of its listed UTXOs, which are spent (in the block at `height`).
fn sweep_script(
    state: &mut TxOverlay<'_>,
    height: u64,
    id: &IdCom,
    script_pubkey: &[u8],
    mints: &[nvm_primitives::Mint],
    logs: &mut Vec<nvm_primitives::Log>,
) -> VmResult<()> {
    let legacy = Registry::link_script(state, id, script_pubkey)?;
    Ledger::move_all(state, &legacy, id, mints, logs).map_err(VmError::from)?;
    for (outpoint, coin) in utxo::of_script(state, script_pubkey)? {
        utxo::spend(state, &outpoint, height)?;
        let amount = u128::from(coin.value) * UNITS_PER_SAT;
        Ledger::credit(state, &NATIVE_MINT, id, amount).map_err(VmError::from)?;
        logs.push(amount_log(&NATIVE_MINT, transfer_topic(), &legacy, id, amount));
    }
    Ok(())
}
