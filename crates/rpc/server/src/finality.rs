//! `nvm_getFinalization`: the certificate that finalized a block, so a client holding the
//! validator set can check a header (and every state proof against its root) without trusting
//! the node that served it.

use crate::{
    convert::hex0x,
    errors::{internal, invalid_params},
    methods::{NodeContext, RpcResult, param_str},
};
use jsonrpsee::types::Params;
use serde_json::{Value, json};

/// Where a node's finalization certificates come from (its consensus engine).
pub trait FinalityProofs: Send + Sync {
    /// The encoded certificate that finalized block `height`, if this node stores it.
    fn finalization(&self, height: u64) -> Option<Vec<u8>>;
    /// The validators (Ed25519 public keys) whose signatures make it.
    fn validators(&self) -> Vec<[u8; 32]>;
}

/// `nvm_getFinalization(height | "latest")` → `{height, blockHash, chainId, certificate,
/// validators}`, or `null` for a block this node has no certificate of (genesis, or not final).
pub(crate) fn get_finalization(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let which = param_str(params, 0, "block", false)?.unwrap_or_else(|| "latest".into());
    let height = if which == "latest" {
        ctx.node.head().map_err(internal)?.height
    } else {
        which.parse().map_err(|_| {
            invalid_params(format!("block must be a height or \"latest\", got {which:?}"))
        })?
    };
    let Some(proofs) = &ctx.finality else { return Ok(Value::Null) };
    let Some(block) = ctx.node.block(height).map_err(internal)? else {
        return Ok(Value::Null);
    };
    let Some(certificate) = proofs.finalization(height) else { return Ok(Value::Null) };
    Ok(json!({
        "height": height,
        "blockHash": hex0x(&block.header.hash()),
        "chainId": ctx.node.chain_id(),
        "certificate": hex0x(&certificate),
        "validators": proofs.validators().iter().map(|k| hex0x(k)).collect::<Vec<_>>(),
    }))
}
