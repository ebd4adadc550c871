//! Which block's state a request reads: a block tag, a number, or an EIP-1898 object
//! (`{"blockHash": …}` / `{"blockNumber": …}`), served from the node's kept history.

use crate::{height_of_tag, server_error};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use nvm_node_api::{CommittedState, NodeError};
use nvm_primitives::BlockHeader;
use nvm_rpc::{NodeContext, internal, invalid_params};
use nvm_vm_api::BlockEnv;
use serde_json::Value;

/// The block parameter at `index` of `params`: absent means `latest`.
enum BlockSpec {
    Tag(Option<String>),
    Hash([u8; 32]),
}

fn block_spec(params: &Params<'_>, index: usize) -> Result<BlockSpec, ErrorObjectOwned> {
    let values: Vec<Value> = params.parse().unwrap_or_default();
    match values.get(index) {
        None | Some(Value::Null) => Ok(BlockSpec::Tag(None)),
        Some(Value::String(tag)) => Ok(BlockSpec::Tag(Some(tag.clone()))),
        Some(Value::Object(object)) => {
            let text = |name: &str| object.get(name).and_then(Value::as_str);
            match (text("blockHash"), text("blockNumber")) {
                (Some(hash), None) => Ok(BlockSpec::Hash(nvm_rpc::parse_hash(hash)?)),
                (None, Some(number)) => Ok(BlockSpec::Tag(Some(number.to_string()))),
                _ => Err(invalid_params(
                    "a block object names exactly one of blockHash and blockNumber (EIP-1898)",
                )),
            }
        }
        Some(other) => Err(invalid_params(format!("invalid block parameter {other}"))),
    }
}

/// Committed state after the block the parameter at `index` names: the head for `latest` (and
/// `pending`, `safe`, `finalized`: blocks are final when committed), an older block's from the
/// node's history while it keeps it. A block past the head is "header not found", as geth says;
/// one beyond the history says which blocks are kept.
pub(crate) fn state_at(
    ctx: &NodeContext,
    params: &Params<'_>,
    index: usize,
) -> Result<Box<dyn CommittedState>, ErrorObjectOwned> {
    let height = match block_spec(params, index)? {
        BlockSpec::Tag(None) => return ctx.node.snapshot().map_err(internal),
        // (A number is read at that number even when a block lands meanwhile: `snapshot_at`
        // serves the head from the same read as it checks it.)
        BlockSpec::Tag(Some(tag)) if tag.starts_with("0x") || tag == "earliest" => {
            height_of_tag(Some(tag), ctx.node.head().map_err(internal)?.height)?
        }
        BlockSpec::Tag(Some(tag)) => {
            height_of_tag(Some(tag), 0)?;
            return ctx.node.snapshot().map_err(internal);
        }
        BlockSpec::Hash(hash) => match ctx.node.block_by_hash(&hash).map_err(internal)? {
            Some(block) => block.header.height,
            None => return Err(server_error("header for hash not found")),
        },
    };
    state_after(ctx, height)
}

/// Committed state after the block at `height`, from the node's history: a block past the head
/// is "header not found", as geth says; one beyond the history says which blocks are kept.
pub(crate) fn state_after(
    ctx: &NodeContext,
    height: u64,
) -> Result<Box<dyn CommittedState>, ErrorObjectOwned> {
    match ctx.node.snapshot_at(height) {
        Ok(state) => Ok(state),
        Err(NodeError::StateNotKept { height, head, .. }) if height > head => {
            Err(server_error("header not found"))
        }
        Err(e @ NodeError::StateNotKept { .. }) => Err(server_error(e.to_string())),
        Err(e) => Err(internal(e)),
    }
}

/// The block a call at `state` runs in: the one after the block whose state it reads, as geth
/// runs `eth_call` at block N with N's header (its number, time, base fee and coinbase).
pub(crate) fn block_env(
    ctx: &NodeContext,
    state: &dyn CommittedState,
) -> Result<BlockEnv, ErrorObjectOwned> {
    let height = state.height().unwrap_or_default();
    let block = ctx.node.block(height).map_err(internal)?;
    let block =
        block.ok_or_else(|| internal(format!("block {height} of a kept state is missing")))?;
    Ok(env_of(ctx, &block.header))
}

/// The environment `header`'s block ran its transactions in.
pub(crate) fn env_of(ctx: &NodeContext, header: &BlockHeader) -> BlockEnv {
    BlockEnv {
        chain_id: header.chain_id,
        height: header.height,
        timestamp_ms: header.timestamp_ms,
        proposer: header.proposer,
        parent_hash: header.parent_hash,
        base_fee_per_gas: header.base_fee_per_gas,
        gas_limit: ctx.node.executor().config.block_gas_limit,
    }
}
