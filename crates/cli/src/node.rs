//! One node of a consensus network. The dev node (one validator, alone) and every validator of a
//! testnet run this same path: the chain and its store, the mempool and its journal, the RPCs,
//! authenticated p2p (commonware's lookup network: the validators' keys and addresses are known
//! up front), simplex consensus, transaction gossip and, if asked, Prometheus `/metrics`.

use commonware_codec::Encode;
use commonware_cryptography::{ChaCha20Poly1305, Signer, ed25519};
use commonware_p2p::{AddressableManager, authenticated::lookup};
use commonware_runtime::{Quota, Runner, Supervisor, tokio as cw_tokio};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{
    NZU32, NZUsize,
    ordered::{Map, Set},
};
use nvm_consensus::{BlockRules, Channels, EngineConfig, Timeouts, channel, namespace};
use nvm_node::{Chain, Genesis, Mempool, TxJournal};
use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

/// Everything a node needs to start.
pub struct NodeSetup {
    /// Consensus and p2p key. Fees of the blocks this node proposes go to the n-VM Ed25519
    /// identity of the same key.
    pub key: ed25519::PrivateKey,
    /// Every validator (this one included) and where its p2p listens.
    pub validators: Vec<(ed25519::PublicKey, SocketAddr)>,
    pub p2p_addr: SocketAddr,
    pub genesis: Genesis,
    /// The chain database, the consensus storage (`consensus/`) and the transaction journal.
    pub data_dir: PathBuf,
    pub rpc_addr: SocketAddr,
    /// What one client may ask of the JSON-RPC server at once.
    pub rpc_limits: nvm_rpc::RpcLimits,
    /// Solana JSON-RPC; its pub-sub listens on the next port.
    pub solana_rpc_addr: SocketAddr,
    pub tron_http_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    /// Pays Solana `requestAirdrop` (dev networks only).
    pub faucet: Option<nvm_vm_svm::Faucet>,
    /// How many blocks' state stays readable besides the head's.
    pub history: nvm_node::HistoryWindow,
    /// A dev chain's dev authority: anvil's dev methods sign with it (`None` on a network).
    pub dev_authority: Option<Arc<nvm_rpc::DevAuthority>>,
    pub rules: BlockRules,
    /// Most transactions one sender may have pending (and nonces it may queue ahead).
    pub max_pending_per_sender: usize,
    /// What a transaction this node acknowledged survives (the journal's fsync or not).
    pub journal_sync: nvm_node::JournalSync,
}

/// Whether the chain's genesis names `dev` its dev authority; a data directory written before
/// dev methods existed does not, and they are off there (said once, in the log).
fn named_dev_authority(chain: &Chain, dev: &nvm_rpc::DevAuthority) -> bool {
    use nvm_state_api::StateReader;
    let named = chain
        .snapshot()
        .ok()
        .and_then(|state| state.get(&nvm_identity::dev_authority_key()).ok().flatten())
        .and_then(|bytes| <nvm_primitives::IdCom>::try_from(bytes.as_slice()).ok());
    if named != Some(dev.id) {
        tracing::warn!(
            "this chain's genesis names no dev authority (its data directory predates dev methods): anvil_set*, evm_snapshot/evm_revert, evm time and impersonation are off; a fresh --data-dir has them"
        );
    }
    named == Some(dev.id)
}

/// The n-VM identity of a validator key: fees of its blocks go there.
pub fn proposer_identity(key: &ed25519::PrivateKey) -> nvm_primitives::IdCom {
    nvm_identity::id_com_from_credential(
        nvm_primitives::SchemeId::Ed25519,
        &key.public_key().encode(),
        &[0; 32],
    )
}

/// The ecosystem APIs served on the node's port beside `nvm_*` (the Solana API has ports of its
/// own): a new ecosystem's API is a crate and a line here.
const ECOSYSTEM_APIS: &[nvm_rpc::Namespace] = &[nvm_rpc_eth::register, nvm_rpc_bitcoin::register];

/// Largest p2p message (a full block, with room to spare).
const MAX_MESSAGE_BYTES: u32 = 48 * 1024 * 1024;
/// Messages per second one peer may send on one channel. The burst also sizes each channel's
/// preallocated inbound queue (peers × burst slots), so it stays small: transactions travel in
/// batches (see `nvm_consensus::gossip`).
const QUOTA: Quota = Quota::per_second(NZU32!(2_000)).allow_burst(NZU32!(256));
/// Most pending transactions a node holds.
pub const MEMPOOL_CAPACITY: usize = 200_000;

