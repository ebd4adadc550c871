//! anvil's and hardhat's dev methods, on a dev chain only: `anvil_setBalance`, `anvil_setNonce`,
//! `anvil_setCode`, `anvil_setStorageAt` (and their `hardhat_` names), `evm_mine` / `anvil_mine`,
//! `evm_snapshot` / `evm_revert`, `evm_increaseTime` / `evm_setNextBlockTimestamp` (the times
//! this node stamps its proposals: it is the dev chain's only proposer). Blocks still come from consensus: each method computes the
//! state writes it means on the head's state and sends them in a `DevWriteState` transaction
//! signed by the chain's dev authority (which only a dev genesis names), then answers once the
//! block holding it is committed — so every change is in a block, under the state root, like any
//! other. On a network the methods are refused.

use crate::server_error;
use alloy_primitives::{Address, Bytes, U256};
use jsonrpsee::{
    RpcModule,
    types::{ErrorObjectOwned, Params},
};
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::NATIVE_MINT;
use nvm_primitives::{ENVELOPE_VERSION, IdCom, Mint, TxBody, TxHash};
use nvm_rpc::{DevAuthority, NodeContext, RpcResult, add, internal, invalid_params, required};
use nvm_state_api::TxOverlay;
use nvm_vm_evm::AccountOverride;
use nvm_vm_native::NativeOp;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Most bytes of writes one `evm_revert` transaction carries (an envelope holds 64 KiB).
const REVERT_PIECE_BYTES: usize = 48 * 1024;

/// Most waiting transactions looked through for an impersonated account's next nonce.
const PENDING_SCANNED: usize = 4_096;

/// Longest a dev method waits for the block that applies it.
const APPLIED_WITHIN: Duration = Duration::from_secs(30);

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

/// Signs the payload `build` makes as the dev authority, sends it, and waits until a committed
/// block holds it; its hash and receipt. Building, the nonce and the admission happen under the
/// authority's lock, so concurrent dev methods take consecutive nonces; the wait does not.
fn send_and_wait(
    ctx: &NodeContext,
    dev: &DevAuthority,
    method: &str,
    build: impl FnOnce() -> Result<Vec<u8>, ErrorObjectOwned>,
) -> Result<(TxHash, nvm_primitives::Receipt), ErrorObjectOwned> {
    let hash = {
        let _one_at_a_time = dev.sending.lock();
        let payload = build()?;
        let tip = ctx.node.tip_state().map_err(internal)?;
        let next = Registry::nonce(&mut TxOverlay::new(&tip), &dev.id).map_err(internal)?;
        let body = TxBody {
            version: ENVELOPE_VERSION,
            chain_id: ctx.node.chain_id(),
            sender: dev.id,
            nonce: ctx.node.pending_nonce(&dev.id, next),
            max_fee: ctx.node.executor().config.tx_fee,
            context: None,
            payload,
        };
        let tx = dev.key.sign_transaction(body).map_err(internal)?;
        match ctx.node.submit(vec![tx.encode()]).map_err(internal)?.pop() {
            Some(Ok(hash)) => hash,
            Some(Err(refused)) => return Err(server_error(format!("{method}: {refused}"))),
            None => return Err(internal("no admission result")),
        }
    };
    wait_until(method, || Ok(ctx.node.receipt(&hash).map_err(internal)?.is_some()))?;
    let receipt = ctx.node.receipt(&hash).map_err(internal)?;
    Ok((hash, receipt.ok_or_else(|| internal("a receipt seen is gone"))?))
}

/// Sends `writes` and `balances` (set through the ledger; a native one moves the supply) as the
/// dev authority's `DevWriteState` and waits until a committed block applied it.
fn apply(
    ctx: &NodeContext,
    method: &str,
    writes: Vec<([u8; 32], Option<Vec<u8>>)>,
    balances: Vec<(Mint, IdCom, u128)>,
) -> Result<(), ErrorObjectOwned> {
    let dev = authority(ctx, method)?;
    let payload = NativeOp::DevWriteState { writes, balances }.encode();
    match send_and_wait(ctx, dev, method, || Ok(payload))?.1.status {
        nvm_primitives::TxStatus::Success => Ok(()),
        other => Err(server_error(format!("{method} failed: {other:?}"))),
    }
}

/// `anvil_impersonateAccount` / `anvil_stopImpersonatingAccount`: whether `eth_sendTransaction`
/// may send from the address.
fn impersonate(ctx: &NodeContext, params: &Params<'_>, method: &str) -> RpcResult {
    let dev = authority(ctx, method)?;
    let address = address_at(params, 0)?.into_array();
    let mut impersonated = dev.impersonated.lock();
    if method.ends_with("impersonateAccount") {
        impersonated.insert(address);
    } else {
        impersonated.remove(&address);
    }
    Ok(Value::Null)
}

