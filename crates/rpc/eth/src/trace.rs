//! Tracing, as geth (`debug_traceTransaction`, `debug_traceCall`, `debug_traceBlockByNumber`,
//! `debug_traceBlockByHash`) and parity (`trace_transaction`, `trace_block`) serve it. A committed
//! transaction is executed again on the state of the block before its own (the node's history,
//! [`crate::state`]) after its block's earlier transactions, with revm-inspectors watching
//! ([`nvm_vm_evm::Tracer`]). Every EVM execution is traced — Ethereum-signed transactions and
//! native envelopes' EVM operations (an impersonated account's too); a block's others (other VMs'
//! work) are named with an error in geth's block traces and left out of parity's.

use crate::server_error;
use crate::state::{block_env, env_of, state_after, state_at};
use alloy_primitives::B256;
use jsonrpsee::{
    RpcModule,
    types::{ErrorObjectOwned, Params},
};
use nvm_executor::VerifiedTx;
use nvm_identity::{Registry, VmAddress};
use nvm_primitives::Block;
use nvm_rpc::{NodeContext, RpcResult, add, hex0x, internal, invalid_params, required};
use nvm_state_api::{BlockState, StateReader, TxOverlay};
use nvm_vm_api::{BlockEnv, TxEnv};
use nvm_vm_evm::{EthereumTx, EvmOp, Tracer, TransactionInfo};
use serde_json::{Value, json};

/// geth's tracing options at `index` (absent: the struct logger with its defaults).
fn tracer(params: &Params<'_>, index: usize) -> Result<Tracer, ErrorObjectOwned> {
    let values: Vec<Value> = params.parse().unwrap_or_default();
    let options = match values.get(index) {
        None | Some(Value::Null) => Default::default(),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| invalid_params(format!("invalid tracing options: {e}")))?,
    };
    Tracer::from_options(options).map_err(invalid_params)
}

/// A committed block's transactions, decoded and verified again (as the block ran them).
fn verified(ctx: &NodeContext, block: &Block) -> Result<Vec<VerifiedTx>, ErrorObjectOwned> {
    let vms = &ctx.node.executor().vms;
    VerifiedTx::verify_many(vms, block.transactions.clone())
        .into_iter()
        .map(|tx| tx.map_err(|e| internal(format!("a committed transaction does not verify: {e}"))))
        .collect()
}

/// Visits `block`'s transactions up to `last` (all with `None`), each with the state it ran on:
/// the state after the parent block plus what the block's earlier transactions wrote.
fn each_in_block(
    ctx: &NodeContext,
    block: &Block,
    last: Option<usize>,
    mut visit: impl FnMut(
        usize,
        &VerifiedTx,
        &dyn StateReader,
        &BlockEnv,
    ) -> Result<(), ErrorObjectOwned>,
) -> Result<(), ErrorObjectOwned> {
    let height = block.header.height;
    let parent = height
        .checked_sub(1)
        .ok_or_else(|| server_error("genesis has no transactions to trace"))?;
    let before = state_after(ctx, parent)?;
    let env = env_of(ctx, &block.header);
    let txs = verified(ctx, block)?;
    let mut state = BlockState::new(&before);
    let executor = ctx.node.executor();
    for (index, tx) in txs.iter().enumerate().take(last.map_or(usize::MAX, |l| l + 1)) {
        visit(index, tx, &state, &env)?;
        executor.replay(&mut state, &env, std::slice::from_ref(tx)).map_err(internal)?;
    }
    Ok(())
}

/// An EVM execution as its block ran it: revm's transaction, its environment (the identity
/// that sent it), whether it paid for gas, and the state it ran on.
struct EvmRun<'s, 'e> {
    tx_env: TxEnv<'e>,
    revm_tx: nvm_vm_evm::RevmTx,
    pays_gas: bool,
    state: BlockState<'s>,
}

