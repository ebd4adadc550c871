//! What a VM does at block boundaries (SPEC §6: the node names no VM): the fields of each block's
//! environment it owns (the EVM's EIP-1559 base fee) and the state it writes as a block closes
//! (the Solana recent-blockhash window). The node calls every registered VM's hooks when it builds
//! a block and when it verifies one, so both agree.

use crate::BlockEnv;
use nvm_primitives::StateKey;
use nvm_state_api::{StateError, StateReader};
use std::collections::HashMap;

/// The block a new one extends, as its header has it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParentBlock {
    pub height: u64,
    pub hash: [u8; 32],
    pub gas_used: u64,
    pub base_fee_per_gas: u64,
}

/// Writes a block's closing hooks add to its transactions' (`None` deletes).
pub type BlockWrites = HashMap<StateKey, Option<Vec<u8>>>;

/// One VM's block-level rules.
pub trait BlockHooks: Send + Sync {
    /// Sets the fields of the first block's header this VM owns (the EVM's initial base fee).
    fn genesis_env(&self, _env: &mut BlockEnv) {}

    /// Sets the fields of the environment of the block after `parent` that this VM owns (the
    /// EVM's base fee, from the parent's gas use). `env` comes with the others set.
    fn next_env(&self, _parent: &ParentBlock, _env: &mut BlockEnv) {}

    /// Adds what closing the block `env` (after `parent`) writes besides its transactions, read
    /// from `state`, the state before the block.
    fn end_block(
        &self,
        _state: &dyn StateReader,
        _parent: &ParentBlock,
        _env: &BlockEnv,
        _writes: &mut BlockWrites,
    ) -> Result<(), StateError> {
        Ok(())
    }
}
