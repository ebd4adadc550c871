//! The `nvm_*` methods.

use crate::{
    convert::{
        addresses_json, block_json, hex0x, identity_json, parse_address, parse_hash, parse_hex,
        receipt_json,
    },
    errors::{admission, internal, invalid_params},
};
use jsonrpsee::{
    RpcModule,
    types::{ErrorObjectOwned, Params},
};
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_node_api::NodeApi;
use nvm_primitives::Mint;
use nvm_state_api::TxOverlay;
use serde_json::{Value, json};
use std::sync::Arc;

/// What the RPC server serves from.
#[derive(Clone)]
pub struct NodeContext {
    /// The node's chain and mempool.
    pub node: Arc<dyn NodeApi>,
    /// Finalization certificates (none: `nvm_getFinalization` answers `null`).
    pub finality: Option<Arc<dyn crate::FinalityProofs>>,
    /// What one client may ask at once.
    pub limits: crate::RpcLimits,
    /// The dev chain's dev authority, whose key signs the state writes of anvil's dev methods
    /// (`anvil_setBalance`, `evm_revert`, …); `None` on a network, where they are refused.
    pub dev: Option<std::sync::Arc<DevAuthority>>,
    /// How many peers the node's p2p layer is connected to (`net_peerCount`); `None`: no p2p
    /// layer (an in-process node), counted as none.
    pub peers: Option<Arc<dyn ConnectedPeers>>,
}

impl NodeContext {
    /// The context of `node` alone: no finality certificates, no dev authority, no p2p layer,
    /// the default limits (an in-process node's, as tests and tools serve it).
    pub fn new(node: Arc<dyn NodeApi>) -> Self {
        Self { node, finality: None, limits: Default::default(), dev: None, peers: None }
    }
}

/// The node's count of connected peers (its p2p layer's).
pub trait ConnectedPeers: Send + Sync {
    fn connected(&self) -> usize;
}

/// The key of a dev chain's dev authority (`nvm_identity::dev_authority_key`) and its identity,
/// with the Ethereum accounts clients asked it to act as (`anvil_impersonateAccount`).
pub struct DevAuthority {
    pub key: nvm_identity::SecretKey,
    pub id: nvm_primitives::IdCom,
    /// Accounts `eth_sendTransaction` may send from.
    pub impersonated: parking_lot::Mutex<std::collections::BTreeSet<[u8; 20]>>,
    /// One dev operation built and admitted at a time, so each takes the next nonce.
    pub sending: parking_lot::Mutex<()>,
}

impl DevAuthority {
    pub fn new(key: nvm_identity::SecretKey, id: nvm_primitives::IdCom) -> Self {
        Self { key, id, impersonated: Default::default(), sending: Default::default() }
    }
}

pub type RpcResult = Result<Value, ErrorObjectOwned>;

pub fn param_str(
    params: &Params<'_>,
    index: usize,
    name: &str,
    required: bool,
) -> Result<Option<String>, ErrorObjectOwned> {
    let values: Vec<Value> = params.parse().unwrap_or_default();
    match values.get(index) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => {
            Err(invalid_params(format!("missing parameter {index} ({name})")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => {
            Err(invalid_params(format!("parameter {index} ({name}) must be a string, got {other}")))
        }
    }
}

/// The first parameter as a list of hex strings (a single string counts as a list of one), each
/// parsed by `parse`; between 1 and `max` of them.
fn hex_list<T>(
    params: &Params<'_>,
    what: &str,
    max: usize,
    parse: impl Fn(&str) -> Result<T, ErrorObjectOwned>,
) -> Result<Vec<T>, ErrorObjectOwned> {
    let values: Vec<Value> = params.parse().map_err(|e| invalid_params(e.to_string()))?;
    let items = match values.first() {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::String(_)) => vec![single.clone()],
        _ => return Err(invalid_params(format!("expected an array of hex {what}"))),
    };
    if items.is_empty() || items.len() > max {
        return Err(invalid_params(format!("give 1 to {max} {what}")));
    }
    items
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| invalid_params(format!("{what} are hex strings")))
                .and_then(&parse)
        })
        .collect()
}

pub fn required(params: &Params<'_>, index: usize, name: &str) -> Result<String, ErrorObjectOwned> {
    param_str(params, index, name, true)?
        .ok_or_else(|| invalid_params(format!("missing parameter {name}")))
}

