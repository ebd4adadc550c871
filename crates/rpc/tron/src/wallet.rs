//! The `/wallet/*` and `/walletsolidity/*` methods TronWeb calls, answered from the node: blocks,
//! accounts (TRX in sun over the identity's ledger balance), transactions built, broadcast and
//! looked up. Requests and answers are java-tron's JSON; a request the node cannot serve gets
//! java-tron's `{"Error": …}`, a refused broadcast its `{code, message (hex), txid}`.

use crate::json::{self, hex_address, parse_address};
use nvm_executor::AdmissionError;
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_node_api::{NodeApi, NodeError};
use nvm_primitives::{Block, TxStatus};
use nvm_state_api::TxOverlay;
use nvm_vm_tvm::{TRON_TX_TAG, TransactionWire, UNITS_PER_SUN};
use prost::Message;
use serde_json::{Value, json};

/// Why a request gets no answer of its method's shape.
pub enum Failure {
    /// The request is wrong (an address that is not one, a missing field): `{"Error": …}`.
    Bad(String),
    /// The node failed.
    Node(NodeError),
}

impl From<NodeError> for Failure {
    fn from(e: NodeError) -> Self {
        Self::Node(e)
    }
}

pub type Answer = Result<Value, Failure>;

fn field<'a>(request: &'a Value, name: &str) -> Result<&'a Value, Failure> {
    request.get(name).ok_or_else(|| Failure::Bad(format!("missing field {name}")))
}

/// The node's storage failed under a read.
pub(crate) fn storage(e: impl std::fmt::Display) -> Failure {
    Failure::Node(NodeError::Storage(e.to_string()))
}

pub(crate) fn address_field(request: &Value, name: &str) -> Result<[u8; 20], Failure> {
    let text = field(request, name)?
        .as_str()
        .ok_or_else(|| Failure::Bad(format!("{name} is not a string")))?;
    parse_address(text).map_err(Failure::Bad)
}

pub(crate) fn u64_field(request: &Value, name: &str) -> Result<u64, Failure> {
    let value = field(request, name)?;
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| Failure::Bad(format!("{name} is not a non-negative integer")))
}

fn txid_field(request: &Value) -> Result<[u8; 32], Failure> {
    let text = field(request, "value")?.as_str().unwrap_or_default();
    let bytes = hex::decode(text.trim_start_matches("0x"))
        .map_err(|e| Failure::Bad(format!("value: {e}")))?;
    bytes.try_into().map_err(|_| Failure::Bad("value: a txID is 32 bytes".into()))
}

/// Tron's block id: the height (8 bytes, big-endian) then the block hash's last 24 bytes (so its
/// bytes 8..16, what TAPoS references, are the hash's).
pub fn block_id(height: u64, hash: &[u8; 32]) -> String {
    let mut id = height.to_be_bytes().to_vec();
    id.extend_from_slice(&hash[8..]);
    hex::encode(id)
}

/// The Tron transaction in a block's bytes, if it is one: its `raw_data` bytes and signatures.
fn tron_transaction(raw: &[u8]) -> Option<TransactionWire> {
    let (&tag, bytes) = raw.split_first()?;
    (tag == TRON_TX_TAG).then(|| TransactionWire::decode(bytes).ok()).flatten()
}

/// `ret` of an included transaction: SUCCESS, or the reason it failed as java-tron names it.
fn contract_ret(status: &TxStatus) -> &'static str {
    match status {
        TxStatus::Success => "SUCCESS",
        TxStatus::Reverted { .. } => "REVERT",
        TxStatus::Halted { .. } => "OUT_OF_ENERGY",
        TxStatus::Failed { .. } => "UNKNOWN",
    }
}

