//! JSON-RPC error codes and the mapping from node errors.

use jsonrpsee::types::ErrorObjectOwned;
use nvm_executor::AdmissionError;
use nvm_executor::Rejection;
use nvm_executor::TxError;

/// Stable error codes of the `nvm_*` namespace.
pub mod codes {
    pub const INVALID_PARAMS: i32 = -32602;
    pub const INTERNAL: i32 = -32603;
    pub const MALFORMED_TX: i32 = -32001;
    pub const BAD_SIGNATURE: i32 = -32002;
    pub const BAD_NONCE: i32 = -32003;
    pub const INSUFFICIENT_FUNDS: i32 = -32004;
    pub const UNSUPPORTED_OPERATION: i32 = -32005;
    pub const WRONG_CHAIN: i32 = -32006;
    pub const UNAUTHORISED: i32 = -32007;
    pub const ALREADY_KNOWN: i32 = -32008;
    pub const MEMPOOL_FULL: i32 = -32009;
    pub const UNDERPRICED: i32 = -32010;
    pub const INVALID_TRANSACTION: i32 = -32011;
}

pub fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(codes::INVALID_PARAMS, message, None::<()>)
}

pub fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(codes::INTERNAL, format!("internal error: {e}"), None::<()>)
}

fn tx_code(e: &TxError) -> i32 {
    match e {
        TxError::Decode(_) => codes::MALFORMED_TX,
        TxError::Rejected { kind, .. } => match kind {
            Rejection::Malformed => codes::MALFORMED_TX,
            Rejection::Signature => codes::BAD_SIGNATURE,
            Rejection::WrongChain => codes::WRONG_CHAIN,
            Rejection::Invalid => codes::INVALID_TRANSACTION,
        },
        TxError::FeeCapTooLow { .. } => codes::UNDERPRICED,
        TxError::BlockhashNotFound(_) => codes::BAD_NONCE,
        TxError::AlreadyProcessed => codes::ALREADY_KNOWN,
        TxError::BlockGasExhausted { .. } | TxError::BlockUnitsExhausted { .. } => {
            codes::INVALID_TRANSACTION
        }
        TxError::Signature(_) => codes::BAD_SIGNATURE,
        TxError::WrongChain { .. } => codes::WRONG_CHAIN,
        TxError::UnknownSender(_) | TxError::CredentialMismatch(_) => codes::UNAUTHORISED,
        TxError::BadNonce { .. } => codes::BAD_NONCE,
        TxError::FeeTooLow { .. } | TxError::InsufficientFunds { .. } => codes::INSUFFICIENT_FUNDS,
        TxError::UnknownOpcode(_) | TxError::VmUnavailable { .. } | TxError::InvalidPayload(_) => {
            codes::UNSUPPORTED_OPERATION
        }
        TxError::State(_) => codes::INTERNAL,
    }
}

pub fn admission(e: AdmissionError) -> ErrorObjectOwned {
    let code = match &e {
        AdmissionError::Invalid(tx) => tx_code(tx),
        AdmissionError::AlreadyKnown(_) => codes::ALREADY_KNOWN,
        AdmissionError::NonceTaken(_) | AdmissionError::NonceTooFarAhead { .. } => codes::BAD_NONCE,
        AdmissionError::InsufficientFunds { .. } => codes::INSUFFICIENT_FUNDS,
        AdmissionError::Full(_) | AdmissionError::SenderFull(_) => codes::MEMPOOL_FULL,
        AdmissionError::Conflict(_) => codes::INVALID_TRANSACTION,
    };
    ErrorObjectOwned::owned(code, e.to_string(), None::<()>)
}
