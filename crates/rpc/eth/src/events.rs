//! Events as Ethereum clients follow them. Polling filters — `eth_newFilter`,
//! `eth_newBlockFilter`, `eth_newPendingTransactionFilter`, then `eth_getFilterChanges` (what
//! arrived since the last poll), `eth_getFilterLogs`, `eth_uninstallFilter` — which ethers'
//! `contract.on` uses over HTTP; and subscriptions over WebSocket — `eth_subscribe` to
//! `newHeads`, `logs` (address and topic filters) and `newPendingTransactions` — which
//! `WebSocketProvider` uses. As geth: a filter not polled for five minutes is dropped, and the
//! node holds at most [`MAX_FILTERS`] at once.

use crate::{
    SERVER_ERROR,
    tx::{filter_range, logs_between, parse_filter},
};
use alloy_rpc_types_eth::{Filter, FilterBlockOption};
use jsonrpsee::{
    PendingSubscriptionSink, RpcModule,
    core::SubscriptionResult,
    types::{ErrorObjectOwned, Params},
};
use nvm_primitives::TxHash;
use nvm_rpc::{NodeContext, RpcResult, hex0x, internal, invalid_params, required};
use parking_lot::Mutex;
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::broadcast::{Receiver, error::TryRecvError};

/// Most filters installed at once (all clients together).
pub const MAX_FILTERS: usize = 10_000;
/// How long a filter lives without being polled.
const FILTER_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Most block hashes one poll of a block filter returns.
const MAX_BLOCKS_PER_POLL: u64 = 1_024;

/// What a filter follows, and from where its next poll reads.
enum Following {
    /// Logs matching the filter in blocks from `next` on.
    Logs { filter: Box<Filter>, next: u64 },
    /// The hashes of blocks from `next` on.
    Blocks { next: u64 },
    /// The hashes of transactions admitted since the last poll.
    Pending(Receiver<TxHash>),
}

struct Installed {
    following: Following,
    polled: Instant,
}

/// The filters installed on one server.
#[derive(Default)]
pub(crate) struct Filters {
    installed: Mutex<HashMap<String, Installed>>,
}

fn no_filter() -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SERVER_ERROR, "filter not found", None::<()>)
}

impl Filters {
    /// Installs `following` (dropping filters past their timeout first); its id.
    fn install(&self, following: Following) -> RpcResult {
        let mut installed = self.installed.lock();
        installed.retain(|_, f| f.polled.elapsed() < FILTER_TIMEOUT);
        if installed.len() >= MAX_FILTERS {
            return Err(ErrorObjectOwned::owned(
                SERVER_ERROR,
                format!("too many filters installed (at most {MAX_FILTERS}): uninstall some"),
                None::<()>,
            ));
        }
        let id = nvm_rpc::random_id();
        installed.insert(id.clone(), Installed { following, polled: Instant::now() });
        Ok(Value::String(id))
    }

    fn uninstall(&self, id: &str) -> bool {
        self.installed.lock().remove(id).is_some()
    }
}

/// The first block a filter installed now reports: the one after the head.
fn next_block(ctx: &NodeContext) -> Result<u64, ErrorObjectOwned> {
    Ok(ctx.node.head().map_err(internal)?.height + 1)
}

fn new_filter(ctx: &NodeContext, filters: &Filters, params: &Params<'_>) -> RpcResult {
    let values: Vec<Value> = params.parse().map_err(|e| invalid_params(e.to_string()))?;
    let filter = parse_filter(values.into_iter().next())?;
    filters.install(Following::Logs { filter: Box::new(filter), next: next_block(ctx)? })
}

/// What arrived for the filter `id` since its last poll.
fn filter_changes(ctx: &NodeContext, filters: &Filters, params: &Params<'_>) -> RpcResult {
    let id = required(params, 0, "filter id")?;
    let head = ctx.node.head().map_err(internal)?.height;
    // Taken out while its blocks are read (no lock held across storage reads), then put back
    // whatever the poll gave.
    let mut filter = filters.installed.lock().remove(&id).ok_or_else(no_filter)?;
    let changes = changes_since(ctx, &mut filter.following, head);
    filter.polled = Instant::now();
    filters.installed.lock().insert(id, filter);
    changes
}

