//! Where the chain stands, as the node hands it to consensus and the RPC — the project's own
//! types, whatever engine stores them.

use crate::BlockHeader;
use borsh::{BorshDeserialize, BorshSerialize};

/// Where the chain stands: the committed head.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainHead {
    pub height: u64,
    pub hash: [u8; 32],
    pub state_root: [u8; 32],
    pub timestamp_ms: u64,
    pub gas_used: u64,
    pub base_fee_per_gas: u64,
}

impl ChainHead {
    /// The head a header makes.
    pub fn of(header: &BlockHeader) -> Self {
        Self {
            height: header.height,
            hash: header.hash(),
            state_root: header.state_root,
            timestamp_ms: header.timestamp_ms,
            gas_used: header.gas_used,
            base_fee_per_gas: header.base_fee_per_gas,
        }
    }
}

/// Where an included transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    pub height: u64,
    pub index: u32,
}

/// A state value at a block, with the Merkle proof that the block's state root commits to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateProof {
    pub height: u64,
    pub state_root: [u8; 32],
    /// `None` proves the key is absent.
    pub value: Option<Vec<u8>>,
    /// The proof's bytes (borsh of the state tree's `jmt::proof::SparseMerkleProof<Sha256>`).
    pub proof: Vec<u8>,
}
