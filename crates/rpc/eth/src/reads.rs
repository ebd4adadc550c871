//! The rest of what Ethereum tools read (anvil's and geth's answers): transactions by block and
//! index, uncles (none: n-VM blocks have no uncles), the blob base fee (no blobs), `web3_sha3`,
//! `net_listening`, `net_peerCount`, `txpool_status`, and `eth_getProof`'s clear refusal.

use crate::{block_height, quantity, tx::tx_json};
use jsonrpsee::{
    RpcModule,
    types::{ErrorObjectOwned, Params},
};
use nvm_primitives::Block;
use nvm_rpc::{
    NodeContext, RpcResult, add, internal, invalid_params, param_str, parse_hex, required,
};
use serde_json::{Value, json};

/// JSON-RPC's code for a method this node does not serve.
const METHOD_NOT_FOUND: i32 = -32601;

/// The block parameter `index` names: a number or tag, a 32-byte hash, or EIP-1898's
/// `{blockNumber}` / `{blockHash}`; `None` for a block this node does not have.
pub(crate) fn block_at(
    ctx: &NodeContext,
    params: &Params<'_>,
    index: usize,
) -> Result<Option<Block>, ErrorObjectOwned> {
    let values: Vec<Value> = params.parse().map_err(|e| invalid_params(e.to_string()))?;
    let named = match values.get(index) {
        Some(Value::Object(fields)) => {
            fields.get("blockHash").or_else(|| fields.get("blockNumber")).cloned()
        }
        other => other.cloned(),
    };
    match named.as_ref().and_then(Value::as_str) {
        Some(hash) if hash.len() == 66 => {
            ctx.node.block_by_hash(&nvm_rpc::parse_hash(hash)?).map_err(internal)
        }
        tag => {
            let height = block_height(ctx, tag.map(str::to_string))?;
            ctx.node.block(height).map_err(internal)
        }
    }
}

/// A transaction of a block by its index in it (`null` past its end or for an unknown block).
fn transaction_by_block_and_index(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let Some(block) = block_at(ctx, params, 0)? else { return Ok(Value::Null) };
    let index = required(params, 1, "index")?;
    let index = u64::from_str_radix(index.trim_start_matches("0x"), 16)
        .map_err(|_| invalid_params(format!("invalid index {index:?}")))?;
    match usize::try_from(index).ok().and_then(|i| block.transactions.get(i)) {
        Some(raw) => tx_json(ctx, raw, Some((&block.header, index))),
        None => Ok(Value::Null),
    }
}

/// An existing block's uncle count: zero.
fn uncle_count(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    Ok(block_at(ctx, params, 0)?.map_or(Value::Null, |_| quantity(0u64)))
}

fn sha3(_: &NodeContext, params: &Params<'_>) -> RpcResult {
    let data = parse_hex(&required(params, 0, "data")?)?;
    Ok(Value::String(nvm_rpc::hex0x(alloy_primitives::keccak256(data).as_slice())))
}

/// Registers the methods on the node's port.
/// Most transactions `txpool_content` lists (the rest are counted by `txpool_status`).
const TXPOOL_CONTENT_MAX: usize = 4_096;

/// geth's `txpool_content`: the waiting transactions by sender address and nonce (decimal), as
/// `eth_getTransactionByHash` shows them; nothing is queued apart (nonce-gapped ones wait with the
/// rest).
fn txpool_content(ctx: &NodeContext, _: &Params<'_>) -> RpcResult {
    let mut pending = serde_json::Map::new();
    for tx in ctx.node.pending_txs(TXPOOL_CONTENT_MAX) {
        let shown = tx_json(ctx, tx.raw(), None)?;
        let from = shown["from"].as_str().unwrap_or_default().to_string();
        let nonce = shown["nonce"]
            .as_str()
            .and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok());
        let by_nonce = pending.entry(from).or_insert_with(|| json!({}));
        by_nonce[nonce.unwrap_or_default().to_string()] = shown;
    }
    Ok(json!({ "pending": pending, "queued": {} }))
}

pub(crate) fn register(module: &mut RpcModule<NodeContext>) {
    add(module, "eth_getTransactionByBlockNumberAndIndex", transaction_by_block_and_index);
    add(module, "eth_getTransactionByBlockHashAndIndex", transaction_by_block_and_index);
    add(module, "eth_getUncleCountByBlockNumber", uncle_count);
    add(module, "eth_getUncleCountByBlockHash", uncle_count);
    add(module, "eth_getUncleByBlockNumberAndIndex", |_, _| Ok(Value::Null));
    add(module, "eth_getUncleByBlockHashAndIndex", |_, _| Ok(Value::Null));
    // No blob transactions: the minimum blob base fee, as geth reports on a chain without blobs.
    add(module, "eth_blobBaseFee", |_, _| Ok(quantity(1u64)));
    add(module, "net_listening", |_, _| Ok(Value::Bool(true)));
    add(module, "net_peerCount", |ctx, _| {
        Ok(quantity(ctx.peers.as_ref().map_or(0, |p| p.connected()) as u64))
    });
    add(module, "web3_sha3", sha3);
    add(module, "txpool_content", txpool_content);
    add(module, "txpool_status", |ctx, _| {
        Ok(json!({ "pending": quantity(ctx.node.pending_count() as u64), "queued": "0x0" }))
    });
    // EIP-1186 proves against a Merkle-Patricia trie; n-VM's state root is a Jellyfish Merkle
    // tree, whose proofs `nvm_getProof` serves (docs/RPC.md, docs/STORAGE.md).
    add(module, "eth_getProof", |_, params| {
        let _ = param_str(params, 0, "address", false)?;
        Err(ErrorObjectOwned::owned(
            METHOD_NOT_FOUND,
            "eth_getProof is not served: n-VM's state root is a Jellyfish Merkle tree, not a \
             Merkle-Patricia trie; nvm_getProof proves state keys against it",
            None::<()>,
        ))
    });
}
