//! Ethereum-signed transactions (EIP-155 legacy, EIP-2930, EIP-1559) as wallets send them:
//! strict decoding with `alloy-consensus`, sender recovery, the checks that make one invalid, and
//! execution that pays gas from the sender's native balance at the EIP-1559 price.

use crate::{
    TX_GAS_CAP,
    vm::{commit, to_logs},
};
use alloy_consensus::{Transaction as _, TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::{
    Typed2718,
    eip2718::{Decodable2718, Encodable2718},
};
use alloy_primitives::{Address, U256};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::{Log, TxStatus};
use nvm_state_api::TxOverlay;
use nvm_vm_api::{TxEnv, VmError, VmResult};
use revm::{
    context::{TxEnv as RevmTx, result::ExecutionResult},
    handler::validation::validate_initial_tx_gas,
    primitives::{eip3860::MAX_INITCODE_SIZE, hardfork::SpecId},
};

/// Why bytes are not an acceptable Ethereum transaction, whatever the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EthTxError {
    #[error("malformed Ethereum transaction: {0}")]
    Malformed(String),
    #[error(
        "unsupported transaction type {0:#04x}: this chain accepts legacy (EIP-155), EIP-2930 and EIP-1559 transactions"
    )]
    UnsupportedType(u8),
    #[error("invalid sender signature: {0}")]
    Signature(String),
    #[error(
        "only replay-protected transactions are accepted: legacy transactions need an EIP-155 chain id"
    )]
    NotReplayProtected,
    #[error("{0}")]
    Invalid(String),
}

impl From<EthTxError> for nvm_vm_api::TxError {
    fn from(e: EthTxError) -> Self {
        use nvm_vm_api::Rejection;
        let kind = match &e {
            EthTxError::Malformed(_) | EthTxError::UnsupportedType(_) => Rejection::Malformed,
            EthTxError::Signature(_) => Rejection::Signature,
            EthTxError::NotReplayProtected => Rejection::WrongChain,
            EthTxError::Invalid(_) => Rejection::Invalid,
        };
        Self::rejected(kind, e)
    }
}

/// A decoded Ethereum transaction whose signer was recovered from its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EthereumTx {
    envelope: TxEnvelope,
    signer: Address,
}

