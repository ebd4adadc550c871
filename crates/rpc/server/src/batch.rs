//! JSON-RPC batches answered concurrently. jsonrpsee's own service runs a batch's calls one
//! after another, so a batch of 100 `eth_sendRawTransaction`s recovers 100 signers in turn on
//! one core and waits for 100 journal writes in turn (on a validator, 100 fsyncs that group
//! commit cannot merge). Here the calls of a batch run together, at most
//! [`BATCH_CONCURRENCY`] at a time, each on its blocking thread as a lone call would, and the
//! answers come back in the batch's order. JSON-RPC lets a server process a batch's calls in any
//! order; within one sender, nonces the mempool takes out of order wait for their predecessors.

use futures::{StreamExt, stream::FuturesOrdered};
use jsonrpsee::{
    core::{
        middleware::{Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceT},
        server::{BatchResponseBuilder, MethodResponse},
    },
    types::Request,
};
use std::future::Future;

/// Most calls of one batch running at once: enough to keep every core busy recovering
/// signatures while others wait on the journal.
pub const BATCH_CONCURRENCY: usize = 16;

/// jsonrpsee's RPC service `inner`, with batches run concurrently; their answers together stay
/// within `max_response_bytes`.
#[derive(Clone)]
pub struct ConcurrentBatches<S> {
    pub inner: S,
    pub max_response_bytes: usize,
}

impl<S> RpcServiceT for ConcurrentBatches<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            NotificationResponse = MethodResponse,
            BatchResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.call(request)
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(notification)
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let service = self.inner.clone();
        let mut answers = BatchResponseBuilder::new_with_limit(self.max_response_bytes);
        async move {
            let mut entries = batch.into_iter();
            let mut running = FuturesOrdered::new();
            let mut answered = Vec::new();
            loop {
                while running.len() < BATCH_CONCURRENCY {
                    let Some(entry) = entries.next() else { break };
                    running.push_back(answer(service.clone(), entry));
                }
                let Some(done) = running.next().await else { break };
                answered.push(done);
            }
            let notified = answered.iter().any(Option::is_none);
            for answer in answered.into_iter().flatten() {
                if let Err(too_big) = answers.append(answer) {
                    return too_big;
                }
            }
            // Notifications only: nothing to answer; an empty batch is an invalid request.
            if answers.is_empty() && notified {
                MethodResponse::notification()
            } else {
                MethodResponse::from_batch(answers.finish())
            }
        }
    }
}

/// One entry of a batch, run by `service`: a call's answer, nothing for a notification.
async fn answer<S>(
    service: S,
    entry: Result<BatchEntry<'_>, BatchEntryErr<'_>>,
) -> Option<MethodResponse>
where
    S: RpcServiceT<MethodResponse = MethodResponse, NotificationResponse = MethodResponse>,
{
    match entry {
        Ok(BatchEntry::Call(request)) => Some(service.call(request).await),
        Ok(BatchEntry::Notification(n)) => {
            service.notification(n).await;
            None
        }
        Err(e) => {
            let (error, id) = e.into_parts();
            Some(MethodResponse::error(id, error))
        }
    }
}
