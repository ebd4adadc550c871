//! The interface between the dispatcher and each VM.

mod chain_hooks;
mod registry;
mod tx_error;
mod wallet;

pub use chain_hooks::{BlockWrites, ChainHooks, FundedAddresses, GenesisPart, ParentBlock};
pub use registry::{RegistryError, VmRegistry};
pub use tx_error::{Rejection, TxError};
pub use wallet::{
    EnvelopeCheck, Replay, WalletFormat, WalletOutcome, WalletTx, check_funds, check_nonce, tagged,
};

use nvm_identity::AddressFormat;
use nvm_primitives::{IdCom, Log, StateKey, TxHash, sha256_parts};
use nvm_state_api::{AccessSet, StateError, StateReader, TxOverlay};

/// Strict decoding of a VM payload whose borsh discriminant is the opcode byte: an opcode outside
/// `opcodes`, a truncated body or trailing bytes is an error naming the VM and the opcode.
pub fn decode_payload<T: borsh::BorshDeserialize>(
    payload: &[u8],
    vm: &str,
    opcodes: std::ops::RangeInclusive<u8>,
) -> Result<T, String> {
    match payload.first() {
        None => Err("empty payload".into()),
        Some(&op) if !opcodes.contains(&op) => Err(format!(
            "unknown {vm} opcode {op:#04x} ({vm} opcodes are {:#04x}-{:#04x})",
            opcodes.start(),
            opcodes.end()
        )),
        Some(&op) => borsh::from_slice(payload)
            .map_err(|e| format!("malformed body for {vm} opcode {op:#04x}: {e}")),
    }
}

/// How many recent block hashes state keeps (what the EVM's `BLOCKHASH` can see).
pub const BLOCK_HASH_WINDOW: u64 = 256;

/// `SHA-256("nvm:block-hash:" ‖ u64_le(height))` → that block's hash, for the last
/// [`BLOCK_HASH_WINDOW`] blocks. Each block writes its parent's.
pub fn block_hash_key(height: u64) -> StateKey {
    sha256_parts(&[b"nvm:block-hash:", &height.to_le_bytes()])
}

/// The block a transaction executes in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEnv {
    pub chain_id: u64,
    pub height: u64,
    pub timestamp_ms: u64,
    pub proposer: IdCom,
    /// Hash of the block this one extends (what Solana transactions name as their recent blockhash).
    pub parent_hash: [u8; 32],
    /// EIP-1559 base fee per gas of this block, in wei (what Ethereum transactions pay, burned).
    pub base_fee_per_gas: u64,
    /// Most gas the block's EVM transactions may use together (what `GASLIMIT` returns).
    pub gas_limit: u64,
}

/// The transaction-level context a VM sees: who authorised it (already verified) and where.
#[derive(Clone, Debug)]
pub struct TxEnv<'a> {
    pub block: &'a BlockEnv,
    pub sender: IdCom,
    /// The sender's nonce this transaction consumed.
    pub nonce: u64,
    pub tx_hash: TxHash,
}

/// What a successful execution produced besides its state writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub logs: Vec<Log>,
    /// What the operation returned (EVM return data, a created contract's address, …).
    pub output: Vec<u8>,
    /// Gas the operation used, for VMs that meter in gas (0 for the native runtime).
    pub gas_used: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    /// The payload can never execute (malformed, unknown opcode): the transaction is invalid.
    #[error("invalid payload: {0}")]
    Invalid(String),
    /// Execution failed; the transaction is included, pays its fee, and its writes are undone.
    #[error("{0}")]
    Failed(String),
    /// Contract code reverted with `data` after using `gas_used`: included, writes undone.
    #[error("execution reverted: 0x{}", hex_encode(.data))]
    Reverted { data: Vec<u8>, gas_used: u64 },
    /// Contract code stopped exceptionally (out of gas, invalid opcode, …): included, writes undone.
    #[error("execution halted: {reason}")]
    Halted { reason: String, gas_used: u64 },
    /// The node's state backend failed; nothing about the transaction can be concluded.
    #[error(transparent)]
    State(#[from] StateError),
}