fn chain_info(ctx: &NodeContext) -> RpcResult {
    let head = ctx.node.head().map_err(internal)?;
    Ok(json!({
        "chainId": ctx.node.chain_id(),
        "height": head.height,
        "blockHash": hex0x(&head.hash),
        "stateRoot": hex0x(&head.state_root),
        "timestampMs": head.timestamp_ms,
        "txFee": ctx.node.executor().config.tx_fee.to_string(),
        "vms": ctx.node.executor().vms.available(),
        // The formats the VMs write addresses in, each its code on the wire and length.
        "addressFormats": ctx.node.executor().vms.address_formats().iter().map(|f| {
            json!({ "code": f.code, "name": f.name, "length": f.len })
        }).collect::<Vec<_>>(),
        "pendingTransactions": ctx.node.pending_count(),
    }))
}

fn send_transaction(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let raw = parse_hex(&required(params, 0, "transaction")?)?;
    let result = ctx.node.submit(vec![raw]).map_err(internal)?.pop();
    match result {
        Some(Ok(hash)) => Ok(Value::String(hex0x(&hash))),
        Some(Err(e)) => Err(admission(e)),
        None => Err(internal("no admission result")),
    }
}

/// Most envelopes one `nvm_sendRawTransactions` call takes.
const MAX_BATCH: usize = 10_000;

/// Admits many envelopes at once: their signatures are checked together (batched Ed25519 on all
/// cores). One result per envelope, in order: its hash, or the error it would have had alone.
fn send_transactions(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let raws = hex_list(params, "envelopes", MAX_BATCH, parse_hex)?;
    let results = ctx.node.submit(raws).map_err(internal)?;
    Ok(Value::Array(
        results
            .into_iter()
            .map(|r| match r {
                Ok(hash) => json!({ "hash": hex0x(&hash) }),
                Err(e) => {
                    let error = admission(e);
                    json!({ "error": { "code": error.code(), "message": error.message() } })
                }
            })
            .collect(),
    ))
}

fn get_receipt(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let hash = parse_hash(&required(params, 0, "hash")?)?;
    let receipt = ctx.node.receipt(&hash).map_err(internal)?;
    Ok(receipt.map(|r| receipt_json(&r)).unwrap_or(Value::Null))
}

fn parse_mint(input: Option<String>) -> Result<Mint, ErrorObjectOwned> {
    match input.as_deref() {
        None | Some("native") => Ok(NATIVE_MINT),
        Some(hex) => parse_hash(hex),
    }
}

fn get_balance(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let address = parse_address(&required(params, 0, "address")?)?;
    let mint = parse_mint(param_str(params, 1, "token", false)?)?;
    let snapshot = ctx.node.snapshot().map_err(internal)?;
    let mut view = TxOverlay::new(&snapshot);
    let id = Registry::resolve(&mut view, &address).map_err(internal)?;
    let token = Ledger::token(&mut view, &mint).map_err(internal)?;
    let Some(token) = token else {
        return Err(invalid_params(format!("no token {}", hex0x(&mint))));
    };
    let balance = Ledger::balance(&mut view, &mint, &id).map_err(internal)?;
    Ok(json!({
        "balanceKey": hex0x(&nvm_ledger::balance_key(&mint, &id)),
        "idCom": hex0x(&id),
        "token": hex0x(&mint),
        "symbol": token.symbol,
        "decimals": token.decimals,
        "balance": balance.to_string(),
    }))
}

fn get_token(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let mint = parse_mint(Some(required(params, 0, "token")?))?;
    let snapshot = ctx.node.snapshot().map_err(internal)?;
    let token = Ledger::token(&mut TxOverlay::new(&snapshot), &mint).map_err(internal)?;
    Ok(token
        .map(|t| {
            json!({
                "token": hex0x(&mint),
                "name": t.name,
                "symbol": t.symbol,
                "decimals": t.decimals,
                "supply": t.supply.to_string(),
                "authority": t.authority.map(|a| hex0x(&a)),
            })
        })
        .unwrap_or(Value::Null))
}

/// Most keys one `nvm_getProof` call proves.
const MAX_PROOF_KEYS: usize = 64;

fn get_proof(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let keys = hex_list(params, "state keys", MAX_PROOF_KEYS, parse_hash)?;
    let proofs = ctx.node.prove_many(&keys).map_err(internal)?;
    let (height, root) = proofs.first().map(|p| (p.height, p.state_root)).unwrap_or_default();
    let items: Vec<Value> = keys
        .iter()
        .zip(&proofs)
        .map(|(key, p)| {
            json!({
                "key": hex0x(key),
                "value": p.value.as_ref().map(|v| hex0x(v)),
                "proof": hex0x(&p.proof),
            })
        })
        .collect();
    Ok(json!({ "height": height, "stateRoot": hex0x(&root), "proofs": items }))
}

