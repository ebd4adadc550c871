//! Read-only execution (`eth_call`, `eth_estimateGas`): revm over a view, nothing written.

use crate::{Deadline, EvmVariant, EvmVm, TX_GAS_CAP};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use nvm_identity::{Registry, VmAddress};
use nvm_state_api::{StateAccess, StateReader, TxOverlay};
use nvm_vm_api::{BlockEnv, TxEnv as NvmTxEnv, VmError};
use revm::context::{
    TxEnv,
    result::{ExecutionResult, InvalidTransaction, Output},
};

/// A call to simulate, as `eth_call` takes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallRequest {
    pub from: Option<Address>,
    /// `None` simulates a contract creation with `data` as init code.
    pub to: Option<Address>,
    pub value: U256,
    pub data: Bytes,
    pub gas: Option<u64>,
    /// A ledger token sent with the call (a variant's; see [`crate::TokenValue`]).
    pub token: Option<crate::TokenValue>,
    /// The nonce it claims, and its fees in wei per gas (`maxFeePerGas` or `gasPrice`,
    /// `maxPriorityFeePerGas`): only a validated simulation checks and charges them; others run
    /// at the caller's nonce and gas price 0.
    pub nonce: Option<u64>,
    pub max_fee_per_gas: Option<u128>,
    pub max_priority_fee_per_gas: Option<u128>,
}

/// How a simulated call ended, with the logs it left (none unless it succeeded).
pub type SimulatedCall = (CallOutcome, Vec<nvm_primitives::Log>);

/// Why a validated simulation ([`EvmVm::simulate_in_order`]) refused a call before running it:
/// geth's checks of a transaction in a block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallRefusal {
    #[error("nonce too low: the call's {call}, the account's {account}")]
    NonceTooLow { call: u64, account: u64 },
    #[error("nonce too high: the call's {call}, the account's {account}")]
    NonceTooHigh { call: u64, account: u64 },
    #[error("max fee per gas less than block base fee")]
    FeeCapBelowBaseFee,
    #[error("intrinsic gas too low: the call has {gas}, it needs {intrinsic}")]
    IntrinsicGas { gas: u64, intrinsic: u64 },
    #[error("insufficient funds for gas * price + value: balance {balance}, cost {cost}")]
    InsufficientFunds { balance: U256, cost: U256 },
    #[error("block gas limit reached: the call's gas {gas}, {left} left in the block")]
    BlockGasLimit { gas: u64, left: u64 },
    /// Any other refusal of revm's, in its words.
    #[error("{0}")]
    Other(String),
}

