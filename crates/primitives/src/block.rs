//! Blocks and receipts as stored and served.

use crate::{IdCom, hash::sha256, tx::TxHash};
use borsh::{BorshDeserialize, BorshSerialize};

/// Header of a committed block; its hash is `SHA-256(borsh(header))`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    pub chain_id: u64,
    pub height: u64,
    pub parent_hash: [u8; 32],
    pub timestamp_ms: u64,
    /// The identity credited with the block's fees.
    pub proposer: IdCom,
    /// [`tx_root`] of the block's transactions: it commits to their exact bytes, signatures
    /// included, so a block's digest (this header's hash) pins every byte a peer may serve.
    pub tx_root: [u8; 32],
    /// `SHA-256` of the concatenated encoded receipts, in block order.
    pub receipts_root: [u8; 32],
    /// Root of the authenticated state after executing this block.
    pub state_root: [u8; 32],
    /// Gas the block's EVM transactions used (what the next block's base fee follows).
    pub gas_used: u64,
    /// EIP-1559 base fee per gas of this block, in wei.
    pub base_fee_per_gas: u64,
}

impl BlockHeader {
    pub fn hash(&self) -> [u8; 32] {
        sha256(&self.encode())
    }

    /// Its borsh encoding (fixed size): the bytes its hash is taken over.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }

    /// Decodes exactly one header (a client checking what a node served).
    pub fn decode(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        borsh::from_slice(bytes).map_err(|e| crate::DecodeError::Malformed(e.to_string()))
    }
}

/// A block: its header and the raw transactions it includes, in execution order: native
/// envelopes, and registered wallet formats' transactions behind their tag (`tag ‖ the
/// wallet's bytes`; the tags are the formats', `nvm_vm_api::WalletFormat::tag`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub transactions: Vec<Vec<u8>>,
}

impl Block {
    /// Whether the transactions are the ones the header commits to (the bytes a block received
    /// from a peer must have before anything else is done with it).
    pub fn transactions_match_header(&self) -> bool {
        tx_root(self.transactions.iter().map(Vec::as_slice)) == self.header.tx_root
    }
}

/// How an included transaction ended. Invalid transactions are never included; one that did not
/// succeed was included, paid its fee and advanced the sender's nonce, and none of its other
/// writes remain. EVM code ends in a revert (with its return data) or a halt; any other failure —
/// a native operation refused, a Solana instruction error, an EVM call that could not start — is
/// `Failed`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum TxStatus {
    Success,
    Failed { reason: String },
    Reverted { data: Vec<u8> },
    Halted { reason: String },
}

impl TxStatus {
    /// Why it did not succeed, as receipts and RPC errors word it (`None` on success).
    pub fn error(&self) -> Option<String> {
        match self {
            Self::Success => None,
            Self::Failed { reason } => Some(reason.clone()),
            Self::Reverted { data } => {
                Some(format!("execution reverted: 0x{}", alloy_primitives::hex::encode(data)))
            }
            Self::Halted { reason } => Some(format!("execution halted: {reason}")),
        }
    }
}

/// An event a transaction emitted (same shape as an EVM log, so every VM can use it).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Log {
    /// What emitted it: a token mint, a contract address padded to 32 bytes, …
    pub source: [u8; 32],
    pub topics: Vec<[u8; 32]>,
    pub data: Vec<u8>,
}

/// The result of one included transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Receipt {
    pub tx_hash: TxHash,
    pub block_height: u64,
    pub index: u32,
    pub sender: IdCom,
    pub opcode: u8,
    pub status: TxStatus,
    pub fee_paid: u128,
    /// Gas an EVM transaction used (0 for VMs that do not meter in gas).
    pub gas_used: u64,
    pub logs: Vec<Log>,
    /// What the transaction's VM records beside the common fields, in that VM's own encoding
    /// (empty when nothing): the VM writes it and its RPC crate reads it (a Solana
    /// transaction's compute units, balances and log lines, for `getTransaction`).
    pub vm_data: Vec<u8>,
}

impl Receipt {
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("writing to a Vec cannot fail")
    }
}

/// The header's commitment to a block's transactions: [`list_commitment`] of the `SHA-256` of
/// each one's exact bytes. (A transaction's hash is not enough: a native transaction's hash
/// covers its body, not its signature.)
pub fn tx_root<'a>(raws: impl IntoIterator<Item = &'a [u8]>) -> [u8; 32] {
    let digests: Vec<[u8; 32]> = raws.into_iter().map(crate::sha256).collect();
    list_commitment(&digests)
}

/// `SHA-256` over the concatenation of 32-byte items (transaction digests, receipt hashes).
pub fn list_commitment<'a>(items: impl IntoIterator<Item = &'a [u8; 32]>) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for item in items {
        hasher.update(item);
    }
    hasher.finalize().into()
}
