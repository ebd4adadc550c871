//! geth's `eth_simulateV1` (what viem's `simulateBlocks` / `simulateCalls` and wallets' previews
//! send): simulated blocks after the block named, each with its state overrides and calls, every
//! call seeing what the calls before it changed, each block's number, time, gas limit and base
//! fee as its `blockOverrides` set them (skipped numbers are simulated as empty blocks, as geth
//! does). Nothing is written. With `validation: true` each call runs as a transaction in a block
//! would — at its nonce, paying its fees, within the block's gas — and the first one that could
//! not be in a block ends the request with geth's code for why (-38010 … -38015).

use crate::{
    call_object, parse_overrides, parse_u256, quantity, state::block_env, state::state_at,
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use nvm_rpc::{NodeContext, RpcResult, hex0x, invalid_params};
use nvm_state_api::TxOverlay;
use nvm_vm_evm::{CallOutcome, CallRefusal, Deadline};
use serde_json::{Value, json};

/// Most simulated blocks one request holds (geth's limit is 256).
const MAX_BLOCKS: usize = 16;
/// Most calls one request holds over all its blocks.
const MAX_CALLS: usize = 1_000;
/// Most blocks one request simulates, the empty ones its skipped numbers add included (geth's).
const MAX_SIMULATED: usize = 256;

/// geth's errors for block overrides out of order, and for too many blocks.
const BLOCK_NUMBER_INVALID: i32 = -38020;
const BLOCK_TIMESTAMP_INVALID: i32 = -38021;
const TOO_MANY_BLOCKS: i32 = -38026;

fn simulation_error(code: i32, message: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message, None::<()>)
}

/// A validated call's refusal, with geth's code for it.
fn refused(refusal: CallRefusal) -> ErrorObjectOwned {
    let code = match refusal {
        CallRefusal::NonceTooLow { .. } => -38010,
        CallRefusal::NonceTooHigh { .. } => -38011,
        CallRefusal::FeeCapBelowBaseFee => -38012,
        CallRefusal::IntrinsicGas { .. } => -38013,
        CallRefusal::InsufficientFunds { .. } => -38014,
        CallRefusal::BlockGasLimit { .. } => -38015,
        CallRefusal::Other(_) => jsonrpsee::types::error::INVALID_PARAMS_CODE,
    };
    simulation_error(code, refusal.to_string())
}

/// A simulated block's `blockOverrides`: what it sets of its environment.
#[derive(Default)]
struct BlockOverrides {
    number: Option<u64>,
    time: Option<u64>,
    gas_limit: Option<u64>,
    base_fee: Option<u64>,
}

impl BlockOverrides {
    fn parse(raw: Option<&Value>) -> Result<Self, ErrorObjectOwned> {
        let Some(Value::Object(fields)) = raw.filter(|o| !o.is_null()) else {
            return match raw {
                None | Some(Value::Null) => Ok(Self::default()),
                Some(_) => Err(invalid_params("blockOverrides must be an object")),
            };
        };
        let mut overrides = Self::default();
        for (name, value) in fields {
            let number = || -> Result<u64, ErrorObjectOwned> {
                let text = value.as_str().ok_or_else(|| {
                    invalid_params(format!("blockOverrides.{name} must be a hex quantity"))
                })?;
                u64::try_from(parse_u256(text)?).map_err(|_| {
                    invalid_params(format!("blockOverrides.{name} does not fit in 64 bits"))
                })
            };
            match name.as_str() {
                "number" => overrides.number = Some(number()?),
                "time" => overrides.time = Some(number()?),
                "gasLimit" => overrides.gas_limit = Some(number()?),
                "baseFeePerGas" => overrides.base_fee = Some(number()?),
                other => {
                    return Err(invalid_params(format!(
                        "eth_simulateV1: blockOverrides.{other} is not offered (number, time, \
                         gasLimit and baseFeePerGas are)"
                    )));
                }
            }
        }
        Ok(overrides)
    }
}

