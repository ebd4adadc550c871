//! Tron's JSON forms as java-tron's HTTP API writes them (with `visible: false`: addresses as hex
//! with the `0x41` prefix), for transactions decoded from and built into the protobuf bytes the
//! node runs — so what TronWeb re-encodes from the JSON is exactly the bytes its txID hashes.

use nvm_vm_tvm::{
    Any, Contract, CreateSmartContract, Raw, TRON_ADDRESS_PREFIX, TransferAssetContract,
    TransferContract, TriggerSmartContract,
};
use prost::Message;
use serde_json::{Value, json};

/// `type.googleapis.com/protocol.` ‖ a contract type's name: the `type_url` Tron packs it under.
const TYPE_URL_PREFIX: &str = "type.googleapis.com/protocol.";
/// `Transaction.Contract.ContractType` numbers (core/Tron.proto).
pub const TRANSFER_CONTRACT: i32 = 1;
pub const TRANSFER_ASSET_CONTRACT: i32 = 2;
pub const CREATE_SMART_CONTRACT: i32 = 30;
pub const TRIGGER_SMART_CONTRACT: i32 = 31;

/// A Tron address as the HTTP API takes it: `41` ‖ 40 hex digits, or base58check `T…`.
pub fn parse_address(text: &str) -> Result<[u8; 20], String> {
    let bytes = if text.len() == 42 && text.starts_with("41") {
        hex::decode(text).map_err(|e| format!("{text}: not hex: {e}"))?
    } else {
        bs58::decode(text)
            .with_check(None)
            .into_vec()
            .map_err(|e| format!("{text}: not a Tron address: {e}"))?
    };
    match bytes.split_first() {
        Some((&TRON_ADDRESS_PREFIX, rest)) if rest.len() == 20 => {
            Ok(rest.try_into().expect("20 bytes"))
        }
        _ => Err(format!("{text}: a Tron address is 21 bytes starting 0x41")),
    }
}

/// `41` ‖ hex, as `visible: false` responses show an address.
pub fn hex_address(address: &[u8; 20]) -> String {
    format!("41{}", hex::encode(address))
}

/// `T…`, as wallets show an address.
pub fn base58_address(address: &[u8; 20]) -> String {
    let mut bytes = vec![TRON_ADDRESS_PREFIX];
    bytes.extend_from_slice(address);
    bs58::encode(bytes).with_check().into_string()
}

/// A contract's parameter as JSON: `{value: {…}, type_url}`, fields named as in the proto.
fn parameter_json(contract: &Contract) -> Option<Value> {
    let any = contract.parameter.as_ref()?;
    let value = match contract.r#type {
        TRANSFER_CONTRACT => {
            let c = TransferContract::decode(&any.value[..]).ok()?;
            json!({
                "amount": c.amount,
                "owner_address": hex::encode(&c.owner_address),
                "to_address": hex::encode(&c.to_address),
            })
        }
        TRANSFER_ASSET_CONTRACT => {
            let c = TransferAssetContract::decode(&any.value[..]).ok()?;
            json!({
                "amount": c.amount,
                "asset_name": hex::encode(&c.asset_name),
                "owner_address": hex::encode(&c.owner_address),
                "to_address": hex::encode(&c.to_address),
            })
        }
        TRIGGER_SMART_CONTRACT => {
            let c = TriggerSmartContract::decode(&any.value[..]).ok()?;
            let mut value = json!({
                "owner_address": hex::encode(&c.owner_address),
                "contract_address": hex::encode(&c.contract_address),
                "data": hex::encode(&c.data),
            });
            for (amount, key) in [
                (c.call_value, "call_value"),
                (c.call_token_value, "call_token_value"),
                (c.token_id, "token_id"),
            ] {
                if amount != 0 {
                    value[key] = json!(amount);
                }
            }
            value
        }
        CREATE_SMART_CONTRACT => {
            let c = CreateSmartContract::decode(&any.value[..]).ok()?;
            json!({ "owner_address": hex::encode(&c.owner_address) })
        }
        _ => return None,
    };
    Some(json!({ "value": value, "type_url": any.type_url }))
}

