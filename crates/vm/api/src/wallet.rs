//! Wallet-native transaction formats (SPEC §2, "real-wallet ingress"): a VM accepts besides
//! native envelopes the transactions its ecosystem's wallets sign — an Ethereum wallet's
//! EIP-2718 bytes — and owns their whole life: decoding and signature check, admission against
//! state, the accesses declared to the scheduler, execution and its receipt.

use crate::{BlockEnv, TxEnv, TxError};
use nvm_identity::Registry;
use nvm_ledger::{Ledger, NATIVE_MINT, state_failure};
use nvm_primitives::{IdCom, Log, TxHash, TxStatus};
use nvm_state_api::{AccessSet, StateReader, TxOverlay};
use std::{any::Any, fmt::Debug, sync::Arc};

/// How a transaction stops its own replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// The sender's nonce: one transaction per nonce, in order (native envelopes, Ethereum).
    Nonce(u64),
    /// A key the transaction writes when included, which must be absent before (a Solana
    /// transaction's signature): one sender's transactions need no order.
    Key(nvm_primitives::StateKey),
}

/// A wallet-native transaction its format decoded, every signature verified. The executor, the
/// mempool and the RPC hold it behind this interface; its format downcasts it back.
pub trait WalletTx: Any + Send + Sync + Debug {
    /// The hash wallets know it by (an Ethereum transaction's keccak hash).
    fn hash(&self) -> TxHash;

    /// What stops it from running twice.
    fn replay(&self) -> Replay;

    /// Most the sender pays per unit of gas, for formats priced in gas: the mempool orders by it
    /// and holds back a transaction whose cap is under the block's base fee.
    fn max_fee_per_gas(&self) -> Option<u128> {
        None
    }

    /// Keys at most one pending transaction may claim (the coins a Bitcoin transaction spends):
    /// the mempool refuses a second transaction claiming one, as Bitcoin's refuses a double spend.
    fn conflicts(&self) -> Vec<nvm_primitives::StateKey> {
        Vec::new()
    }
}

impl dyn WalletTx {
    /// The format's own transaction type behind the interface.
    pub fn downcast_ref<T: WalletTx>(&self) -> Option<&T> {
        let any: &dyn Any = self;
        any.downcast_ref()
    }

    /// [`Self::downcast_ref`], or the error for a transaction of another format (`format`
    /// names the expected one) handed to this one.
    pub fn of_format<T: WalletTx>(&self, format: &str) -> Result<&T, TxError> {
        self.downcast_ref()
            .ok_or_else(|| TxError::InvalidPayload(format!("not {format} transaction")))
    }
}

/// What an admission check read on the way: who the sender is (a native envelope's sender, an
/// Ethereum signer's identity), its next nonce and native balance, and what the transaction may
/// cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeCheck {
    pub sender: IdCom,
    pub next_nonce: u64,
    pub native_balance: u128,
    /// Most native value the transaction can take from the sender (fees and value moved).
    pub max_cost: u128,
    /// Gas the transaction reserves out of the block's gas limit.
    pub gas_reserved: u64,
    /// Most of its format's own block units it may use ([`WalletFormat::block_units_limit`]: a
    /// Solana transaction's compute unit limit).
    pub units_reserved: u64,
}

/// How an included wallet transaction ended, and what its receipt records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletOutcome {
    pub status: TxStatus,
    /// Native fee the block's proposer is owed (0 when the VM paid it itself, as the EVM pays
    /// an Ethereum transaction's tip).
    pub proposer_fee: u128,
    /// What the sender paid in fees.
    pub fee_paid: u128,
    pub gas_used: u64,
    pub logs: Vec<Log>,
    /// What the VM records beside the common fields, in its own encoding (the receipt's
    /// `vm_data`).
    pub vm_data: Vec<u8>,
    /// The opcode the receipt names: the kind of operation within its VM's range.
    pub opcode: u8,
    /// Its format's block units it used (a Solana transaction's compute units).
    pub units_used: u64,
}

/// One wallet-native transaction format.
pub trait WalletFormat: Any + Send + Sync {
    /// First byte of the format's transactions in a block (`tag ‖ the wallet's bytes`). Native
    /// envelopes start with their version byte, so a tag is never that.
    fn tag(&self) -> u8;

    /// The name of the VM whose lane its transactions run in ([`crate::Vm::name`]).
    fn vm(&self) -> &'static str;

    /// Most units of its own metering (Solana's compute units) its transactions may use together
    /// in one block: a transaction whose reserve is over what is left waits for a later block.
    /// The limit holds when a block is built and when it is verified (both re-execute).
    fn block_units_limit(&self) -> Option<u64> {
        None
    }

    /// The hash a transaction of this format is known by, from its bytes alone (the tag
    /// stripped; no signature checked): what block listings and lookups name it by. `None` if
    /// the bytes are not one.
    fn tx_hash(&self, bytes: &[u8]) -> Option<TxHash>;

    /// Decodes the wallet's bytes (the tag stripped) and verifies every signature.
    fn decode(&self, bytes: &[u8]) -> Result<Arc<dyn WalletTx>, TxError>;

    /// Checks `tx` against `state` for the block `env`: its chain, the identity it acts as, its
    /// nonce (the next one, or with `exact_nonce` false at least it), its fee and the sender's
    /// balance. Reads only.
    fn check(
        &self,
        tx: &dyn WalletTx,
        state: &mut TxOverlay<'_>,
        exact_nonce: bool,
        env: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError>;

    /// Adds every key executing `tx` will touch. By default the whole state: the transaction
    /// runs alone (contract code may touch anything).
    fn declare(
        &self,
        _tx: &dyn WalletTx,
        _env: &BlockEnv,
        _state: &dyn StateReader,
        access: &mut AccessSet,
    ) {
        access.exclusive = true;
    }

    /// Executes a checked transaction for `env.sender`, writing its fee, nonce and effects. An
    /// error leaves it out of the block (`TxError::State`: this node failed).
    fn execute(
        &self,
        tx: &dyn WalletTx,
        env: &TxEnv<'_>,
        state: &mut TxOverlay<'_>,
    ) -> Result<WalletOutcome, TxError>;
}

/// A wallet format's transaction as a block carries it: `tag ‖ bytes`.
pub fn tagged(tag: u8, bytes: &[u8]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(bytes.len() + 1);
    raw.push(tag);
    raw.extend_from_slice(bytes);
    raw
}

/// The sender's next nonce, if `nonce` is it (or, unless `exact`, a later one).
pub fn check_nonce(
    state: &mut TxOverlay<'_>,
    sender: &IdCom,
    nonce: u64,
    exact: bool,
) -> Result<u64, TxError> {
    let next = Registry::nonce(state, sender)?;
    if nonce < next || (exact && nonce != next) {
        return Err(TxError::BadNonce { expected: next, got: nonce });
    }
    Ok(next)
}

/// `holder`'s native balance, if it covers `needed`.
pub fn check_funds(
    state: &mut TxOverlay<'_>,
    holder: &IdCom,
    needed: u128,
) -> Result<u128, TxError> {
    let available = Ledger::balance(state, &NATIVE_MINT, holder).map_err(state_failure)?;
    if available < needed {
        return Err(TxError::InsufficientFunds { needed, available });
    }
    Ok(available)
}