fn block_json(node: &dyn NodeApi, block: &Block) -> Answer {
    let header = &block.header;
    let hash = header.hash();
    let mut transactions = Vec::new();
    for raw in &block.transactions {
        let Some(wire) = tron_transaction(raw) else { continue };
        let Some(mut tx) = json::transaction_json(&wire.raw_data, &wire.signature) else {
            continue;
        };
        let txid = nvm_primitives::sha256(&wire.raw_data);
        if let Some(receipt) = node.receipt(&txid)? {
            tx["ret"] = json!([{ "contractRet": contract_ret(&receipt.status) }]);
        }
        transactions.push(tx);
    }
    let parent = header
        .height
        .checked_sub(1)
        .map_or_else(|| hex::encode([0u8; 32]), |h| block_id(h, &header.parent_hash));
    let mut out = json!({
        "blockID": block_id(header.height, &hash),
        "block_header": {
            "raw_data": {
                "number": header.height,
                "txTrieRoot": hex::encode(header.tx_root),
                "witness_address": hex_address(&tron_shown(&header.proposer)),
                "parentHash": parent,
                "timestamp": header.timestamp_ms,
            },
        },
    });
    if !transactions.is_empty() {
        out["transactions"] = json!(transactions);
    }
    Ok(out)
}

/// The 20-byte address an identity shows in Tron (its derived TVM address).
pub(crate) fn tron_shown(id: &[u8; 32]) -> [u8; 20] {
    nvm_identity::derive_address(&nvm_identity::TVM_FORMAT, id).tvm().unwrap_or_default()
}

pub fn now_block(node: &dyn NodeApi) -> Answer {
    let head = node.head()?;
    match node.block(head.height)? {
        Some(block) => block_json(node, &block),
        None => Ok(json!({})),
    }
}

pub fn block_by_num(node: &dyn NodeApi, request: &Value) -> Answer {
    match node.block(u64_field(request, "num")?)? {
        Some(block) => block_json(node, &block),
        None => Ok(json!({})),
    }
}

/// `getblock {id_or_num}` (and `getblockbyid {value}`): a height, or a block id.
pub fn block_by_id_or_num(node: &dyn NodeApi, request: &Value) -> Answer {
    let Some(key) = request.get("id_or_num").or_else(|| request.get("value")) else {
        return now_block(node);
    };
    let text = key.as_str().map(str::to_string).unwrap_or_else(|| key.to_string());
    if let Ok(height) = text.parse::<u64>() {
        return block_by_num(node, &json!({ "num": height }));
    }
    let id = hex::decode(&text).map_err(|e| Failure::Bad(format!("block id: {e}")))?;
    let height = id.get(..8).and_then(|h| h.try_into().ok()).map(u64::from_be_bytes);
    let Some(block) = height.map(|h| node.block(h)).transpose()?.flatten() else {
        return Ok(json!({}));
    };
    if block_id(block.header.height, &block.header.hash()) != text {
        return Ok(json!({}));
    }
    block_json(node, &block)
}

/// `getaccount {address}`: the balance in sun of the identity the address is (`{}` when it holds
/// nothing and is no identity's, as java-tron answers for an account that does not exist).
pub fn account(node: &dyn NodeApi, request: &Value) -> Answer {
    let address = address_field(request, "address")?;
    let snapshot = node.snapshot()?;
    let mut state = TxOverlay::new(&*snapshot);
    let id = Registry::resolve(&mut state, &VmAddress::Tvm(address)).map_err(storage)?;
    let balance = Ledger::balance(&mut state, &NATIVE_MINT, &id).map_err(storage)?;
    let known = Registry::get(&mut state, &id).map_err(storage)?.is_some();
    let assets = crate::assets::account_assets(&mut state, &id)?;
    if balance == 0 && !known && assets.is_empty() {
        return Ok(json!({}));
    }
    let mut out = json!({ "address": hex_address(&address) });
    let sun = balance / UNITS_PER_SUN;
    if sun > 0 {
        out["balance"] = json!(u64::try_from(sun).unwrap_or(u64::MAX));
    }
    if !assets.is_empty() {
        out["assetV2"] = json!(assets);
    }
    Ok(out)
}

/// `getaccountresource {address}`: this chain has no free bandwidth and no staked resources (every
/// byte and unit of energy is paid in TRX), and java-tron leaves zero fields out — `{}`; an
/// address that is not one is refused.
pub fn account_resource(_node: &dyn NodeApi, request: &Value) -> Answer {
    address_field(request, "address")?;
    Ok(json!({}))
}