/// The EVM execution of a block's transaction that ran one: an Ethereum-signed transaction (its
/// signer's identity, at the gas price it paid), or a native envelope's EVM operation (the
/// sender's account — an impersonated `DevCallAs`'s `from` — at gas price 0, on the state after
/// its flat fee was taken, as the block ran it). Anything else has no EVM trace.
fn evm_run<'s, 'e>(
    ctx: &NodeContext,
    tx: &VerifiedTx,
    state: &'s dyn StateReader,
    env: &'e BlockEnv,
) -> Result<EvmRun<'s, 'e>, ErrorObjectOwned> {
    let hash = tx.hash();
    if let Some(eth) = tx.wallet::<EthereumTx>() {
        let signer = VmAddress::Evm(eth.signer().into_array());
        let sender = Registry::resolve(&mut TxOverlay::new(state), &signer).map_err(internal)?;
        let tx_env = TxEnv { block: env, sender, nonce: eth.nonce(), tx_hash: hash };
        let state = BlockState::new(state);
        return Ok(EvmRun { tx_env, revm_tx: eth.revm_tx(), pays_gas: true, state });
    }
    let op = tx
        .native()
        .and_then(|native| EvmOp::decode(&native.body.payload).ok().map(|op| (native, op)));
    let Some((native, op)) = op else {
        return Err(server_error(format!(
            "transaction {} ran no EVM code: it has no EVM trace",
            hex0x(&hash)
        )));
    };
    let body = &native.body;
    let (caller, nonce) = match &op {
        EvmOp::DevCallAs { from, nonce, .. } => (alloy_primitives::Address::from(*from), *nonce),
        _ => (nvm_vm_evm::AccountSpace::ETHEREUM.account_of(&body.sender), body.nonce),
    };
    let revm_tx = nvm_vm_evm::revm_tx(op, caller, nonce, env.chain_id).map_err(internal)?;
    let mut paid = TxOverlay::new(state);
    let fee = ctx.node.executor().config.tx_fee;
    nvm_ledger::Ledger::debit(&mut paid, &nvm_ledger::NATIVE_MINT, &body.sender, fee)
        .map_err(internal)?;
    let mut after_fee = BlockState::new(state);
    after_fee.merge(paid.into_writes().0);
    let tx_env = TxEnv { block: env, sender: body.sender, nonce: body.nonce, tx_hash: hash };
    Ok(EvmRun { tx_env, revm_tx, pays_gas: false, state: after_fee })
}

/// What one trace may cost: the response's size in recorded bytes, the time of a call.
fn bounds(ctx: &NodeContext) -> nvm_vm_evm::TraceBounds {
    nvm_vm_evm::TraceBounds {
        max_recorded_bytes: ctx.limits.max_response_bytes as usize,
        deadline: Some(nvm_vm_evm::Deadline::after(ctx.limits.call_timeout)),
    }
}

fn trace_failure(e: nvm_vm_api::VmError) -> ErrorObjectOwned {
    match e {
        nvm_vm_api::VmError::State(e) => internal(e),
        other => server_error(other.to_string()),
    }
}

/// The block and position of a committed transaction (geth's words when there is none).
fn located(ctx: &NodeContext, params: &Params<'_>) -> Result<(Block, usize), ErrorObjectOwned> {
    let hash = nvm_rpc::parse_hash(&required(params, 0, "transaction hash")?)?;
    let not_found = || server_error(format!("transaction {} not found", hex0x(&hash)));
    let location = ctx.node.tx_location(&hash).map_err(internal)?.ok_or_else(not_found)?;
    let block = ctx.node.block(location.height).map_err(internal)?.ok_or_else(not_found)?;
    Ok((block, location.index as usize))
}

fn debug_trace_transaction(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let tracer = tracer(params, 1)?;
    let (block, index) = located(ctx, params)?;
    let evm = crate::evm(ctx)?;
    let mut trace = Value::Null;
    each_in_block(ctx, &block, Some(index), |at, tx, state, env| {
        if at == index {
            let run = evm_run(ctx, tx, state, env)?;
            let traced = evm
                .trace_geth(
                    &run.state,
                    &run.tx_env,
                    run.revm_tx,
                    run.pays_gas,
                    &tracer,
                    &bounds(ctx),
                )
                .map_err(trace_failure)?;
            trace = serde_json::to_value(traced).map_err(internal)?;
        }
        Ok(())
    })?;
    Ok(trace)
}

