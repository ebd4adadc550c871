//! Solana's pub-sub over WebSocket: `signatureSubscribe`, `accountSubscribe`, `slotSubscribe`.
//! Each subscription wakes on every committed block; notifications carry
//! `{context: {slot}, value}` as the clients expect.

use crate::{
    SolanaContext,
    accounts::{DataEncoding, Read},
    params::{arg, config, pubkey, signature, values, with_context},
    transactions::error_value,
};
use jsonrpsee::{
    PendingSubscriptionSink, RpcModule,
    core::SubscriptionResult,
    types::{ErrorObjectOwned, Params},
};
use nvm_primitives::sha256;
use serde_json::{Value, json};
use std::sync::Arc;

fn send_value(value: &Value) -> Result<Box<serde_json::value::RawValue>, serde_json::Error> {
    serde_json::value::to_raw_value(value)
}

/// Runs `read` (the node's storage: it blocks) on the blocking pool, off the async workers that
/// carry every connection's messages.
async fn blocking<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, ErrorObjectOwned> + Send + 'static,
) -> Result<T, ErrorObjectOwned> {
    tokio::task::spawn_blocking(read).await.map_err(crate::params::internal)?
}

/// Parses a subscription's parameters, or rejects it with the error.
async fn parsed<T>(
    pending: PendingSubscriptionSink,
    parse: impl FnOnce() -> Result<T, ErrorObjectOwned>,
) -> Option<(PendingSubscriptionSink, T)> {
    match parse() {
        Ok(value) => Some((pending, value)),
        Err(e) => {
            pending.reject(e).await;
            None
        }
    }
}

/// Notifies once the transaction with this signature is in a committed block, then ends (as
/// Solana's signature subscriptions do).
async fn signature_subscription(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<SolanaContext>,
) -> SubscriptionResult {
    let Some((pending, signature)) = parsed(pending, || {
        let values = values(&params)?;
        config(&values, 1)?;
        signature(arg(&values, 0, "signature")?)
    })
    .await
    else {
        return Ok(());
    };
    let sink = pending.accept().await?;
    let mut heads = ctx.node.watch_heads();
    let hash = sha256(&signature);
    loop {
        let node = ctx.node.clone();
        if let Some(receipt) =
            blocking(move || node.receipt(&hash).map_err(crate::params::internal)).await?
        {
            let err = receipt.status.error().map_or(Value::Null, |reason| error_value(&reason));
            sink.send(send_value(&with_context(receipt.block_height, json!({ "err": err })))?)
                .await?;
            return Ok(());
        }
        tokio::select! {
            changed = heads.changed() => if changed.is_err() { return Ok(()) },
            _ = sink.closed() => return Ok(()),
        }
    }
}

/// Notifies whenever a committed block changed the account.
async fn account_subscription(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<SolanaContext>,
) -> SubscriptionResult {
    let Some((pending, (address, encoding))) = parsed(pending, || {
        let values = values(&params)?;
        let encoding = DataEncoding::of(&config(&values, 1)?, "binary")?;
        Ok((pubkey(arg(&values, 0, "pubkey")?, "pubkey")?, encoding))
    })
    .await
    else {
        return Ok(());
    };
    let sink = pending.accept().await?;
    let mut heads = ctx.node.watch_heads();
    let encoding = Arc::new(encoding);
    // The account at the head, as shown, and the head's slot.
    let shown = || {
        let (ctx, encoding) = (ctx.clone(), encoding.clone());
        blocking(move || {
            let read = Read::at_head(&ctx, &json!({}))?;
            let account = read.account(&address)?;
            // A closed account shows as an empty system account (as Solana notifies it).
            let empty = nvm_vm_svm::AccountSharedData::default();
            Ok((read.slot, encoding.account(account.as_ref().unwrap_or(&empty))?))
        })
    };
    let (_, mut last) = shown().await?;
    loop {
        tokio::select! {
            changed = heads.changed() => if changed.is_err() { return Ok(()) },
            _ = sink.closed() => return Ok(()),
        }
        let (slot, now) = shown().await?;
        if now != last {
            sink.send(send_value(&with_context(slot, now.clone()))?).await?;
            last = now;
        }
    }
}

/// Notifies every new slot (block).
async fn slot_subscription(
    _: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<SolanaContext>,
) -> SubscriptionResult {
    let sink = pending.accept().await?;
    let mut heads = ctx.node.watch_heads();
    loop {
        tokio::select! {
            changed = heads.changed() => if changed.is_err() { return Ok(()) },
            _ = sink.closed() => return Ok(()),
        }
        let slot = heads.borrow_and_update().height;
        let note = json!({ "parent": slot.saturating_sub(1), "root": slot, "slot": slot });
        sink.send(send_value(&note)?).await?;
    }
}

pub(super) fn register(module: &mut RpcModule<SolanaContext>) {
    module
        .register_subscription(
            "signatureSubscribe",
            "signatureNotification",
            "signatureUnsubscribe",
            |params, pending, ctx, _| signature_subscription(params, pending, ctx),
        )
        .expect("unique subscription names");
    module
        .register_subscription(
            "accountSubscribe",
            "accountNotification",
            "accountUnsubscribe",
            |params, pending, ctx, _| account_subscription(params, pending, ctx),
        )
        .expect("unique subscription names");
    module
        .register_subscription(
            "slotSubscribe",
            "slotNotification",
            "slotUnsubscribe",
            |params, pending, ctx, _| slot_subscription(params, pending, ctx),
        )
        .expect("unique subscription names");
}
