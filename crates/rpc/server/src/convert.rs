//! Parsing parameters and shaping JSON answers.

use crate::errors::invalid_params;
use jsonrpsee::types::ErrorObjectOwned;
use nvm_executor::VmRegistry;
use nvm_identity::{VmAddress, derive_address};
use nvm_primitives::{Block, IdCom, Receipt, TxStatus};
use serde_json::{Value, json};

pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Decodes `0x`-prefixed (or bare) hex.
pub fn parse_hex(input: &str) -> Result<Vec<u8>, ErrorObjectOwned> {
    let digits = input.strip_prefix("0x").unwrap_or(input);
    hex::decode(digits).map_err(|e| invalid_params(format!("invalid hex {input:?}: {e}")))
}

/// Decodes a 32-byte hash.
pub fn parse_hash(input: &str) -> Result<[u8; 32], ErrorObjectOwned> {
    let bytes = parse_hex(input)?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| invalid_params(format!("expected 32 bytes, got {}", b.len())))
}

pub(crate) fn parse_address(input: &str) -> Result<VmAddress, ErrorObjectOwned> {
    VmAddress::parse(input).map_err(|e| invalid_params(e.to_string()))
}

/// Every address of an identity: raw bytes as 0x-hex, plus each ecosystem's display form.
pub fn identity_json(id_com: &IdCom) -> Value {
    let evm = derive_address(&nvm_identity::EVM_FORMAT, id_com);
    let svm = derive_address(&nvm_identity::SVM_FORMAT, id_com);
    let bvm = derive_address(&nvm_identity::BVM_FORMAT, id_com);
    let tvm = derive_address(&nvm_identity::TVM_FORMAT, id_com);
    json!({
        "id_com": hex0x(id_com),
        "evm": evm.to_hex(),
        "svm": svm.to_hex(),
        "bvm": bvm.to_hex(),
        "tvm": tvm.to_hex(),
        "evm_display": evm.display(),
        "svm_display": svm.display(),
        "bvm_display": bvm.display(),
        "bvm_bitcoin": bvm.as_bytes().try_into().map(nvm_identity::taproot_address).unwrap_or_default(),
        "tvm_display": tvm.display(),
    })
}

/// An identity's address in each of `formats` that derives one, as its wallets show it, by
/// the format's name (the VMs' formats, those of VMs the SPEC does not name too).
pub fn addresses_json(formats: &[&nvm_identity::AddressFormat], id_com: &IdCom) -> Value {
    let shown = formats
        .iter()
        .filter(|f| f.derive_tag.is_some())
        .map(|f| (f.name.to_string(), json!(nvm_identity::derive_address(f, id_com).display())));
    Value::Object(shown.collect())
}

pub(crate) fn receipt_json(r: &Receipt) -> Value {
    let status = if r.status == TxStatus::Success { "success" } else { "failed" };
    let error = r.status.error();
    let logs: Vec<Value> = r
        .logs
        .iter()
        .map(|l| {
            json!({
                "source": hex0x(&l.source),
                "topics": l.topics.iter().map(|t| hex0x(t)).collect::<Vec<_>>(),
                "data": hex0x(&l.data),
            })
        })
        .collect();
    json!({
        "txHash": hex0x(&r.tx_hash),
        "blockHeight": r.block_height,
        "index": r.index,
        "sender": hex0x(&r.sender),
        "opcode": r.opcode,
        "status": status,
        "error": error,
        "feePaid": r.fee_paid.to_string(),
        "logs": logs,
    })
}

/// A block's transactions: their hashes, or with `full` the raw envelopes.
pub fn block_transactions_json(vms: &VmRegistry, block: &Block, full: bool) -> Vec<Value> {
    block
        .transactions
        .iter()
        .map(|raw| {
            Value::String(if full {
                hex0x(raw)
            } else {
                hex0x(&vms.block_tx_hash(raw).unwrap_or_default())
            })
        })
        .collect()
}

pub(crate) fn block_json(vms: &VmRegistry, block: &Block, full: bool) -> Value {
    let h = &block.header;
    let txs = block_transactions_json(vms, block, full);
    json!({
        "hash": hex0x(&h.hash()),
        "height": h.height,
        "chainId": h.chain_id,
        "parentHash": hex0x(&h.parent_hash),
        "timestampMs": h.timestamp_ms,
        "proposer": hex0x(&h.proposer),
        "txRoot": hex0x(&h.tx_root),
        "receiptsRoot": hex0x(&h.receipts_root),
        "stateRoot": hex0x(&h.state_root),
        // The header's exact bytes: its SHA-256 is the block hash a finalization certificate
        // signs, so a client can check the state root it proves against.
        "header": hex0x(&h.encode()),
        "transactions": txs,
    })
}
