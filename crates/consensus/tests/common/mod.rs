//! A simulated network of n-VM validators on commonware's deterministic runtime: each validator
//! has its own chain and transaction journal on disk and its own consensus stack; links carry
//! seeded latency and loss. A crashed validator is reopened from its disk, as a node restarts.

#![allow(dead_code)]

use commonware_cryptography::{Signer, ed25519::PrivateKey};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock, Handle, Quota, Spawner, Supervisor, deterministic};
use commonware_utils::{NZU32, NZUsize, Probability, ordered::Set};
use nvm_consensus::{
    BlockRules, Channels, EngineConfig, NvmApplication, Timeouts, channel, namespace, start,
};
use nvm_node::{Chain, Genesis, Mempool, TxJournal};
use parking_lot::Mutex;
use std::{path::Path, sync::Arc, time::Duration};

pub type PublicKey = commonware_cryptography::ed25519::PublicKey;
pub type Context = deterministic::Context;
const QUOTA: Quota = Quota::per_second(NZU32!(1_000_000));

/// What a validator holds in memory: thrown away by a crash, opened again from disk.
struct Opened {
    chain: Arc<Chain>,
    mempool: Arc<Mempool>,
    /// Transactions its journal kept, re-admitted once its gossip runs again.
    journaled: Vec<Vec<u8>>,
}

pub struct Validator {
    pub key: PrivateKey,
    index: usize,
    /// `None` only while a crashed validator is being reopened.
    opened: Mutex<Option<Opened>>,
    pub rules: BlockRules,
    dir: tempfile::TempDir,
}