impl CallRefusal {
    fn of(refusal: InvalidTransaction) -> Self {
        match refusal {
            InvalidTransaction::NonceTooLow { tx, state } => {
                Self::NonceTooLow { call: tx, account: state }
            }
            InvalidTransaction::NonceTooHigh { tx, state } => {
                Self::NonceTooHigh { call: tx, account: state }
            }
            InvalidTransaction::GasPriceLessThanBasefee => Self::FeeCapBelowBaseFee,
            InvalidTransaction::CallGasCostMoreThanGasLimit { initial_gas, gas_limit }
            | InvalidTransaction::GasFloorMoreThanGasLimit { gas_floor: initial_gas, gas_limit } => {
                Self::IntrinsicGas { gas: gas_limit, intrinsic: initial_gas }
            }
            InvalidTransaction::LackOfFundForMaxFee { fee, balance } => {
                Self::InsufficientFunds { balance: *balance, cost: *fee }
            }
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<CallRefusal> for VmError {
    fn from(refusal: CallRefusal) -> Self {
        Self::Failed(refusal.to_string())
    }
}

/// What `eth_call`'s third parameter may change for one account before the call runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountOverride {
    pub balance: Option<U256>,
    pub nonce: Option<u64>,
    pub code: Option<Bytes>,
    /// Slots to set, others kept (geth's `stateDiff`).
    pub state_diff: Vec<(U256, U256)>,
}

/// Writes `overrides` into `view` the way the accounts' state is kept: balances in the ledger
/// of the identity behind each address, nonces in the identity, code and slots under their keys.
pub fn apply_overrides(
    view: &mut TxOverlay<'_>,
    overrides: &[(Address, AccountOverride)],
) -> Result<(), VmError> {
    for (address, o) in overrides {
        let id = Registry::resolve(view, &VmAddress::Evm(address.into_array()))?;
        if let Some(balance) = o.balance {
            let balance = u128::try_from(balance).map_err(|_| {
                VmError::Invalid(format!("balance override of {address} exceeds u128"))
            })?;
            nvm_ledger::Ledger::set_balance(view, &nvm_ledger::NATIVE_MINT, &id, balance);
        }
        if let Some(nonce) = o.nonce {
            Registry::set_nonce(view, &id, nonce);
        }
        if let Some(code) = &o.code {
            let hash = alloy_primitives::keccak256(code);
            view.set(crate::code_key(&hash), code.to_vec());
            view.set(crate::code_hash_key(address), hash.to_vec());
        }
        for (slot, value) in &o.state_diff {
            let key = crate::storage_key(address, slot);
            if value.is_zero() {
                view.delete(key)
            } else {
                view.set(key, value.to_be_bytes::<32>().to_vec())
            }
        }
    }
    Ok(())
}

/// How a simulated call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Success { output: Bytes, gas_used: u64 },
    Revert { output: Bytes, gas_used: u64 },
    Halt { reason: String, gas_used: u64 },
}

impl CallOutcome {
    /// How revm's run of a simulated call ended (a creation's output is the code it returns).
    pub(crate) fn of(result: ExecutionResult) -> Self {
        match result {
            ExecutionResult::Success { output, gas, .. } => {
                let output = match output {
                    Output::Call(bytes) => bytes,
                    Output::Create(code, _) => code,
                };
                Self::Success { output, gas_used: gas.tx_gas_used() }
            }
            ExecutionResult::Revert { output, gas, .. } => {
                Self::Revert { output, gas_used: gas.tx_gas_used() }
            }
            ExecutionResult::Halt { reason, gas, .. } => {
                Self::Halt { reason: format!("{reason:?}"), gas_used: gas.tx_gas_used() }
            }
        }
    }

    /// The gas the call used, however it ended.
    pub fn gas_used(&self) -> u64 {
        match self {
            Self::Success { gas_used, .. }
            | Self::Revert { gas_used, .. }
            | Self::Halt { gas_used, .. } => *gas_used,
        }
    }
}

impl<V: EvmVariant> EvmVm<V> {
    /// Runs `request` on `state` in `block` without writing anything. The caller's nonce is its
    /// current one, so creations simulate at the address they would get. Past `deadline` the run
    /// is aborted: `VmError::Failed` with [`Deadline::error`]'s words.
    pub fn simulate(
        &self,
        state: &dyn StateReader,
        block: &BlockEnv,
        request: &CallRequest,
        deadline: Option<Deadline>,
    ) -> Result<CallOutcome, VmError> {
        let mut view = TxOverlay::new(state);
        let (tx, id) = self.call_tx(&mut view, block, request)?;
        let env = NvmTxEnv { block, sender: id, nonce: tx.nonce, tx_hash: [0; 32] };
        let result = self.transact(&mut view, &env, tx, false, request.token, deadline)?;
        Ok(CallOutcome::of(result.result))
    }

