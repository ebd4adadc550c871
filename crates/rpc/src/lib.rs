//! The node's JSON-RPC: the `nvm_*` and `eth_*` namespaces, and Solana's on its own ports.

mod bitcoin;
mod convert;
mod errors;
mod eth;
mod eth_tx;
mod finality;
mod methods;
mod solana;

pub use convert::{identity_json, parse_hash, parse_hex};
pub use errors::codes;
pub use finality::FinalityProofs;
pub use methods::{NodeContext, rpc_module};
pub use solana::{
    SOLANA_CORE_VERSION, SolanaContext, codes as solana_codes, solana_module, start_solana,
};

use jsonrpsee::server::{Server, ServerHandle};
use std::net::SocketAddr;

/// Starts the server on `addr`; returns the bound address (useful with port 0) and its handle.
pub async fn start(
    addr: SocketAddr,
    ctx: NodeContext,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder().build(addr).await?;
    let bound = server.local_addr()?;
    let handle = server.start(rpc_module(ctx));
    Ok((bound, handle))
}
