//! The contract methods TronWeb calls: `triggerconstantcontract` (a call simulated on the Tron
//! variant, what `.call()` reads), `triggersmartcontract` (an unsigned call the wallet signs, what
//! `.send()` checks byte for byte against its own encoding), `estimateenergy` and `getcontract`
//! (code, and the ABI the deployment declared, what `contract().at()` loads). Every ledger token
//! is a TRC-20 at its view address (the ERC-20 view, SPEC §3): `getcontract` shows it with the
//! TRC-20 ABI, and calls to it run the view in Tron's account space.

use crate::{
    json::{self, hex_address},
    wallet::{Answer, Failure, address_field, head_reference, storage, u64_field},
};
use alloy_primitives::{Address, Bytes, U256, keccak256};
use nvm_ledger::Ledger;
use nvm_node_api::{NodeApi, NodeError};
use nvm_state_api::{StateAccessExt, StateReader, TxOverlay};
use nvm_vm_api::VmError;
use nvm_vm_evm::{CallOutcome, CallRequest};
use nvm_vm_tvm::{TronContractInfo, TvmVm, UNITS_PER_SUN, tron_contract_key};
use prost::Message;
use serde_json::{Value, json};

/// The call's data: `data` as given, or `keccak256(function_selector)[..4] ‖ parameter`.
fn call_data(request: &Value) -> Result<Vec<u8>, Failure> {
    let hex_of = |name: &str| {
        let text = request.get(name).and_then(Value::as_str).unwrap_or_default();
        hex::decode(text.trim_start_matches("0x")).map_err(|e| Failure::Bad(format!("{name}: {e}")))
    };
    if request.get("data").is_some() {
        return hex_of("data");
    }
    let selector = request.get("function_selector").and_then(Value::as_str).unwrap_or_default();
    let selector: String = selector.chars().filter(|c| !c.is_whitespace()).collect();
    let mut data = if selector.is_empty() { Vec::new() } else { keccak256(selector)[..4].to_vec() };
    data.extend(hex_of("parameter")?);
    Ok(data)
}

/// The TRC-10 value a call request sends (`token_id`, `call_token_value`), if any.
fn token_value(request: &Value) -> Result<Option<nvm_vm_evm::TokenValue>, Failure> {
    let id = optional_u64(request, "token_id")?;
    let amount = optional_u64(request, "call_token_value")?;
    Ok((id != 0).then_some(nvm_vm_evm::TokenValue { id, amount }))
}

fn optional_u64(request: &Value, name: &str) -> Result<u64, Failure> {
    if request.get(name).is_some() { u64_field(request, name) } else { Ok(0) }
}

fn tvm(node: &dyn NodeApi) -> Result<&TvmVm, Failure> {
    node.executor()
        .vms
        .format_of::<TvmVm>()
        .ok_or_else(|| Failure::Node(NodeError::Failed("this node runs no Tron VM".into())))
}

/// Whether `contract` holds code in Tron's account space at the tip, or is a ledger token's
/// TRC-20 view.
fn is_contract(node: &dyn NodeApi, contract: &[u8; 20]) -> Result<bool, Failure> {
    let state = node.tip_state()?;
    let key = nvm_vm_tvm::TRON_SPACE.code_hash_key(&Address::from(*contract));
    if state.get(&key).map_err(storage)?.is_some() {
        return Ok(true);
    }
    let mut view = TxOverlay::new(&*state);
    Ok(Ledger::mint_of_erc20_view(&mut view, contract).map_err(storage)?.is_some())
}

/// The TRC-20 ABI every ledger token's view answers (the ERC-20 one), in java-tron's JSON.
fn trc20_abi() -> Value {
    let param = |name: &str, kind: &str| json!({ "name": name, "type": kind });
    let view = |name: &str, inputs: Vec<Value>, output: &str| {
        json!({ "constant": true, "name": name, "inputs": inputs, "outputs": [{ "type": output }],
                "type": "Function", "stateMutability": "View" })
    };
    let write = |name: &str, inputs: Vec<Value>| {
        json!({ "name": name, "inputs": inputs, "outputs": [{ "type": "bool" }],
                "type": "Function", "stateMutability": "Nonpayable" })
    };
    let event = |name: &str, a: &str, b: &str| {
        json!({ "name": name, "type": "Event", "inputs": [
            { "indexed": true, "name": a, "type": "address" },
            { "indexed": true, "name": b, "type": "address" },
            { "name": "value", "type": "uint256" } ] })
    };
    json!({ "entrys": [
        view("name", vec![], "string"),
        view("symbol", vec![], "string"),
        view("decimals", vec![], "uint8"),
        view("totalSupply", vec![], "uint256"),
        view("balanceOf", vec![param("owner", "address")], "uint256"),
        view("allowance", vec![param("owner", "address"), param("spender", "address")], "uint256"),
        write("transfer", vec![param("to", "address"), param("value", "uint256")]),
        write("approve", vec![param("spender", "address"), param("value", "uint256")]),
        write("transferFrom", vec![param("from", "address"), param("to", "address"), param("value", "uint256")]),
        event("Transfer", "from", "to"),
        event("Approval", "owner", "spender"),
    ] })
}

