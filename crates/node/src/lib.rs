//! The n-VM node: genesis, mempool, chain application and dev block production.

mod chain;
mod dev;
mod genesis;
mod mempool;

pub use chain::{BlockTimings, Chain, ChainError, ProposedBlock};
pub use dev::DevSequencer;
pub use genesis::{DEV_CHAIN_ID, DEV_TX_FEE, Genesis, GenesisAccount, dev_key};
pub use mempool::{AdmissionError, Mempool};