impl Validator {
    fn open(dir: &Path, index: usize) -> Opened {
        let vms = nvm_vms::registry().expect("the VMs register");
        let history = nvm_node::HistoryWindow::default();
        let chain = Chain::open(dir, &Genesis::dev(&vms), Self::proposer(index), vms, history)
            .expect("chain opens");
        let (journal, journaled) =
            TxJournal::open(&dir.join("mempool.journal"), nvm_node::JournalSync::PowerLoss)
                .expect("journal opens");
        let mempool = Arc::new(Mempool::with_journal(100_000, journal));
        Opened { chain: Arc::new(chain), mempool, journaled }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Opened) -> T) -> T {
        f(self.opened.lock().as_mut().expect("the validator is open"))
    }

    pub fn chain(&self) -> Arc<Chain> {
        self.with(|o| o.chain.clone())
    }

    pub fn mempool(&self) -> Arc<Mempool> {
        self.with(|o| o.mempool.clone())
    }

    pub fn height(&self) -> u64 {
        self.chain().head().expect("head").height
    }

    /// After a crash (its tasks aborted): waits until nothing of the old run holds the chain
    /// or the pool, then opens both again from disk (redb refuses a second open of one file).
    pub async fn reopen(&self, context: &Context) {
        let deadline = context.current() + Duration::from_secs(10);
        loop {
            {
                let mut opened = self.opened.lock();
                let unused = opened.as_ref().is_some_and(|o| {
                    Arc::strong_count(&o.chain) == 1 && Arc::strong_count(&o.mempool) == 1
                });
                if unused {
                    drop(opened.take());
                    *opened = Some(Self::open(self.dir.path(), self.index));
                    return;
                }
            }
            assert!(context.current() < deadline, "the crashed validator's tasks still run");
            context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// The identity this validator proposes as (its blocks' `proposer`).
    pub fn proposer(index: usize) -> [u8; 32] {
        [index as u8 + 1; 32]
    }
}

/// Validators and the simulated network between them.
pub struct Net {
    pub validators: Vec<Validator>,
    pub oracle: Oracle<PublicKey, Context>,
    pub keys: Vec<PublicKey>,
    pub participants: Set<PublicKey>,
    pub seed: u64,
}

impl Net {
    /// `n` validators on the dev genesis, all linked.
    pub async fn new(context: &Context, n: usize, seed: u64, rules: BlockRules) -> Self {
        let keys: Vec<PrivateKey> =
            (0..n as u64).map(|i| PrivateKey::from_seed(1000 + i)).collect();
        let participants = Set::from_iter_dedup(keys.iter().map(|k| k.public_key()));
        let validators = keys
            .into_iter()
            .enumerate()
            .map(|(index, key)| {
                let dir = tempfile::tempdir().expect("tempdir");
                let opened = Mutex::new(Some(Validator::open(dir.path(), index)));
                Validator { key, index, opened, rules: rules.clone(), dir }
            })
            .collect();
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: 64 * 1024 * 1024,
                max_peers_per_set: NZUsize!(n),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            participants.iter().cloned(),
        )
        .await;
        network.start();
        let keys = participants.iter().cloned().collect();
        let net = Self { validators, oracle, keys, participants, seed };
        net.set_links(|_, _| true).await;
        net
    }

    /// Starts validator `index` (again, after a crash: `incarnation` tells the runs apart), its
    /// application wrapped by `wrap`.
    pub fn spawn_with<A>(
        &self,
        context: &Context,
        index: usize,
        incarnation: u32,
        wrap: impl FnOnce(NvmApplication) -> A + Send + 'static,
    ) -> Handle<()>
    where
        A: commonware_consensus::Application<
                Context,
                Block = nvm_consensus::ConsensusBlock,
                SigningScheme = commonware_consensus::simplex::scheme::ed25519::Scheme,
                Context = commonware_consensus::simplex::types::Context<
                    commonware_cryptography::sha256::Digest,
                    PublicKey,
                >,
                Input = (),
            >,
    {
        let oracle = self.oracle.clone();
        let validator = &self.validators[index];
        let (chain, mempool, journaled) = validator
            .with(|o| (o.chain.clone(), o.mempool.clone(), std::mem::take(&mut o.journaled)));
        let me = validator.key.public_key();
        let config = EngineConfig {
            signer: validator.key.clone(),
            participants: self.participants.clone(),
            namespace: namespace(chain.chain_id()),
            chain: chain.clone(),
            mempool: mempool.clone(),
            rules: validator.rules.clone(),
            timeouts: Timeouts::default(),
            partition_prefix: format!("validator-{index}"),
            blocker: oracle.control(me.clone()),
            peers: oracle.manager(),
        };
        context
            .child("validator")
            .with_attribute("index", index)
            .with_attribute("incarnation", incarnation)
            .spawn(move |context| async move {
                let control = oracle.control(me);
                let register =
                    async |n| control.register(n, QUOTA).await.expect("channel registers");
                let channels = Channels {
                    votes: register(channel::VOTES).await,
                    certificates: register(channel::CERTIFICATES).await,
                    resolver: register(channel::RESOLVER).await,
                    blocks: register(channel::BLOCKS).await,
                    backfill: register(channel::BACKFILL).await,
                };
                let transactions = register(channel::TRANSACTIONS).await;
                nvm_consensus::gossip::start(&context, &chain, &mempool, transactions);
                // What the journal kept from before a crash, as a node re-admits it.
                chain.readmit(&mempool, journaled).expect("journaled transactions re-admitted");
                drop((chain, mempool));
                let _engine = start(context, config, channels, wrap).await;
                futures::future::pending::<()>().await;
            })
    }

    pub fn spawn(&self, context: &Context, index: usize, incarnation: u32) -> Handle<()> {
        self.spawn_with(context, index, incarnation, |app| app)
    }

    /// Links every ordered pair `connected` allows (seeded latency, jitter and loss); cuts the rest.
    pub async fn set_links(&self, connected: impl Fn(usize, usize) -> bool) {
        let seed = self.seed;
        let link = Link {
            latency: Duration::from_millis(20 + seed % 60),
            jitter: Duration::from_millis(5 + seed % 20),
            success_rate: Probability::new(100 - (5 + seed % 11), 100).expect("a probability"),
        };
        for (i, a) in self.keys.iter().enumerate() {
            for (j, b) in self.keys.iter().enumerate() {
                if i == j {
                    continue;
                }
                let _ = self.oracle.remove_link(a.clone(), b.clone()).await;
                if connected(i, j) {
                    self.oracle
                        .add_link(a.clone(), b.clone(), link.clone())
                        .await
                        .expect("link added");
                }
            }
        }
    }

    pub fn heights(&self) -> Vec<u64> {
        self.validators.iter().map(Validator::height).collect()
    }

    pub fn top(&self) -> u64 {
        self.heights().into_iter().max().unwrap_or(0)
    }

    /// Every height committed by two validators holds the same block.
    pub fn assert_safe(&self) {
        for height in 1..=self.top() {
            let mut seen: Option<[u8; 32]> = None;
            for v in &self.validators {
                let Some(block) = v.chain().block(height).expect("store reads") else {
                    continue;
                };
                let hash = block.header.hash();
                assert_eq!(
                    *seen.get_or_insert(hash),
                    hash,
                    "seed {}: two blocks finalized at height {height}",
                    self.seed
                );
            }
        }
    }

    /// Waits (virtual time) until every validator in `which` is above `floor`, or fails.
    pub async fn wait_above(
        &self,
        context: &Context,
        which: &[usize],
        floor: u64,
        within: Duration,
        what: &str,
    ) {
        let deadline = context.current() + within;
        while which.iter().any(|&i| self.validators[i].height() <= floor) {
            assert!(
                context.current() < deadline,
                "seed {}, {what}: heights {:?} not above {floor}",
                self.seed,
                self.heights()
            );
            context.sleep(Duration::from_millis(100)).await;
        }
    }

    /// Transactions in the committed blocks of validator `index`, heights 1..=`to`.
    pub fn included(&self, index: usize, to: u64) -> Vec<Vec<u8>> {
        (1..=to)
            .flat_map(|h| {
                self.validators[index].chain().block(h).expect("read").expect("block").transactions
            })
            .collect()
    }
}