/// How much lower than the node's other threads admission's signature checks run (a `nice`
/// increment).
const ADMISSION_NICENESS: i32 = 10;

/// Admission verifies signatures on rayon's global pool (block execution has a pool of its own):
/// its threads run at a lower OS priority, so that on a busy machine a flood of submissions slows
/// acknowledgements rather than building, verifying and committing blocks. Without it, four
/// validators on two cores under a submission burst took longer to build a block than a view
/// lasts, and views failed one after another.
fn lower_admission_priority() {
    let built = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("nvm-admit-{i}"))
        .start_handler(|_| {
            #[cfg(target_os = "linux")]
            // SAFETY: setpriority on the calling thread (its kernel task id) has no memory effects.
            unsafe {
                libc::setpriority(
                    libc::PRIO_PROCESS,
                    libc::gettid() as libc::id_t,
                    ADMISSION_NICENESS,
                );
            }
        })
        .build_global();
    if let Err(e) = built {
        tracing::debug!(error = %e, "admission keeps the default thread pool");
    }
}

/// Opens the chain and the mempool (re-admitting what the journal kept) and runs the node until
/// Ctrl-C or SIGTERM. `banner` prints what the operator should know once the chain is open.
pub fn run(setup: NodeSetup, banner: impl FnOnce(&Chain)) -> Result<(), String> {
    if nvm_node::watch_for_deadlocks() {
        tracing::info!("lock-cycle detection is on (a test build): a deadlock aborts the node");
    }
    lower_admission_priority();
    let participants = Set::from_iter_dedup(setup.validators.iter().map(|(k, _)| k.clone()));
    if participants.position(&setup.key.public_key()).is_none() {
        return Err("this node's key is not among the validators".into());
    }
    ports_free(&setup)?;
    let consensus_dir = setup.data_dir.join("consensus");
    let fresh_consensus = !consensus_dir.exists();
    let chain = Arc::new(
        Chain::open(
            &setup.data_dir,
            &setup.genesis,
            proposer_identity(&setup.key),
            crate::vms::registry()?,
            setup.history,
        )
        .map_err(|e| {
            let dir = setup.data_dir.display();
            if e.to_string().contains("already open") {
                format!("{dir} is in use by another nvm node (stop it, or give another --data-dir)")
            } else {
                format!("cannot open the chain in {dir}: {e}")
            }
        })?,
    );
    let head = chain.head().map_err(|e| e.to_string())?;
    if head.height > 0 && fresh_consensus {
        return Err(format!(
            "{} holds a chain at height {} but no consensus state (it was written by an older nvm \
             that sequenced blocks without consensus): start from an empty data directory",
            setup.data_dir.display(),
            head.height
        ));
    }
    let (journal, journaled) =
        TxJournal::open(&setup.data_dir.join("mempool.journal"), setup.journal_sync)
            .map_err(|e| format!("transaction journal: {e}"))?;
    let mempool = Arc::new(
        Mempool::with_journal(MEMPOOL_CAPACITY, journal)
            .with_per_sender_limit(setup.max_pending_per_sender),
    );
    banner(&chain);
    let rpc_runtime = rpc_runtime()?;
    let rpc_spawner = rpc_runtime.handle().clone();
    let runtime = cw_tokio::Runner::new(
        cw_tokio::Config::new()
            .with_storage_directory(consensus_dir)
            .with_worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get())),
    );
    let outcome = runtime.start(|context| async move {
        let (oracle, channels, transactions) = start_p2p(&context, &setup, participants.len());
        let validators: Vec<[u8; 32]> =
            participants.iter().filter_map(|k| k.encode().as_ref().try_into().ok()).collect();
        let own: [u8; 32] = setup
            .key
            .public_key()
            .encode()
            .as_ref()
            .try_into()
            .map_err(|_| "a validator key is not 32 bytes")?;
        let block_time = setup.rules.block_time;
        let timeouts = Timeouts::for_block_time(block_time);
        let stall_after = nvm_consensus::stall_threshold(block_time, &timeouts);
        let mut engine = nvm_consensus::start(
            context.child("consensus"),
            EngineConfig {
                signer: setup.key,
                participants,
                namespace: namespace(setup.genesis.chain_id),
                chain: chain.clone(),
                mempool: mempool.clone(),
                timeouts,
                rules: setup.rules,
                partition_prefix: "nvm".into(),
                blocker: oracle.clone(),
                peers: oracle,
            },
            channels,
            |app| app,
        )
        .await;
        let pool = mempool.clone();
        nvm_consensus::watch_for_stalls(
            engine.progress.clone(),
            move || pool.try_len(Duration::from_millis(100)),
            stall_after,
        )
        .map_err(|e| format!("cannot start the stall watcher: {e}"))?;
        // The journal's transactions are back in the pool before any client is answered: a
        // pending nonce never ignores them. (The rewrite keeps what clients send meanwhile too.)
        nvm_consensus::gossip::start(&context, &chain, &mempool, transactions);
        match chain.readmit(&mempool, journaled) {
            Ok((0, 0)) => {}
            Ok((journaled, admitted)) => {
                tracing::info!(journaled, admitted, "re-admitted journaled transactions")
            }
            Err(e) => tracing::error!(error = %e, "cannot re-admit journaled transactions"),
        }
        let node = nvm_rpc::NodeContext {
            node: Arc::new(nvm_node::NodeHandle { chain: chain.clone(), mempool: mempool.clone() }),
            finality: Some(Arc::new(MarshalFinality {
                finalizations: engine.finalizations.clone(),
                validators: validators.clone(),
            })),
            limits: setup.rpc_limits,
            dev: setup.dev_authority.clone().filter(|dev| named_dev_authority(&chain, dev)),
            peers: Some(Arc::new(crate::metrics::RuntimePeers(context.child("peers")))),
        };
        let apis = Apis {
            rpc: setup.rpc_addr,
            solana: setup.solana_rpc_addr,
            tron: setup.tron_http_addr,
            faucet: setup.faucet,
            validators: nvm_rpc_solana::Validators { keys: validators.clone(), own: Some(own) },
        };
        let _servers = rpc_spawner
            .spawn(apis.serve(node))
            .await
            .map_err(|e| format!("the RPC servers did not start: {e}"))??;
        if let Some(addr) = setup.metrics_addr {
            let progress = (engine.progress.clone(), stall_after);
            crate::metrics::serve(context.child("nvm"), addr, chain, mempool, progress).await?;
        }
        // Until Ctrl-C or SIGTERM — or until a finalized block cannot be committed: then the
        // node exits with the reason (non-zero) rather than serve a head that no longer moves; a
        // restart resumes from the committed head.
        let stopped = engine.stopped.take().ok_or("the commit loop has no stop channel")?;
        let signal = Box::pin(crate::commands::shutdown_signal());
        let outcome = match futures::future::select(signal, stopped).await {
            futures::future::Either::Left((signal, _)) => {
                signal?;
                tracing::info!("shutting down");
                Ok(())
            }
            futures::future::Either::Right((why, _)) => {
                Err(why.unwrap_or_else(|_| "the commit loop stopped".into()))
            }
        };
        engine.abort();
        outcome
    });
    // Requests still running (a long `eth_call`) are not waited for.
    rpc_runtime.shutdown_background();
    outcome
}