/// `createtransaction {owner_address, to_address, amount}`: an unsigned TRX transfer
/// referencing the head block, for the wallet to sign.
pub fn create_transaction(node: &dyn NodeApi, request: &Value) -> Answer {
    let owner = address_field(request, "owner_address")?;
    let to = address_field(request, "to_address")?;
    let amount = i64::try_from(u64_field(request, "amount")?)
        .map_err(|_| Failure::Bad("amount is above Tron's range".into()))?;
    if amount == 0 {
        return Err(Failure::Bad("Amount must be greater than 0.".into()));
    }
    if owner == to {
        return Err(Failure::Bad("Cannot transfer TRX to yourself.".into()));
    }
    let raw = json::transfer_raw(&owner, &to, amount, head_reference(node)?);
    let bytes = raw.encode_to_vec();
    json::transaction_json(&bytes, &[]).ok_or_else(|| Failure::Bad("cannot encode".into()))
}

/// The head block, as a transaction built here references it (TronWeb does the same).
pub(crate) fn head_reference(node: &dyn NodeApi) -> Result<json::Reference, Failure> {
    let head = node.head()?;
    let timestamp_ms = i64::try_from(head.timestamp_ms).unwrap_or(i64::MAX);
    Ok(json::Reference { height: head.height, hash: head.hash, timestamp_ms })
}

/// java-tron's refusal of a broadcast: a response code, the reason hex-encoded (as TronWeb
/// decodes it), the txID.
fn refused(code: &str, reason: &str, txid: &str) -> Value {
    json!({ "code": code, "message": hex::encode(reason), "txid": txid })
}

/// `broadcasttransaction {raw_data_hex, signature, …}` (or `broadcasthex {transaction}`): the
/// signed transaction into the mempool.
pub fn broadcast(node: &dyn NodeApi, wire: TransactionWire) -> Answer {
    let txid = hex::encode(nvm_primitives::sha256(&wire.raw_data));
    let mut raw = vec![TRON_TX_TAG];
    raw.extend(wire.encode_to_vec());
    let result = node.submit(vec![raw])?.pop();
    Ok(match result {
        Some(Ok(_)) => json!({ "result": true, "txid": txid }),
        Some(Err(AdmissionError::AlreadyKnown(_))) => {
            refused("DUP_TRANSACTION_ERROR", "dup transaction", &txid)
        }
        Some(Err(e)) => {
            let message = e.to_string();
            let code = if message.contains("signature") {
                "SIGERROR"
            } else if message.contains("TAPoS") || message.contains("expired") {
                "TAPOS_ERROR"
            } else {
                "CONTRACT_VALIDATE_ERROR"
            };
            refused(code, &message, &txid)
        }
        None => refused("OTHER_ERROR", "no result", &txid),
    })
}

/// The transaction JSON TronWeb sends to broadcast, as protobuf: its `raw_data_hex` and signatures.
pub fn wire_of_json(request: &Value) -> Result<TransactionWire, Failure> {
    let raw_data = field(request, "raw_data_hex")?.as_str().unwrap_or_default();
    let raw_data = hex::decode(raw_data).map_err(|e| Failure::Bad(format!("raw_data_hex: {e}")))?;
    let signature = match request.get("signature") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| hex::decode(s.as_str().unwrap_or_default()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::Bad(format!("signature: {e}")))?,
        _ => Vec::new(),
    };
    Ok(TransactionWire { raw_data, signature })
}

/// `broadcasthex {transaction}`: the protobuf bytes as hex.
pub fn wire_of_hex(request: &Value) -> Result<TransactionWire, Failure> {
    let text = field(request, "transaction")?.as_str().unwrap_or_default();
    let bytes = hex::decode(text).map_err(|e| Failure::Bad(format!("transaction: {e}")))?;
    TransactionWire::decode(&bytes[..]).map_err(|e| Failure::Bad(format!("transaction: {e}")))
}

/// The block and position of a committed Tron transaction, with its bytes.
fn committed(
    node: &dyn NodeApi,
    txid: &[u8; 32],
) -> Result<Option<(Block, TransactionWire)>, Failure> {
    let Some(location) = node.tx_location(txid)? else { return Ok(None) };
    let Some(block) = node.block(location.height)? else { return Ok(None) };
    let wire =
        block.transactions.get(location.index as usize).and_then(|raw| tron_transaction(raw));
    Ok(wire.map(|wire| (block, wire)))
}

