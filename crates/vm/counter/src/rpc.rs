//! The counter's JSON-RPC method on the node's port: `counter_get(address)` → the counter of
//! the identity behind any VM address (an [`nvm_rpc::Namespace`]).

use crate::counter;
use jsonrpsee::{RpcModule, types::Params};
use nvm_identity::{Registry, VmAddress};
use nvm_rpc::{NodeContext, RpcResult, add, internal, invalid_params, required};
use nvm_state_api::TxOverlay;
use serde_json::json;

/// Registers `counter_get`.
pub fn register(module: &mut RpcModule<NodeContext>) {
    add(module, "counter_get", get);
}

fn get(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let address = VmAddress::parse(&required(params, 0, "address")?)
        .map_err(|e| invalid_params(e.to_string()))?;
    let snapshot = ctx.node.snapshot().map_err(internal)?;
    let mut view = TxOverlay::new(&snapshot);
    let id = Registry::resolve(&mut view, &address).map_err(internal)?;
    Ok(
        json!({ "idCom": nvm_rpc::hex0x(&id), "counter": counter(&mut view, &id).map_err(internal)? }),
    )
}