/// Fails, naming the address, if a port this node listens on is taken — before anything is
/// opened or printed (the servers bind later, on their runtime).
fn ports_free(setup: &NodeSetup) -> Result<(), String> {
    let solana = setup.solana_rpc_addr;
    let solana_pubsub =
        SocketAddr::new(solana.ip(), if solana.port() == 0 { 0 } else { solana.port() + 1 });
    let listens = [
        ("JSON-RPC (--rpc-addr)", Some(setup.rpc_addr)),
        ("Solana JSON-RPC (--solana-rpc-addr)", Some(setup.solana_rpc_addr)),
        ("Solana pub-sub (--solana-rpc-addr + 1)", Some(solana_pubsub)),
        ("Tron HTTP API (--tron-http-addr)", Some(setup.tron_http_addr)),
        ("p2p (--p2p-addr)", Some(setup.p2p_addr)),
        ("metrics (--metrics-addr)", setup.metrics_addr),
    ];
    for (what, addr) in listens {
        let Some(addr) = addr.filter(|a| a.port() != 0) else { continue };
        if let Err(e) = std::net::TcpListener::bind(addr) {
            return Err(format!("cannot listen for {what} on {addr}: {e}"));
        }
    }
    Ok(())
}

/// The runtime the RPC servers run on, apart from the one that drives consensus and p2p: a
/// flood of requests or a slow subscription then queues behind other requests, never in front
/// of a vote (the OS still shares the cores between both).
fn rpc_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .thread_name("nvm-rpc")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the RPC runtime: {e}"))
}

