//! The node's JSON-RPC server: the `nvm_*` namespace, and the plumbing every ecosystem's API
//! crate registers its methods with (`nvm-rpc-eth`, `nvm-rpc-bitcoin` on this port; the Solana
//! API serves its own ports from `nvm-rpc-solana`).

pub mod batch;
pub mod connection_limit;
mod convert;
mod errors;
mod finality;
mod follow;
mod ids;
mod methods;
pub mod testing;

pub use convert::{block_transactions_json, hex0x, identity_json, parse_hash, parse_hex};
pub use errors::{admission, codes, internal, invalid_params};
pub use finality::FinalityProofs;
pub use follow::{blocking, follow_blocks};
pub use ids::{HexIds, random_id};
pub use methods::{
    ConnectedPeers, DevAuthority, Namespace, NodeContext, RpcResult, account_nonce, add, param_str,
    required, rpc_module,
};

use jsonrpsee::{
    RpcModule,
    server::{BatchRequestConfig, Server, ServerConfig, ServerConfigBuilder, ServerHandle},
};
use std::{net::SocketAddr, time::Duration};

/// What one client may ask of the servers at once (geth's limits are the guide). Over a limit,
/// the request gets a JSON-RPC error that says so: a batch too long `-32010` ("The batch request
/// was too large"), an answer too big `-32008` ("Response is too big", `-32011` for a batch's),
/// a subscription too many `-32006` ("Too many subscriptions"), a simulated call too long
/// `-32000` ("execution aborted (timeout = …)"); past the connection limit, HTTP 429 with a
/// JSON-RPC error `-32097` ([`connection_limit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcLimits {
    /// Most calls in one batch.
    pub max_batch: u32,
    /// Most connections served at once (per server).
    pub max_connections: u32,
    /// Largest answer, in bytes.
    pub max_response_bytes: u32,
    /// Most subscriptions one WebSocket connection holds.
    pub max_subscriptions: u32,
    /// Longest a simulated call (`eth_call`, a whole `eth_estimateGas`, Tron's constant calls)
    /// runs (geth's `--rpc.evmtimeout`).
    pub call_timeout: Duration,
    /// Most gas a simulated call may use (geth's `--rpc.gascap`; never above the EVM's own
    /// per-transaction cap, 2²⁴).
    pub call_gas_cap: u64,
    /// Most blocks one `eth_getLogs` scans.
    pub max_log_blocks: u64,
    /// Most logs one `eth_getLogs` returns (more: an error, so clients split the range).
    pub max_logs: usize,
    /// Most accounts one `getProgramAccounts` or `getTokenAccountsByOwner` looks at (more:
    /// Agave's scan error).
    pub max_scanned_accounts: usize,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            max_batch: 1_000,
            max_connections: 1_000,
            max_response_bytes: 10 * 1024 * 1024,
            max_subscriptions: 1_024,
            call_timeout: Duration::from_secs(5),
            call_gas_cap: 1 << 24,
            max_log_blocks: 10_000,
            max_logs: 10_000,
            max_scanned_accounts: 10_000,
        }
    }
}

impl RpcLimits {
    /// A jsonrpsee server configuration within these limits (every JSON-RPC server of the node
    /// starts from it).
    pub fn server_config(&self) -> ServerConfigBuilder {
        ServerConfig::builder()
            .set_batch_request_config(BatchRequestConfig::Limit(self.max_batch))
            .max_connections(self.max_connections)
            .max_response_body_size(self.max_response_bytes)
            .max_subscriptions_per_connection(self.max_subscriptions)
    }
}

/// Starts the server on `addr` with the `nvm_*` methods and those of `namespaces`, within the
/// context's limits; returns the bound address (useful with port 0) and its handle.
pub async fn start(
    addr: SocketAddr,
    ctx: NodeContext,
    namespaces: &[Namespace],
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ctx.limits.server_config().set_id_provider(HexIds).build();
    let limits = ctx.limits;
    serve(addr, &limits, config, rpc_module(ctx, namespaces)).await
}

/// Serves `module` on `addr` with `config` (built from `limits`' [`RpcLimits::server_config`]),
/// a connection over the limit answered in JSON ([`connection_limit`]), batches run
/// concurrently ([`batch::ConcurrentBatches`]); returns the bound address and the server's
/// handle.
pub async fn serve<C: Send + Sync + 'static>(
    addr: SocketAddr,
    limits: &RpcLimits,
    config: ServerConfig,
    module: RpcModule<C>,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let max_response_bytes = limits.max_response_bytes as usize;
    let batches = jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new()
        .layer_fn(move |inner| batch::ConcurrentBatches { inner, max_response_bytes });
    let server = Server::builder()
        .set_config(config)
        .set_rpc_middleware(batches)
        .set_http_middleware(tower::ServiceBuilder::new().layer(connection_limit::JsonRefusalLayer))
        .build(addr)
        .await?;
    let bound = server.local_addr()?;
    Ok((bound, server.start(module)))
}