/// `getcontract` of a ledger token's TRC-20 view: its stub code and the TRC-20 ABI.
fn view_contract(view: &mut TxOverlay<'_>, address: &[u8; 20]) -> Result<Option<Value>, Failure> {
    let Some(mint) = Ledger::mint_of_erc20_view(view, address).map_err(storage)? else {
        return Ok(None);
    };
    let token = Ledger::token(view, &mint).map_err(storage)?;
    Ok(Some(json!({
        "contract_address": hex_address(address),
        "bytecode": hex::encode(nvm_vm_evm::ERC20_VIEW_CODE),
        "abi": trc20_abi(),
        "name": token.map(|t| t.name).unwrap_or_default(),
    })))
}

/// java-tron's answer to a call that did not run to success: `result.code` and its reason hex.
fn failed(code: &str, reason: &str) -> Value {
    json!({ "result": { "code": code, "message": hex::encode(reason) } })
}

/// `triggerconstantcontract` and `estimateenergy`: `request`'s call simulated at the tip on the
/// Tron variant, nothing written; aborted after `timeout`.
pub fn constant_call(
    node: &dyn NodeApi,
    request: &Value,
    estimate: bool,
    timeout: std::time::Duration,
) -> Answer {
    let contract = address_field(request, "contract_address")?;
    let owner = if request.get("owner_address").is_some() {
        address_field(request, "owner_address")?
    } else {
        [0; 20]
    };
    if !is_contract(node, &contract)? {
        return Ok(failed("CONTRACT_VALIDATE_ERROR", "No contract or not a smart contract"));
    }
    let value = u128::from(optional_u64(request, "call_value")?) * UNITS_PER_SUN;
    let call = CallRequest {
        from: Some(Address::from(owner)),
        to: Some(Address::from(contract)),
        value: U256::from(value),
        data: Bytes::from(call_data(request)?),
        gas: None,
        token: token_value(request)?,
        ..CallRequest::default()
    };
    let head = node.head()?;
    let (block, state) = node.next_block(head.timestamp_ms)?;
    let deadline = nvm_vm_evm::Deadline::after(timeout);
    let outcome = match tvm(node)?.simulate(&*state, &block, &call, Some(deadline)) {
        Ok(outcome) => outcome,
        Err(e @ VmError::State(_)) => return Err(Failure::Node(NodeError::Failed(e.to_string()))),
        Err(e) => return Ok(failed("CONTRACT_EXE_ERROR", &e.to_string())),
    };
    Ok(match outcome {
        CallOutcome::Success { gas_used, .. } if estimate => {
            json!({ "result": { "result": true }, "energy_required": gas_used })
        }
        CallOutcome::Success { output, gas_used } => json!({
            "result": { "result": true },
            "energy_used": gas_used,
            "constant_result": [hex::encode(output)],
        }),
        CallOutcome::Revert { output, gas_used } => {
            let mut out = failed("CONTRACT_EXE_ERROR", "REVERT opcode executed");
            out["energy_used"] = json!(gas_used);
            out["constant_result"] = json!([hex::encode(output)]);
            out
        }
        CallOutcome::Halt { reason, gas_used } => {
            let mut out = failed("CONTRACT_EXE_ERROR", &reason);
            out["energy_used"] = json!(gas_used);
            out
        }
    })
}

/// `triggersmartcontract`: an unsigned `TriggerSmartContract` referencing the head block, with
/// the request's `fee_limit`, for the wallet to sign.
pub fn trigger(node: &dyn NodeApi, request: &Value) -> Answer {
    let owner = address_field(request, "owner_address")?;
    let contract = address_field(request, "contract_address")?;
    if !is_contract(node, &contract)? {
        return Ok(failed("CONTRACT_VALIDATE_ERROR", "No contract or not a smart contract"));
    }
    let call_value = optional_u64(request, "call_value")?;
    let fee_limit = optional_u64(request, "fee_limit")?;
    // TronWeb's `tokenId`/`tokenValue` options (fields 5 and 6, absent when 0, as it encodes them).
    let call_token_value = optional_u64(request, "call_token_value")?;
    let token_id = optional_u64(request, "token_id")?;
    let signed = |v: u64, name: &str| {
        i64::try_from(v).map_err(|_| Failure::Bad(format!("{name} is above Tron's range")))
    };
    let call = nvm_vm_tvm::TriggerSmartContract {
        owner_address: json::prefixed(&owner),
        contract_address: json::prefixed(&contract),
        call_value: signed(call_value, "call_value")?,
        data: call_data(request)?,
        call_token_value: signed(call_token_value, "call_token_value")?,
        token_id: signed(token_id, "token_id")?,
    };
    let contract_entry = json::contract_entry(json::TRIGGER_SMART_CONTRACT, &call.encode_to_vec());
    let mut raw = json::raw_of(contract_entry, head_reference(node)?);
    raw.fee_limit = signed(fee_limit, "fee_limit")?;
    let transaction = json::transaction_json(&raw.encode_to_vec(), &[])
        .ok_or_else(|| Failure::Bad("cannot encode".into()))?;
    Ok(json!({ "result": { "result": true }, "transaction": transaction }))
}

