//! One validator's consensus stack, wired as commonware's marshal expects: simplex (votes,
//! certificates) drives [`NvmApplication`] through marshal's [`Inline`] wrapper; buffered
//! broadcast carries blocks; the resolver backfills what a validator missed; marshal stores
//! finalized blocks and their certificates and hands them, in order, to the [`CommitLoop`].

use crate::{BlockRules, CommitLoop, ConsensusBlock, Executed, NvmApplication};
use commonware_broadcast::buffered;
use commonware_consensus::{
    Application,
    marshal::{
        self, Start,
        resolver::p2p as resolver,
        standard::{Inline, Standard},
    },
    simplex::{
        self,
        config::{Floor, ForwardPolicy, SkipBudget, SkipPolicy},
        elector::RoundRobin,
        scheme::ed25519::Scheme,
        types::Context,
    },
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{
    Digested, Digestible, Signer,
    certificate::{ConstantProvider, Verifier as _},
    ed25519::{PrivateKey, PublicKey},
    sha256::{Digest, Sha256},
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{
    Clock, Handle, Metrics, Spawner, Storage, Supervisor,
    buffer::paged::{CacheRef, page_size},
};
use commonware_storage::archive::immutable;
use commonware_utils::{NZU64, NZUsize, NonZeroDuration, ordered::Set};
use nvm_node::{Chain, Mempool};
use rand_core::CryptoRng;
use std::{num::NonZeroUsize, sync::Arc, time::Duration};

/// The p2p channels of one validator (a sender and receiver each); every validator must number
/// them alike.
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub blocks: (S, R),
    pub backfill: (S, R),
}

/// Channel numbers, shared by every transport.
pub mod channel {
    pub const VOTES: u64 = 0;
    pub const CERTIFICATES: u64 = 1;
    pub const RESOLVER: u64 = 2;
    pub const BLOCKS: u64 = 3;
    pub const BACKFILL: u64 = 4;
    pub const TRANSACTIONS: u64 = 5;
}

/// Consensus timing.
#[derive(Clone, Debug)]
pub struct Timeouts {
    /// How long a validator waits for the leader's proposal before voting to skip the view.
    pub leader: Duration,
    /// How long it waits for a notarized view to certify.
    pub certification: Duration,
    /// How often it rebroadcasts its vote in a stalled view.
    pub retry: Duration,
    /// How long a block or certificate fetch from one peer may take.
    pub fetch: Duration,
}

impl Timeouts {
    /// Timeouts for blocks every `block_time`: the leader waits up to a block time before it
    /// proposes, so its peers (and, alone, the leader itself) give it that long beyond the
    /// defaults before they move on.
    pub fn for_block_time(block_time: Duration) -> Self {
        let defaults = Self::default();
        Self {
            leader: defaults.leader + block_time,
            certification: defaults.certification + block_time,
            ..defaults
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            leader: Duration::from_secs(3),
            certification: Duration::from_secs(5),
            retry: Duration::from_secs(5),
            fetch: Duration::from_secs(1),
        }
    }
}

/// What a validator needs to run consensus.
pub struct EngineConfig<B, P> {
    pub signer: PrivateKey,
    /// Every validator's key (the set is ordered; round-robin leaders follow its order).
    pub participants: Set<PublicKey>,
    /// Domain separation for consensus signatures: the chain's own (see [`namespace`]).
    pub namespace: Vec<u8>,
    pub chain: Arc<Chain>,
    pub mempool: Arc<Mempool>,
    pub rules: BlockRules,
    pub timeouts: Timeouts,
    /// Prefix of the runtime storage partitions (consensus journal, marshal archives).
    pub partition_prefix: String,
    pub blocker: B,
    pub peers: P,
}

/// The signature namespace of chain `chain_id`: votes of one chain are worthless on another.
pub fn namespace(chain_id: u64) -> Vec<u8> {
    format!("n-VM consensus, chain {chain_id}").into_bytes()
}

/// The running pieces of one validator.
pub struct Engine {
    pub executed: Executed,
    /// The finalization certificates marshal stores.
    pub finalizations: crate::Finalizations,
    /// Where the commit loop is (see [`crate::watch_for_stalls`]).
    pub progress: Arc<crate::CommitProgress>,
    /// Why the commit loop stopped, once it has (a finalized block it could not commit).
    pub stopped: Option<futures::channel::oneshot::Receiver<String>>,
    pub handles: Vec<Handle<()>>,
}

impl Engine {
    /// Stops every task of this validator (as a crash would: nothing is flushed first).
    pub fn abort(&self) {
        for handle in &self.handles {
            handle.abort();
        }
    }
}

const MAILBOX: NonZeroUsize = NZUsize!(1024);
/// No epochs: one validator set for the chain's life.
const EPOCH_LENGTH: u64 = u64::MAX / 2;

fn archive<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    let partition = |part: &str| format!("{prefix}-{name}-{part}");
    immutable::Config {
        metadata_partition: partition("metadata"),
        freezer_table_partition: partition("freezer-table"),
        freezer_table_initial_size: 1024,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 1024,
        freezer_key_partition: partition("freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: partition("freezer-value"),
        freezer_value_target_size: 64 * 1024 * 1024,
        freezer_value_compression: None,
        ordinal_partition: partition("ordinal"),
        items_per_section: NZU64!(4096),
        codec_config,
        replay_buffer: NZUsize!(1 << 20),
        freezer_key_write_buffer: NZUsize!(1 << 20),
        freezer_value_write_buffer: NZUsize!(1 << 20),
        ordinal_write_buffer: NZUsize!(1 << 20),
    }
}

/// Starts one validator's consensus on `context`'s runtime, its application wrapped by `wrap`
/// (a node passes it through, `|app| app`; tests use it to make a validator misbehave).
pub async fn start<E, B, P, S, R, A>(
    context: E,
    config: EngineConfig<B, P>,
    channels: Channels<S, R>,
    wrap: impl FnOnce(NvmApplication) -> A,
) -> Engine
where
    E: Spawner + Supervisor + Clock + Metrics + Storage + CryptoRng,
    B: Blocker<PublicKey = PublicKey> + Clone,
    P: Provider<PublicKey = PublicKey> + Clone,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    A: Application<
            E,
            Block = ConsensusBlock,
            SigningScheme = Scheme,
            Context = Context<Digest, PublicKey>,
            Input = (),
        >,
{
    let me = config.signer.public_key();
    let scheme =
        Scheme::signer(&config.namespace, config.participants.clone(), config.signer.clone())
            .expect("the signer is one of the participants");
    let page_cache = CacheRef::new(page_size(4096), NZUsize!(4096));
    let prefix = config.partition_prefix.clone();

    let genesis = config.chain.block(0).ok().flatten().expect("the chain has a genesis block");
    let genesis = ConsensusBlock::new(genesis);
    let genesis_digest = genesis.digest();

    let (resolver_rx, resolver) = resolver::init(
        context.child("resolver"),
        resolver::Config {
            public_key: me.clone(),
            peer_provider: config.peers.clone(),
            blocker: config.blocker.clone(),
            mailbox_size: MAILBOX,
            fetch_timeout: NonZeroDuration::new(config.timeouts.fetch)
                .expect("a fetch timeout above zero"),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );
    let (broadcast, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size: MAILBOX,
            deque_size: 16,
            priority: false,
            codec_config: (),
            peer_provider: config.peers.clone(),
            strategy: Sequential,
        },
    );
    let broadcast_handle = broadcast.start(channels.blocks);

    let certificates = immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive(&prefix, "finalizations", &page_cache, scheme.certificate_codec_config()),
    )
    .await
    .expect("the certificate archive opens");
    let blocks = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive(&prefix, "blocks", &page_cache, ()),
    )
    .await
    .expect("the block archive opens");
    let epocher = FixedEpocher::new(NZU64!(EPOCH_LENGTH));
    let (marshal, marshal_mailbox, _floor) =
        marshal::core::Actor::<_, Standard<ConsensusBlock>, _, _, _, _, _, _>::init(
            context.child("marshal"),
            certificates,
            blocks,
            marshal::Config {
                provider: ConstantProvider::new(scheme.clone()),
                epocher: epocher.clone(),
                start: Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
                partition_prefix: format!("{prefix}-marshal"),
                mailbox_size: MAILBOX,
                view_retention: ViewDelta::new(64),
                prunable_items_per_section: NZU64!(1024),
                page_cache: page_cache.clone(),
                replay_buffer: NZUsize!(1 << 20),
                key_write_buffer: NZUsize!(1 << 20),
                value_write_buffer: NZUsize!(1 << 20),
                block_codec_config: (),
                max_repair: NZUsize!(64),
                max_pending_acks: NZUsize!(16),
                strategy: Sequential,
            },
        )
        .await;

    let executed = Executed::default();
    let progress = Arc::new(crate::CommitProgress::default());
    let (committer, commit_loop, stopped) = CommitLoop::new(
        config.chain.clone(),
        config.mempool.clone(),
        executed.clone(),
        progress.clone(),
    );
    let commit_handle = context.child("committer").dedicated().spawn(|_| commit_loop.run());
    let marshal_handle = marshal.start(committer, buffer, (resolver_rx, resolver));

    let application =
        wrap(NvmApplication::new(config.chain, config.mempool, executed.clone(), config.rules));
    let finalizations = crate::Finalizations(marshal_mailbox.clone());
    let inline = Inline::new(context.child("application"), application, marshal_mailbox, epocher);
    let simplex = simplex::Engine::new(
        context.child("simplex"),
        simplex::config::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: config.blocker,
            automaton: inline.clone(),
            relay: inline.clone(),
            reporter: inline,
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size: MAILBOX,
            epoch: Epoch::zero(),
            floor: Floor::Genesis(genesis_digest),
            replay_buffer: NZUsize!(1 << 20),
            write_buffer: NZUsize!(1 << 20),
            page_cache,
            leader_timeout: config.timeouts.leader,
            certification_timeout: config.timeouts.certification,
            timeout_retry: config.timeouts.retry,
            view_retention: ViewDelta::new(64),
            skip: SkipPolicy::Enabled {
                timeout: config.timeouts.retry + config.timeouts.certification,
                budget: SkipBudget::Participants,
            },
            fetch_timeout: NonZeroDuration::new(config.timeouts.fetch)
                .expect("a fetch timeout above zero"),
            fetch_retry_delay: Duration::from_millis(100),
            forward: ForwardPolicy::Disabled,
            track_historical_votes: false,
        },
    );
    let simplex_handle = simplex.start(channels.votes, channels.certificates, channels.resolver);
    Engine {
        executed,
        finalizations,
        progress,
        stopped: Some(stopped),
        handles: vec![simplex_handle, marshal_handle, broadcast_handle, commit_handle],
    }
}
