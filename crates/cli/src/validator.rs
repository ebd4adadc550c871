//! `nvm node --validator --config FILE`: one validator of a multi-validator network — the chain,
//! the RPCs, authenticated p2p (commonware's lookup network: the validators' keys and addresses
//! are known up front), simplex consensus, transaction gossip and a Prometheus `/metrics`.

use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{ChaCha20Poly1305, Signer, ed25519};
use commonware_p2p::{AddressableManager, Receiver, Recipients, Sender, authenticated::lookup};
use commonware_runtime::{Quota, Runner, Spawner, Supervisor, tokio as cw_tokio};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{
    NZU32, NZUsize,
    ordered::{Map, Set},
};
use nvm_consensus::{BlockRules, Channels, EngineConfig, Timeouts, channel, namespace};
use nvm_node::{Chain, Genesis, Mempool};
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

/// A validator's configuration file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValidatorConfig {
    /// This validator's consensus and p2p key (Ed25519 secret, hex). Its identity (fees of the
    /// blocks it proposes) is the n-VM Ed25519 identity of the same key.
    pub private_key: String,
    /// Where peers reach this validator.
    pub p2p_addr: SocketAddr,
    pub rpc_addr: SocketAddr,
    /// Solana JSON-RPC; its pub-sub listens on the next port.
    pub solana_rpc_addr: SocketAddr,
    /// Prometheus metrics (`GET /metrics`).
    pub metrics_addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The genesis block's timestamp (the rest of genesis is the dev allocation).
    pub genesis_timestamp_ms: u64,
    /// Every validator (this one included): public key (hex) and p2p address.
    pub validators: Vec<Peer>,
    pub block_time_ms: u64,
    pub max_block_txs: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Peer {
    pub public_key: String,
    pub p2p_addr: SocketAddr,
}

impl ValidatorConfig {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn key(&self) -> Result<ed25519::PrivateKey, String> {
        let bytes = hex::decode(self.private_key.trim_start_matches("0x"))
            .map_err(|e| format!("private_key: {e}"))?;
        ed25519::PrivateKey::decode(bytes).map_err(|e| format!("private_key: {e}"))
    }

    fn peers(&self) -> Result<Vec<(ed25519::PublicKey, SocketAddr)>, String> {
        self.validators
            .iter()
            .map(|p| {
                let bytes = hex::decode(p.public_key.trim_start_matches("0x"))
                    .map_err(|e| format!("validator key {}: {e}", p.public_key))?;
                let key = ed25519::PublicKey::decode(bytes)
                    .map_err(|e| format!("validator key {}: {e}", p.public_key))?;
                Ok((key, p.p2p_addr))
            })
            .collect()
    }

    pub fn genesis(&self) -> Genesis {
        Genesis { timestamp_ms: self.genesis_timestamp_ms, ..Genesis::dev() }
    }
}

/// A new validator key, hex-encoded (secret, public).
pub fn new_key() -> (String, String) {
    use rand_core::RngCore;
    let mut seed = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut seed);
    let key =
        ed25519::PrivateKey::decode(seed.to_vec()).expect("any 32 bytes are an Ed25519 secret");
    (hex::encode(key.encode()), hex::encode(key.public_key().encode()))
}

/// The n-VM identity of a validator key: fees of its blocks go there.
fn proposer_identity(key: &ed25519::PrivateKey) -> nvm_primitives::IdCom {
    nvm_identity::id_com_from_credential(
        nvm_primitives::SchemeId::Ed25519,
        &key.public_key().encode(),
        &[0; 32],
    )
}

const MAX_MESSAGE_BYTES: u32 = 48 * 1024 * 1024;
const QUOTA: Quota = Quota::per_second(NZU32!(100_000));