/// `eth_accounts`: those `eth_sendTransaction` sends from — the impersonated ones on a dev
/// chain, none elsewhere.
pub(crate) fn accounts(ctx: &NodeContext, _: &Params<'_>) -> RpcResult {
    let Some(dev) = ctx.dev.as_deref() else { return Ok(Value::Array(Vec::new())) };
    let impersonated = dev.impersonated.lock();
    Ok(impersonated.iter().map(|a| Value::String(Address::from(*a).to_checksum(None))).collect())
}

/// `eth_sendTransaction` from an impersonated account: its call (or deployment) as the dev
/// authority's `DevCallAs`, at the account's nonce, its gas estimated when not given; the hash
/// once a block holds it. This node holds no keys: any other account is unknown.
pub(crate) fn send_transaction(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let request = crate::call_request(ctx, params)?;
    let from = request.from.ok_or_else(|| invalid_params("eth_sendTransaction needs `from`"))?;
    let unknown = || {
        server_error(format!(
            "unknown account {from:#x}: this node holds no keys — sign the transaction and send it with eth_sendRawTransaction (on a dev chain, anvil_impersonateAccount sends as any account)"
        ))
    };
    let Some(dev) = ctx.dev.as_deref() else { return Err(unknown()) };
    let impersonated = dev.impersonated.lock().contains(&from.into_array());
    if !impersonated {
        return Err(unknown());
    }
    let state = ctx.node.snapshot().map_err(internal)?;
    let values: Vec<Value> = params.parse().unwrap_or_default();
    let gas_limit = match values.first().and_then(|call| call.get("gas")) {
        Some(_) => request.gas.unwrap_or(nvm_vm_evm::TX_GAS_CAP),
        None => {
            let env = crate::state::block_env(ctx, &*state)?;
            let deadline = nvm_vm_evm::Deadline::after(ctx.limits.call_timeout);
            let estimate = crate::evm(ctx)?
                .estimate_gas(&state, &env, &request, Some(deadline))
                .map_err(|e| server_error(e.to_string()))?;
            estimate.map_err(crate::failure)?
        }
    };
    let value =
        u128::try_from(request.value).map_err(|_| invalid_params("a value past 2^128 wei"))?;
    // The account's next nonce: its state's, past the calls as it already waiting.
    let build = || {
        let tip = ctx.node.tip_state().map_err(internal)?;
        let mut view = TxOverlay::new(&tip);
        let id =
            Registry::resolve(&mut view, &VmAddress::Evm(from.into_array())).map_err(internal)?;
        let mut nonce = Registry::nonce(&mut view, &id).map_err(internal)?;
        for waiting in ctx.node.pending_txs(PENDING_SCANNED) {
            if let Some(nvm_vm_evm::EvmOp::DevCallAs { from: f, nonce: n, .. }) =
                waiting.native().and_then(|t| nvm_vm_evm::EvmOp::decode(&t.body.payload).ok())
                && f == from.into_array()
            {
                nonce = nonce.max(n + 1);
            }
        }
        Ok(nvm_vm_evm::EvmOp::DevCallAs {
            from: from.into_array(),
            to: request.to.map(Address::into_array),
            value,
            data: request.data.to_vec(),
            gas_limit,
            nonce,
        }
        .encode())
    };
    let (hash, _) = send_and_wait(ctx, dev, "eth_sendTransaction", build)?;
    Ok(Value::String(nvm_rpc::hex0x(&hash)))
}

fn address_at(params: &Params<'_>, index: usize) -> Result<Address, ErrorObjectOwned> {
    crate::parse_address(&required(params, index, "address")?)
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
    mut account: AccountOverride,
) -> Result<(), ErrorObjectOwned> {
    authority(ctx, method)?;
    let head = ctx.node.snapshot().map_err(internal)?;
    let mut view = TxOverlay::new(&head);
    let evm = VmAddress::Evm(address.into_array());
    // The identity behind the address is found at all its addresses from now on.
    let id = Registry::resolve_and_index(&mut view, &evm).map_err(internal)?;
    // A balance is set when the operation runs (the supply following), not written here: its
    // value then is whatever moved it meanwhile.
    let balance = account.balance.take();
    nvm_vm_evm::apply_overrides(&mut view, &[(address, account)])
        .map_err(|e| server_error(e.to_string()))?;
    let balances = match balance {
        Some(wei) => {
            let wei =
                u128::try_from(wei).map_err(|_| invalid_params("a balance past 2^128 wei"))?;
            vec![(NATIVE_MINT, id, wei)]
        }
        None => Vec::new(),
    };
    let (writes, _) = view.into_writes();
    let mut writes: Vec<_> = writes.into_iter().collect();
    writes.sort();
    apply(ctx, method, writes, balances)
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
    let target = ctx.node.head().map_err(internal)?.height.saturating_add(count);
    wait_until(method, || Ok(ctx.node.head().map_err(internal)?.height >= target))
}

