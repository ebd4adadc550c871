//! `nvm balance --prove`: don't trust the node. A balance (and the address's identity) is proven
//! by Merkle proofs against a block header's state root; the header is checked against the
//! certificate that finalized it, signed by a quorum of the validator set.

use crate::{client::Client, validator::GenesisFile};
use nvm_identity::VmAddress;
use nvm_primitives::{BlockHeader, IdCom, Mint, StateKey};
use serde_json::Value;

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A balance proven against a finalized block's state root.
pub struct ProvenBalance {
    pub height: u64,
    pub header: BlockHeader,
    pub finality: nvm_consensus::Finalized,
    pub id_com: IdCom,
    pub balance: u128,
}

fn hex_field(value: &Value, name: &str) -> Result<Option<Vec<u8>>, String> {
    match &value[name] {
        Value::Null => Ok(None),
        Value::String(s) => hex::decode(s.trim_start_matches("0x"))
            .map(Some)
            .map_err(|e| format!("bad {name}: {e}")),
        other => Err(format!("bad {name}: {other}")),
    }
}

/// Block height, its header, and the proven value of each key (`None` = absent).
type ProvenValues = (u64, BlockHeader, Vec<Option<Vec<u8>>>);

/// Proves `keys` at one height and checks every proof against the state root of that block's
/// header (its exact bytes, so the header's hash is what a certificate can vouch for).
fn proven_values(client: &Client, keys: &[StateKey]) -> Result<ProvenValues, String> {
    let request: Vec<Value> = keys.iter().map(|k| Value::String(hex0x(k))).collect();
    let answer = client.call("nvm_getProof", vec![Value::Array(request)])?;
    let height = answer["height"].as_u64().ok_or("proof without a height")?;
    let block = client.call("nvm_getBlock", vec![Value::String(height.to_string())])?;
    let bytes = hex_field(&block, "header")?.ok_or("no block at the proof's height")?;
    let header =
        BlockHeader::decode(&bytes).map_err(|e| format!("block {height}: bad header: {e}"))?;
    if header.height != height {
        return Err(format!("asked for block {height}, got a header of block {}", header.height));
    }
    let root = header.state_root;
    if answer["stateRoot"].as_str() != Some(hex0x(&root).as_str()) {
        return Err(format!(
            "proof is against {}, but block {height} has state root {}",
            answer["stateRoot"],
            hex0x(&root)
        ));
    }
    let mut values = Vec::with_capacity(keys.len());
    for (key, item) in keys.iter().zip(answer["proofs"].as_array().ok_or("no proofs")?) {
        let value = hex_field(item, "value")?;
        let proof = hex_field(item, "proof")?.ok_or("missing proof")?;
        nvm_storage::verify_state_proof(&root, key, value.as_deref(), &proof)
            .map_err(|e| format!("proof of key {} does not verify: {e}", hex0x(key)))?;
        values.push(value);
    }
    Ok((height, header, values))
}

/// Checks that block `header` was finalized: its certificate, from the node, must be signed by
/// a quorum of `trusted`'s validators (or, without a genesis file, of those the node names).
fn check_finalized(
    client: &Client,
    header: &BlockHeader,
    trusted: Option<&GenesisFile>,
) -> Result<nvm_consensus::Finalized, String> {
    let answer =
        client.call("nvm_getFinalization", vec![Value::String(header.height.to_string())])?;
    let certificate = hex_field(&answer, "certificate")?.ok_or_else(|| {
        format!("the node has no finalization certificate of block {}", header.height)
    })?;
    let validators: Vec<[u8; 32]> = match trusted {
        Some(genesis) => genesis.validator_keys()?,
        None => answer["validators"]
            .as_array()
            .ok_or("no validators in the answer")?
            .iter()
            .map(|v| {
                let bytes = hex::decode(v.as_str().unwrap_or_default().trim_start_matches("0x"))
                    .map_err(|e| e.to_string())?;
                <[u8; 32]>::try_from(bytes)
                    .map_err(|_| "a validator key is not 32 bytes".to_string())
            })
            .collect::<Result<_, String>>()?,
    };
    nvm_consensus::verify_finalization(header.chain_id, &validators, &certificate, &header.hash())
        .map_err(|e| format!("block {} is not proven final: {e}", header.height))
}

/// Resolves `address` and reads its balance, both proven at one height (retried if a block
/// changes the address's identity in between).
pub fn prove_balance(
    client: &Client,
    address: &VmAddress,
    mint: &Mint,
    trusted: Option<&GenesisFile>,
) -> Result<ProvenBalance, String> {
    let index = address.native().is_none().then(|| nvm_identity::index_key(address));
    let identity = |value: Option<Vec<u8>>, key: &StateKey| -> Result<IdCom, String> {
        match value {
            Some(bytes) => nvm_state_api::decode_value(key, &bytes).map_err(|e| e.to_string()),
            None => nvm_identity::legacy_id_com(address).ok_or_else(|| "no identity".to_string()),
        }
    };
    for _ in 0..3 {
        let id_com = match (address.native(), &index) {
            (Some(id), _) => id,
            (None, Some(key)) => identity(proven_values(client, &[*key])?.2.pop().flatten(), key)?,
            (None, None) => unreachable!("non-native addresses have an index key"),
        };
        let balance_key = nvm_ledger::balance_key(mint, &id_com);
        let mut keys = vec![balance_key];
        keys.extend(index);
        let (height, header, values) = proven_values(client, &keys)?;
        if let Some(key) = &index
            && identity(values[1].clone(), key)? != id_com
        {
            continue;
        }
        let balance = match &values[0] {
            Some(bytes) => nvm_state_api::decode_value::<u128>(&balance_key, bytes)
                .map_err(|e| e.to_string())?,
            None => 0,
        };
        let finality = check_finalized(client, &header, trusted)?;
        return Ok(ProvenBalance { height, header, finality, id_com, balance });
    }
    Err("the address's identity kept changing; try again".into())
}