pub fn run(config_path: &Path) -> Result<(), String> {
    let config = ValidatorConfig::load(config_path)?;
    let key = config.key()?;
    let peers = config.peers()?;
    let participants = Set::from_iter_dedup(peers.iter().map(|(k, _)| k.clone()));
    if participants.position(&key.public_key()).is_none() {
        return Err("this validator's key is not among `validators`".into());
    }
    let genesis = config.genesis();
    let chain = Arc::new(
        Chain::open(&config.data_dir.join("chain"), &genesis, proposer_identity(&key))
            .map_err(|e| e.to_string())?,
    );
    let mempool = Arc::new(Mempool::new(200_000));
    let head = chain.head().map_err(|e| e.to_string())?;
    println!(
        "n-VM validator {} — chain id {}, {} validators, resuming at height {}",
        hex::encode(key.public_key().encode()),
        genesis.chain_id,
        participants.len(),
        head.height
    );
    let runtime = cw_tokio::Runner::new(
        cw_tokio::Config::new().with_storage_directory(config.data_dir.join("consensus")),
    );
    runtime.start(|context| async move {
        let node = nvm_rpc::NodeContext { chain: chain.clone(), mempool: mempool.clone() };
        let (rpc, _rpc_handle) = nvm_rpc::start(config.rpc_addr, node.clone())
            .await
            .map_err(|e| format!("cannot serve RPC on {}: {e}", config.rpc_addr))?;
        let solana = nvm_rpc::SolanaContext::new(node, None);
        let ([solana_rpc, _], _solana_handles) =
            nvm_rpc::start_solana(config.solana_rpc_addr, solana).await.map_err(|e| {
                format!("cannot serve the Solana RPC on {}: {e}", config.solana_rpc_addr)
            })?;
        println!("JSON-RPC on http://{rpc}, Solana JSON-RPC on http://{solana_rpc}");

        let handshake = Cups::<_, ChaCha20Poly1305>::new(
            Sake {
                signer: key.clone(),
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        );
        let p2p_namespace = namespace(genesis.chain_id);
        let mut p2p = lookup::Config::local(
            handshake,
            &p2p_namespace,
            config.p2p_addr,
            NZUsize!(participants.len().max(1)),
            MAX_MESSAGE_BYTES,
            NZUsize!(4096),
        );
        p2p.peer_connection_cooldown = Duration::from_millis(250);
        p2p.dial_frequency = Duration::from_millis(200);
        let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p);
        let addresses: Map<ed25519::PublicKey, commonware_p2p::Address> =
            Map::from_iter_dedup(peers.iter().map(|(k, a)| (k.clone(), (*a).into())));
        oracle.track(0, addresses);
        let mut register = |n| network.register(n, QUOTA);
        let channels = Channels {
            votes: register(channel::VOTES),
            certificates: register(channel::CERTIFICATES),
            resolver: register(channel::RESOLVER),
            blocks: register(channel::BLOCKS),
            backfill: register(channel::BACKFILL),
        };
        let transactions = register(channel::TRANSACTIONS);
        network.start();

        let engine = nvm_consensus::start(
            context.child("consensus"),
            EngineConfig {
                signer: key,
                participants,
                namespace: namespace(genesis.chain_id),
                chain: chain.clone(),
                mempool: mempool.clone(),
                rules: BlockRules {
                    max_block_txs: config.max_block_txs,
                    block_time: Duration::from_millis(config.block_time_ms),
                },
                timeouts: Timeouts::default(),
                partition_prefix: "nvm".into(),
                blocker: oracle.clone(),
                peers: oracle,
            },
            channels,
            |app| app,
        )
        .await;
        gossip(&context, &chain, &mempool, transactions);
        crate::metrics::serve(context.child("metrics"), config.metrics_addr, chain, mempool)
            .await?;
        crate::commands::shutdown_signal().await?;
        engine.abort();
        Ok(())
    })
}

/// Transactions clients submit here go to every other validator (whichever leads next builds
/// them into a block); transactions from peers are admitted like a client's, not passed on.
fn gossip<S, R>(
    context: &cw_tokio::Context,
    chain: &Arc<Chain>,
    mempool: &Arc<Mempool>,
    (mut sender, mut receiver): (S, R),
) where
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    let (outbox, mut outgoing) = futures::channel::mpsc::unbounded::<Vec<u8>>();
    mempool.set_announcer(Box::new(move |raw| {
        let _ = outbox.unbounded_send(raw.to_vec());
    }));
    context.child("gossip_out").spawn(|_| async move {
        use futures::StreamExt;
        while let Some(raw) = outgoing.next().await {
            sender.send(Recipients::All, raw, false);
        }
    });
    let (chain, mempool) = (chain.clone(), mempool.clone());
    context.child("gossip_in").spawn(|_| async move {
        while let Ok((peer, raw)) = receiver.recv().await {
            match chain.submit_from_peer(&mempool, vec![raw.as_ref().to_vec()]) {
                Ok(results) => {
                    for e in results.into_iter().filter_map(Result::err) {
                        tracing::debug!(peer = %peer, error = %e, "gossiped transaction not admitted");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot admit gossiped transactions"),
            }
        }
    });
}