impl EthereumTx {
    /// Decodes EIP-2718 bytes (what `eth_sendRawTransaction` carries) and recovers the sender.
    /// Trailing bytes, non-canonical encodings, other types and high-S signatures are refused.
    pub fn decode(raw: &[u8]) -> Result<Self, EthTxError> {
        if raw.is_empty() {
            return Err(EthTxError::Malformed("empty input".into()));
        }
        let envelope =
            TxEnvelope::decode_2718_exact(raw).map_err(|e| EthTxError::Malformed(e.to_string()))?;
        match envelope {
            TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_) => {}
            ref other => return Err(EthTxError::UnsupportedType(other.ty())),
        }
        // The hash is over the re-encoding; only the canonical form may carry it.
        if envelope.encoded_2718() != raw {
            return Err(EthTxError::Malformed("non-canonical encoding".into()));
        }
        if envelope.chain_id().is_none() {
            return Err(EthTxError::NotReplayProtected);
        }
        let signer = envelope.recover_signer().map_err(|e| EthTxError::Signature(e.to_string()))?;
        Ok(Self { envelope, signer })
    }

    /// The Ethereum transaction hash, `keccak256` of the EIP-2718 bytes.
    pub fn hash(&self) -> [u8; 32] {
        self.envelope.tx_hash().0
    }

    pub fn signer(&self) -> Address {
        self.signer
    }

    pub fn envelope(&self) -> &TxEnvelope {
        &self.envelope
    }

    pub fn encoded(&self) -> Vec<u8> {
        self.envelope.encoded_2718()
    }

    pub fn chain_id(&self) -> u64 {
        self.envelope.chain_id().unwrap_or_default()
    }

    pub fn nonce(&self) -> u64 {
        self.envelope.nonce()
    }

    pub fn gas_limit(&self) -> u64 {
        self.envelope.gas_limit()
    }

    pub fn max_fee_per_gas(&self) -> u128 {
        self.envelope.max_fee_per_gas()
    }

    /// What the sender pays per gas in a block with `base_fee`.
    pub fn effective_gas_price(&self, base_fee: u64) -> u128 {
        self.envelope.effective_gas_price(Some(base_fee))
    }

    /// Value the transaction moves, in wei.
    pub fn value(&self) -> U256 {
        self.envelope.value()
    }

    /// The most the transaction can take from the sender: `gas_limit × max_fee_per_gas + value`.
    pub fn max_cost(&self) -> U256 {
        U256::from(self.gas_limit())
            .saturating_mul(U256::from(self.max_fee_per_gas()))
            .saturating_add(self.value())
    }

    /// The address a contract creation deploys to (`None` for a call).
    pub fn created_address(&self) -> Option<Address> {
        self.envelope.kind().is_create().then(|| self.signer.create(self.nonce()))
    }

    /// revm's view of the transaction.
    pub fn revm_tx(&self) -> RevmTx {
        let tx = &self.envelope;
        let mut builder = RevmTx::builder()
            .tx_type(Some(tx.ty()))
            .caller(self.signer)
            .kind(tx.kind())
            .value(tx.value())
            .data(tx.input().clone())
            .gas_limit(tx.gas_limit())
            .gas_price(tx.max_fee_per_gas())
            .gas_priority_fee(tx.max_priority_fee_per_gas())
            .nonce(tx.nonce())
            .chain_id(tx.chain_id());
        if let Some(list) = tx.access_list() {
            builder = builder.access_list(list.clone());
        }
        builder.build_fill()
    }

    /// The state-independent rules (EIP-7825 gas cap, intrinsic gas, EIP-3860 init code size,
    /// priority fee within the fee cap) at `spec`.
    pub fn check(&self, spec: SpecId) -> Result<(), EthTxError> {
        let tx = &self.envelope;
        if tx.gas_limit() > TX_GAS_CAP {
            return Err(EthTxError::Invalid(format!(
                "gas limit too high: {} is above the per-transaction cap {TX_GAS_CAP}",
                tx.gas_limit()
            )));
        }
        if tx.kind().is_create() && tx.input().len() > MAX_INITCODE_SIZE {
            return Err(EthTxError::Invalid(format!(
                "max initcode size exceeded: code size {} limit {MAX_INITCODE_SIZE}",
                tx.input().len()
            )));
        }
        if let Some(tip) = tx.max_priority_fee_per_gas()
            && tip > tx.max_fee_per_gas()
        {
            return Err(EthTxError::Invalid(format!(
                "max priority fee per gas higher than max fee per gas: tip {tip}, max fee {}",
                tx.max_fee_per_gas()
            )));
        }
        validate_initial_tx_gas(self.revm_tx(), spec, false, false, TX_GAS_CAP, None)
            .map_err(|e| EthTxError::Invalid(format!("intrinsic gas too low: {e}")))?;
        Ok(())
    }
}

/// How an included Ethereum transaction ended. Whatever the status, it paid for its gas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EthereumOutcome {
    /// Success, or the revert (with its data) or halt.
    pub status: TxStatus,
    pub gas_used: u64,
    pub logs: Vec<Log>,
    /// What the call returned (a revert's data too); empty for a deployment.
    pub output: Vec<u8>,
    /// What the sender paid: `gas_used × effective gas price`.
    pub fee_paid: u128,
    /// The base-fee part of that, burned (taken out of the native supply).
    pub burned: u128,
}

impl<V: crate::EvmVariant> crate::EvmVm<V> {
    /// Executes an Ethereum transaction for the identity in `env` (its signer resolved). Errors
    /// are invalidity (the transaction is left out) or state failures; a revert or halt is an
    /// outcome, with the fee and nonce written and nothing else.
    pub fn execute_ethereum(
        &self,
        env: &TxEnv<'_>,
        tx: &EthereumTx,
        state: &mut TxOverlay<'_>,
    ) -> VmResult<EthereumOutcome> {
        let price = tx.effective_gas_price(env.block.base_fee_per_gas);
        self.execute_priced(env, tx.revm_tx(), price, state, false, None)
    }

