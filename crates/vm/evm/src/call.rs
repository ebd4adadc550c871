//! Read-only execution (`eth_call`, `eth_estimateGas`): revm over a view, nothing written.

use crate::{Deadline, EvmVariant, EvmVm, TX_GAS_CAP};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use nvm_identity::{Registry, VmAddress};
use nvm_state_api::{StateAccess, StateReader, TxOverlay};
use nvm_vm_api::{BlockEnv, TxEnv as NvmTxEnv, VmError};
use revm::context::{
    TxEnv,
    result::{ExecutionResult, Output},
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
    pub fn simulate_in_order(
        &self,
        view: &mut TxOverlay<'_>,
        block: &BlockEnv,
        requests: &[CallRequest],
        deadline: Option<Deadline>,
    ) -> Result<Vec<(CallOutcome, Vec<nvm_primitives::Log>)>, VmError> {
        let space = self.variant.space();
        let mut ended = Vec::with_capacity(requests.len());
        for request in requests {
            let (tx, id) = self.call_tx(view, block, request)?;
            let env = NvmTxEnv { block, sender: id, nonce: tx.nonce, tx_hash: [0; 32] };
            let run = self.transact(view, &env, tx, false, request.token, deadline)?;
            let logs = run.result.logs().to_vec();
            let outcome = CallOutcome::of(run.result);
            if matches!(outcome, CallOutcome::Success { .. }) {
                let checkpoint = view.checkpoint();
                if let Err(e) = crate::vm::commit(view, run.state, space, &env, &logs) {
                    view.revert(checkpoint);
                    return Err(e);
                }
                ended.push((outcome, crate::vm::to_logs(logs)));
            } else {
                ended.push((outcome, Vec::new()));
            }
        }
        Ok(ended)
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
