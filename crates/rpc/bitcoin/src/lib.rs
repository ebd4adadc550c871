//! Bitcoin on the node's port (issue 16): a script's UTXOs, sending a Bitcoin transaction or
//! testing one without sending it (as Core's `testmempoolaccept`), a transaction by txid, and
//! who holds the tokens sent to a script.
//! Txids are shown in Bitcoin's display byte order; values in satoshi.

use bitcoin::{Txid, hashes::Hash};
use jsonrpsee::{RpcModule, types::Params};
use nvm_executor::VerifiedTx;
use nvm_rpc::{NodeContext, RpcResult, add, admission, internal, invalid_params, required};
use nvm_state_api::TxOverlay;
use nvm_vm_bvm::{BITCOIN_TX_TAG, BitcoinTx, utxo};
use serde_json::{Value, json};
use std::str::FromStr;

/// Registers the Bitcoin methods on the node's port (an [`nvm_rpc::Namespace`]).
pub fn register(module: &mut RpcModule<NodeContext>) {
    add(module, "nvm_getUtxos", get_utxos);
    add(module, "nvm_sendBitcoinTransaction", send);
    add(module, "nvm_testBitcoinTransaction", test);
    add(module, "nvm_getBitcoinTransaction", get_transaction);
    add(module, "nvm_getScriptHolder", get_holder);
}

/// Who holds what is paid to a script other than coins (tokens sent to a Bitcoin address): the
/// identity that linked the script's key, else the script's legacy identity — `{idCom, linked}`.
fn get_holder(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let script = script_param(&required(params, 0, "address or scriptPubKey")?)?;
    let snapshot = ctx.node.snapshot().map_err(internal)?;
    let mut view = TxOverlay::new(&snapshot);
    let credited = nvm_vm_bvm::credited_identity(&mut view, &script).map_err(internal)?;
    let id = credited.unwrap_or_else(|| nvm_identity::legacy_btc_id(&script));
    Ok(json!({ "idCom": format!("0x{}", hex::encode(id)), "linked": credited.is_some() }))
}

/// A Bitcoin address (`bc1…`, `1…`, `3…`), or an output script in hex.
fn script_param(text: &str) -> Result<Vec<u8>, jsonrpsee::types::ErrorObjectOwned> {
    let hex_part = text.strip_prefix("0x").unwrap_or(text);
    match hex::decode(hex_part) {
        Ok(script) if !script.is_empty() => Ok(script),
        _ => nvm_vm_bvm::script_of(text).map_err(invalid_params),
    }
}

/// A transaction's hex, tagged as blocks carry it.
fn tagged(params: &Params<'_>) -> Result<Vec<u8>, jsonrpsee::types::ErrorObjectOwned> {
    let text = required(params, 0, "transaction hex")?;
    let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(&text))
        .map_err(|e| invalid_params(format!("not hex: {e}")))?;
    Ok(nvm_vm_api::tagged(BITCOIN_TX_TAG, &bytes))
}

fn display(txid: &[u8; 32]) -> String {
    Txid::from_byte_array(*txid).to_string()
}

fn get_utxos(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let script = script_param(&required(params, 0, "address or scriptPubKey")?)?;
    let snapshot = ctx.node.snapshot().map_err(internal)?;
    let found = utxo::of_script(&mut TxOverlay::new(&snapshot), &script).map_err(internal)?;
    Ok(Value::Array(
        found
            .into_iter()
            .map(|(outpoint, coin)| {
                json!({
                    "txid": outpoint.txid.to_string(),
                    "vout": outpoint.vout,
                    "value": coin.value,
                    "scriptPubKey": hex::encode(&coin.script_pubkey),
                    "height": coin.height,
                })
            })
            .collect(),
    ))
}

fn send(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let raw = tagged(params)?;
    match ctx.node.submit(vec![raw]).map_err(internal)?.pop() {
        Some(Ok(txid)) => Ok(Value::String(display(&txid))),
        Some(Err(e)) => Err(admission(e)),
        None => Err(internal("no admission result")),
    }
}

/// Whether the node would admit the transaction now, and if not, why — nothing is kept.
fn test(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let raw = tagged(params)?;
    let executor = ctx.node.executor();
    let verdict = VerifiedTx::verify(&executor.vms, raw).and_then(|tx| {
        let (next, state) = ctx.node.next_block(0).map_err(|e| {
            nvm_executor::TxError::State(nvm_state_api::StateError::Backend(e.to_string()))
        })?;
        executor.check_envelope(&state, &tx, false, &next).map(|_| tx.hash())
    });
    Ok(match verdict {
        Ok(txid) => json!({ "txid": display(&txid), "allowed": true }),
        Err(e) => json!({ "allowed": false, "reject-reason": e.to_string() }),
    })
}

fn get_transaction(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let text = required(params, 0, "txid")?;
    let txid = Txid::from_str(&text).map_err(|e| invalid_params(format!("not a txid: {e}")))?;
    let id = txid.to_byte_array();
    let snapshot = ctx.node.snapshot().map_err(internal)?;
    let mut view = TxOverlay::new(&snapshot);
    use nvm_state_api::{StateAccess, StateAccessExt};
    if let Some(bytes) = view.get(&utxo::funding_key(&id)).map_err(internal)? {
        let height = utxo::get(&mut view, &bitcoin::OutPoint { txid, vout: 0 })
            .map_err(internal)?
            .map(|coin| coin.height);
        return Ok(json!({ "hex": hex::encode(bytes), "blockHeight": height, "funding": true }));
    }
    let Some(height) = view.get_decoded::<u64>(&utxo::tx_key(&id)).map_err(internal)? else {
        return Ok(Value::Null);
    };
    let block = ctx.node.block(height).map_err(internal)?;
    let found = block.iter().flat_map(|b| &b.transactions).find_map(|raw| {
        let (&tag, bytes) = raw.split_first()?;
        (tag == BITCOIN_TX_TAG && BitcoinTx::decode(bytes).ok()?.txid() == id).then_some(bytes)
    });
    Ok(found
        .map_or(Value::Null, |bytes| json!({ "hex": hex::encode(bytes), "blockHeight": height })))
}
