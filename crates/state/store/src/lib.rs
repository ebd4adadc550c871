//! Durable storage: state, the authenticated state root, blocks and receipts.

mod cache;
mod merkle;
mod store;

pub use store::{ChainHead, PreparedState, Snapshot, Store, StoreError, TxLocation};
