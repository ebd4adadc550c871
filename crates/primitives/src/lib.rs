//! Core n-VM types shared by every crate: hashing, the VM routing table, the transaction envelope,
//! blocks and receipts.

pub mod block;
pub mod chain;
pub mod hash;
pub mod tx;
pub mod vm;

pub use alloy_primitives::{Address, B256};
pub use block::{Block, BlockHeader, Log, Receipt, TxStatus, list_commitment, tx_root};
pub use chain::{ChainHead, StateProof, TxLocation};
pub use hash::{IdCom, Mint, StateKey, sha256, sha256_parts};
pub use tx::{
    Credential, DecodeError, ENVELOPE_VERSION, MAX_TX_SIZE, SchemeId, Transaction, TxBody, TxHash,
};
pub use vm::{VmKind, route_opcode};