/// Where the node's APIs listen.
struct Apis {
    rpc: SocketAddr,
    solana: SocketAddr,
    tron: SocketAddr,
    /// Pays Solana `requestAirdrop` (dev networks only).
    faucet: Option<nvm_vm_svm::Faucet>,
    /// Who validates, as the Solana cluster methods name them.
    validators: nvm_rpc_solana::Validators,
}

/// The running servers: each stops when its handle is dropped.
struct Servers {
    _rpc: jsonrpsee::server::ServerHandle,
    _solana: [jsonrpsee::server::ServerHandle; 2],
}

impl Apis {
    /// Starts every API over `node` (on the runtime this runs on) and says where they listen.
    async fn serve(self, node: nvm_rpc::NodeContext) -> Result<Servers, String> {
        let limits = node.limits;
        let (rpc, rpc_handle) = nvm_rpc::start(self.rpc, node.clone(), ECOSYSTEM_APIS)
            .await
            .map_err(|e| format!("cannot serve RPC on {}: {e}", self.rpc))?;
        let tron = nvm_rpc_tron::start(self.tron, node.node.clone(), limits.call_timeout)
            .await
            .map_err(|e| format!("cannot serve the Tron HTTP API on {}: {e}", self.tron))?;
        let solana = nvm_rpc_solana::SolanaContext {
            validators: self.validators,
            ..nvm_rpc_solana::SolanaContext::new(node.node, self.faucet)
        };
        let ([solana_rpc, pubsub], solana_handles) =
            nvm_rpc_solana::start_solana(self.solana, solana, limits)
                .await
                .map_err(|e| format!("cannot serve the Solana RPC on {}: {e}", self.solana))?;
        println!("JSON-RPC listening on http://{rpc}");
        println!("Solana JSON-RPC listening on http://{solana_rpc}, pub-sub on ws://{pubsub}");
        println!("Tron HTTP API listening on http://{tron}");
        Ok(Servers { _rpc: rpc_handle, _solana: solana_handles })
    }
}

type P2pSender = lookup::Sender<ed25519::PublicKey, cw_tokio::Context>;
type P2pReceiver = lookup::Receiver<ed25519::PublicKey>;

/// Authenticated p2p between the validators (encrypted connections between known keys and
/// addresses) and its channels: consensus's five, and transaction gossip.
fn start_p2p(
    context: &cw_tokio::Context,
    setup: &NodeSetup,
    validators: usize,
) -> (lookup::Oracle<ed25519::PublicKey>, Channels<P2pSender, P2pReceiver>, (P2pSender, P2pReceiver))
{
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: setup.key.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let mut p2p = lookup::Config::local(
        handshake,
        &namespace(setup.genesis.chain_id),
        setup.p2p_addr,
        NZUsize!(validators.max(1)),
        MAX_MESSAGE_BYTES,
        NZUsize!(4096),
    );
    p2p.peer_connection_cooldown = Duration::from_millis(250);
    p2p.dial_frequency = Duration::from_millis(200);
    let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p);
    let addresses: Map<ed25519::PublicKey, commonware_p2p::Address> =
        Map::from_iter_dedup(setup.validators.iter().map(|(k, a)| (k.clone(), (*a).into())));
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
    (oracle, channels, transactions)
}

/// The finalization certificates this node's marshal stores, as the RPC serves them.
struct MarshalFinality {
    finalizations: nvm_consensus::Finalizations,
    validators: Vec<[u8; 32]>,
}

impl nvm_rpc::FinalityProofs for MarshalFinality {
    fn finalization(&self, height: u64) -> Option<Vec<u8>> {
        // RPC methods run on blocking threads; marshal answers from its own task.
        futures::executor::block_on(self.finalizations.encoded(height))
    }

    fn validators(&self) -> Vec<[u8; 32]> {
        self.validators.clone()
    }
}
