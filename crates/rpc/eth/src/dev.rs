//! anvil's and hardhat's dev methods, on a dev chain only: `anvil_setBalance`, `anvil_setNonce`,
//! `anvil_setCode`, `anvil_setStorageAt` (and their `hardhat_` names), `evm_mine` / `anvil_mine`,
//! `evm_snapshot` / `evm_revert`. Blocks still come from consensus: each method computes the
//! state writes it means on the head's state and sends them in a `DevWriteState` transaction
//! signed by the chain's dev authority (which only a dev genesis names), then answers once the
//! block holding it is committed — so every change is in a block, under the state root, like any
//! other. On a network the methods are refused.

use alloy_primitives::{Address, Bytes, U256};
use jsonrpsee::{
    RpcModule,
    types::{ErrorObjectOwned, Params},
};
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::{ENVELOPE_VERSION, TxBody, TxHash};
use nvm_rpc::{DevAuthority, NodeContext, RpcResult, add, internal, invalid_params, required};
use nvm_state_api::{StateReader, TxOverlay};
use nvm_vm_evm::AccountOverride;
use nvm_vm_native::NativeOp;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Longest a dev method waits for the block that applies it.
const APPLIED_WITHIN: Duration = Duration::from_secs(30);

fn server_error(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(crate::SERVER_ERROR, message.into(), None::<()>)
}

/// The dev authority, or the refusal a network gives.
fn authority<'a>(ctx: &'a NodeContext, method: &str) -> Result<&'a DevAuthority, ErrorObjectOwned> {
    ctx.dev.as_deref().ok_or_else(|| {
        ErrorObjectOwned::owned(
            jsonrpsee::types::error::METHOD_NOT_FOUND_CODE,
            format!("{method} is served by a dev chain only (nvm node --dev), not by a network's validators"),
            None::<()>,
        )
    })
}

