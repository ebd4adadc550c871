//! Durable storage: state, the authenticated state root, blocks and receipts.

mod cache;
mod merkle;
mod store;

/// How many blocks' state a store keeps ([`Store::with_history`]).
pub use nvm_state_api::HistoryWindow;
pub use store::{
    ChainHead, PreparedState, Snapshot, StateProof, Store, StoreError, TxLocation,
    verify_state_proof,
};