/// geth's block trace: `{txHash, result}` for each transaction, `{txHash, error}` for one that
/// has no EVM trace.
fn debug_trace_block(ctx: &NodeContext, block: Option<Block>, tracer: Tracer) -> RpcResult {
    let block = block.ok_or_else(|| server_error("block not found"))?;
    let evm = crate::evm(ctx)?;
    let mut traces = Vec::with_capacity(block.transactions.len());
    // One time budget for the whole block.
    let bounds = bounds(ctx);
    each_in_block(ctx, &block, None, |_, tx, state, env| {
        let hash = hex0x(&tx.hash());
        let traced = evm_run(ctx, tx, state, env).and_then(|run| {
            evm.trace_geth(&run.state, &run.tx_env, run.revm_tx, run.pays_gas, &tracer, &bounds)
                .map_err(trace_failure)
        });
        traces.push(match traced {
            Ok(trace) => json!({ "txHash": hash, "result": trace }),
            Err(e) => json!({ "txHash": hash, "error": e.message() }),
        });
        Ok(())
    })?;
    Ok(Value::Array(traces))
}

fn debug_trace_block_by_number(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let height = crate::block_height(ctx, nvm_rpc::param_str(params, 0, "block", true)?)?;
    let block = ctx.node.block(height).map_err(internal)?;
    debug_trace_block(ctx, block, tracer(params, 1)?)
}

fn debug_trace_block_by_hash(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let hash = nvm_rpc::parse_hash(&required(params, 0, "block hash")?)?;
    let block = ctx.node.block_by_hash(&hash).map_err(internal)?;
    debug_trace_block(ctx, block, tracer(params, 1)?)
}

/// A call traced on the state of the block it names, as `eth_call` runs it.
fn debug_trace_call(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let request = crate::call_request(ctx, params)?;
    let tracer = tracer(params, 2)?;
    let state = state_at(ctx, params, 1)?;
    let env = block_env(ctx, &*state)?;
    let evm = crate::evm(ctx)?;
    let (revm_tx, sender) =
        evm.call_tx(&mut TxOverlay::new(&state), &env, &request).map_err(trace_failure)?;
    let tx_env = TxEnv { block: &env, sender, nonce: revm_tx.nonce, tx_hash: [0; 32] };
    let traced = evm
        .trace_geth(&state, &tx_env, revm_tx, false, &tracer, &bounds(ctx))
        .map_err(trace_failure)?;
    serde_json::to_value(traced).map_err(internal)
}

/// Parity's flat traces of the EVM executions of `block`'s transactions (all of them, or the
/// one at `only`).
fn parity_traces(ctx: &NodeContext, block: &Block, only: Option<usize>) -> RpcResult {
    let evm = crate::evm(ctx)?;
    let header = &block.header;
    let mut traces = Vec::new();
    let bounds = bounds(ctx);
    each_in_block(ctx, block, only, |index, tx, state, env| {
        if only.is_some_and(|only| only != index) {
            return Ok(());
        }
        // (A transaction that ran no EVM code has no parity trace: none is listed.)
        let run = match evm_run(ctx, tx, state, env) {
            Ok(run) => run,
            Err(_) if only.is_none() => return Ok(()),
            Err(e) => return Err(e),
        };
        let info = TransactionInfo {
            hash: Some(B256::from(tx.hash())),
            index: Some(index as u64),
            block_hash: Some(B256::from(header.hash())),
            block_number: Some(header.height),
            base_fee: Some(header.base_fee_per_gas),
            block_timestamp: Some(header.timestamp_ms / 1000),
        };
        let traced =
            evm.trace_parity(&run.state, &run.tx_env, run.revm_tx, run.pays_gas, info, &bounds);
        traces.extend(traced.map_err(trace_failure)?);
        Ok(())
    })?;
    serde_json::to_value(traces).map_err(internal)
}

fn trace_transaction(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let (block, index) = located(ctx, params)?;
    parity_traces(ctx, &block, Some(index))
}

fn trace_block(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let height = crate::block_height(ctx, nvm_rpc::param_str(params, 0, "block", true)?)?;
    match ctx.node.block(height).map_err(internal)? {
        // Parity answers null for a block it does not have.
        None => Ok(Value::Null),
        Some(_) if height == 0 => Ok(Value::Array(Vec::new())),
        Some(block) => parity_traces(ctx, &block, None),
    }
}

pub(crate) fn register(module: &mut RpcModule<NodeContext>) {
    add(module, "debug_traceTransaction", debug_trace_transaction);
    add(module, "debug_traceCall", debug_trace_call);
    add(module, "debug_traceBlockByNumber", debug_trace_block_by_number);
    add(module, "debug_traceBlockByHash", debug_trace_block_by_hash);
    add(module, "trace_transaction", trace_transaction);
    add(module, "trace_block", trace_block);
}
