//! The Ethereum JSON-RPC (`eth_*`, `net_*`, `web3_*`) over the node interface and the EVM, on
//! the node's port. Answers the way geth does: quantities as 0x-hex, missing blocks as `null`, a
//! revert as error 3 with the revert data. This file serves state, calls and blocks; `tx`
//! serves transactions, receipts, logs and fees.

mod dev;
mod events;
mod reads;
mod simulate;
mod state;
mod trace;
mod tx;

use alloy_primitives::{Address, Bytes, U256};
use jsonrpsee::{
    RpcModule,
    types::{ErrorObjectOwned, Params},
};
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::Block;
use nvm_rpc::{
    NodeContext, RpcResult, add, hex0x, internal, invalid_params, param_str, parse_hex, required,
};
use nvm_state_api::{StateAccess, TxOverlay};
use nvm_vm_api::BlockEnv;
use nvm_vm_evm::{
    AccountOverride, CallOutcome, CallRequest, Deadline, code_hash_key, code_key, storage_key,
};
use serde_json::{Value, json};
use state::{block_env, state_at};

/// geth's code for a reverted call.
const EXECUTION_REVERTED: i32 = 3;
/// geth's code for a failed call or unavailable state.
pub(crate) const SERVER_ERROR: i32 = -32000;

/// geth's server error (`-32000`) with `message`: a request the node could not answer as asked.
pub(crate) fn server_error(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SERVER_ERROR, message.into(), None::<()>)
}

pub(crate) fn quantity(n: impl Into<u128>) -> Value {
    Value::String(format!("{:#x}", n.into()))
}

fn parse_address(text: &str) -> Result<Address, ErrorObjectOwned> {
    text.parse().map_err(|_| invalid_params(format!("invalid address {text:?}")))
}

fn parse_u256(text: &str) -> Result<U256, ErrorObjectOwned> {
    U256::from_str_radix(text.trim_start_matches("0x"), 16)
        .map_err(|_| invalid_params(format!("invalid quantity {text:?}")))
}

/// The height a block tag names (`latest`, `pending`, `safe`, `finalized`: the head).
pub(crate) fn block_height(
    ctx: &NodeContext,
    tag: Option<String>,
) -> Result<u64, ErrorObjectOwned> {
    height_of_tag(tag, ctx.node.head().map_err(internal)?.height)
}

/// The height `tag` names when the head is at `head`.
pub(crate) fn height_of_tag(tag: Option<String>, head: u64) -> Result<u64, ErrorObjectOwned> {
    match tag.as_deref() {
        None | Some("latest" | "pending" | "safe" | "finalized") => Ok(head),
        Some("earliest") => Ok(0),
        Some(hex) if hex.starts_with("0x") => u64::from_str_radix(&hex[2..], 16)
            .map_err(|_| invalid_params(format!("invalid block number {hex:?}"))),
        Some(other) => Err(invalid_params(format!("invalid block tag {other:?}"))),
    }
}

fn address_param(params: &Params<'_>) -> Result<Address, ErrorObjectOwned> {
    parse_address(&required(params, 0, "address")?)
}

fn get_balance(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let address = address_param(params)?;
    let snapshot = state_at(ctx, params, 1)?;
    let mut view = TxOverlay::new(&snapshot);
    let id =
        Registry::resolve(&mut view, &VmAddress::Evm(address.into_array())).map_err(internal)?;
    Ok(quantity(Ledger::balance(&mut view, &NATIVE_MINT, &id).map_err(internal)?))
}

fn get_transaction_count(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let address = address_param(params)?;
    let values: Vec<Value> = params.parse().unwrap_or_default();
    let pending = values.get(1).and_then(Value::as_str) == Some("pending");
    let snapshot = state_at(ctx, params, 1)?;
    let evm = VmAddress::Evm(address.into_array());
    Ok(quantity(nvm_rpc::account_nonce(ctx, &snapshot, &evm, pending)?))
}