    /// Runs `requests` one after another on `view` in `block`, each seeing what the ones before
    /// it changed (`eth_simulateV1`'s calls): a call that succeeds writes into `view` as a block
    /// would (nothing below it); one that fails writes nothing. Each ends with its logs.
    ///
    /// `validated`, each runs as a transaction in a block would (geth's `validation: true`): at
    /// its nonce (the caller's next by default), paying its fees (`max_fee_per_gas`, 0 by
    /// default, and the priority fee) out of the caller's balance — which a reverted call pays
    /// and takes its nonce for too — within what is left of the block's gas. The first one
    /// refused for any of these ends the run: [`CallRefusal`].
    pub fn simulate_in_order(
        &self,
        view: &mut TxOverlay<'_>,
        block: &BlockEnv,
        requests: &[CallRequest],
        validated: bool,
        deadline: Option<Deadline>,
    ) -> Result<Result<Vec<SimulatedCall>, CallRefusal>, VmError> {
        let space = self.variant.space();
        let mut ended = Vec::with_capacity(requests.len());
        let mut block_gas_used = 0u64;
        for request in requests {
            let (mut tx, id) = self.call_tx(view, block, request)?;
            if validated {
                let left = block.gas_limit.saturating_sub(block_gas_used);
                if tx.gas_limit > left {
                    return Ok(Err(CallRefusal::BlockGasLimit { gas: tx.gas_limit, left }));
                }
                let max_fee = request.max_fee_per_gas.unwrap_or(0);
                tx.nonce = request.nonce.unwrap_or(tx.nonce);
                tx.gas_price = max_fee;
                tx.gas_priority_fee = Some(request.max_priority_fee_per_gas.unwrap_or(0));
                tx.tx_type = 2;
            }
            let env = NvmTxEnv { block, sender: id, nonce: tx.nonce, tx_hash: [0; 32] };
            let run =
                match self.transact_checked(view, &env, tx, validated, request.token, deadline)? {
                    Ok(run) => run,
                    Err(refusal) if validated => return Ok(Err(CallRefusal::of(refusal))),
                    Err(refusal) => return Err(CallRefusal::of(refusal).into()),
                };
            let logs = run.result.logs().to_vec();
            let outcome = CallOutcome::of(run.result);
            block_gas_used = block_gas_used.saturating_add(outcome.gas_used());
            let succeeded = matches!(outcome, CallOutcome::Success { .. });
            if succeeded || validated {
                let checkpoint = view.checkpoint();
                if let Err(e) = crate::vm::commit(view, run.state, space, &env, &logs) {
                    view.revert(checkpoint);
                    return Err(e);
                }
            }
            let logs = if succeeded { crate::vm::to_logs(logs) } else { Vec::new() };
            ended.push((outcome, logs));
        }
        Ok(Ok(ended))
    }

    /// revm's transaction for `request` as [`Self::simulate`] runs it (at gas price 0, the
    /// caller's current nonce), with the identity the caller's address is.
    pub fn call_tx(
        &self,
        view: &mut TxOverlay<'_>,
        block: &BlockEnv,
        request: &CallRequest,
    ) -> Result<(TxEnv, nvm_primitives::IdCom), VmError> {
        let from = request.from.unwrap_or(Address::ZERO);
        let id = Registry::resolve(view, &self.variant.space().address(from.into_array()))?;
        let nonce = Registry::nonce(view, &id)?;
        let tx = TxEnv::builder()
            .caller(from)
            .kind(request.to.map_or(TxKind::Create, TxKind::Call))
            .value(request.value)
            .data(request.data.clone())
            .gas_limit(request.gas.unwrap_or(TX_GAS_CAP).min(TX_GAS_CAP))
            .gas_price(0)
            .nonce(nonce)
            .chain_id(Some(block.chain_id))
            .build()
            .map_err(|e| VmError::Invalid(format!("{e:?}")))?;
        Ok((tx, id))
    }

    /// The least gas limit with which `request` succeeds (binary search, as geth does), or the
    /// outcome that makes it fail even with the block's whole gas limit. `deadline` bounds the
    /// whole search.
    pub fn estimate_gas(
        &self,
        state: &dyn StateReader,
        block: &BlockEnv,
        request: &CallRequest,
        deadline: Option<Deadline>,
    ) -> Result<Result<u64, CallOutcome>, VmError> {
        let at = |gas: u64| {
            if let Some(deadline) = deadline.filter(Deadline::passed) {
                return Err(VmError::Failed(deadline.error()));
            }
            let request = CallRequest { gas: Some(gas), ..request.clone() };
            self.simulate(state, block, &request, deadline)
        };
        let cap = request.gas.unwrap_or(TX_GAS_CAP).min(TX_GAS_CAP);
        let used = match at(cap)? {
            CallOutcome::Success { gas_used, .. } => gas_used,
            failure => return Ok(Err(failure)),
        };
        // Refunds and the 63/64 rule can make the gas used less than the limit needed.
        let (mut low, mut high) = (used.saturating_sub(1), cap);
        while low + 1 < high {
            let mid = low + (high - low) / 2;
            match at(mid)? {
                CallOutcome::Success { .. } => high = mid,
                _ => low = mid,
            }
        }
        Ok(Ok(high))
    }
}
