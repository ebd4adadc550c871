//! The node's JSON-RPC server: the `nvm_*` namespace, and the plumbing every ecosystem's API
//! crate registers its methods with (`nvm-rpc-eth`, `nvm-rpc-bitcoin` on this port; the Solana
//! API serves its own ports from `nvm-rpc-solana`).

mod convert;
mod errors;
mod finality;
mod methods;
pub mod testing;

pub use convert::{block_transactions_json, hex0x, identity_json, parse_hash, parse_hex};
pub use errors::{admission, codes, internal, invalid_params};
pub use finality::FinalityProofs;
pub use methods::{
    Namespace, NodeContext, RpcResult, account_nonce, add, param_str, required, rpc_module,
};

use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use std::net::SocketAddr;

/// What one client may ask of the server at once (geth's limits are the guide). Over a limit, the
/// request gets a JSON-RPC error that says so: a batch too long `-32010` ("The batch request was
/// too large"), an answer too big `-32008` ("Response is too big", `-32011` for a batch's); past
/// the connection limit a new connection is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcLimits {
    /// Most calls in one batch.
    pub max_batch: u32,
    /// Most connections served at once.
    pub max_connections: u32,
    /// Largest answer, in bytes.
    pub max_response_bytes: u32,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self { max_batch: 1_000, max_connections: 1_000, max_response_bytes: 10 * 1024 * 1024 }
    }
}

/// Starts the server on `addr` with the `nvm_*` methods and those of `namespaces`, within
/// `limits`; returns the bound address (useful with port 0) and its handle.
pub async fn start(
    addr: SocketAddr,
    ctx: NodeContext,
    namespaces: &[Namespace],
    limits: RpcLimits,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch))
        .max_connections(limits.max_connections)
        .max_response_body_size(limits.max_response_bytes)
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let bound = server.local_addr()?;
    let handle = server.start(rpc_module(ctx, namespaces));
    Ok((bound, handle))
}
