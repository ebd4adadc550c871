//! The SVM as a VM of native envelopes (opcodes 0x20–0x2F): [`SvmOp::Invoke`].

use crate::{SvmVm, UNITS_PER_LAMPORT, accounts, ops::SvmOp};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::VmKind;
use nvm_state_api::TxOverlay;
use nvm_vm_api::{ExecOutput, TxEnv, Vm, VmError, VmResult};

impl Vm for SvmVm {
    fn name(&self) -> &'static str {
        VmKind::Svm.name()
    }

    fn address_format(&self) -> Option<&'static nvm_identity::AddressFormat> {
        Some(&nvm_identity::SVM_FORMAT)
    }

    fn opcodes(&self) -> std::ops::RangeInclusive<u8> {
        VmKind::Svm.opcodes()
    }

    fn check(&self, payload: &[u8]) -> VmResult<()> {
        SvmOp::decode(payload).map(|_| ()).map_err(VmError::Invalid)
    }

    // `declare`: the default, exclusive — programs may touch any account, so an invocation
    // runs alone.

    /// Every signer must resolve to the sender; then Agave runs the message, the fee payer's
    /// Solana fee goes to the proposer, and a failed message undoes everything but the envelope's
    /// fee (out of compute units: halted, with the units it used as its gas).
    fn execute(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &mut TxOverlay<'_>,
    ) -> VmResult<ExecOutput> {
        let (_, tx) = SvmOp::decode(payload).map_err(VmError::Invalid)?;
        let message = tx.message();
        let signers = usize::from(message.header().num_required_signatures);
        for key in message.account_keys().iter().take(signers) {
            if accounts::identity_of(state, key)? != env.sender {
                return Err(VmError::Failed(format!(
                    "{key} signs the message but is not one of the sender's Solana addresses"
                )));
            }
        }
        let runtime = self.runtime().map_err(|e| VmError::Failed(e.to_string()))?;
        let outcome = runtime.execute(state, env.block, &tx)?;
        if let Err(reason) = outcome.status {
            return Err(if outcome.halted {
                VmError::Halted { reason, gas_used: outcome.meta.compute_units }
            } else {
                VmError::Failed(reason)
            });
        }
        let fee = u128::from(outcome.fee_lamports) * UNITS_PER_LAMPORT;
        Ledger::credit(state, &NATIVE_MINT, &env.block.proposer, fee)?;
        Ok(ExecOutput { logs: outcome.ledger_logs, ..ExecOutput::default() })
    }
}
