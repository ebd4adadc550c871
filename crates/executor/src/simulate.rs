//! Running a Solana transaction without keeping anything: `simulateTransaction` and the
//! preflight check of `sendTransaction`.

use crate::{Executor, TxError};
use nvm_state_api::{StateReader, TxOverlay};
use nvm_vm_api::{BlockEnv, VmError};
use nvm_vm_svm::{AccountSharedData, SolanaTx, SvmOutcome};

/// What a simulation gave: the outcome, and the accounts asked for as they would be after it.
pub struct Simulation {
    pub outcome: SvmOutcome,
    pub accounts: Vec<Option<AccountSharedData>>,
}

impl Executor {
    /// Runs `tx` over `state` as the block `env` would and discards its writes. With `check`, the
    /// block's admission checks come first (recent blockhash, unprocessed signature, fee payer's
    /// balance) and fail as they would there.
    pub fn simulate_solana(
        &self,
        state: &dyn StateReader,
        env: &BlockEnv,
        tx: &SolanaTx,
        check: bool,
        inspect: &[[u8; 32]],
    ) -> Result<Simulation, TxError> {
        let svm = self.svm.as_ref().ok_or(TxError::VmUnavailable(nvm_primitives::VmKind::Svm))?;
        let mut overlay = TxOverlay::new(state);
        if check {
            self.check_solana_in(&mut overlay, tx, env)?;
        }
        let outcome = match svm.execute(&mut overlay, env, tx.sanitized()) {
            Ok(outcome) => outcome,
            Err(VmError::State(e)) => return Err(TxError::State(e)),
            Err(e) => return Err(TxError::InvalidPayload(e.to_string())),
        };
        let accounts = inspect
            .iter()
            .map(|address| {
                nvm_vm_svm::accounts::load(
                    &mut overlay,
                    &nvm_vm_svm::Pubkey::new_from_array(*address),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Simulation { outcome, accounts })
    }
}