fn get_identity(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let address = parse_address(&required(params, 0, "address")?)?;
    let snapshot = ctx.node.snapshot().map_err(internal)?;
    let mut view = TxOverlay::new(&snapshot);
    let id = Registry::resolve(&mut view, &address).map_err(internal)?;
    let record = Registry::get(&mut view, &id).map_err(internal)?;
    let mut out = identity_json(&id);
    out["addresses"] = addresses_json(&ctx.node.executor().vms.address_formats(), &id);
    out["registered"] = json!(record.is_some());
    if let Some(r) = record {
        out["scheme"] = json!(r.scheme().map(|s| s.name()).unwrap_or("unknown"));
        out["public_key"] = json!(hex0x(&r.public_key));
    }
    if address.native().is_none() && address != nvm_identity::derive_address(address.format(), &id)
    {
        out["external"] = json!({ "vm": address.format().name, "address": address.display() });
    }
    Ok(out)
}

fn get_nonce(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let address = parse_address(&required(params, 0, "address")?)?;
    let pending = match param_str(params, 1, "block tag", false)?.as_deref() {
        None | Some("latest") => false,
        Some("pending") => true,
        Some(other) => {
            return Err(invalid_params(format!(
                "block tag must be latest or pending, got {other:?}"
            )));
        }
    };
    let snapshot = ctx.node.snapshot().map_err(internal)?;
    Ok(json!(account_nonce(ctx, &snapshot, &address, pending)?))
}

/// The next nonce of the identity behind `address` in `state`; with `pending`, at the tip
/// (a block still being committed included) and counting the sender's transactions in the
/// mempool (what wallets ask for before signing). The mempool drops a block's transactions only
/// once the block is durable, so the tip read first never misses one in between.
pub fn account_nonce(
    ctx: &NodeContext,
    state: &dyn nvm_state_api::StateReader,
    address: &VmAddress,
    pending: bool,
) -> Result<u64, ErrorObjectOwned> {
    let tip;
    let state = if pending {
        tip = ctx.node.tip_state().map_err(internal)?;
        &tip as &dyn nvm_state_api::StateReader
    } else {
        state
    };
    let mut view = TxOverlay::new(state);
    let id = Registry::resolve(&mut view, address).map_err(internal)?;
    let next = Registry::nonce(&mut view, &id).map_err(internal)?;
    Ok(if pending { ctx.node.pending_nonce(&id, next) } else { next })
}

fn get_block(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let which = param_str(params, 0, "block", false)?.unwrap_or_else(|| "latest".into());
    let full = param_str(params, 1, "full", false)?.as_deref() == Some("true");
    let store = &ctx.node;
    let block = if which == "latest" {
        let head = ctx.node.head().map_err(internal)?;
        store.block(head.height).map_err(internal)?
    } else if which.starts_with("0x") && which.len() == 66 {
        store.block_by_hash(&parse_hash(&which)?).map_err(internal)?
    } else {
        let height: u64 = which.parse().map_err(|_| {
            invalid_params(format!(
                "block must be a height, a 0x hash or \"latest\", got {which:?}"
            ))
        })?;
        store.block(height).map_err(internal)?
    };
    Ok(block.map(|b| block_json(&ctx.node.executor().vms, &b, full)).unwrap_or(Value::Null))
}

/// Registers a blocking method (reads and writes the store) under `name`.
pub fn add(
    module: &mut RpcModule<NodeContext>,
    name: &'static str,
    handler: fn(&NodeContext, &Params<'_>) -> RpcResult,
) {
    module
        .register_blocking_method(name, move |params, ctx, _| handler(&ctx, &params))
        .expect("method names are unique");
}

/// An ecosystem API crate's methods on the node's port (the `nvm` binary picks which).
pub type Namespace = fn(&mut RpcModule<NodeContext>);

/// Every method the node serves: the `nvm_*` namespace and those of `namespaces`.
pub fn rpc_module(ctx: NodeContext, namespaces: &[Namespace]) -> RpcModule<NodeContext> {
    let mut module = RpcModule::new(ctx);
    add(&mut module, "nvm_chainInfo", |ctx, _| chain_info(ctx));
    add(&mut module, "nvm_sendTransaction", send_transaction);
    add(&mut module, "nvm_sendRawTransactions", send_transactions);
    add(&mut module, "nvm_getTransactionReceipt", get_receipt);
    add(&mut module, "nvm_getBalance", get_balance);
    add(&mut module, "nvm_getToken", get_token);
    add(&mut module, "nvm_getIdentity", get_identity);
    add(&mut module, "nvm_getNonce", get_nonce);
    add(&mut module, "nvm_getBlock", get_block);
    add(&mut module, "nvm_getProof", get_proof);
    add(&mut module, "nvm_getFinalization", crate::finality::get_finalization);
    for register in namespaces {
        register(&mut module);
    }
    module
}