/// `gettransactionbyid {value}`: committed (with `ret`) or pending (`walletsolidity` only
/// committed); `{}` if unknown.
pub fn transaction_by_id(node: &dyn NodeApi, request: &Value, solidity: bool) -> Answer {
    let txid = txid_field(request)?;
    if let Some((_, wire)) = committed(node, &txid)? {
        let mut tx = json::transaction_json(&wire.raw_data, &wire.signature).unwrap_or_default();
        if let Some(receipt) = node.receipt(&txid)? {
            tx["ret"] = json!([{ "contractRet": contract_ret(&receipt.status) }]);
        }
        return Ok(tx);
    }
    if !solidity
        && let Some(pending) = node.pending_tx(&txid)
        && let Some(wire) = tron_transaction(pending.raw())
    {
        return Ok(json::transaction_json(&wire.raw_data, &wire.signature).unwrap_or_default());
    }
    Ok(json!({}))
}

/// `gettransactioninfobyid {value}`: a committed transaction's block, time, fee and outcome;
/// `{}` until it is in a block.
pub fn transaction_info(node: &dyn NodeApi, request: &Value) -> Answer {
    let txid = txid_field(request)?;
    let (Some((block, wire)), Some(receipt)) = (committed(node, &txid)?, node.receipt(&txid)?)
    else {
        return Ok(json!({}));
    };
    let fee = receipt.fee_paid / UNITS_PER_SUN;
    let mut out = json!({
        "id": hex::encode(txid),
        "blockNumber": block.header.height,
        "blockTimeStamp": block.header.timestamp_ms,
        // What a contract call returned (the Tron VM keeps it as the receipt's own data).
        "contractResult": [hex::encode(&receipt.vm_data)],
        "receipt": { "net_fee": u64::try_from(fee).unwrap_or(u64::MAX) },
    });
    if fee > 0 {
        out["fee"] = json!(u64::try_from(fee).unwrap_or(u64::MAX));
    }
    if receipt.gas_used > 0 {
        out["receipt"]["energy_usage_total"] = json!(receipt.gas_used);
    }
    // A deployment's contract, at Tron's address for it: the committed bytes' owner, read
    // without verifying the signature again.
    if let Some(owner) = json::deployer(&wire.raw_data) {
        let address = nvm_vm_tvm::contract_address(&txid, &owner.into());
        out["contract_address"] = json!(hex_address(&address.into_array()));
    }
    if let Some(reason) = receipt.status.error() {
        out["result"] = json!("FAILED");
        out["resMessage"] = json!(hex::encode(reason));
    }
    Ok(out)
}

/// `getchainparameters`: the prices this chain charges (bandwidth and energy, sun), under
/// java-tron's keys.
pub fn chain_parameters() -> Answer {
    let bandwidth = u64::try_from(nvm_vm_tvm::BANDWIDTH_PRICE_SUN).unwrap_or(u64::MAX);
    let energy = u64::try_from(nvm_vm_tvm::ENERGY_PRICE_SUN).unwrap_or(u64::MAX);
    Ok(json!({ "chainParameter": [
        { "key": "getTransactionFee", "value": bandwidth },
        { "key": "getEnergyFee", "value": energy },
        { "key": "getMaxFeeLimit", "value": nvm_vm_tvm::MAX_FEE_LIMIT_SUN },
        { "key": "getFreeNetLimit", "value": 0 },
        { "key": "getMaintenanceTimeInterval", "value": 21_600_000 },
    ] }))
}

/// `getnodeinfo`: what a client checks a node answers with.
pub fn node_info(node: &dyn NodeApi) -> Answer {
    let head = node.head()?;
    Ok(json!({
        "block": format!("Num:{},ID:{}", head.height, block_id(head.height, &head.hash)),
        "solidityBlock": format!("Num:{},ID:{}", head.height, block_id(head.height, &head.hash)),
        "configNodeInfo": { "codeVersion": env!("CARGO_PKG_VERSION"), "p2pVersion": node.chain_id().to_string() },
    }))
}