fn contract_name(kind: i32) -> &'static str {
    match kind {
        TRANSFER_CONTRACT => "TransferContract",
        TRANSFER_ASSET_CONTRACT => "TransferAssetContract",
        CREATE_SMART_CONTRACT => "CreateSmartContract",
        TRIGGER_SMART_CONTRACT => "TriggerSmartContract",
        _ => "UnknownContract",
    }
}

/// `raw_data` as JSON: only the fields present, as java-tron prints them.
pub fn raw_json(raw: &Raw) -> Value {
    let contracts: Vec<Value> = raw
        .contract
        .iter()
        .map(|c| {
            let mut entry = json!({ "type": contract_name(c.r#type) });
            if let Some(parameter) = parameter_json(c) {
                entry["parameter"] = parameter;
            }
            if c.permission_id != 0 {
                entry["Permission_id"] = json!(c.permission_id);
            }
            entry
        })
        .collect();
    let mut out = json!({
        "contract": contracts,
        "ref_block_bytes": hex::encode(&raw.ref_block_bytes),
        "ref_block_hash": hex::encode(&raw.ref_block_hash),
        "expiration": raw.expiration,
        "timestamp": raw.timestamp,
    });
    if !raw.data.is_empty() {
        out["data"] = json!(hex::encode(&raw.data));
    }
    if raw.fee_limit != 0 {
        out["fee_limit"] = json!(raw.fee_limit);
    }
    out
}

/// A transaction as JSON from its `raw_data` bytes (and signatures): `{visible, txID,
/// raw_data, raw_data_hex, signature}`; `None` if the bytes are not a `raw`.
pub fn transaction_json(raw_bytes: &[u8], signatures: &[Vec<u8>]) -> Option<Value> {
    let raw = Raw::decode(raw_bytes).ok()?;
    let mut out = json!({
        "visible": false,
        "txID": hex::encode(nvm_primitives::sha256(raw_bytes)),
        "raw_data": raw_json(&raw),
        "raw_data_hex": hex::encode(raw_bytes),
    });
    if !signatures.is_empty() {
        out["signature"] = signatures.iter().map(hex::encode).collect();
    }
    // A deployment's contract, where it will be (as java-tron prints every deployment).
    if let Some(owner) = deployer(raw_bytes) {
        let txid = nvm_primitives::sha256(raw_bytes);
        let address = nvm_vm_tvm::contract_address(&txid, &owner.into());
        out["contract_address"] = json!(hex_address(&address.into_array()));
    }
    Some(out)
}

/// The owner of a `CreateSmartContract` whose `raw_data` bytes these are (`None` for any other
/// transaction).
pub fn deployer(raw_bytes: &[u8]) -> Option<[u8; 20]> {
    let raw = Raw::decode(raw_bytes).ok()?;
    let contract = raw.contract.first().filter(|c| c.r#type == CREATE_SMART_CONTRACT)?;
    let deploy = CreateSmartContract::decode(&contract.parameter.as_ref()?.value[..]).ok()?;
    match deploy.owner_address.split_first() {
        Some((&TRON_ADDRESS_PREFIX, rest)) => rest.try_into().ok(),
        _ => None,
    }
}

/// `0x41` ‖ address, as Tron's protobuf messages carry an address.
pub fn prefixed(address: &[u8; 20]) -> Vec<u8> {
    [&[TRON_ADDRESS_PREFIX][..], address].concat()
}

/// A transaction's one contract: `kind` with its message's bytes packed in an `Any`.
pub fn contract_entry(kind: i32, value: &[u8]) -> Contract {
    Contract {
        r#type: kind,
        parameter: Some(Any {
            type_url: format!("{TYPE_URL_PREFIX}{}", contract_name(kind)),
            value: value.to_vec(),
        }),
        permission_id: 0,
    }
}

/// The block a transaction built here references and the times it carries: the head's height
/// and hash, stamped with the head's time and expiring `EXPIRATION_MS` after it (as TronWeb and
/// java-tron build transactions).
#[derive(Clone, Copy, Debug)]
pub struct Reference {
    pub height: u64,
    pub hash: [u8; 32],
    pub timestamp_ms: i64,
}

/// How long after its reference block a transaction built here stays valid (java-tron's default).
pub const EXPIRATION_MS: i64 = 60_000;

/// The unsigned `raw` of one `contract`, referencing `reference`.
pub fn raw_of(contract: Contract, reference: Reference) -> Raw {
    Raw {
        ref_block_bytes: ((reference.height & 0xffff) as u16).to_be_bytes().to_vec(),
        ref_block_num: 0,
        ref_block_hash: reference.hash[8..16].to_vec(),
        expiration: reference.timestamp_ms.saturating_add(EXPIRATION_MS),
        data: Vec::new(),
        contract: vec![contract],
        timestamp: reference.timestamp_ms,
        fee_limit: 0,
    }
}

/// The unsigned `raw` of a TRX transfer referencing `reference`.
pub fn transfer_raw(owner: &[u8; 20], to: &[u8; 20], amount: i64, reference: Reference) -> Raw {
    let transfer =
        TransferContract { owner_address: prefixed(owner), to_address: prefixed(to), amount };
    raw_of(contract_entry(TRANSFER_CONTRACT, &transfer.encode_to_vec()), reference)
}

/// `SmartContract.ABI` (core/Tron.proto), to show a deployment's declared ABI.
#[derive(Clone, PartialEq, Message)]
struct Abi {
    #[prost(message, repeated, tag = "1")]
    entrys: Vec<AbiEntry>,
}

#[derive(Clone, PartialEq, Message)]
struct AbiEntry {
    #[prost(bool, tag = "1")]
    anonymous: bool,
    #[prost(bool, tag = "2")]
    constant: bool,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(message, repeated, tag = "4")]
    inputs: Vec<AbiParam>,
    #[prost(message, repeated, tag = "5")]
    outputs: Vec<AbiParam>,
    #[prost(int32, tag = "6")]
    r#type: i32,
    #[prost(bool, tag = "7")]
    payable: bool,
    #[prost(int32, tag = "8")]
    state_mutability: i32,
}

#[derive(Clone, PartialEq, Message)]
struct AbiParam {
    #[prost(bool, tag = "1")]
    indexed: bool,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, tag = "3")]
    r#type: String,
}

/// `SmartContract.ABI.Entry.EntryType` names, by number.
const TYPES: [&str; 7] =
    ["UnknownEntryType", "Constructor", "Function", "Event", "Fallback", "Receive", "Error"];
/// `StateMutabilityType` names, by number.
const MUTABILITY: [&str; 5] = ["UnknownMutabilityType", "Pure", "View", "Nonpayable", "Payable"];

/// The number of `name` among `names`, in any case (java-tron writes `Function`, solc `function`).
fn enum_number(names: &[&str], name: &str, what: &str) -> Result<i32, String> {
    let found = names.iter().position(|n| n.eq_ignore_ascii_case(name));
    found.and_then(|i| i32::try_from(i).ok()).ok_or_else(|| format!("abi: unknown {what} {name:?}"))
}

/// A `deploycontract` request's ABI — entries as solc or java-tron writes them (a JSON array, or
/// a string of one; or `{entrys: […]}`) — as `SmartContract.ABI`'s protobuf bytes.
pub fn abi_bytes(value: &Value) -> Result<Vec<u8>, String> {
    let parsed;
    let value = match value {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).map_err(|e| format!("abi: {e}"))?;
            &parsed
        }
        other => other,
    };
    let list = value.get("entrys").unwrap_or(value);
    let entries = list.as_array().ok_or("abi: not a list of entries")?;
    fn text<'v>(entry: &'v Value, key: &str) -> &'v str {
        entry.get(key).and_then(Value::as_str).unwrap_or("")
    }
    let flag = |entry: &Value, key: &str| entry.get(key).and_then(Value::as_bool).unwrap_or(false);
    let params = |entry: &Value, key: &str| -> Vec<AbiParam> {
        let list = entry.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        list.iter()
            .map(|p| AbiParam {
                indexed: flag(p, "indexed"),
                name: text(p, "name").to_string(),
                r#type: text(p, "type").to_string(),
            })
            .collect()
    };
    let entrys = entries
        .iter()
        .map(|e| {
            let mutability = match text(e, "stateMutability") {
                "" => 0,
                name => enum_number(&MUTABILITY, name, "stateMutability")?,
            };
            Ok(AbiEntry {
                anonymous: flag(e, "anonymous"),
                constant: flag(e, "constant"),
                name: text(e, "name").to_string(),
                inputs: params(e, "inputs"),
                outputs: params(e, "outputs"),
                r#type: enum_number(&TYPES, text(e, "type"), "type")?,
                payable: flag(e, "payable"),
                state_mutability: mutability,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Abi { entrys }.encode_to_vec())
}

/// A deployment's ABI bytes as java-tron shows them: `{entrys: [{name, inputs, outputs, type:
/// "Function", stateMutability: "View", …}]}` (defaults left out); `{}` for none or bytes that
/// are no ABI.
pub fn abi_json(bytes: &[u8]) -> Value {
    let Ok(abi) = Abi::decode(bytes) else { return json!({}) };
    let params = |list: &[AbiParam]| -> Vec<Value> {
        list.iter()
            .map(|p| {
                let mut param = json!({ "name": p.name, "type": p.r#type });
                if p.indexed {
                    param["indexed"] = json!(true);
                }
                param
            })
            .collect()
    };
    let entries: Vec<Value> = abi
        .entrys
        .iter()
        .map(|e| {
            let mut entry = json!({});
            if !e.name.is_empty() {
                entry["name"] = json!(e.name);
            }
            for (flag, key) in
                [(e.anonymous, "anonymous"), (e.constant, "constant"), (e.payable, "payable")]
            {
                if flag {
                    entry[key] = json!(true);
                }
            }
            if !e.inputs.is_empty() {
                entry["inputs"] = json!(params(&e.inputs));
            }
            if !e.outputs.is_empty() {
                entry["outputs"] = json!(params(&e.outputs));
            }
            let kind = usize::try_from(e.r#type).ok().and_then(|i| TYPES.get(i));
            entry["type"] = json!(kind.unwrap_or(&TYPES[0]));
            let mutability =
                usize::try_from(e.state_mutability).ok().and_then(|i| MUTABILITY.get(i));
            if e.state_mutability != 0 {
                entry["stateMutability"] = json!(mutability.unwrap_or(&MUTABILITY[0]));
            }
            entry
        })
        .collect();
    json!({ "entrys": entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_in_both_forms_and_show_as_tron_does() {
        // TronWeb's documentation's example pair.
        let base58 = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8";
        let address = parse_address(base58).unwrap();
        assert_eq!(hex_address(&address), "415cbdd86a2fa8dc4bddd8a8f69dba48572eec07fb");
        assert_eq!(parse_address(&hex_address(&address)).unwrap(), address);
        assert_eq!(base58_address(&address), base58);
        assert!(parse_address("TJRabPrwbZy45sbavfcjinPJC18kjpRTv9").is_err()); // checksum
        assert!(parse_address("425cbdd86a2fa8dc4bddd8a8f69dba48572eec07fb").is_err());
    }

    #[test]
    fn a_built_transfer_reads_back_as_the_same_json() {
        let reference = Reference { height: 300, hash: [7; 32], timestamp_ms: 5 };
        let raw = transfer_raw(&[1; 20], &[2; 20], 1_000, reference);
        assert_eq!(raw.expiration, 60_005);
        let bytes = raw.encode_to_vec();
        let tx = transaction_json(&bytes, &[]).unwrap();
        assert_eq!(tx["raw_data"]["ref_block_bytes"], "012c");
        assert_eq!(tx["raw_data"]["ref_block_hash"], "0707070707070707");
        let value = &tx["raw_data"]["contract"][0]["parameter"]["value"];
        assert_eq!(value["amount"], 1_000);
        assert_eq!(value["to_address"], hex_address(&[2; 20]));
        assert_eq!(tx["raw_data_hex"], hex::encode(&bytes));
        assert_eq!(tx["txID"], hex::encode(nvm_primitives::sha256(&bytes)));
    }
}