/// Waits (at most [`APPLIED_WITHIN`]) until `done` holds after a committed block.
fn wait_until(
    what: &str,
    done: impl Fn() -> Result<bool, ErrorObjectOwned>,
) -> Result<(), ErrorObjectOwned> {
    let deadline = Instant::now() + APPLIED_WITHIN;
    loop {
        if done()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(server_error(format!("{what}: no block within {APPLIED_WITHIN:?}")));
        }
        // (On a blocking thread of the RPC runtime: blocks come every few hundred ms.)
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `writes` (and the native supply change they make) as the dev authority's
/// `DevWriteState` and waits until a committed block applied it.
fn apply(
    ctx: &NodeContext,
    method: &str,
    writes: Vec<([u8; 32], Option<Vec<u8>>)>,
    native_supply_change: i128,
) -> Result<(), ErrorObjectOwned> {
    let dev = authority(ctx, method)?;
    let head = ctx.node.snapshot().map_err(internal)?;
    let next = Registry::nonce(&mut TxOverlay::new(&head), &dev.id).map_err(internal)?;
    let body = TxBody {
        version: ENVELOPE_VERSION,
        chain_id: ctx.node.chain_id(),
        sender: dev.id,
        nonce: ctx.node.pending_nonce(&dev.id, next),
        max_fee: ctx.node.executor().config.tx_fee,
        context: None,
        payload: NativeOp::DevWriteState { writes, native_supply_change }.encode(),
    };
    let tx = dev.key.sign_transaction(body).map_err(internal)?;
    let hash: TxHash = match ctx.node.submit(vec![tx.encode()]).map_err(internal)?.pop() {
        Some(Ok(hash)) => hash,
        Some(Err(refused)) => return Err(server_error(format!("{method}: {refused}"))),
        None => return Err(internal("no admission result")),
    };
    wait_until(method, || Ok(ctx.node.receipt(&hash).map_err(internal)?.is_some()))?;
    match ctx.node.receipt(&hash).map_err(internal)?.map(|r| r.status) {
        Some(nvm_primitives::TxStatus::Success) => Ok(()),
        other => Err(server_error(format!("{method} failed: {other:?}"))),
    }
}

fn address_at(params: &Params<'_>, index: usize) -> Result<Address, ErrorObjectOwned> {
    let text = required(params, index, "address")?;
    text.parse().map_err(|_| invalid_params(format!("invalid address {text:?}")))
}

fn quantity_at(params: &Params<'_>, index: usize, name: &str) -> Result<U256, ErrorObjectOwned> {
    let text = required(params, index, name)?;
    U256::from_str_radix(text.trim_start_matches("0x"), 16)
        .map_err(|_| invalid_params(format!("invalid {name} {text:?}")))
}

/// Applies one account override (geth's `eth_call` override, the same code) on the head's
/// state as a dev write; a balance change changes the native supply by as much.
fn set_account(
    ctx: &NodeContext,
    method: &str,
    address: Address,
    account: AccountOverride,
) -> Result<(), ErrorObjectOwned> {
    authority(ctx, method)?;
    let head = ctx.node.snapshot().map_err(internal)?;
    let mut view = TxOverlay::new(&head);
    let evm = VmAddress::Evm(address.into_array());
    // The identity behind the address is found at all its addresses from now on.
    let id = Registry::resolve_and_index(&mut view, &evm).map_err(internal)?;
    let before = Ledger::balance(&mut view, &NATIVE_MINT, &id).map_err(internal)?;
    nvm_vm_evm::apply_overrides(&mut view, &[(address, account)])
        .map_err(|e| server_error(e.to_string()))?;
    let after = Ledger::balance(&mut view, &NATIVE_MINT, &id).map_err(internal)?;
    let change = i128::try_from(after).ok().zip(i128::try_from(before).ok()).map(|(a, b)| a - b);
    let change = change.ok_or_else(|| invalid_params("a balance past 2^127 wei"))?;
    let (writes, _) = view.into_writes();
    let mut writes: Vec<_> = writes.into_iter().collect();
    writes.sort();
    apply(ctx, method, writes, change)
}

fn set_balance(ctx: &NodeContext, params: &Params<'_>, method: &str) -> RpcResult {
    let address = address_at(params, 0)?;
    let balance = quantity_at(params, 1, "balance")?;
    set_account(
        ctx,
        method,
        address,
        AccountOverride { balance: Some(balance), ..Default::default() },
    )?;
    Ok(Value::Null)
}

fn set_nonce(ctx: &NodeContext, params: &Params<'_>, method: &str) -> RpcResult {
    let address = address_at(params, 0)?;
    let nonce = quantity_at(params, 1, "nonce")?;
    let nonce = u64::try_from(nonce).map_err(|_| invalid_params("a nonce past 2^64"))?;
    set_account(
        ctx,
        method,
        address,
        AccountOverride { nonce: Some(nonce), ..Default::default() },
    )?;
    Ok(Value::Null)
}

fn set_code(ctx: &NodeContext, params: &Params<'_>, method: &str) -> RpcResult {
    let address = address_at(params, 0)?;
    let code = Bytes::from(nvm_rpc::parse_hex(&required(params, 1, "code")?)?);
    set_account(ctx, method, address, AccountOverride { code: Some(code), ..Default::default() })?;
    Ok(Value::Null)
}

fn set_storage_at(ctx: &NodeContext, params: &Params<'_>, method: &str) -> RpcResult {
    let address = address_at(params, 0)?;
    let slot = quantity_at(params, 1, "slot")?;
    let value = quantity_at(params, 2, "value")?;
    let account = AccountOverride { state_diff: vec![(slot, value)], ..Default::default() };
    set_account(ctx, method, address, account)?;
    Ok(Value::Bool(true))
}

/// Waits for `count` more blocks (a dev chain makes them on its own clock: mining is waiting).
fn mine(ctx: &NodeContext, method: &str, count: u64) -> Result<(), ErrorObjectOwned> {
    authority(ctx, method)?;
    let target = ctx.node.head().map_err(internal)?.height + count;
    wait_until(method, || Ok(ctx.node.head().map_err(internal)?.height >= target))
}

/// `evm_snapshot`'s id: the head's height plus one (0x0 never names a snapshot), so a revert
/// finds the state again in the node's history, whatever happened since.
fn snapshot(ctx: &NodeContext) -> RpcResult {
    authority(ctx, "evm_snapshot")?;
    let height = ctx.node.head().map_err(internal)?.height;
    Ok(crate::quantity(height + 1))
}

/// Writes back the state of the snapshot's block: every key changed since, as it was then.
/// `false` for an id that names no snapshot or one past the node's history.
fn revert(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    authority(ctx, "evm_revert")?;
    let id = quantity_at(params, 0, "snapshot id")?;
    let Some(height) = u64::try_from(id).ok().and_then(|id| id.checked_sub(1)) else {
        return Ok(Value::Bool(false));
    };
    let (keys, then) = match ctx
        .node
        .changed_since(height)
        .and_then(|keys| Ok((keys, ctx.node.snapshot_at(height)?)))
    {
        Ok(found) => found,
        Err(nvm_node_api::NodeError::StateNotKept { .. }) => return Ok(Value::Bool(false)),
        Err(e) => return Err(internal(e)),
    };
    let mut writes = Vec::with_capacity(keys.len());
    for key in keys {
        writes.push((key, then.get(&key).map_err(internal)?));
    }
    apply(ctx, "evm_revert", writes, 0)?;
    Ok(Value::Bool(true))
}

fn mine_blocks(ctx: &NodeContext, params: &Params<'_>, method: &str) -> RpcResult {
    let count = match nvm_rpc::param_str(params, 0, "blocks", false)? {
        Some(text) => u64::from_str_radix(text.trim_start_matches("0x"), 16)
            .map_err(|_| invalid_params(format!("invalid block count {text:?}")))?,
        None => 1,
    };
    mine(ctx, method, count.max(1))?;
    Ok(Value::Null)
}

/// One method per name (anvil serves each under its `anvil_` and `hardhat_` names), each
/// calling `inner` with the name it was called by.
macro_rules! by_name {
    ($($name:literal => $inner:ident),* $(,)?) => {
        const BY_NAME: &[(&str, fn(&NodeContext, &Params<'_>) -> RpcResult)] = &[$(
            ($name, |ctx, params| $inner(ctx, params, $name)),
        )*];
    };
}

by_name! {
    "anvil_setBalance" => set_balance,
    "hardhat_setBalance" => set_balance,
    "anvil_setNonce" => set_nonce,
    "hardhat_setNonce" => set_nonce,
    "anvil_setCode" => set_code,
    "hardhat_setCode" => set_code,
    "anvil_setStorageAt" => set_storage_at,
    "hardhat_setStorageAt" => set_storage_at,
    "anvil_mine" => mine_blocks,
    "hardhat_mine" => mine_blocks,
}

pub(crate) fn register(module: &mut RpcModule<NodeContext>) {
    for (name, method) in BY_NAME {
        add(module, name, *method);
    }
    add(module, "evm_mine", |ctx, _| {
        mine(ctx, "evm_mine", 1)?;
        Ok(Value::String("0x0".into()))
    });
    add(module, "evm_snapshot", |ctx, _| snapshot(ctx));
    add(module, "evm_revert", revert);
}
