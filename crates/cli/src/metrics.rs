//! Prometheus `/metrics` of a validator: the runtime's registry (consensus, p2p — connected
//! peers among them — and storage metrics the commonware crates keep) plus the chain's own:
//! finalized height, transactions finalized (rate() of it is TPS), time from a block's proposal
//! to its commit here (finalization latency), and the mempool's size.

use commonware_runtime::{
    Clock, Metrics, Spawner, Supervisor,
    telemetry::metrics::{MetricsExt as _, histogram::Buckets},
    tokio::Context,
};
use nvm_node::{Chain, Mempool};
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};

/// Starts the metrics updater and the HTTP endpoint.
pub async fn serve(
    context: Context,
    addr: SocketAddr,
    chain: Arc<Chain>,
    mempool: Arc<Mempool>,
) -> Result<(), String> {
    let height = context.gauge("nvm_finalized_height", "Height of the last finalized block");
    let finalized_txs =
        context.counter("nvm_finalized_transactions", "Transactions in finalized blocks");
    let pool = context.gauge("nvm_mempool_transactions", "Transactions waiting in the mempool");
    let latency = context.histogram(
        "nvm_finalization_latency_seconds",
        "Time from a block's proposal (its timestamp) to its commit on this validator",
        Buckets::NETWORK,
    );
    let mut heads = chain.watch_heads();
    let updater = context.child("updater");
    let (chain_for_updates, mempool_for_updates) = (chain.clone(), mempool.clone());
    updater.child("loop").spawn(move |clock| async move {
        let mut last = chain_for_updates.head().map(|h| h.height).unwrap_or(0);
        loop {
            pool.set(mempool_for_updates.len() as i64);
            if heads.has_changed().unwrap_or(false) {
                let head = heads.borrow_and_update().clone();
                let now =
                    clock.current().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
                for h in last + 1..=head.height {
                    if let Ok(Some(block)) = chain_for_updates.store().block(h) {
                        finalized_txs.inc_by(block.transactions.len() as u64);
                        let ms = now.saturating_sub(block.header.timestamp_ms);
                        latency.observe(ms as f64 / 1000.0);
                    }
                }
                last = head.height;
                height.set(head.height as i64);
            }
            clock.sleep(Duration::from_millis(100)).await;
        }
    });
    let registry = Arc::new(context);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            async move { registry.encode() }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
    println!(
        "Prometheus metrics on http://{}/metrics",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });
    Ok(())
}
