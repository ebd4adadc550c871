//! The BVM's part in each block: the block's timestamp joins the last 11 that Bitcoin's median
//! time past is taken over (what time locks compare against, BIP113).

use crate::BvmVm;
use nvm_state_api::{StateError, StateReader, TxOverlay};
use nvm_vm_api::{BlockEnv, BlockWrites, ChainHooks, ParentBlock};

impl ChainHooks for BvmVm {
    fn end_block(
        &self,
        state: &dyn StateReader,
        _parent: &ParentBlock,
        env: &BlockEnv,
        writes: &mut BlockWrites,
    ) -> Result<(), StateError> {
        let times = nvm_utxo::recent_times(&mut TxOverlay::new(state))?;
        let recorded = nvm_utxo::times_after_block(times, env.timestamp_ms / 1000);
        writes.insert(nvm_utxo::recent_times_key(), Some(recorded));
        Ok(())
    }
}