pub type VmResult<T> = Result<T, VmError>;

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A ledger operation a VM ran failed: a state failure is this node's, anything else (an
/// overdraft, an unknown token) fails the transaction.
impl From<nvm_ledger::LedgerError> for VmError {
    fn from(e: nvm_ledger::LedgerError) -> Self {
        match e {
            nvm_ledger::LedgerError::State(s) => Self::State(s),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// A link a VM ran failed: a state failure is this node's, anything else (a wrong signer, a
/// key already linked) fails the transaction.
impl From<nvm_identity::LinkError> for VmError {
    fn from(e: nvm_identity::LinkError) -> Self {
        match e {
            nvm_identity::LinkError::State(s) => Self::State(s),
            other => Self::Failed(other.to_string()),
        }
    }
}

impl VmError {
    /// How an included transaction that failed this way ended, and the gas it used.
    pub fn status(&self) -> (nvm_primitives::TxStatus, u64) {
        use nvm_primitives::TxStatus;
        match self {
            Self::Reverted { data, gas_used } => {
                (TxStatus::Reverted { data: data.clone() }, *gas_used)
            }
            Self::Halted { reason, gas_used } => {
                (TxStatus::Halted { reason: reason.clone() }, *gas_used)
            }
            other => (TxStatus::Failed { reason: other.to_string() }, 0),
        }
    }
}

/// A virtual machine hosted by n-VM.
pub trait Vm: std::any::Any + Send + Sync {
    /// Its short lowercase name (`evm`, `svm`, …): how errors and `nvm_chainInfo` name it, and
    /// the `vm` string hashed into a shard id (SPEC §4). Unique among the registered VMs.
    fn name(&self) -> &'static str;

    /// The opcodes whose payloads it serves, any range no other registered VM claims; the
    /// SPEC's VMs take their range of 16 (`VmKind::opcodes`).
    fn opcodes(&self) -> std::ops::RangeInclusive<u8>;

    /// The format its accounts' addresses are written in (a row of SPEC §2's table: how an
    /// identity's address in it is derived, which identity an address nobody linked acts as,
    /// how wallets write one), if it has accounts of its own; unique among the registered VMs.
    fn address_format(&self) -> Option<&'static AddressFormat> {
        None
    }

    /// For a payload that creates its own sender's identity, the credential it registers
    /// (scheme, public key, salt): such a transaction is signed by that credential for a sender
    /// that does not exist yet.
    fn self_registration(&self, _payload: &[u8]) -> Option<(u8, Vec<u8>, [u8; 32])> {
        None
    }

    /// Stateless check of a payload (opcode byte included): decodable and a known operation.
    fn check(&self, payload: &[u8]) -> VmResult<()>;

    /// Native-token value (18-decimal base units) the payload moves out of the sender, so the
    /// mempool can refuse what the sender cannot pay for. Zero when unknown in advance.
    fn value_out(&self, _payload: &[u8]) -> u128 {
        0
    }

    /// Gas the payload reserves out of its block's gas limit (0 for VMs that do not meter gas).
    fn gas_reserved(&self, _payload: &[u8]) -> u64 {
        0
    }

    /// Adds to `access` every key executing `payload` will read or write, resolving addresses
    /// against `state` (the state before the block). The scheduler relies on it and checks it.
    /// By default the whole state: the transaction runs alone between the parallel batches (code
    /// may touch anything), as a wallet format's does by default.
    fn declare(
        &self,
        _env: &TxEnv<'_>,
        _payload: &[u8],
        _state: &dyn StateReader,
        access: &mut AccessSet,
    ) -> VmResult<()> {
        access.exclusive = true;
        Ok(())
    }

    /// Executes `payload`. On error the caller reverts every write made here.
    fn execute(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &mut TxOverlay<'_>,
    ) -> VmResult<ExecOutput>;

    /// What `payload` still writes when it failed with `error` in its block, after its writes
    /// were reverted (the envelope's fee and nonce stand anyway): the EVM raises the nonce of a
    /// dev chain's impersonated caller, as Ethereum does for any reverted transaction.
    fn after_failure(
        &self,
        _env: &TxEnv<'_>,
        _payload: &[u8],
        _error: &VmError,
        _state: &mut TxOverlay<'_>,
    ) -> Result<(), StateError> {
        Ok(())
    }
}
