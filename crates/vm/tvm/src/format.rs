//! Tron's transactions as a wallet format (block tag `0x54`): admitted when their reference
//! block is one of the last [`nvm_vm_api::BLOCK_HASH_WINDOW`] n-VM blocks (TAPoS), they have not
//! expired, their txID was never processed and the owner's identity can pay; a `TransferContract`
//! moves TRX (the native token: 1 sun = 10¹² base units) and pays Tron's bandwidth price for its
//! bytes. Contract calls and deployments (`TriggerSmartContract`, `CreateSmartContract`) decode but
//! are refused at admission until energy pricing lands (`docs/TVM.md`).

use crate::{TronCall, TronTx, TronTxError, TvmVm, transaction::TransactionWire};
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::{StateKey, TxHash, TxStatus, VmKind, sha256_parts};
use nvm_state_api::{StateAccess, StateAccessExt, TxOverlay};
use nvm_vm_api::{
    BLOCK_HASH_WINDOW, BlockEnv, EnvelopeCheck, Rejection, Replay, TxEnv, TxError, WalletFormat,
    WalletOutcome, WalletTx, block_hash_key, check_funds,
};
use prost::Message;
use std::sync::Arc;

/// First byte of a block transaction that is a Tron transaction (its protobuf bytes follow).
pub const TRON_TX_TAG: u8 = 0x54;
/// Native base units per sun (TRX has 6 decimals, the native token 18).
pub const UNITS_PER_SUN: u128 = 1_000_000_000_000;
/// Sun per byte of a transaction: Tron's bandwidth price when no free bandwidth is left.
pub const BANDWIDTH_PRICE_SUN: u128 = 1_000;
/// Furthest ahead of the block's time an expiration may be (java-tron's 24 hours).
pub const MAX_EXPIRATION_MS: u64 = 24 * 60 * 60 * 1_000;
/// The receipt's opcode for a TRX transfer (the Tron VM's transfer, 0x42).
const OPCODE_TRANSFER: u8 = 0x42;

/// `SHA-256("tvm:txid:" ‖ txID)`: written when a Tron transaction is included, so it never runs
/// twice.
pub fn tron_tx_key(txid: &[u8; 32]) -> StateKey {
    sha256_parts(&[b"tvm:txid:", txid])
}

/// A verified Tron transaction and its size (what its bandwidth fee is priced by).
#[derive(Debug)]
struct TronWalletTx {
    tx: TronTx,
    size: usize,
}

impl WalletTx for TronWalletTx {
    fn hash(&self) -> TxHash {
        self.tx.txid
    }

    fn replay(&self) -> Replay {
        Replay::Key(tron_tx_key(&self.tx.txid))
    }
}

impl TronWalletTx {
    fn fee(&self) -> u128 {
        u128::try_from(self.size).unwrap_or(u128::MAX) * BANDWIDTH_PRICE_SUN * UNITS_PER_SUN
    }
}

fn tron(tx: &dyn WalletTx) -> Result<&TronWalletTx, TxError> {
    tx.of_format("a Tron")
}

fn invalid(message: impl std::fmt::Display) -> TxError {
    TxError::rejected(Rejection::Invalid, message)
}

impl From<TronTxError> for TxError {
    fn from(e: TronTxError) -> Self {
        let kind = match &e {
            TronTxError::Malformed(_) => Rejection::Malformed,
            TronTxError::Signature(_) | TronTxError::NotOwner { .. } => Rejection::Signature,
            TronTxError::Unsupported(_) => Rejection::Invalid,
        };
        Self::rejected(kind, e)
    }
}

