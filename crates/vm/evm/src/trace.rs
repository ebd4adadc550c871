//! Traces of EVM executions, as geth's `debug_trace*` and parity's `trace_*` show them, recorded by
//! revm-inspectors' `TracingInspector` (the tracers reth serves): the struct logger (geth's
//! default), `callTracer` and `prestateTracer`, and parity's flat call traces.

use crate::{AccountSpace, CallOutcome, CallRequest, EvmVariant, EvmVm, UnifiedDb};
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, B256, U256};
use alloy_rpc_types_trace::{
    geth::{
        CallConfig, GethDebugBuiltInTracerType, GethDebugTracerType, GethDebugTracingOptions,
        GethDefaultTracingOptions, GethTrace, PreStateConfig,
    },
    parity::LocalizedTransactionTrace,
};
use nvm_state_api::{StateReader, TxOverlay};
use nvm_vm_api::{BlockEnv, TxEnv, VmError, VmResult};
use revm::{
    Database, DatabaseRef,
    context::TxEnv as RevmTx,
    state::{AccountInfo, Bytecode},
};
use revm_inspectors::{
    access_list::AccessListInspector,
    tracing::{TraceLimitBehavior, TraceLimits, TracingInspector, TracingInspectorConfig},
};
use std::cell::RefCell;

pub use alloy_consensus::transaction::TransactionInfo;

/// Which of geth's tracers a `debug_trace*` request asked for, with its options.
#[derive(Clone, Debug)]
pub enum Tracer {
    /// The struct logger: every opcode with its stack, memory and storage (as configured).
    StructLogs(GethDefaultTracingOptions),
    /// `callTracer`: the tree of calls.
    Calls(CallConfig),
    /// `prestateTracer`: the accounts the execution touched, as they were before (or the
    /// difference, in diff mode).
    Prestate(PreStateConfig),
}

impl Tracer {
    /// The tracer geth's options name; another tracer (a JavaScript one, `4byteTracer`, …) is
    /// refused with the list of those served.
    pub fn from_options(options: GethDebugTracingOptions) -> Result<Self, String> {
        let bad_config = |e: serde_json::Error| format!("invalid tracerConfig: {e}");
        match options.tracer {
            None => Ok(Self::StructLogs(options.config)),
            Some(GethDebugTracerType::BuiltInTracer(GethDebugBuiltInTracerType::CallTracer)) => {
                Ok(Self::Calls(options.tracer_config.into_call_config().map_err(bad_config)?))
            }
            Some(GethDebugTracerType::BuiltInTracer(
                GethDebugBuiltInTracerType::PreStateTracer,
            )) => Ok(Self::Prestate(
                options.tracer_config.into_pre_state_config().map_err(bad_config)?,
            )),
            Some(other) => Err(format!(
                "tracer {other:?} is not served: the struct logger (no tracer), callTracer and prestateTracer are"
            )),
        }
    }

    fn inspector(&self, bounds: &TraceBounds) -> TracingInspector {
        bounds.bound(TracingInspector::new(match self {
            Self::StructLogs(options) => {
                // The struct logger records every step (its stack too), which the byte budget
                // does not count: at most one step per STEP_BYTES of it.
                let most = (bounds.max_recorded_bytes / STEP_BYTES).max(1) as u64;
                let limit = options.limit.filter(|&l| l > 0).map_or(most, |l| l.min(most));
                TracingInspectorConfig::from_geth_config(&GethDefaultTracingOptions {
                    limit: Some(limit),
                    ..*options
                })
            }
            Self::Calls(config) => TracingInspectorConfig::from_geth_call_config(config),
            Self::Prestate(config) => TracingInspectorConfig::from_geth_prestate_config(config),
        }))
    }
}

/// Bytes of the byte budget one struct-log step counts for (a step with a short stack shows as
/// ~150 bytes of JSON; a deep one holds more).
const STEP_BYTES: usize = 512;

/// What one trace may cost: the bytes its inspector records (past them the traced run halts,
/// so one request cannot fill the node's memory) and the time it runs.
#[derive(Clone, Copy, Debug)]
pub struct TraceBounds {
    pub max_recorded_bytes: usize,
    pub deadline: Option<crate::Deadline>,
}

impl TraceBounds {
    fn bound(&self, inspector: TracingInspector) -> TracingInspector {
        inspector.with_limits(
            TraceLimits::default()
                .set_max_recorded_bytes(Some(self.max_recorded_bytes))
                .set_behavior(TraceLimitBehavior::Halt),
        )
    }
}

