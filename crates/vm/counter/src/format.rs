//! The counter's own wallet format: an Ed25519 key signs `(chain id, nonce, by)`, and the
//! identity that key is the credential of (with a zero salt) increments its counter, paying a
//! flat fee. In blocks as `COUNTER_TX_TAG ‖ borsh(CounterTx)`.

use crate::{CounterVm, OPCODE_INCREMENT, counter_key, vm::increment};
use borsh::{BorshDeserialize, BorshSerialize};
use nvm_identity::{Registry, SecretKey, id_com_from_credential};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::{SchemeId, TxHash, TxStatus, sha256_parts};
use nvm_state_api::{AccessSet, StateReader, TxOverlay};
use nvm_vm_api::{
    BlockEnv, EnvelopeCheck, Rejection, Replay, TxEnv, TxError, VmError, WalletFormat,
    WalletOutcome, WalletTx, check_funds, check_nonce,
};
use std::sync::Arc;

/// First byte of a block transaction of the counter's format.
pub const COUNTER_TX_TAG: u8 = 0xC7;
/// What one counter wallet transaction pays the block's proposer.
pub const COUNTER_FEE: u128 = 1_000_000_000_000;

/// A counter wallet transaction, signature verified once decoded.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CounterTx {
    pub public_key: [u8; 32],
    pub chain_id: u64,
    pub nonce: u64,
    pub by: u64,
    pub signature: Vec<u8>,
}

impl CounterTx {
    /// What the key signs: `SHA-256("nvm-counter:" ‖ key ‖ chain id ‖ nonce ‖ by)`, also the
    /// transaction's hash.
    fn digest(&self) -> [u8; 32] {
        sha256_parts(&[
            b"nvm-counter:",
            &self.public_key,
            &self.chain_id.to_le_bytes(),
            &self.nonce.to_le_bytes(),
            &self.by.to_le_bytes(),
        ])
    }

    /// The identity it acts as: the one whose credential is the key, with a zero salt.
    pub fn sender(&self) -> nvm_primitives::IdCom {
        id_com_from_credential(SchemeId::Ed25519, &self.public_key, &[0; 32])
    }

    /// Strict decoding (every byte used) and the signature checked.
    fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        let tx: Self =
            borsh::from_slice(bytes).map_err(|e| TxError::rejected(Rejection::Malformed, e))?;
        nvm_identity::verify(SchemeId::Ed25519, &tx.public_key, &tx.digest(), &tx.signature)
            .map_err(|e| TxError::rejected(Rejection::Signature, e))?;
        Ok(tx)
    }
}

/// The block encoding of an increment by `by` that `key` (Ed25519) signs with `nonce`.
pub fn signed_increment(key: &SecretKey, chain_id: u64, nonce: u64, by: u64) -> Vec<u8> {
    let public_key: [u8; 32] = key.public_key().try_into().expect("an Ed25519 key is 32 bytes");
    let mut tx = CounterTx { public_key, chain_id, nonce, by, signature: Vec::new() };
    tx.signature = key.sign(&tx.digest()).expect("the key signs");
    nvm_vm_api::tagged(COUNTER_TX_TAG, &borsh::to_vec(&tx).expect("writing to a Vec cannot fail"))
}

impl WalletTx for CounterTx {
    fn hash(&self) -> TxHash {
        self.digest()
    }

    fn replay(&self) -> Replay {
        Replay::Nonce(self.nonce)
    }
}

fn counter_tx(tx: &dyn WalletTx) -> Result<&CounterTx, TxError> {
    tx.of_format("a counter")
}

impl WalletFormat for CounterVm {
    fn tag(&self) -> u8 {
        COUNTER_TX_TAG
    }

    fn vm(&self) -> &'static str {
        "counter"
    }

    fn tx_hash(&self, bytes: &[u8]) -> Option<TxHash> {
        let tx: CounterTx = borsh::from_slice(bytes).ok()?;
        Some(tx.digest())
    }

    fn decode(&self, bytes: &[u8]) -> Result<Arc<dyn WalletTx>, TxError> {
        Ok(Arc::new(CounterTx::decode(bytes)?))
    }

    /// This chain's, from a registered identity with the nonce and the fee.
    fn check(
        &self,
        tx: &dyn WalletTx,
        state: &mut TxOverlay<'_>,
        exact_nonce: bool,
        env: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError> {
        let tx = counter_tx(tx)?;
        if tx.chain_id != env.chain_id {
            return Err(TxError::WrongChain { expected: env.chain_id, got: tx.chain_id });
        }
        let sender = tx.sender();
        if Registry::get(state, &sender)?.is_none() {
            return Err(TxError::UnknownSender(sender));
        }
        let next_nonce = check_nonce(state, &sender, tx.nonce, exact_nonce)?;
        let native_balance = check_funds(state, &sender, COUNTER_FEE)?;
        Ok(EnvelopeCheck {
            sender,
            next_nonce,
            native_balance,
            max_cost: COUNTER_FEE,
            gas_reserved: 0,
            units_reserved: 0,
        })
    }

    /// The sender's nonce and balance, and its counter.
    fn declare(
        &self,
        tx: &dyn WalletTx,
        _env: &BlockEnv,
        _state: &dyn StateReader,
        access: &mut AccessSet,
    ) {
        match counter_tx(tx) {
            Ok(tx) => {
                let sender = tx.sender();
                access
                    .read(nvm_identity::identity_key(&sender))
                    .write(nvm_identity::nonce_key(&sender))
                    .write(nvm_ledger::balance_key(&NATIVE_MINT, &sender))
                    .write(counter_key(&sender));
            }
            Err(_) => access.exclusive = true,
        }
    }

    /// The fee and the nonce, then the increment; an increment that fails still pays.
    fn execute(
        &self,
        tx: &dyn WalletTx,
        env: &TxEnv<'_>,
        state: &mut TxOverlay<'_>,
    ) -> Result<WalletOutcome, TxError> {
        let tx = counter_tx(tx)?;
        // Admission checked the balance against this block's state: a failure here is the node's.
        Ledger::debit(state, &NATIVE_MINT, &env.sender, COUNTER_FEE)
            .map_err(nvm_ledger::state_failure)?;
        Registry::set_nonce(state, &env.sender, tx.nonce + 1);
        let checkpoint = state.checkpoint();
        let (status, logs, vm_data) = match increment(state, &env.sender, tx.by) {
            Ok((now, log)) => (TxStatus::Success, vec![log], now.to_le_bytes().to_vec()),
            Err(VmError::State(e)) => return Err(TxError::State(e)),
            Err(e) => {
                state.revert(checkpoint);
                (TxStatus::Failed { reason: e.to_string() }, vec![], vec![])
            }
        };
        Ok(WalletOutcome {
            status,
            proposer_fee: COUNTER_FEE,
            fee_paid: COUNTER_FEE,
            gas_used: 0,
            logs,
            vm_data,
            opcode: OPCODE_INCREMENT,
            units_used: 0,
        })
    }
}