fn get_code(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let address = address_param(params)?;
    let snapshot = state_at(ctx, params, 1)?;
    let mut view = TxOverlay::new(&snapshot);
    if Ledger::mint_of_erc20_view(&mut view, &address.into_array()).map_err(internal)?.is_some() {
        return Ok(Value::String(hex0x(&nvm_vm_evm::ERC20_VIEW_CODE)));
    }
    let code = match view.get(&code_hash_key(&address)).map_err(internal)? {
        Some(hash) if hash.len() == 32 => view
            .get(&code_key(&alloy_primitives::B256::from_slice(&hash)))
            .map_err(internal)?
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(Value::String(hex0x(&code)))
}

fn get_storage_at(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let address = address_param(params)?;
    let slot = parse_u256(&required(params, 1, "slot")?)?;
    let snapshot = state_at(ctx, params, 2)?;
    let value = TxOverlay::new(&snapshot).get(&storage_key(&address, &slot)).map_err(internal)?;
    Ok(Value::String(hex0x(&value.unwrap_or_else(|| vec![0; 32]))))
}

/// The call object of `eth_call` / `eth_estimateGas`, its gas within the node's cap for calls
/// (the cap when it names none, as geth).
fn call_request(ctx: &NodeContext, params: &Params<'_>) -> Result<CallRequest, ErrorObjectOwned> {
    let values: Vec<Value> = params.parse().map_err(|e| invalid_params(e.to_string()))?;
    call_object(ctx, values.first())
}

/// A call object as `eth_call` takes it (also each call of `eth_simulateV1`).
fn call_object(ctx: &NodeContext, call: Option<&Value>) -> Result<CallRequest, ErrorObjectOwned> {
    let Some(Value::Object(call)) = call else {
        return Err(invalid_params("expected a call object"));
    };
    let text = |name: &str| call.get(name).and_then(Value::as_str);
    let fee = |name: &str| -> Result<Option<u128>, ErrorObjectOwned> {
        let Some(value) = text(name).map(parse_u256).transpose()? else { return Ok(None) };
        u128::try_from(value).map(Some).map_err(|_| invalid_params(format!("{name} is past 2^128")))
    };
    let data =
        text("input").or_else(|| text("data")).map(parse_hex).transpose()?.unwrap_or_default();
    Ok(CallRequest {
        from: text("from").map(parse_address).transpose()?,
        to: text("to").map(parse_address).transpose()?,
        value: text("value").map(parse_u256).transpose()?.unwrap_or_default(),
        data: Bytes::from(data),
        gas: Some(
            text("gas")
                .map(parse_u256)
                .transpose()?
                .map_or(u64::MAX, |g| g.saturating_to::<u64>())
                .min(ctx.limits.call_gas_cap),
        ),
        token: None,
        nonce: text("nonce").map(parse_u256).transpose()?.map(|n| n.saturating_to::<u64>()),
        max_fee_per_gas: fee("maxFeePerGas")?.or(fee("gasPrice")?),
        max_priority_fee_per_gas: fee("maxPriorityFeePerGas")?.or(fee("gasPrice")?),
    })
}

fn failure(outcome: CallOutcome) -> ErrorObjectOwned {
    match outcome {
        CallOutcome::Revert { output, .. } => {
            ErrorObjectOwned::owned(EXECUTION_REVERTED, "execution reverted", Some(hex0x(&output)))
        }
        CallOutcome::Halt { reason, .. } => server_error(format!("execution halted: {reason}")),
        CallOutcome::Success { .. } => internal("a successful call reported as failed"),
    }
}

/// `eth_call`'s optional third parameter (geth's state override set), as the EVM applies it.
fn state_overrides(
    params: &Params<'_>,
) -> Result<Vec<(Address, AccountOverride)>, ErrorObjectOwned> {
    let values: Vec<Value> = params.parse().unwrap_or_default();
    let Some(raw) = values.get(2).filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    parse_overrides(raw)
}

/// `eth_call`'s third parameter as geth parses it (also a simulated block's `stateOverrides`).
fn parse_overrides(raw: &Value) -> Result<Vec<(Address, AccountOverride)>, ErrorObjectOwned> {
    let set: alloy_rpc_types_eth::state::StateOverride = serde_json::from_value(raw.clone())
        .map_err(|e| invalid_params(format!("invalid state override: {e}")))?;
    set.into_iter()
        .map(|(address, o)| {
            if o.state.is_some() || o.move_precompile_to.is_some() {
                return Err(invalid_params(
                    "state overrides: `state` (replacing all storage) and `movePrecompileToAddress` are not supported; use `stateDiff`",
                ));
            }
            let state_diff = o
                .state_diff
                .unwrap_or_default()
                .into_iter()
                .map(|(slot, value)| (U256::from_be_bytes(slot.0), U256::from_be_bytes(value.0)))
                .collect();
            Ok((address, AccountOverride { balance: o.balance, nonce: o.nonce, code: o.code, state_diff }))
        })
        .collect()
}

/// Runs `simulate` (a call or a gas estimate) on the state of the block `params` name, with `params`' overrides applied,
/// within the node's time budget for calls (counted from now).
fn with_overrides<T>(
    ctx: &NodeContext,
    params: &Params<'_>,
    simulate: impl FnOnce(
        &dyn nvm_state_api::StateReader,
        &BlockEnv,
        Option<Deadline>,
    ) -> Result<T, nvm_vm_api::VmError>,
) -> Result<T, ErrorObjectOwned> {
    let deadline = Deadline::after(ctx.limits.call_timeout);
    let snapshot = state_at(ctx, params, 1)?;
    let overrides = state_overrides(params)?;
    let mut view = TxOverlay::new(&snapshot);
    let vm_error = |e: nvm_vm_api::VmError| server_error(e.to_string());
    nvm_vm_evm::apply_overrides(&mut view, &overrides).map_err(vm_error)?;
    let (writes, _) = view.into_writes();
    let mut state = nvm_state_api::BlockState::new(&snapshot);
    state.merge(writes);
    simulate(&state, &block_env(ctx, &*snapshot)?, Some(deadline)).map_err(vm_error)
}

/// The EVM this node registered: `eth_call` runs the same one as blocks do.
fn evm(ctx: &NodeContext) -> Result<&nvm_vm_evm::EvmVm, ErrorObjectOwned> {
    ctx.node.executor().vms.vm_of().ok_or_else(|| internal("this node runs no EVM"))
}

fn call(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let request = call_request(ctx, params)?;
    let evm = evm(ctx)?;
    let outcome = with_overrides(ctx, params, |state, env, deadline| {
        evm.simulate(state, env, &request, deadline)
    })?;
    match outcome {
        CallOutcome::Success { output, .. } => Ok(Value::String(hex0x(&output))),
        failed => Err(failure(failed)),
    }
}

fn estimate_gas(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let request = call_request(ctx, params)?;
    let evm = evm(ctx)?;
    let estimate = with_overrides(ctx, params, |state, env, deadline| {
        evm.estimate_gas(state, env, &request, deadline)
    })?;
    estimate.map(quantity).map_err(failure)
}

/// geth's `eth_createAccessList`: the list, the gas used with it, and why the call failed if it
/// did (the list is still what it touched).
fn create_access_list(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let request = call_request(ctx, params)?;
    let evm = evm(ctx)?;
    let (list, outcome) = with_overrides(ctx, params, |state, env, deadline| {
        evm.create_access_list(state, env, &request, deadline)
    })?;
    let mut answer = json!({ "accessList": list, "gasUsed": quantity(outcome.gas_used()) });
    if !matches!(outcome, CallOutcome::Success { .. }) {
        answer["error"] = Value::String(failure(outcome).message().to_string());
    }
    Ok(answer)
}

/// A block in Ethereum's JSON shape (transactions as hashes, or as objects with `full`).
fn eth_block(ctx: &NodeContext, block: &Block, full: bool) -> RpcResult {
    let h = &block.header;
    let transactions = if full {
        let mut objects = Vec::with_capacity(block.transactions.len());
        for (i, raw) in block.transactions.iter().enumerate() {
            objects.push(crate::tx::tx_json(ctx, raw, Some((h, i as u64)))?);
        }
        objects
    } else {
        nvm_rpc::block_transactions_json(&ctx.node.executor().vms, block, false)
    };
    Ok(json!({
        "number": quantity(h.height),
        "hash": hex0x(&h.hash()),
        "parentHash": hex0x(&h.parent_hash),
        "timestamp": quantity(h.timestamp_ms / 1000),
        "miner": nvm_vm_evm::evm_address(&h.proposer),
        "stateRoot": hex0x(&h.state_root),
        "transactionsRoot": hex0x(&h.tx_root),
        "receiptsRoot": hex0x(&h.receipts_root),
        "gasLimit": quantity(ctx.node.executor().config.block_gas_limit),
        "gasUsed": quantity(h.gas_used),
        "baseFeePerGas": quantity(h.base_fee_per_gas),
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "nonce": "0x0000000000000000",
        "mixHash": hex0x(&[0; 32]),
        "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
        "logsBloom": crate::tx::block_logs_bloom(ctx, block)?,
        "extraData": "0x",
        "size": quantity(block.transactions.iter().map(|t| t.len() as u128).sum::<u128>()),
        "uncles": [],
        "transactions": transactions,
        "chainId": quantity(ctx.node.chain_id()),
    }))
}

fn get_block_by_number(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let height = block_height(ctx, param_str(params, 0, "block", false)?)?;
    let full = param_str(params, 1, "full", false)?.as_deref() == Some("true");
    let block = ctx.node.block(height).map_err(internal)?;
    block.map_or(Ok(Value::Null), |b| eth_block(ctx, &b, full))
}

fn get_block_by_hash(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let hash = nvm_rpc::parse_hash(&required(params, 0, "hash")?)?;
    let full = param_str(params, 1, "full", false)?.as_deref() == Some("true");
    let block = ctx.node.block_by_hash(&hash).map_err(internal)?;
    block.map_or(Ok(Value::Null), |b| eth_block(ctx, &b, full))
}

/// Registers the Ethereum namespace on the node's port (an [`nvm_rpc::Namespace`]).
pub fn register(module: &mut RpcModule<NodeContext>) {
    add(module, "eth_chainId", |ctx, _| Ok(quantity(ctx.node.chain_id())));
    add(module, "net_version", |ctx, _| Ok(Value::String(ctx.node.chain_id().to_string())));
    add(module, "web3_clientVersion", |_, _| {
        Ok(Value::String(format!("n-VM/v{}", env!("CARGO_PKG_VERSION"))))
    });
    // The node holds no keys: wallets sign, and send raw transactions. (A dev chain lists the
    // accounts impersonated there, as anvil does.)
    add(module, "eth_accounts", dev::accounts);
    add(module, "eth_syncing", |_, _| Ok(Value::Bool(false)));
    add(module, "eth_blockNumber", |ctx, _| {
        Ok(quantity(ctx.node.head().map_err(internal)?.height))
    });
    // What a legacy transaction should offer: the next block's base fee plus the suggested tip.
    add(module, "eth_gasPrice", |ctx, _| {
        let base_fee = ctx.node.next_base_fee().map_err(internal)?;
        Ok(quantity(u128::from(base_fee) + crate::tx::SUGGESTED_TIP))
    });
    add(module, "eth_maxPriorityFeePerGas", |_, _| Ok(quantity(crate::tx::SUGGESTED_TIP)));
    add(module, "eth_getBalance", get_balance);
    add(module, "eth_getTransactionCount", get_transaction_count);
    add(module, "eth_getCode", get_code);
    add(module, "eth_getStorageAt", get_storage_at);
    add(module, "eth_call", call);
    add(module, "eth_estimateGas", estimate_gas);
    add(module, "eth_createAccessList", create_access_list);
    add(module, "eth_getBlockByNumber", get_block_by_number);
    add(module, "eth_getBlockByHash", get_block_by_hash);
    crate::tx::register(module);
    crate::events::register(module);
    crate::reads::register(module);
    crate::trace::register(module);
    crate::dev::register(module);
    add(module, "eth_simulateV1", simulate::simulate_v1);
}