impl<V: EvmVariant> EvmVm<V> {
    /// Runs `tx` on `state` in the transaction environment `env` with geth's `tracer` watching
    /// and returns its trace (nothing is written). `pays_gas` as in a block: true for an
    /// Ethereum-signed transaction, false for a simulated call.
    pub fn trace_geth(
        &self,
        state: &dyn StateReader,
        env: &TxEnv<'_>,
        tx: RevmTx,
        pays_gas: bool,
        tracer: &Tracer,
        bounds: &TraceBounds,
    ) -> VmResult<GethTrace> {
        let mut view = TxOverlay::new(state);
        let inspector = tracer.inspector(bounds);
        let (outcome, inspector) =
            self.inspect(&mut view, env, tx, pays_gas, inspector, bounds.deadline)?;
        let result = &outcome.result;
        let gas_used = result.tx_gas_used();
        let builder = inspector.into_geth_builder();
        Ok(match tracer {
            Tracer::StructLogs(options) => {
                let output = result.output().cloned().unwrap_or_default();
                builder.geth_traces(gas_used, output, *options).into()
            }
            Tracer::Calls(config) => builder.geth_call_traces(*config, gas_used).into(),
            Tracer::Prestate(config) => {
                let before = PreState::new(state, self.variant.space());
                builder
                    .geth_prestate_traces(&outcome, config, &before)
                    .map_err(|e| VmError::State(e.0))?
                    .into()
            }
        })
    }

    /// Runs `tx` on `state` as [`Self::trace_geth`] does and returns parity's flat traces of its
    /// calls, placed by `info` (`trace_transaction`, `trace_block`).
    pub fn trace_parity(
        &self,
        state: &dyn StateReader,
        env: &TxEnv<'_>,
        tx: RevmTx,
        pays_gas: bool,
        info: TransactionInfo,
        bounds: &TraceBounds,
    ) -> VmResult<Vec<LocalizedTransactionTrace>> {
        let mut view = TxOverlay::new(state);
        let inspector =
            bounds.bound(TracingInspector::new(TracingInspectorConfig::default_parity()));
        let (_, inspector) =
            self.inspect(&mut view, env, tx, pays_gas, inspector, bounds.deadline)?;
        Ok(inspector.into_parity_builder().into_localized_transaction_traces(info))
    }
}

impl<V: EvmVariant> EvmVm<V> {
    /// geth's `eth_createAccessList`: the accounts and storage slots `request` touches on `state`
    /// (beyond its caller, its recipient and the precompiles, which every call may use warm), and
    /// how the call ends run again with that list — its gas is what a transaction carrying the list
    /// would use.
    pub fn create_access_list(
        &self,
        state: &dyn StateReader,
        block: &BlockEnv,
        request: &CallRequest,
        deadline: Option<crate::Deadline>,
    ) -> VmResult<(AccessList, CallOutcome)> {
        let (mut tx, sender) = self.call_tx(&mut TxOverlay::new(state), block, request)?;
        let env = TxEnv { block, sender, nonce: tx.nonce, tx_hash: [0; 32] };
        let inspector = AccessListInspector::new(AccessList::default());
        let mut view = TxOverlay::new(state);
        let (_, inspector) =
            self.inspect(&mut view, &env, tx.clone(), false, inspector, deadline)?;
        let list = inspector.into_access_list();
        tx.access_list = list.clone();
        let run = self.transact(&mut TxOverlay::new(state), &env, tx, false, None, deadline)?;
        Ok((list, CallOutcome::of(run.result)))
    }
}

/// The state before a traced execution, as revm-inspectors' prestate tracer reads it (through
/// `&self`): each read opens the unified state's EVM view afresh over one overlay of it.
struct PreState<'a> {
    state: RefCell<TxOverlay<'a>>,
    space: AccountSpace,
}

impl<'a> PreState<'a> {
    fn new(state: &'a dyn StateReader, space: AccountSpace) -> Self {
        Self { state: RefCell::new(TxOverlay::new(state)), space }
    }

    fn read<T>(
        &self,
        read: impl FnOnce(&mut UnifiedDb<'_, '_>) -> Result<T, crate::DbError>,
    ) -> Result<T, crate::DbError> {
        let mut state = self.state.borrow_mut();
        read(&mut UnifiedDb::in_space(&mut state, self.space))
    }
}

impl DatabaseRef for PreState<'_> {
    type Error = crate::DbError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        self.read(|db| db.basic(address))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.read(|db| db.code_by_hash(code_hash))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        self.read(|db| db.storage(address, index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.read(|db| db.block_hash(number))
    }
}
