//! Durable storage: state, the authenticated state root, blocks and receipts.

mod cache;
mod merkle;
mod store;

pub use store::{
    ChainHead, PreparedState, Snapshot, StateProof, Store, StoreError, TxLocation,
    verify_state_proof,
};
