//! Why a transaction is invalid: it never enters a block and changes nothing.

use nvm_identity::CredentialError;
use nvm_primitives::{DecodeError, IdCom};
use nvm_state_api::StateError;

fn hex32(id: &IdCom) -> String {
    format!("0x{}", hex::encode(id))
}

/// What kind of refusal a wallet format's error is: each ecosystem's API answers each kind with
/// its own error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The bytes are not a transaction of the format (or one of a type this chain does not take).
    Malformed,
    /// A signature does not verify.
    Signature,
    /// Not bound to this chain (an Ethereum transaction without an EIP-155 chain id).
    WrongChain,
    /// Well-formed and signed, but not valid as it stands (gas below the intrinsic cost, …).
    Invalid,
}

impl TxError {
    /// One of SPEC §1's VMs is not running on this node.
    pub fn spec_vm_unavailable(vm: nvm_primitives::VmKind) -> Self {
        Self::VmUnavailable { vm: vm.name(), opcodes: vm.opcodes() }
    }

    /// A wallet format's refusal of `kind`, in the words of `e`.
    pub fn rejected(kind: Rejection, e: impl std::fmt::Display) -> Self {
        Self::Rejected { kind, message: e.to_string() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("bad signature: {0}")]
    Signature(#[from] CredentialError),
    #[error("wrong chain id {got} (this chain is {expected})")]
    WrongChain { expected: u64, got: u64 },
    #[error("sender {} is not a registered identity", hex32(.0))]
    UnknownSender(IdCom),
    #[error("credential is not the one registered for sender {}", hex32(.0))]
    CredentialMismatch(IdCom),
    #[error("nonce too {}: next nonce {expected}, transaction nonce {got}", if .got < .expected { "low" } else { "high" })]
    BadNonce { expected: u64, got: u64 },
    #[error("max_fee {max_fee} is below the required fee {required}")]
    FeeTooLow { max_fee: u128, required: u128 },
    #[error("insufficient funds (native balance): need {needed}, have {available}")]
    InsufficientFunds { needed: u128, available: u128 },
    /// A wallet format's own refusal (an Ethereum or Solana transaction that does not decode,
    /// verify or qualify), in its own words.
    #[error("{message}")]
    Rejected { kind: Rejection, message: String },
    #[error(
        "max fee per gas less than block base fee: maxFeePerGas {max_fee_per_gas}, baseFee {base_fee}"
    )]
    FeeCapTooLow { max_fee_per_gas: u128, base_fee: u64 },
    #[error(
        "gas limit reached: the transaction needs {needed} gas, the block has {available} left"
    )]
    BlockGasExhausted { needed: u64, available: u64 },
    #[error(
        "block limit reached: the transaction may use {needed} {vm} units, the block has {available} left"
    )]
    BlockUnitsExhausted { vm: &'static str, needed: u64, available: u64 },
    #[error("Blockhash not found: the recent blockhash is unknown or older than {0} blocks")]
    BlockhashNotFound(u64),
    #[error("This transaction has already been processed")]
    AlreadyProcessed,
    #[error("unknown opcode {0:#04x}: no VM serves it")]
    UnknownOpcode(u8),
    #[error("the {vm} VM is not available on this node (opcodes {:#04x}-{:#04x})", .opcodes.start(), .opcodes.end())]
    VmUnavailable { vm: &'static str, opcodes: std::ops::RangeInclusive<u8> },
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    #[error(transparent)]
    State(#[from] StateError),
}

impl TxError {
    /// Whether the transaction may become valid in a later block without changing: its fee cap
    /// under a base fee that may fall, a block already full of gas, or a nonce ahead of the
    /// sender's next (an earlier transaction of the sender waits). Such a transaction waits.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::FeeCapTooLow { .. }
            | Self::BlockGasExhausted { .. }
            | Self::BlockUnitsExhausted { .. } => true,
            Self::BadNonce { expected, got } => got > expected,
            _ => false,
        }
    }
}
