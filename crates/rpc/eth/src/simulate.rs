//! geth's `eth_simulateV1` (what viem's `simulateBlocks` / `simulateCalls` and wallets' previews
//! send): simulated blocks after the block named, each with its state overrides and calls, every
//! call seeing what the calls before it changed. Nothing is written; `validation` (a block's
//! nonce and fee checks) is not offered, and neither are block overrides.

use crate::{call_object, parse_overrides, quantity, state::block_env, state::state_at};
use jsonrpsee::types::Params;
use nvm_rpc::{NodeContext, RpcResult, hex0x, invalid_params};
use nvm_state_api::TxOverlay;
use nvm_vm_evm::{CallOutcome, Deadline};
use serde_json::{Value, json};

/// Most simulated blocks one request holds (geth's limit is 256).
const MAX_BLOCKS: usize = 16;
/// Most calls one request holds over all its blocks.
const MAX_CALLS: usize = 1_000;

pub(crate) fn simulate_v1(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let values: Vec<Value> = params.parse().map_err(|e| invalid_params(e.to_string()))?;
    let Some(Value::Object(payload)) = values.first() else {
        return Err(invalid_params("expected {blockStateCalls: [...]}"));
    };
    if payload.get("validation").and_then(Value::as_bool) == Some(true) {
        return Err(invalid_params(
            "eth_simulateV1: validation is not offered (calls run as eth_call runs them)",
        ));
    }
    let blocks = payload.get("blockStateCalls").and_then(Value::as_array);
    let blocks = blocks.ok_or_else(|| invalid_params("blockStateCalls must be a list"))?;
    let calls: usize =
        blocks.iter().map(|b| b.get("calls").and_then(Value::as_array).map_or(0, Vec::len)).sum();
    if blocks.len() > MAX_BLOCKS || calls > MAX_CALLS {
        return Err(invalid_params(format!(
            "eth_simulateV1 takes at most {MAX_BLOCKS} blocks and {MAX_CALLS} calls, got {} and {calls}",
            blocks.len()
        )));
    }
    let state = state_at(ctx, params, 1)?;
    let mut env = block_env(ctx, &*state)?;
    let mut parent_hash = state.head().map(|head| head.hash).unwrap_or_default();
    let evm = crate::evm(ctx)?;
    let deadline = Some(Deadline::after(ctx.limits.call_timeout));
    let mut view = TxOverlay::new(&state);
    let mut simulated = Vec::with_capacity(blocks.len());
    for block in blocks {
        if block.get("blockOverrides").is_some_and(|o| !o.is_null()) {
            return Err(invalid_params("eth_simulateV1: blockOverrides are not offered"));
        }
        if let Some(raw) = block.get("stateOverrides").filter(|o| !o.is_null()) {
            let overrides = parse_overrides(raw)?;
            nvm_vm_evm::apply_overrides(&mut view, &overrides)
                .map_err(|e| invalid_params(e.to_string()))?;
        }
        let requests = match block.get("calls") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(calls)) => {
                calls.iter().map(|c| call_object(ctx, Some(c))).collect::<Result<_, _>>()?
            }
            Some(_) => return Err(invalid_params("a simulated block's calls must be a list")),
        };
        // The block after the last: one more in height, a second later.
        env.height += 1;
        env.timestamp_ms += 1_000;
        env.parent_hash = parent_hash;
        let ended = evm
            .simulate_in_order(&mut view, &env, &requests, deadline)
            .map_err(|e| crate::server_error(e.to_string()))?;
        let hash = nvm_primitives::sha256_parts(&[
            b"nvm:simulated-block:",
            &parent_hash,
            &env.height.to_le_bytes(),
        ]);
        let gas_used: u64 = ended.iter().map(|(outcome, _)| outcome.gas_used()).sum();
        let calls: Vec<Value> = ended
            .into_iter()
            .map(|(outcome, logs)| call_json(&env, &hash, outcome, logs))
            .collect();
        simulated.push(json!({
            "number": quantity(env.height),
            "hash": hex0x(&hash),
            "parentHash": hex0x(&parent_hash),
            "timestamp": quantity(env.timestamp_ms / 1000),
            "gasLimit": quantity(env.gas_limit),
            "gasUsed": quantity(gas_used),
            "baseFeePerGas": quantity(env.base_fee_per_gas),
            "miner": nvm_vm_evm::evm_address(&env.proposer),
            "transactions": [],
            "calls": calls,
        }));
        parent_hash = hash;
    }
    Ok(Value::Array(simulated))
}

/// One simulated call's result, as geth shows it.
fn call_json(
    env: &nvm_vm_api::BlockEnv,
    block_hash: &[u8; 32],
    outcome: CallOutcome,
    logs: Vec<nvm_primitives::Log>,
) -> Value {
    let gas_used = quantity(outcome.gas_used());
    match outcome {
        CallOutcome::Success { output, .. } => {
            let logs: Vec<Value> = logs
                .iter()
                .enumerate()
                .map(|(i, log)| {
                    json!({
                        "address": hex0x(&log.source[12..]),
                        "topics": log.topics.iter().map(|t| hex0x(t)).collect::<Vec<_>>(),
                        "data": hex0x(&log.data),
                        "blockNumber": quantity(env.height),
                        "blockHash": hex0x(block_hash),
                        "logIndex": quantity(i as u64),
                        "transactionHash": hex0x(&[0; 32]),
                        "transactionIndex": "0x0",
                        "removed": false,
                    })
                })
                .collect();
            json!({ "status": "0x1", "returnData": hex0x(&output), "gasUsed": gas_used, "logs": logs })
        }
        failed => {
            let (data, code, message) = match &failed {
                CallOutcome::Revert { output, .. } => {
                    (hex0x(output), 3, "execution reverted".to_string())
                }
                CallOutcome::Halt { reason, .. } => {
                    ("0x".into(), -32015, format!("execution halted: {reason}"))
                }
                CallOutcome::Success { .. } => ("0x".into(), 0, String::new()),
            };
            json!({
                "status": "0x0",
                "returnData": data,
                "gasUsed": gas_used,
                "logs": [],
                "error": { "code": code, "message": message, "data": data },
            })
        }
    }
}