/// `deploycontract {owner_address, abi, bytecode, parameter, call_value, fee_limit,
/// consume_user_resource_percent, origin_energy_limit, name}`: an unsigned `CreateSmartContract`
/// referencing the head block (java-tron's transaction JSON, with the `contract_address` it will
/// deploy at).
pub fn deploy(node: &dyn NodeApi, request: &Value) -> Answer {
    let owner = address_field(request, "owner_address")?;
    let hex_field = |name: &str| {
        let text = request.get(name).and_then(Value::as_str).unwrap_or_default();
        hex::decode(text.trim_start_matches("0x")).map_err(|e| Failure::Bad(format!("{name}: {e}")))
    };
    let mut bytecode = hex_field("bytecode")?;
    if bytecode.is_empty() {
        return Err(Failure::Bad("bytecode is empty".into()));
    }
    bytecode.extend(hex_field("parameter")?);
    let abi = match request.get("abi") {
        Some(abi) => json::abi_bytes(abi).map_err(Failure::Bad)?,
        None => Vec::new(),
    };
    let signed = |name: &str| {
        let value = optional_u64(request, name)?;
        i64::try_from(value).map_err(|_| Failure::Bad(format!("{name} is above Tron's range")))
    };
    let percent = signed("consume_user_resource_percent")?;
    if percent > 100 {
        return Err(Failure::Bad("consume_user_resource_percent must be 0-100".into()));
    }
    let smart = nvm_vm_tvm::SmartContract {
        origin_address: json::prefixed(&owner),
        abi: Some(abi),
        bytecode,
        call_value: signed("call_value")?,
        consume_user_resource_percent: percent,
        name: request.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
        origin_energy_limit: signed("origin_energy_limit")?,
    };
    let deploy = nvm_vm_tvm::CreateSmartContract {
        owner_address: json::prefixed(&owner),
        new_contract: Some(smart),
        call_token_value: signed("call_token_value")?,
        token_id: signed("token_id")?,
    };
    let entry = json::contract_entry(json::CREATE_SMART_CONTRACT, &deploy.encode_to_vec());
    let mut raw = json::raw_of(entry, head_reference(node)?);
    raw.fee_limit = signed("fee_limit")?;
    json::transaction_json(&raw.encode_to_vec(), &[])
        .ok_or_else(|| Failure::Bad("cannot encode".into()))
}

/// `getcontract {value}`: a Tron contract's code and the ABI its deployment declared (`{}` when
/// there is no contract).
pub fn get_contract(node: &dyn NodeApi, request: &Value) -> Answer {
    let address = address_field(request, "value")?;
    let snapshot = node.snapshot()?;
    let hash_key = nvm_vm_tvm::TRON_SPACE.code_hash_key(&Address::from(address));
    let Some(hash) = snapshot.get(&hash_key).map_err(storage)? else {
        let mut view = TxOverlay::new(&*snapshot);
        return Ok(view_contract(&mut view, &address)?.unwrap_or_else(|| json!({})));
    };
    let hash: [u8; 32] = hash.try_into().unwrap_or_default();
    let code_key = nvm_vm_evm::code_key(&hash.into());
    let code = snapshot.get(&code_key).map_err(storage)?.unwrap_or_default();
    let mut out = json!({
        "contract_address": hex_address(&address),
        "bytecode": hex::encode(code),
        "code_hash": hex::encode(hash),
    });
    let mut view = TxOverlay::new(&*snapshot);
    let info: Option<TronContractInfo> =
        view.get_decoded(&tron_contract_key(&address)).map_err(storage)?;
    if let Some(info) = info {
        out["abi"] = json::abi_json(&info.abi);
        out["origin_address"] = json!(hex_address(&info.origin));
        out["consume_user_resource_percent"] = json!(info.consume_user_resource_percent);
        out["origin_energy_limit"] = json!(info.origin_energy_limit);
        if !info.name.is_empty() {
            out["name"] = json!(info.name);
        }
    } else {
        out["abi"] = json!({});
    }
    Ok(out)
}
