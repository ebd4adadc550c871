//! A VM's part in the chain's life (SPEC §6: the node names no VM): what it adds to a dev chain's
//! genesis (funded dev accounts, programs), the fields of each block's environment it owns (the
//! EVM's EIP-1559 base fee) and the state it writes as a block closes (the Solana recent-blockhash
//! window). The node calls every registered VM's hooks when it builds a block and when it
//! verifies one, so both agree.

use crate::BlockEnv;
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::StateKey;
use nvm_state_api::{IndexWrites, StateError, StateReader, TxOverlay};
use std::{collections::HashMap, fmt::Debug, sync::Arc};

/// A piece of a chain's first state that a VM knows how to write (EVM contracts, Solana
/// programs, funded addresses); the node assembles genesis from its own accounts and these.
pub trait GenesisPart: Send + Sync + Debug {
    /// Writes the piece into `state`; returns the native value it created (base units), which
    /// joins the native token's supply.
    fn write(&self, state: &mut TxOverlay<'_>) -> Result<u128, String>;
}

/// Native balances of addresses no identity has linked (a dev mnemonic's Ethereum accounts, the
/// Solana faucet): each belongs to the address's legacy identity (SPEC §2), found at every
/// address it shows from the first block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundedAddresses(pub Vec<(VmAddress, u128)>);

impl GenesisPart for FundedAddresses {
    fn write(&self, state: &mut TxOverlay<'_>) -> Result<u128, String> {
        let mut created = 0u128;
        for (address, balance) in &self.0 {
            let id = Registry::resolve_and_index(state, address).map_err(|e| e.to_string())?;
            Ledger::credit(state, &NATIVE_MINT, &id, *balance).map_err(|e| e.to_string())?;
            created = created.checked_add(*balance).ok_or("genesis supply overflows")?;
        }
        Ok(created)
    }
}

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

/// One VM's part in the chain's life.
pub trait ChainHooks: Send + Sync {
    /// What it adds to every chain's genesis, a network's as a dev chain's: the programs its
    /// wallets expect present. Never funds anyone.
    fn genesis(&self) -> Vec<Arc<dyn GenesisPart>> {
        Vec::new()
    }

    /// What it adds to a dev chain's genesis besides (`nvm node --dev`, tests, a network made
    /// with `--dev-accounts`): the well-known accounts its ecosystem's tools expect funded.
    fn dev_genesis(&self) -> Vec<Arc<dyn GenesisPart>> {
        Vec::new()
    }

    /// The block gas limit a dev chain starts with, for a VM that meters gas.
    fn dev_block_gas_limit(&self) -> Option<u64> {
        None
    }

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

    /// Adds to `index` the changes the block at `height` (its `transactions`) made to this VM's
    /// secondary index (entries under its own key prefix, [`IndexWrites`]) — the accounts they
    /// name as the state `before` and `after` them shows them, the transactions each names.
    /// Run when a block commits (not in consensus: the index is no part of any root), and once
    /// over every committed block with an empty `before` to fill in the index of a database
    /// written before it existed. The first block's (height 0) accounts no transaction names.
    fn index_block(
        &self,
        _before: &dyn StateReader,
        _after: &dyn StateReader,
        _height: u64,
        _transactions: &[Vec<u8>],
        _index: &mut IndexWrites,
    ) -> Result<(), StateError> {
        Ok(())
    }
}
