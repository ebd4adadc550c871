//! Why a mempool refuses a transaction: the transaction is invalid, or it is valid but the pool
//! will not hold it (known, nonce taken or too far ahead, the sender's pending transactions
//! unfunded, the pool or the sender's share full, a double spend). The RPC maps each to its
//! ecosystem's error without naming the node.

use crate::TxError;
use nvm_primitives::TxHash;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error(transparent)]
    Invalid(#[from] TxError),
    #[error("transaction 0x{} is already known", hex::encode(.0))]
    AlreadyKnown(TxHash),
    #[error("another transaction with nonce {0} is already pending for this sender")]
    NonceTaken(u64),
    #[error(
        "nonce {got} is too far ahead of the next nonce {next} (at most {limit} ahead: the node's --max-pending-per-sender)"
    )]
    NonceTooFarAhead { next: u64, got: u64, limit: usize },
    #[error(
        "insufficient funds (native balance) for this and the sender's pending transactions: need {needed}, have {available}"
    )]
    InsufficientFunds { needed: u128, available: u128 },
    #[error("mempool is full ({0} transactions)")]
    Full(usize),
    #[error(
        "the sender already has {0} pending transactions, the most one sender may have (the node's --max-pending-per-sender)"
    )]
    SenderFull(usize),
    /// A pending transaction already spends one of its coins (a double spend).
    #[error("conflicts with pending transaction 0x{}: it spends the same output", hex::encode(.0))]
    Conflict(TxHash),
}