/// `evm_snapshot`'s id: the head's height plus one (0x0 never names a snapshot), so a revert
/// finds the state again in the node's history, whatever happened since.
fn snapshot(ctx: &NodeContext) -> RpcResult {
    authority(ctx, "evm_snapshot")?;
    let height = ctx.node.head().map_err(internal)?.height;
    Ok(crate::quantity(height + 1))
}

/// Writes back the state of the snapshot's block: every key changed since, as it was then (but
/// what the chain keeps as blocks close), each balance through the ledger
/// ([`nvm_node_api::StateRestore`]). `false` for an id that names no snapshot or one past the
/// node's history.
fn revert(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    authority(ctx, "evm_revert")?;
    let id = quantity_at(params, 0, "snapshot id")?;
    let Some(height) = u64::try_from(id).ok().and_then(|id| id.checked_sub(1)) else {
        return Ok(Value::Bool(false));
    };
    let restore = match ctx.node.restore_of(height) {
        Ok(restore) => restore,
        Err(nvm_node_api::NodeError::StateNotKept { .. }) => return Ok(Value::Bool(false)),
        Err(e) => return Err(internal(e)),
    };
    // In pieces that each fit a transaction (64 KiB), sent one after another.
    let mut pieces = vec![(Vec::new(), Vec::new())];
    let mut size = 0;
    let mut room_for = |bytes: usize, pieces: &mut Vec<(Vec<_>, Vec<_>)>| {
        if size + bytes > REVERT_PIECE_BYTES && size > 0 {
            pieces.push((Vec::new(), Vec::new()));
            size = 0;
        }
        size += bytes;
    };
    for (key, value) in restore.writes {
        room_for(40 + value.as_ref().map_or(0, Vec::len), &mut pieces);
        pieces.last_mut().expect("one piece at least").0.push((key, value));
    }
    for balance in restore.balances {
        room_for(80, &mut pieces);
        pieces.last_mut().expect("one piece at least").1.push(balance);
    }
    for (writes, balances) in pieces {
        apply(ctx, "evm_revert", writes, balances)?;
    }
    Ok(Value::Bool(true))
}

/// A number of seconds as clients send it: a JSON number, a 0x-hex or a decimal string.
fn seconds_at(params: &Params<'_>, index: usize, name: &str) -> Result<u64, ErrorObjectOwned> {
    let values: Vec<Value> = params.parse().unwrap_or_default();
    let bad = || invalid_params(format!("invalid {name}: expected seconds"));
    match values.get(index) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(bad),
        Some(Value::String(text)) => match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| bad()),
            None => text.parse().map_err(|_| bad()),
        },
        _ => Err(invalid_params(format!("missing parameter {index} ({name})"))),
    }
}

/// `evm_increaseTime(seconds)`: later blocks are stamped that much later; answers how many
/// seconds ahead of the clock they now are.
fn increase_time(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    authority(ctx, "evm_increaseTime")?;
    let seconds = seconds_at(params, 0, "seconds")?;
    let ms = seconds.checked_mul(1_000).ok_or_else(|| invalid_params("too many seconds"))?;
    let ahead = ctx.node.advance_clock(ms).map_err(|e| invalid_params(e.to_string()))?;
    Ok(Value::from(ahead / 1_000))
}

/// `evm_setNextBlockTimestamp(seconds)`: the next block's time (after the head's), later blocks
/// going on from it.
fn set_next_block_timestamp(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    authority(ctx, "evm_setNextBlockTimestamp")?;
    let seconds = seconds_at(params, 0, "timestamp")?;
    let ms = seconds.checked_mul(1_000).ok_or_else(|| invalid_params("timestamp too large"))?;
    let head = ctx.node.head().map_err(internal)?.timestamp_ms / 1_000;
    if seconds <= head {
        return Err(invalid_params(format!(
            "timestamp {seconds} is not after the head block's ({head})"
        )));
    }
    ctx.node.set_next_timestamp(ms).map_err(|e| invalid_params(e.to_string()))?;
    Ok(Value::Null)
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
    "anvil_impersonateAccount" => impersonate,
    "hardhat_impersonateAccount" => impersonate,
    "anvil_stopImpersonatingAccount" => impersonate,
    "hardhat_stopImpersonatingAccount" => impersonate,
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
    add(module, "evm_increaseTime", increase_time);
    add(module, "eth_sendTransaction", send_transaction);
    add(module, "evm_setNextBlockTimestamp", set_next_block_timestamp);
    add(module, "evm_revert", revert);
}
