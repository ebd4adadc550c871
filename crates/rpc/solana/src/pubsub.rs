//! Solana's pub-sub over WebSocket: `signatureSubscribe`, `accountSubscribe`, `slotSubscribe`,
//! `rootSubscribe`, `logsSubscribe`, `programSubscribe`, `blockSubscribe`. Each subscription
//! wakes on every committed block (a slot is a block, and every committed block is rooted);
//! notifications carry `{context: {slot}, value}` as the clients expect.

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
use nvm_vm_svm::ReadableAccount;
use serde_json::{Value, json};
use std::sync::Arc;

fn send_value(value: &Value) -> Result<Box<serde_json::value::RawValue>, serde_json::Error> {
    serde_json::value::to_raw_value(value)
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
            nvm_rpc::blocking(move || node.receipt(&hash).map_err(crate::params::internal)).await?
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
        nvm_rpc::blocking(move || {
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

/// Notifies every new slot (block), each one.
async fn slot_subscription(
    _: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<SolanaContext>,
) -> SubscriptionResult {
    each_slot(pending, ctx, |_, slot| {
        Ok(vec![json!({ "parent": slot.saturating_sub(1), "root": slot, "slot": slot })])
    })
    .await
}

/// Calls `notify` with each new committed slot (in order) until the client leaves; what it
/// returns is sent, one notification each.
async fn each_slot<F>(
    pending: PendingSubscriptionSink,
    ctx: Arc<SolanaContext>,
    notify: F,
) -> SubscriptionResult
where
    F: Fn(&SolanaContext, u64) -> Result<Vec<Value>, ErrorObjectOwned> + Send + Sync + 'static,
{
    let heads = ctx.node.watch_heads();
    nvm_rpc::follow_blocks(pending, heads, move |slot| notify(&ctx, slot)).await
}

/// The Solana transactions of the block at `slot`: wire bytes and receipt, in block order.
fn solana_transactions(
    ctx: &SolanaContext,
    slot: u64,
) -> Result<Vec<(nvm_vm_svm::VersionedTransaction, nvm_primitives::Receipt)>, ErrorObjectOwned> {
    let Some(block) = ctx.node.block(slot).map_err(crate::params::internal)? else {
        return Ok(Vec::new());
    };
    crate::transactions::wallet_transactions(&block)
        .map(|(_, tx, signature)| {
            Ok((tx, crate::transactions::committed_receipt(ctx, &signature)?))
        })
        .collect()
}

/// Every transaction's logs (`"all"`), or those naming an account (`{"mentions": [pubkey]}`).
async fn logs_subscription(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<SolanaContext>,
) -> SubscriptionResult {
    let Some((pending, mentions)) = parsed(pending, || {
        let values = values(&params)?;
        config(&values, 1)?;
        match arg(&values, 0, "filter")? {
            Value::String(all) if all == "all" || all == "allWithVotes" => Ok(None),
            Value::Object(filter) => match filter.get("mentions").and_then(Value::as_array) {
                Some(list) if list.len() == 1 => Ok(Some(pubkey(&list[0], "mentions")?)),
                _ => {
                    Err(crate::params::invalid_params("Invalid Request: Only 1 address supported"))
                }
            },
            _ => Err(crate::params::invalid_params(
                "Invalid params: all, allWithVotes or {mentions}",
            )),
        }
    })
    .await
    else {
        return Ok(());
    };
    each_slot(pending, ctx, move |ctx, slot| {
        let mut notes = Vec::new();
        for (tx, receipt) in solana_transactions(ctx, slot)? {
            let keys = tx.message.static_account_keys();
            if mentions.is_some_and(|m| !keys.iter().any(|k| k.to_bytes() == m)) {
                continue;
            }
            let meta =
                nvm_vm_svm::SvmMeta::decode(&receipt.vm_data).map_err(crate::params::internal)?;
            let err = receipt.status.error().map_or(Value::Null, |reason| error_value(&reason));
            let signature = crate::params::base58(tx.signatures[0].as_ref());
            let value = json!({ "signature": signature, "err": err, "logs": meta.log_messages });
            notes.push(with_context(slot, value));
        }
        Ok(notes)
    })
    .await
}

/// Accounts of a program that a block's transactions changed (with the `dataSize`/`memcmp`
/// filters of `getProgramAccounts`), as they are after it.
async fn program_subscription(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<SolanaContext>,
) -> SubscriptionResult {
    let Some((pending, (program, encoding, filters))) = parsed(pending, || {
        let values = values(&params)?;
        let config = config(&values, 1)?;
        let program = pubkey(arg(&values, 0, "program id")?, "program id")?;
        let filters = crate::accounts::filters(&config)?;
        Ok((program, DataEncoding::of(&config, "binary")?, filters))
    })
    .await
    else {
        return Ok(());
    };
    each_slot(pending, ctx, move |ctx, slot| {
        let read = Read::at_head(ctx, &json!({}))?;
        let mut named = std::collections::BTreeSet::new();
        for (tx, _) in solana_transactions(ctx, slot)? {
            named.extend(tx.message.static_account_keys().iter().map(|k| k.to_bytes()));
        }
        let mut notes = Vec::new();
        for address in named {
            let Some(account) = read.account(&address)? else { continue };
            if account.owner().to_bytes() != program
                || !filters.iter().all(|f| f.matches(account.data()))
            {
                continue;
            }
            let value = json!({
                "pubkey": crate::params::base58(&address),
                "account": encoding.account(&account)?,
            });
            notes.push(with_context(slot, value));
        }
        Ok(notes)
    })
    .await
}

/// Each new block, as `getBlock` shows it under the subscription's config: every block (filter
/// `"all"`), or those with a Solana transaction that names an account
/// (`{"mentionsAccountOrProgram": pubkey}`), showing those transactions.
async fn block_subscription(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<SolanaContext>,
) -> SubscriptionResult {
    let Some((pending, (config, mentions))) = parsed(pending, || {
        let values = values(&params)?;
        let mentions = match arg(&values, 0, "filter")? {
            Value::String(all) if all == "all" => None,
            Value::Object(filter) if filter.contains_key("mentionsAccountOrProgram") => {
                Some(pubkey(&filter["mentionsAccountOrProgram"], "mentionsAccountOrProgram")?)
            }
            _ => {
                return Err(crate::params::invalid_params(
                    "Invalid params: blockSubscribe takes \"all\" or {mentionsAccountOrProgram}",
                ));
            }
        };
        Ok((config(&values, 1)?, mentions))
    })
    .await
    else {
        return Ok(());
    };
    each_slot(pending, ctx, move |ctx, slot| {
        let (block, named) = crate::blocks::block_json(ctx, slot, &config, mentions)?;
        if mentions.is_some() && named == 0 {
            return Ok(Vec::new());
        }
        Ok(vec![with_context(slot, json!({ "slot": slot, "block": block, "err": null }))])
    })
    .await
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
    // Every committed block is rooted: the root is the slot.
    module
        .register_subscription(
            "rootSubscribe",
            "rootNotification",
            "rootUnsubscribe",
            |_, pending, ctx, _| each_slot(pending, ctx, |_, slot| Ok(vec![json!(slot)])),
        )
        .expect("unique subscription names");
    module
        .register_subscription(
            "logsSubscribe",
            "logsNotification",
            "logsUnsubscribe",
            |params, pending, ctx, _| logs_subscription(params, pending, ctx),
        )
        .expect("unique subscription names");
    module
        .register_subscription(
            "programSubscribe",
            "programNotification",
            "programUnsubscribe",
            |params, pending, ctx, _| program_subscription(params, pending, ctx),
        )
        .expect("unique subscription names");
    module
        .register_subscription(
            "blockSubscribe",
            "blockNotification",
            "blockUnsubscribe",
            |params, pending, ctx, _| block_subscription(params, pending, ctx),
        )
        .expect("unique subscription names");
}