    /// Executes `tx`, a transaction that pays for its gas at `price` (wei per gas, at least the
    /// block's base fee: the base-fee part burned, the rest to the proposer's coinbase), as
    /// [`Self::execute_ethereum`] does. `keep_nonce`: the sender's nonce stays as it was — for
    /// wallet formats whose replay protection is not the identity's nonce (Tron's), which revm
    /// would otherwise bump. `token`: a ledger token the transaction sends its first frame (a
    /// variant's; see [`crate::TokenValue`]).
    pub fn execute_priced(
        &self,
        env: &TxEnv<'_>,
        tx: RevmTx,
        price: u128,
        state: &mut TxOverlay<'_>,
        keep_nonce: bool,
        token: Option<crate::TokenValue>,
    ) -> VmResult<EthereumOutcome> {
        let caller = tx.caller;
        let mut outcome =
            self.transact(state, env, tx, true, token, None).map_err(|e| match e {
                VmError::Failed(reason) => VmError::Invalid(reason),
                other => other,
            })?;
        if keep_nonce && let Some(account) = outcome.state.get_mut(&caller) {
            account.info.nonce = account.info.nonce.saturating_sub(1);
        }
        let (status, gas, logs, output) = match outcome.result {
            ExecutionResult::Success { logs, gas, output, .. } => {
                let returned = match output {
                    revm::context::result::Output::Call(bytes) => bytes.to_vec(),
                    revm::context::result::Output::Create(..) => Vec::new(),
                };
                (TxStatus::Success, gas, logs, returned)
            }
            ExecutionResult::Revert { output, gas, .. } => {
                (TxStatus::Reverted { data: output.to_vec() }, gas, Vec::new(), output.to_vec())
            }
            ExecutionResult::Halt { reason, gas, .. } => {
                (TxStatus::Halted { reason: format!("{reason:?}") }, gas, Vec::new(), Vec::new())
            }
        };
        let gas_used = gas.tx_gas_used();
        let base_fee = u128::from(env.block.base_fee_per_gas);
        let fee_paid = u128::from(gas_used) * price;
        let burned = u128::from(gas_used) * base_fee;
        let checkpoint = state.checkpoint();
        let (status, logs, output) =
            match commit(state, outcome.state, self.variant.space(), env, &logs) {
                Ok(()) => (status, to_logs(logs), output),
                // revm ran it, but its changes do not fit the ledger (two addresses of one
                // identity spending the same balance): included as failed, its gas charged —
                // never a free transaction that leaves no trace.
                Err(VmError::Failed(reason)) => {
                    state.revert(checkpoint);
                    // The tip goes where revm pays it: the proposer's account in this space.
                    let space = self.variant.space();
                    let coinbase =
                        space.address(space.account_of(&env.block.proposer).into_array());
                    let proposer = nvm_identity::Registry::resolve_and_index(state, &coinbase)?;
                    let tip = (fee_paid - burned, proposer);
                    charge_gas(state, env, fee_paid, tip, keep_nonce)?;
                    (TxStatus::Failed { reason }, Vec::new(), Vec::new())
                }
                Err(other) => return Err(other),
            };
        Ledger::retire_supply(state, &NATIVE_MINT, burned)?;
        Ok(EthereumOutcome { status, gas_used, logs, output, fee_paid, burned })
    }
}

/// What a transaction whose changes were undone still pays, as revm charged it: `fee` from the
/// sender's identity, `tip.0` of it to the proposer's identity `tip.1` (the rest, the base fee,
/// burned), and its nonce used unless its replay protection is another (`keep_nonce`).
fn charge_gas(
    state: &mut TxOverlay<'_>,
    env: &TxEnv<'_>,
    fee: u128,
    tip: (u128, nvm_primitives::IdCom),
    keep_nonce: bool,
) -> VmResult<()> {
    // Admission made sure the sender can pay its whole gas limit.
    Ledger::debit(state, &NATIVE_MINT, &env.sender, fee)
        .map_err(|e| VmError::Invalid(format!("cannot pay for its gas: {e}")))?;
    Ledger::credit(state, &NATIVE_MINT, &tip.1, tip.0)?;
    if !keep_nonce {
        let nonce = nvm_identity::Registry::nonce(state, &env.sender)?;
        nvm_identity::Registry::set_nonce(state, &env.sender, nonce + 1);
    }
    Ok(())
}

/// Base fee of a chain's first block (1 gwei, as on Ethereum at London).
pub const INITIAL_BASE_FEE: u64 = alloy_eips::eip1559::INITIAL_BASE_FEE;

/// The base fee of the block after one with `parent_base_fee` that used `parent_gas_used` of
/// `gas_limit`: EIP-1559's rule with Ethereum's parameters (target half the limit, ±12.5%).
pub fn next_base_fee(parent_base_fee: u64, parent_gas_used: u64, gas_limit: u64) -> u64 {
    alloy_eips::eip1559::calc_next_block_base_fee(
        parent_gas_used,
        gas_limit,
        parent_base_fee,
        alloy_eips::eip1559::BaseFeeParams::ethereum(),
    )
}