pub(crate) fn simulate_v1(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let values: Vec<Value> = params.parse().map_err(|e| invalid_params(e.to_string()))?;
    let Some(Value::Object(payload)) = values.first() else {
        return Err(invalid_params("expected {blockStateCalls: [...]}"));
    };
    let validated = match payload.get("validation") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(validated)) => *validated,
        Some(_) => return Err(invalid_params("validation must be true or false")),
    };
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
        let overrides = BlockOverrides::parse(block.get("blockOverrides"))?;
        // A number past the next: the blocks between are simulated, empty.
        let number = overrides.number.unwrap_or(env.height + 1);
        if number <= env.height {
            return Err(simulation_error(
                BLOCK_NUMBER_INVALID,
                format!("block numbers must be in order: {number} <= {}", env.height),
            ));
        }
        let skipped = usize::try_from(number - env.height - 1).unwrap_or(usize::MAX);
        if simulated.len().saturating_add(skipped) >= MAX_SIMULATED {
            return Err(simulation_error(
                TOO_MANY_BLOCKS,
                format!("too many blocks: at most {MAX_SIMULATED} simulated"),
            ));
        }
        while env.height + 1 < number {
            next_block(&mut env, &mut parent_hash, None);
            simulated.push(block_json(&env, &parent_hash, 0, Vec::new()));
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
        let parent_time = env.timestamp_ms / 1000;
        if let Some(time) = overrides.time.filter(|t| *t <= parent_time) {
            return Err(simulation_error(
                BLOCK_TIMESTAMP_INVALID,
                format!("block timestamps must be in order: {time} <= {parent_time}"),
            ));
        }
        next_block(&mut env, &mut parent_hash, overrides.time);
        env.gas_limit = overrides.gas_limit.unwrap_or(env.gas_limit);
        env.base_fee_per_gas = overrides.base_fee.unwrap_or(env.base_fee_per_gas);
        let ended = evm
            .simulate_in_order(&mut view, &env, &requests, validated, deadline)
            .map_err(|e| crate::server_error(e.to_string()))?
            .map_err(refused)?;
        let hash = parent_hash;
        let gas_used: u64 = ended.iter().map(|(outcome, _)| outcome.gas_used()).sum();
        let calls: Vec<Value> = ended
            .into_iter()
            .map(|(outcome, logs)| call_json(&env, &hash, outcome, logs))
            .collect();
        simulated.push(block_json(&env, &hash, gas_used, calls));
    }
    Ok(Value::Array(simulated))
}

/// Moves `env` to the block after it — one more in height, at `time` (seconds) or a second
/// later — and `hash` to that block's made-up hash, its parent's recorded in `env`.
fn next_block(env: &mut nvm_vm_api::BlockEnv, hash: &mut [u8; 32], time: Option<u64>) {
    env.height += 1;
    env.timestamp_ms = time.map_or(env.timestamp_ms + 1_000, |t| t.saturating_mul(1000));
    env.parent_hash = *hash;
    *hash = nvm_primitives::sha256_parts(&[
        b"nvm:simulated-block:",
        &env.parent_hash,
        &env.height.to_le_bytes(),
    ]);
}

/// A simulated block, as geth shows it.
fn block_json(
    env: &nvm_vm_api::BlockEnv,
    hash: &[u8; 32],
    gas_used: u64,
    calls: Vec<Value>,
) -> Value {
    json!({
        "number": quantity(env.height),
        "hash": hex0x(hash),
        "parentHash": hex0x(&env.parent_hash),
        "timestamp": quantity(env.timestamp_ms / 1000),
        "gasLimit": quantity(env.gas_limit),
        "gasUsed": quantity(gas_used),
        "baseFeePerGas": quantity(env.base_fee_per_gas),
        "miner": nvm_vm_evm::evm_address(&env.proposer),
        "transactions": [],
        "calls": calls,
    })
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