/// What `following` has seen arrive up to `head` since it was last asked; moves it on.
fn changes_since(ctx: &NodeContext, following: &mut Following, head: u64) -> RpcResult {
    let hashes = match following {
        Following::Logs { filter, next } => {
            let (from, to) = filter_range(ctx, filter, head)?;
            let (from, to) = ((*next).max(from), to.min(head));
            let logs = if from > to { Vec::new() } else { logs_between(ctx, filter, from, to)? };
            *next = (*next).max(head + 1);
            return serde_json::to_value(logs).map_err(internal);
        }
        Following::Blocks { next } => {
            let to = head.min(next.saturating_add(MAX_BLOCKS_PER_POLL - 1));
            let mut hashes = Vec::new();
            while *next <= to {
                let Some(block) = ctx.node.block(*next).map_err(internal)? else { break };
                hashes.push(block.header.hash());
                *next += 1;
            }
            hashes
        }
        Following::Pending(admitted) => {
            let mut hashes = Vec::new();
            loop {
                match admitted.try_recv() {
                    Ok(hash) => hashes.push(hash),
                    Err(TryRecvError::Lagged(_)) => continue,
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
            hashes
        }
    };
    Ok(Value::Array(hashes.iter().map(|h| Value::String(hex0x(h))).collect()))
}

/// Every log the filter `id` matches (its whole range, not only what is new).
fn filter_logs(ctx: &NodeContext, filters: &Filters, params: &Params<'_>) -> RpcResult {
    let id = required(params, 0, "filter id")?;
    let filter = {
        let mut installed = filters.installed.lock();
        let found = installed.get_mut(&id).ok_or_else(no_filter)?;
        found.polled = Instant::now();
        match &found.following {
            Following::Logs { filter, .. } => filter.as_ref().clone(),
            _ => return Err(no_filter()),
        }
    };
    let head = ctx.node.head().map_err(internal)?.height;
    let (from, to) = filter_range(ctx, &filter, head)?;
    serde_json::to_value(logs_between(ctx, &filter, from, to)?).map_err(internal)
}

/// A block's header as `newHeads` sends it (the block without its transactions).
fn head_json(ctx: &NodeContext, height: u64) -> Result<Option<Value>, ErrorObjectOwned> {
    let Some(block) = ctx.node.block(height).map_err(internal)? else { return Ok(None) };
    let mut header = crate::eth_block(ctx, &block, false)?;
    if let Value::Object(fields) = &mut header {
        fields.remove("transactions");
    }
    Ok(Some(header))
}

/// What one subscription follows.
enum Topic {
    NewHeads,
    Logs(Box<Filter>),
    PendingTransactions,
}

fn topic(params: &Params<'_>) -> Result<Topic, ErrorObjectOwned> {
    let values: Vec<Value> = params.parse().map_err(|e| invalid_params(e.to_string()))?;
    match values.first().and_then(Value::as_str) {
        Some("newHeads") => Ok(Topic::NewHeads),
        Some("logs") => {
            let filter = parse_filter(values.get(1).cloned())?;
            if !matches!(
                filter.block_option,
                FilterBlockOption::Range { from_block: None, to_block: None }
            ) {
                return Err(invalid_params(
                    "a logs subscription follows new blocks: no block range",
                ));
            }
            Ok(Topic::Logs(Box::new(filter)))
        }
        Some("newPendingTransactions") => Ok(Topic::PendingTransactions),
        other => Err(invalid_params(format!(
            "unsupported subscription {other:?}: newHeads, logs or newPendingTransactions"
        ))),
    }
}

/// What a new block brings a subscription: its header, or its matching logs one by one.
fn block_notifications(
    ctx: &NodeContext,
    topic: &Topic,
    height: u64,
) -> Result<Vec<Value>, ErrorObjectOwned> {
    match topic {
        Topic::NewHeads => Ok(head_json(ctx, height)?.into_iter().collect()),
        Topic::Logs(filter) => logs_between(ctx, filter, height, height)?
            .into_iter()
            .map(|log| serde_json::to_value(log).map_err(internal))
            .collect(),
        Topic::PendingTransactions => Ok(Vec::new()),
    }
}

async fn subscribe(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<NodeContext>,
) -> SubscriptionResult {
    let topic = match topic(&params) {
        Ok(topic) => Arc::new(topic),
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    if let Topic::PendingTransactions = *topic {
        let sink = pending.accept().await?;
        let mut admitted = ctx.node.watch_pending();
        loop {
            tokio::select! {
                hash = admitted.recv() => match hash {
                    Ok(hash) => {
                        let note = serde_json::value::to_raw_value(&hex0x(&hash))?;
                        sink.send(note).await?
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
                _ = sink.closed() => return Ok(()),
            }
        }
    }
    let heads = ctx.node.watch_heads();
    nvm_rpc::follow_blocks(pending, heads, move |height| block_notifications(&ctx, &topic, height))
        .await
}

/// Registers the filter methods (with their own store of installed filters) and `eth_subscribe`.
pub(crate) fn register(module: &mut RpcModule<NodeContext>) {
    let filters = Arc::new(Filters::default());
    type Handler = fn(&NodeContext, &Filters, &Params<'_>) -> RpcResult;
    let methods: [(&'static str, Handler); 6] = [
        ("eth_newFilter", new_filter),
        ("eth_newBlockFilter", |ctx, filters, _| {
            filters.install(Following::Blocks { next: next_block(ctx)? })
        }),
        ("eth_newPendingTransactionFilter", |ctx, filters, _| {
            filters.install(Following::Pending(ctx.node.watch_pending()))
        }),
        ("eth_getFilterChanges", filter_changes),
        ("eth_getFilterLogs", filter_logs),
        ("eth_uninstallFilter", |_, filters, params| {
            Ok(Value::Bool(filters.uninstall(&required(params, 0, "filter id")?)))
        }),
    ];
    for (name, handler) in methods {
        let filters = filters.clone();
        module
            .register_blocking_method(name, move |params, ctx, _| handler(&ctx, &filters, &params))
            .expect("method names are unique");
    }
    module
        .register_subscription(
            "eth_subscribe",
            "eth_subscription",
            "eth_unsubscribe",
            |params, pending, ctx, _| subscribe(params, pending, ctx),
        )
        .expect("subscription names are unique");
}
