//! Solana's JSON-RPC (`127.0.0.1:8899`) and pub-sub WebSocket (the next port, 8900), as
//! `@solana/web3.js` and the Solana CLI call them, over the same chain as the `nvm_*` and
//! `eth_*` namespaces.

mod accounts;
mod blocks;
mod cluster;
mod history;
mod holders;
mod message;
mod params;
mod pubsub;
mod tokens;
mod transactions;
mod validators;

use jsonrpsee::{
    RpcModule,
    core::traits::IdProvider,
    server::ServerHandle,
    types::{Params, SubscriptionId},
};
use nvm_node_api::NodeApi;
use serde_json::Value;
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

pub use params::codes;
pub use validators::Validators;

/// The Agave release whose SVM runs Solana transactions here (what `getVersion` reports).
pub const SOLANA_CORE_VERSION: &str = "4.2.2";

/// What the Solana RPC serves from.
#[derive(Clone)]
pub struct SolanaContext {
    pub node: Arc<dyn NodeApi>,
    /// Pays `requestAirdrop` (dev networks only).
    pub faucet: Option<Arc<nvm_vm_svm::Faucet>>,
    /// Most accounts one account scan looks at.
    pub max_scanned_accounts: usize,
    /// The cluster's validators (none known: the cluster methods have no one to name).
    pub validators: Validators,
}

impl SolanaContext {
    pub fn new(node: Arc<dyn NodeApi>, faucet: Option<nvm_vm_svm::Faucet>) -> Self {
        Self {
            node,
            faucet: faucet.map(Arc::new),
            max_scanned_accounts: nvm_rpc::RpcLimits::default().max_scanned_accounts,
            validators: Validators::default(),
        }
    }
}

/// Subscription ids Solana clients can hold: small integers (JavaScript numbers lose
/// precision past 2^53, so jsonrpsee's random 64-bit ids would not round-trip).
#[derive(Debug, Default)]
struct CountingIds(AtomicU64);

impl IdProvider for CountingIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        SubscriptionId::Num(self.0.fetch_add(1, Ordering::Relaxed))
    }
}

fn add(
    module: &mut RpcModule<SolanaContext>,
    name: &'static str,
    handler: fn(&SolanaContext, &Params<'_>) -> Result<Value, jsonrpsee::types::ErrorObjectOwned>,
) {
    module
        .register_blocking_method(name, move |params, ctx, _| handler(&ctx, &params))
        .expect("method names are unique");
}

/// Every Solana method and subscription.
pub fn solana_module(ctx: SolanaContext) -> RpcModule<SolanaContext> {
    let mut module = RpcModule::new(ctx);
    add(&mut module, "getVersion", cluster::get_version);
    add(&mut module, "getHealth", cluster::get_health);
    add(&mut module, "getGenesisHash", cluster::get_genesis_hash);
    add(&mut module, "getSlot", cluster::get_slot);
    add(&mut module, "getBlockHeight", cluster::get_slot);
    add(&mut module, "getEpochInfo", cluster::get_epoch_info);
    add(&mut module, "getEpochSchedule", cluster::get_epoch_schedule);
    add(&mut module, "getLatestBlockhash", cluster::get_latest_blockhash);
    add(&mut module, "isBlockhashValid", cluster::is_blockhash_valid);
    add(&mut module, "getBalance", accounts::get_balance);
    add(&mut module, "getAccountInfo", accounts::get_account_info);
    add(&mut module, "getMultipleAccounts", accounts::get_multiple_accounts);
    add(&mut module, "getProgramAccounts", accounts::get_program_accounts);
    add(
        &mut module,
        "getMinimumBalanceForRentExemption",
        accounts::get_minimum_balance_for_rent_exemption,
    );
    add(&mut module, "getTokenAccountBalance", tokens::get_token_account_balance);
    add(&mut module, "getTokenAccountsByOwner", tokens::get_token_accounts_by_owner);
    add(&mut module, "getTokenSupply", tokens::get_token_supply);
    add(&mut module, "getTokenLargestAccounts", holders::get_token_largest_accounts);
    add(&mut module, "getLargestAccounts", holders::get_largest_accounts);
    add(&mut module, "sendTransaction", transactions::send_transaction);
    add(&mut module, "simulateTransaction", transactions::simulate_transaction);
    add(&mut module, "requestAirdrop", transactions::request_airdrop);
    add(&mut module, "getSignatureStatuses", transactions::get_signature_statuses);
    add(&mut module, "getTransaction", transactions::get_transaction);
    add(&mut module, "getSignaturesForAddress", history::get_signatures_for_address);
    add(&mut module, "getIdentity", validators::get_identity);
    add(&mut module, "getClusterNodes", validators::get_cluster_nodes);
    add(&mut module, "getVoteAccounts", validators::get_vote_accounts);
    add(&mut module, "getSlotLeader", validators::get_slot_leader);
    add(&mut module, "getSlotLeaders", validators::get_slot_leaders);
    add(&mut module, "getLeaderSchedule", validators::get_leader_schedule);
    add(&mut module, "getRecentPerformanceSamples", validators::get_recent_performance_samples);
    add(&mut module, "getInflationReward", validators::get_inflation_reward);
    add(&mut module, "getBlock", blocks::get_block);
    add(&mut module, "getBlocks", blocks::get_blocks);
    add(&mut module, "getBlocksWithLimit", blocks::get_blocks_with_limit);
    add(&mut module, "getBlockTime", blocks::get_block_time);
    add(&mut module, "getFirstAvailableBlock", |_, _| Ok(serde_json::json!(0)));
    add(&mut module, "minimumLedgerSlot", |_, _| Ok(serde_json::json!(0)));
    add(&mut module, "getSupply", blocks::get_supply);
    // Every committed transaction, whichever VM ran it (Solana's counts its ledger's).
    add(&mut module, "getTransactionCount", |ctx, _| {
        Ok(serde_json::json!(ctx.node.transaction_count().map_err(params::internal)?))
    });
    add(&mut module, "getFeeForMessage", blocks::get_fee_for_message);
    add(&mut module, "getRecentPrioritizationFees", blocks::get_recent_prioritization_fees);
    pubsub::register(&mut module);
    module
}

/// The Solana servers: JSON-RPC at `addr` and pub-sub at the next port (Solana's convention,
/// which `@solana/web3.js` follows to find the WebSocket). Both speak HTTP and WebSocket.
/// Returns both bound addresses (with port 0 each is picked freely). Each server holds to
/// `limits` (those of the node's other JSON-RPC server).
pub async fn start_solana(
    addr: SocketAddr,
    ctx: SolanaContext,
    limits: nvm_rpc::RpcLimits,
) -> std::io::Result<([SocketAddr; 2], [ServerHandle; 2])> {
    let pubsub_addr = SocketAddr::new(
        addr.ip(),
        if addr.port() == 0 { 0 } else { addr.port().saturating_add(1) },
    );
    let ctx = SolanaContext { max_scanned_accounts: limits.max_scanned_accounts, ..ctx };
    let mut bound = [addr; 2];
    let mut handles = Vec::with_capacity(2);
    for (i, at) in [addr, pubsub_addr].into_iter().enumerate() {
        let config = limits.server_config().set_id_provider(CountingIds::default()).build();
        let (at, handle) = nvm_rpc::serve(at, &limits, config, solana_module(ctx.clone())).await?;
        bound[i] = at;
        handles.push(handle);
    }
    let [rpc, pubsub]: [ServerHandle; 2] =
        handles.try_into().map_err(|_| std::io::Error::other("two servers expected"))?;
    Ok((bound, [rpc, pubsub]))
}
