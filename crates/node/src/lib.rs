//! The n-VM node: genesis, mempool, chain application and dev block production.

mod chain;
mod dev;
mod genesis;
mod mempool;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use chain::{BlockTimings, Chain, ChainError, ProposedBlock, TipState};
pub use dev::{BlockPipeline, DevSequencer, StepReport};
pub use genesis::{
    DEV_CHAIN_ID, DEV_MNEMONIC, DEV_MNEMONIC_ACCOUNTS, DEV_TX_FEE, Genesis, GenesisAccount,
    GenesisContract, dev_key, mnemonic_addresses,
};
pub use mempool::{AdmissionError, Announcer, Mempool};
