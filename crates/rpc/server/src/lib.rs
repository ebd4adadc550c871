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

use jsonrpsee::server::{Server, ServerHandle};
use std::net::SocketAddr;

/// Starts the server on `addr` with the `nvm_*` methods and those of `namespaces`; returns the
/// bound address (useful with port 0) and its handle.
pub async fn start(
    addr: SocketAddr,
    ctx: NodeContext,
    namespaces: &[Namespace],
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder().build(addr).await?;
    let bound = server.local_addr()?;
    let handle = server.start(rpc_module(ctx, namespaces));
    Ok((bound, handle))
}