/// Whether the reference block — its number's low two bytes and bytes 8..16 of its hash — is
/// one of the last [`BLOCK_HASH_WINDOW`] blocks before `env`'s.
fn tapos_holds(state: &mut TxOverlay<'_>, env: &BlockEnv, tx: &TronTx) -> Result<bool, TxError> {
    let parent = env.height.saturating_sub(1);
    for height in (parent.saturating_sub(BLOCK_HASH_WINDOW - 1)..=parent).rev() {
        if (height & 0xffff) as u16 != u16::from_be_bytes(tx.ref_block_bytes) {
            continue;
        }
        // The parent's hash is the block's own environment; older ones are in state.
        let hash = if height == parent {
            Some(env.parent_hash.to_vec())
        } else {
            state.get(&block_hash_key(height))?
        };
        if hash.is_some_and(|h| h.get(8..16) == Some(&tx.ref_block_hash[..])) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl WalletFormat for TvmVm {
    fn tag(&self) -> u8 {
        TRON_TX_TAG
    }

    fn vm(&self) -> &'static str {
        VmKind::Tvm.name()
    }

    /// The txID: SHA-256 of the `raw_data` bytes.
    fn tx_hash(&self, bytes: &[u8]) -> Option<TxHash> {
        let wire = TransactionWire::decode(bytes).ok()?;
        Some(nvm_primitives::sha256(&wire.raw_data))
    }

    fn decode(&self, bytes: &[u8]) -> Result<Arc<dyn WalletTx>, TxError> {
        Ok(Arc::new(TronWalletTx { tx: TronTx::decode(bytes)?, size: bytes.len() }))
    }

    /// A TRX transfer of an owner that can pay it and the bandwidth, referencing a recent
    /// block, not expired, never processed.
    fn check(
        &self,
        tx: &dyn WalletTx,
        state: &mut TxOverlay<'_>,
        _exact_nonce: bool,
        env: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError> {
        let wallet = tron(tx)?;
        let tx = &wallet.tx;
        let TronCall::Transfer { to, amount } = tx.call else {
            return Err(invalid("Tron contract calls and deployments are not admitted yet"));
        };
        // As java-tron: nothing to move, or a move to oneself, is no transfer.
        if amount == 0 {
            return Err(invalid("a TRX transfer must move more than 0 sun"));
        }
        if to == tx.owner {
            return Err(invalid("cannot transfer TRX to yourself"));
        }
        if tx.expiration_ms <= env.timestamp_ms {
            return Err(invalid(format!(
                "transaction expired: expiration {} is not after the block time {}",
                tx.expiration_ms, env.timestamp_ms
            )));
        }
        if tx.expiration_ms > env.timestamp_ms.saturating_add(MAX_EXPIRATION_MS) {
            return Err(invalid(format!(
                "expiration {} is more than 24 h after the block time {}",
                tx.expiration_ms, env.timestamp_ms
            )));
        }
        if !tapos_holds(state, env, tx)? {
            return Err(invalid(format!(
                "TAPoS: reference block 0x{}/0x{} is not among the last {BLOCK_HASH_WINDOW} blocks",
                hex(&tx.ref_block_bytes),
                hex(&tx.ref_block_hash)
            )));
        }
        if state.get(&tron_tx_key(&tx.txid))?.is_some() {
            return Err(TxError::AlreadyProcessed);
        }
        let sender = Registry::resolve(state, &VmAddress::Tvm(tx.owner))?;
        let value = u128::from(amount) * UNITS_PER_SUN;
        let max_cost = wallet.fee().saturating_add(value);
        let native_balance = check_funds(state, &sender, max_cost)?;
        Ok(EnvelopeCheck {
            sender,
            next_nonce: Registry::nonce(state, &sender)?,
            native_balance,
            max_cost,
            gas_reserved: 0,
            units_reserved: 0,
        })
    }

    /// The bandwidth fee to the proposer, the txID recorded, then the transfer (an overdraft
    /// fails it, the fee still paid).
    fn execute(
        &self,
        tx: &dyn WalletTx,
        env: &TxEnv<'_>,
        state: &mut TxOverlay<'_>,
    ) -> Result<WalletOutcome, TxError> {
        let wallet = tron(tx)?;
        let TronCall::Transfer { to, amount } = wallet.tx.call else {
            return Err(invalid("Tron contract calls and deployments are not admitted yet"));
        };
        let fee = wallet.fee();
        // Admission checked the balance against this block's state: a failure here is the node's.
        Ledger::debit(state, &NATIVE_MINT, &env.sender, fee).map_err(nvm_ledger::state_failure)?;
        state.set_encoded(tron_tx_key(&wallet.tx.txid), &env.block.height);
        let checkpoint = state.checkpoint();
        let moved = Registry::resolve_and_index(state, &VmAddress::Tvm(to))
            .map_err(nvm_ledger::LedgerError::State)
            .and_then(|recipient| {
                let value = u128::from(amount) * UNITS_PER_SUN;
                Ledger::transfer(state, &NATIVE_MINT, &env.sender, &recipient, value)
            });
        let status = match moved {
            Ok(()) => TxStatus::Success,
            Err(nvm_ledger::LedgerError::State(e)) => return Err(TxError::State(e)),
            Err(e) => {
                state.revert(checkpoint);
                TxStatus::Failed { reason: e.to_string() }
            }
        };
        Ok(WalletOutcome {
            status,
            proposer_fee: fee,
            fee_paid: fee,
            gas_used: 0,
            logs: Vec::new(),
            vm_data: Vec::new(),
            opcode: OPCODE_TRANSFER,
            units_used: 0,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
