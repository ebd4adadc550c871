//! What every API's subscriptions share: following committed blocks one by one, and reading the
//! node (its storage blocks) off the async workers that carry every connection's messages.

use jsonrpsee::{PendingSubscriptionSink, core::SubscriptionResult, types::ErrorObjectOwned};
use nvm_primitives::ChainHead;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::watch;

/// Runs `read` on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, ErrorObjectOwned> + Send + 'static,
) -> Result<T, ErrorObjectOwned> {
    tokio::task::spawn_blocking(read).await.map_err(crate::internal)?
}

/// Accepts the subscription and sends, for each block committed from then on (in order, none
/// skipped), what `notify` makes of its height (read on the blocking pool), one notification
/// each, until the client leaves or the node stops.
pub async fn follow_blocks<F>(
    pending: PendingSubscriptionSink,
    mut heads: watch::Receiver<ChainHead>,
    notify: F,
) -> SubscriptionResult
where
    F: Fn(u64) -> Result<Vec<Value>, ErrorObjectOwned> + Send + Sync + 'static,
{
    let sink = pending.accept().await?;
    let mut next = heads.borrow_and_update().height + 1;
    let notify = Arc::new(notify);
    loop {
        tokio::select! {
            changed = heads.changed() => if changed.is_err() { return Ok(()) },
            _ = sink.closed() => return Ok(()),
        }
        let head = heads.borrow_and_update().height;
        while next <= head {
            let (notify, height) = (notify.clone(), next);
            for note in blocking(move || notify(height)).await? {
                sink.send(serde_json::value::to_raw_value(&note)?).await?;
            }
            next += 1;
        }
    }
}
