//! Prometheus `/metrics` of a node: the runtime's registry (consensus, p2p and storage metrics
//! the commonware crates keep) plus the chain's own, under `nvm_`: finalized height, transactions
//! finalized (its `rate()` is TPS) and the last ten seconds' TPS, time from a block's proposal to
//! its commit here (finalization latency), the mempool's size, connected peers, and the time since
//! the last commit (a stall shows there before anything else does).

use commonware_runtime::{
    Clock, Metrics, Spawner, Supervisor,
    telemetry::metrics::{MetricsExt as _, histogram::Buckets},
    tokio::Context,
};
use nvm_consensus::CommitProgress;
use nvm_node::{Chain, Mempool};
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

const TPS_WINDOW_SECS: usize = 10;

/// Gauges computed at scrape time, appended to the registry's text: `nvm_peers` (the p2p layer
/// keeps one `connected` series per connected peer), and the time since this validator last
/// committed a block with whether that counts as a stall (read from the commit loop's atomics,
/// so they answer even when the commit loop is stuck).
fn with_node_gauges(mut text: String, progress: &CommitProgress, stall_after: Duration) -> String {
    let peers = connected_peers(&text);
    let since_commit = progress.since_last_commit();
    let stalled = u8::from(since_commit >= stall_after);
    if let Some(end) = text.rfind("# EOF") {
        text.truncate(end);
    }
    text.push_str(&format!(
        "# HELP nvm_peers Validators this node is connected to.\n# TYPE nvm_peers gauge\nnvm_peers {peers}\n\
         # HELP nvm_seconds_since_last_commit Time since this validator last committed a block.\n\
         # TYPE nvm_seconds_since_last_commit gauge\nnvm_seconds_since_last_commit {:.3}\n\
         # HELP nvm_commit_stalled 1 while no block was committed for {:.1} s.\n\
         # TYPE nvm_commit_stalled gauge\nnvm_commit_stalled {stalled}\n# EOF\n",
        since_commit.as_secs_f64(),
        stall_after.as_secs_f64(),
    ));
    text
}

/// The peers the p2p layer is connected to, from the runtime's metrics text: its tracker keeps
/// one `connected` series per connected peer (never itself), and offers no other count.
fn connected_peers(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with("p2p_tracker_directory_connected{")).count()
}

/// `net_peerCount`'s count, read from the runtime's metrics when asked (as `nvm_peers` is).
pub(crate) struct RuntimePeers(pub Context);

impl nvm_rpc::ConnectedPeers for RuntimePeers {
    fn connected(&self) -> usize {
        connected_peers(&self.0.encode())
    }
}

/// Starts the metrics updater and the HTTP endpoint.
pub async fn serve(
    context: Context,
    addr: SocketAddr,
    chain: Arc<Chain>,
    mempool: Arc<Mempool>,
    (progress, stall_after): (Arc<CommitProgress>, Duration),
) -> Result<(), String> {
    let height = context.gauge("finalized_height", "Height of the last finalized block");
    let finalized_txs =
        context.counter("finalized_transactions", "Transactions in finalized blocks");
    let tps = context.gauge("tps", "Transactions finalized per second, over the last ten seconds");
    let pool = context.gauge("mempool_transactions", "Transactions waiting in the mempool");
    let latency = context.histogram(
        "finalization_latency_seconds",
        "Time from a block's proposal (its timestamp) to its commit on this validator",
        Buckets::NETWORK,
    );
    let mut heads = chain.watch_heads();
    let updater = context.child("updater");
    let (chain_for_updates, mempool_for_updates) = (chain.clone(), mempool.clone());
    updater.child("loop").spawn(move |clock| async move {
        let mut last = chain_for_updates.head().map(|h| h.height).unwrap_or(0);
        // (when, transactions finalized by then), one sample a second, the last ten seconds.
        let mut window: std::collections::VecDeque<(SystemTime, u64)> = Default::default();
        let mut total = 0u64;
        loop {
            pool.set(mempool_for_updates.len() as i64);
            if heads.has_changed().unwrap_or(false) {
                let head = heads.borrow_and_update().clone();
                let now =
                    clock.current().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
                for h in last + 1..=head.height {
                    if let Ok(Some(block)) = chain_for_updates.block(h) {
                        finalized_txs.inc_by(block.transactions.len() as u64);
                        total += block.transactions.len() as u64;
                        let ms = now.saturating_sub(block.header.timestamp_ms);
                        latency.observe(ms as f64 / 1000.0);
                    }
                }
                last = head.height;
                height.set(head.height as i64);
            }
            let now = clock.current();
            if window.back().is_none_or(|(at, _)| {
                now.duration_since(*at).is_ok_and(|d| d >= Duration::from_secs(1))
            }) {
                window.push_back((now, total));
                while window.len() > TPS_WINDOW_SECS + 1 {
                    window.pop_front();
                }
                if let (Some((from, before)), Some((to, after))) = (window.front(), window.back()) {
                    let span = to.duration_since(*from).unwrap_or_default().as_secs_f64();
                    if span > 0.0 {
                        tps.set(((after - before) as f64 / span).round() as i64);
                    }
                }
            }
            clock.sleep(Duration::from_millis(100)).await;
        }
    });
    let registry = Arc::new(context);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            let progress = progress.clone();
            async move { with_node_gauges(registry.encode(), &progress, stall_after) }
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
