//! Pending transactions, admitted only after signature, nonce and balance checks.

use crate::TxJournal;
use nvm_executor::{AdmissionError, Executor, VerifiedTx};
use nvm_identity::Registry;
use nvm_primitives::{IdCom, TxHash, sha256};
use nvm_state_api::{StateReader, TxOverlay};
use nvm_vm_api::BlockEnv;
use parking_lot::Mutex;
use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap, HashSet},
};

/// Records past twice the pool's size the journal may hold before it is compacted.
const JOURNAL_SLACK: usize = 4_096;

/// Most transactions one sender may have pending on a validator, and how far past its next
/// nonce it may queue them, so that a few funded accounts cannot fill the pool with
/// transactions that may never execute. A dev node allows a sender the whole pool, as anvil does
/// (`nvm node --max-pending-per-sender`).
pub const MAX_PENDING_PER_SENDER: usize = 1_024;

struct Pooled {
    tx: VerifiedTx,
    sender: IdCom,
    /// Native value this transaction can take from the sender: fees + value moved.
    cost: u128,
    /// Its gas limit: a block whose gas limit is lower can never hold it.
    gas: u64,
    /// Most it pays per gas (an Ethereum transaction's fee cap; unlimited for native envelopes).
    fee_cap: u128,
    arrival: u64,
    /// SHA-256 of its exact bytes (see [`Mempool::verified`]).
    raw_key: [u8; 32],
    /// A client submitted it to this node (not a peer): this node answers for its delivery.
    local: bool,
}

#[derive(Default)]
struct Inner {
    by_sender: HashMap<IdCom, BTreeMap<u64, Pooled>>,
    hashes: HashMap<TxHash, (IdCom, u64)>,
    /// Transactions a replay key protects instead of a nonce (`Replay::Key`: a Solana
    /// transaction's signature, a Bitcoin transaction's txid), by arrival: one sender's need no
    /// order.
    keyed: BTreeMap<u64, Pooled>,
    keyed_hashes: HashMap<TxHash, u64>,
    /// Per sender (a Solana fee payer's, a Bitcoin spender's identity): how many keyed
    /// transactions it has pending and what they can take from it together — bounded as a
    /// nonce-ordered sender's are.
    keyed_by_sender: HashMap<IdCom, (usize, u128)>,
    /// The pending transaction claiming each conflict key (see [`VerifiedTx::conflicts`]).
    claimed: nvm_state_api::KeyMap<TxHash>,
    /// Transaction hash by SHA-256 of the exact bytes admitted.
    by_raw: HashMap<[u8; 32], TxHash>,
    arrivals: u64,
}

impl Inner {
    fn len(&self) -> usize {
        self.hashes.len() + self.keyed_hashes.len()
    }

    fn contains(&self, hash: &TxHash) -> bool {
        self.hashes.contains_key(hash) || self.keyed_hashes.contains_key(hash)
    }

    /// Every pending transaction.
    fn all(&self) -> impl Iterator<Item = &Pooled> {
        self.by_sender.values().flat_map(|queue| queue.values()).chain(self.keyed.values())
    }

    fn pooled(&self, hash: &TxHash) -> Option<&Pooled> {
        if let Some(arrival) = self.keyed_hashes.get(hash) {
            return self.keyed.get(arrival);
        }
        let (sender, nonce) = self.hashes.get(hash)?;
        self.by_sender.get(sender)?.get(nonce)
    }

    fn pooled_mut(&mut self, hash: &TxHash) -> Option<&mut Pooled> {
        if let Some(arrival) = self.keyed_hashes.get(hash) {
            return self.keyed.get_mut(arrival);
        }
        let (sender, nonce) = self.hashes.get(hash)?;
        self.by_sender.get_mut(sender)?.get_mut(nonce)
    }

    /// The pending transaction with exactly these bytes.
    fn exact(&self, raw: &[u8]) -> Option<&Pooled> {
        let hash = self.by_raw.get(&sha256(raw))?;
        self.pooled(hash).filter(|p| p.tx.raw() == raw)
    }

    /// A new entry: the next arrival, findable by its exact bytes.
    fn entry(
        &mut self,
        tx: VerifiedTx,
        sender: IdCom,
        cost: u128,
        gas: u64,
        fee_cap: u128,
    ) -> Pooled {
        self.arrivals += 1;
        let raw_key = sha256(tx.raw());
        self.by_raw.insert(raw_key, tx.hash());
        Pooled { tx, sender, cost, gas, fee_cap, arrival: self.arrivals, raw_key, local: false }
    }
}

/// Called with each transaction a client submitted to this node (its block encoding): how a
/// validator gossips it to the others.
pub type Announcer = Box<dyn Fn(&[u8]) + Send + Sync>;

/// The pool of admitted, not yet included transactions.
pub struct Mempool {
    inner: Mutex<Inner>,
    capacity: usize,
    /// Most transactions one sender may have pending (and nonces it may queue ahead).
    per_sender: usize,
    announcer: parking_lot::RwLock<Option<Announcer>>,
    /// Where clients' transactions are kept until included (none: they live in memory only).
    journal: Option<TxJournal>,
    /// The hash of each transaction as it is admitted (clients' and peers'), for pending-
    /// transaction subscriptions; a receiver that falls behind misses the oldest.
    admitted: tokio::sync::broadcast::Sender<TxHash>,
}

/// How many admitted hashes a pending-transaction subscriber may fall behind by.
const ADMITTED_BACKLOG: usize = 4_096;

impl Mempool {
    /// A pool of at most `capacity` transactions, [`MAX_PENDING_PER_SENDER`] of one sender.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity,
            per_sender: MAX_PENDING_PER_SENDER,
            announcer: Default::default(),
            journal: None,
            admitted: tokio::sync::broadcast::Sender::new(ADMITTED_BACKLOG),
        }
    }

    /// Hashes of the transactions admitted from now on.
    pub fn watch_admitted(&self) -> tokio::sync::broadcast::Receiver<TxHash> {
        self.admitted.subscribe()
    }

    /// A pool whose clients' transactions are journaled (see [`TxJournal`]).
    pub fn with_journal(capacity: usize, journal: TxJournal) -> Self {
        Self { journal: Some(journal), ..Self::new(capacity) }
    }

    /// The same pool letting one sender have up to `per_sender` transactions pending.
    pub fn with_per_sender_limit(self, per_sender: usize) -> Self {
        Self { per_sender, ..self }
    }

    /// Makes a client's admitted transactions durable (when the pool keeps a journal) before
    /// they are acknowledged.
    pub fn record_local(&self, raws: &[&[u8]]) -> std::io::Result<()> {
        // Marked first: a compaction that runs while the append is under way keeps them.
        self.mark_local(raws);
        match &self.journal {
            Some(journal) => journal.append(raws.iter().copied()),
            None => Ok(()),
        }
    }

    /// Marks `raws` (a client's transactions kept from before a restart, admitted again) as
    /// this node's and rewrites the journal with every local transaction of the pool: those, and
    /// any a client submitted meanwhile (rewriting it with `raws` alone would drop those).
    pub fn reset_journal(&self, raws: &[&[u8]]) -> std::io::Result<()> {
        self.mark_local(raws);
        match &self.journal {
            Some(journal) => journal.compact(|_| Some(self.local_raws())),
            None => Ok(()),
        }
    }

    /// The bytes of every pending transaction a client submitted here.
    fn local_raws(&self) -> Vec<Vec<u8>> {
        self.inner.lock().all().filter(|p| p.local).map(|p| p.tx.raw().to_vec()).collect()
    }

    /// Marks pooled transactions as submitted here by a client.
    fn mark_local(&self, raws: &[&[u8]]) {
        let mut inner = self.inner.lock();
        for raw in raws {
            let Some(&hash) = inner.by_raw.get(&sha256(raw)) else { continue };
            if let Some(p) = inner.pooled_mut(&hash) {
                p.local = true;
            }
        }
    }

    /// Rewrites the journal with the clients' transactions still pending once included ones
    /// make up most of it.
    pub fn compact_journal(&self) -> std::io::Result<()> {
        let Some(journal) = &self.journal else { return Ok(()) };
        // The journal's lock is taken first (appends wait), then the pool's.
        journal.compact(|records| {
            let pending = self.inner.lock().all().filter(|p| p.local).count();
            (records > 2 * pending + JOURNAL_SLACK).then(|| self.local_raws())
        })
    }

    /// Sets what happens to transactions clients submit here once admitted (see [`Announcer`]).
    pub fn set_announcer(&self, announcer: Announcer) {
        *self.announcer.write() = Some(announcer);
    }

    /// Passes a client's admitted transaction to the announcer, if any.
    pub fn announce(&self, raw: &[u8]) {
        if let Some(announce) = self.announcer.read().as_ref() {
            announce(raw);
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, hash: &TxHash) -> bool {
        self.inner.lock().contains(hash)
    }

    /// [`Mempool::len`] for a watcher that must not hang on a held lock: `None` when the pool's
    /// lock is not free within `wait`.
    pub fn try_len(&self, wait: std::time::Duration) -> Option<usize> {
        self.inner.try_lock_for(wait).map(|inner| inner.len())
    }

    /// A pending transaction by hash.
    pub fn get(&self, hash: &TxHash) -> Option<VerifiedTx> {
        self.inner.lock().pooled(hash).map(|p| p.tx.clone())
    }

    /// The pending transaction with exactly these bytes, verified when it was admitted: a
    /// validator checking a proposal need not verify its signature again.
    pub fn verified(&self, raw: &[u8]) -> Option<VerifiedTx> {
        self.inner.lock().exact(raw).map(|p| p.tx.clone())
    }

    /// Next nonce of `sender` counting its pending transactions (what wallets ask for).
    pub fn pending_nonce(&self, sender: &IdCom, state_next: u64) -> u64 {
        let inner = self.inner.lock();
        let mut next = state_next;
        if let Some(queue) = inner.by_sender.get(sender) {
            while queue.contains_key(&next) {
                next += 1;
            }
        }
        next
    }

    /// Verifies and admits raw transactions (block encoding: native envelopes, or a registered
    /// wallet format's, tagged) for the block `next`; signatures are checked in
    /// parallel batches.
    pub fn submit_raw(
        &self,
        executor: &Executor,
        state: &dyn StateReader,
        next: &BlockEnv,
        raws: Vec<Vec<u8>>,
    ) -> Vec<Result<TxHash, AdmissionError>> {
        // What the pool already holds (announced again by a peer) is not verified again.
        VerifiedTx::verify_many_known(&executor.vms, raws, |raw| self.verified(raw))
            .into_iter()
            .map(|verified| {
                let tx = verified?;
                if self.contains(&tx.hash()) {
                    return Err(AdmissionError::AlreadyKnown(tx.hash()));
                }
                self.admit(executor, state, next, tx)
            })
            .collect()
    }

    /// How many senders have nonce-ordered transactions pending (a refused transaction adds no
    /// sender).
    pub fn senders(&self) -> usize {
        self.inner.lock().by_sender.len()
    }

    /// How many transactions have arrived so far (a mark for [`Mempool::waiting_since`]).
    pub fn arrivals(&self) -> u64 {
        self.inner.lock().arrivals
    }

    /// Up to `limit` pending transactions clients submitted here that arrived at or before
    /// `mark`, oldest first: those still waiting a while after they came (gossip that a peer
    /// missed is announced again by the node that first acknowledged it).
    pub fn waiting_since(&self, mark: u64, limit: usize) -> Vec<Vec<u8>> {
        let inner = self.inner.lock();
        let mut old: Vec<&Pooled> = inner.all().filter(|p| p.local && p.arrival <= mark).collect();
        old.sort_by_key(|p| p.arrival);
        old.into_iter().take(limit).map(|p| p.tx.raw().to_vec()).collect()
    }

    /// Up to `limit` of the transactions waiting, each sender's in nonce order (geth's
    /// `txpool_content`).
    pub fn pending(&self, limit: usize) -> Vec<VerifiedTx> {
        self.inner.lock().all().take(limit).map(|p| p.tx.clone()).collect()
    }

    /// Admits one verified transaction against `state` (the tip) for the block `next`.
    pub fn admit(
        &self,
        executor: &Executor,
        state: &dyn StateReader,
        next: &BlockEnv,
        tx: VerifiedTx,
    ) -> Result<TxHash, AdmissionError> {
        let checked = executor.check_envelope(state, &tx, false, next)?;
        if tx.replay_key().is_some() {
            return self.admit_keyed(tx, checked.sender, checked.max_cost, checked.native_balance);
        }
        let (next, available) = (checked.next_nonce, checked.native_balance);
        let nonce = tx.nonce();
        let hash = tx.hash();
        let limit = self.per_sender;
        if nonce.saturating_sub(next) > limit as u64 {
            return Err(AdmissionError::NonceTooFarAhead { next, got: nonce, limit });
        }
        let (cost, gas) = (checked.max_cost, checked.gas_reserved);
        let mut inner = self.inner.lock();
        if inner.hashes.contains_key(&hash) {
            return Err(AdmissionError::AlreadyKnown(hash));
        }
        if inner.hashes.len() >= self.capacity {
            return Err(AdmissionError::Full(self.capacity));
        }
        // Checked without creating the sender's queue: a refused transaction leaves nothing behind.
        let mut pending = 0u128;
        let sender = checked.sender;
        if let Some(queue) = inner.by_sender.get(&sender) {
            if queue.contains_key(&nonce) {
                return Err(AdmissionError::NonceTaken(nonce));
            }
            if queue.len() >= limit {
                return Err(AdmissionError::SenderFull(limit));
            }
            pending = queue.range(next..).map(|(_, p)| p.cost).fold(0, u128::saturating_add);
        }
        let needed = pending.saturating_add(cost);
        if needed > available {
            return Err(AdmissionError::InsufficientFunds { needed, available });
        }
        let fee_cap = tx.max_fee_per_gas().unwrap_or(u128::MAX);
        let pooled = inner.entry(tx, sender, cost, gas, fee_cap);
        inner.by_sender.entry(sender).or_default().insert(nonce, pooled);
        inner.hashes.insert(hash, (sender, nonce));
        drop(inner);
        // No subscriber is no error.
        let _ = self.admitted.send(hash);
        Ok(hash)
    }

    /// Queues a checked transaction replay-protected by a key (Solana, Bitcoin) by arrival, if
    /// its sender has room ([`Mempool::with_per_sender_limit`]) and can pay it beside its other keyed
    /// transactions pending (`available`: its balance).
    fn admit_keyed(
        &self,
        tx: VerifiedTx,
        sender: IdCom,
        cost: u128,
        available: u128,
    ) -> Result<TxHash, AdmissionError> {
        let hash = tx.hash();
        let mut inner = self.inner.lock();
        if inner.contains(&hash) {
            return Err(AdmissionError::AlreadyKnown(hash));
        }
        if inner.len() >= self.capacity {
            return Err(AdmissionError::Full(self.capacity));
        }
        let conflicts = tx.conflicts();
        if let Some(other) = conflicts.iter().find_map(|key| inner.claimed.get(key)) {
            return Err(AdmissionError::Conflict(*other));
        }
        let (count, pending) = inner.keyed_by_sender.get(&sender).copied().unwrap_or_default();
        if count >= self.per_sender {
            return Err(AdmissionError::SenderFull(self.per_sender));
        }
        let needed = pending.saturating_add(cost);
        if needed > available {
            return Err(AdmissionError::InsufficientFunds { needed, available });
        }
        inner.keyed_by_sender.insert(sender, (count + 1, needed));
        inner.claimed.extend(conflicts.into_iter().map(|key| (key, hash)));
        let pooled = inner.entry(tx, sender, cost, 0, u128::MAX);
        let arrival = pooled.arrival;
        inner.keyed.insert(arrival, pooled);
        inner.keyed_hashes.insert(hash, arrival);
        drop(inner);
        let _ = self.admitted.send(hash);
        Ok(hash)
    }

    /// Up to `max` transactions ready to execute in a block with `base_fee` and `gas_limit`:
    /// for each sender, the run of consecutive nonces from its next nonce, ordered by arrival
    /// without ever putting a nonce before a lower one. A transaction whose fee cap is under the
    /// base fee, or whose gas limit alone exceeds the block's, waits, and so do its sender's
    /// later ones. Gas limits are not added up here: a block fills by the gas its transactions
    /// *use*, which only executing them tells — the block builder leaves out (for a later block)
    /// whatever no longer fits the gas left.
    pub fn ready(
        &self,
        state: &dyn StateReader,
        max: usize,
        gas_limit: u64,
        base_fee: u64,
    ) -> Vec<VerifiedTx> {
        let inner = self.inner.lock();
        let mut view = TxOverlay::new(state);
        // One stream per sender (its run of consecutive nonces from its next nonce; a
        // transaction's place is the latest arrival in the run up to it, so no nonce goes before
        // a lower one) and one of key-protected transactions by arrival, merged in that order: only the
        // transactions that make the block are visited, however large the pool.
        let mut streams: Vec<Stream<'_>> = Vec::new();
        let mut heap: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
        for (sender, queue) in &inner.by_sender {
            let Ok(next) = Registry::nonce(&mut view, sender) else { continue };
            if let Some(p) = queue.get(&next) {
                heap.push(Reverse((p.arrival, next, streams.len())));
                streams.push(Stream::Sender { queue, nonce: next, order: p.arrival });
            }
        }
        // A key-protected transaction of the block still being committed is in `state` already
        // (its key is set there) but leaves the pool only once that block is durable.
        let keyed: Vec<&Pooled> =
            inner.keyed.values().filter(|p| !key_used(&mut view, &p.tx)).collect();
        if let Some(first) = keyed.first() {
            heap.push(Reverse((first.arrival, first.tx.nonce(), streams.len())));
            streams.push(Stream::Keyed { txs: keyed, at: 0 });
        }
        // A sender whose transaction did not fit sends nothing after it in this block.
        let mut held_back: HashSet<IdCom> = HashSet::new();
        let mut out = Vec::new();
        while out.len() < max {
            let Some(Reverse((_, _, index))) = heap.pop() else { break };
            let Some(p) = streams[index].current() else { continue };
            let sender = p.sender;
            let fits = !held_back.contains(&sender)
                && p.gas <= gas_limit
                && p.fee_cap >= u128::from(base_fee);
            if fits {
                out.push(p.tx.clone());
            } else {
                held_back.insert(sender);
            }
            // A held-back sender's stream ends; the key-protected stream goes on past it.
            if (fits || matches!(streams[index], Stream::Keyed { .. }))
                && let Some(key) = streams[index].advance()
            {
                heap.push(Reverse((key.0, key.1, index)));
            }
        }
        out
    }

    /// Drops what a committed block included or found invalid, and whatever its senders can no
    /// longer execute (nonces below their new next nonce).
    pub fn on_block(&self, state: &dyn StateReader, included: &[TxHash], rejected: &[TxHash]) {
        let mut inner = self.inner.lock();
        let mut senders = Vec::new();
        for hash in included.iter().chain(rejected) {
            if let Some(arrival) = inner.keyed_hashes.remove(hash)
                && let Some(p) = inner.keyed.remove(&arrival)
            {
                inner.by_raw.remove(&p.raw_key);
                for key in p.tx.conflicts() {
                    inner.claimed.remove(&key);
                }
                if let Some((count, pending)) = inner.keyed_by_sender.get_mut(&p.sender) {
                    *count -= 1;
                    *pending = pending.saturating_sub(p.cost);
                    if *count == 0 {
                        inner.keyed_by_sender.remove(&p.sender);
                    }
                }
            }
            if let Some((sender, nonce)) = inner.hashes.remove(hash) {
                if let Some(p) = inner.by_sender.get_mut(&sender).and_then(|q| q.remove(&nonce)) {
                    inner.by_raw.remove(&p.raw_key);
                }
                senders.push(sender);
            }
        }
        let mut view = TxOverlay::new(state);
        for sender in senders {
            let next = Registry::nonce(&mut view, &sender).unwrap_or(0);
            let Some(queue) = inner.by_sender.get_mut(&sender) else { continue };
            let stale: Vec<u64> = queue.range(..next).map(|(n, _)| *n).collect();
            let mut dropped = Vec::new();
            for nonce in stale {
                if let Some(p) = queue.remove(&nonce) {
                    dropped.push((p.tx.hash(), p.raw_key));
                }
            }
            if queue.is_empty() {
                inner.by_sender.remove(&sender);
            }
            for (hash, raw_key) in dropped {
                inner.hashes.remove(&hash);
                inner.by_raw.remove(&raw_key);
            }
        }
    }
}

/// The transactions of `raws` that `results` (one per transaction, in order) say were admitted.
pub fn admitted<'a>(
    raws: &'a [Vec<u8>],
    results: &[Result<TxHash, AdmissionError>],
) -> Vec<&'a [u8]> {
    raws.iter().zip(results).filter(|(_, r)| r.is_ok()).map(|(raw, _)| raw.as_slice()).collect()
}

/// Where [`Mempool::ready`] stands in one ordered stream of candidates.
enum Stream<'a> {
    Sender { queue: &'a BTreeMap<u64, Pooled>, nonce: u64, order: u64 },
    Keyed { txs: Vec<&'a Pooled>, at: usize },
}

impl<'a> Stream<'a> {
    fn current(&self) -> Option<&'a Pooled> {
        match self {
            Self::Sender { queue, nonce, .. } => queue.get(nonce),
            Self::Keyed { txs, at } => txs.get(*at).copied(),
        }
    }

    /// Moves to the next candidate; its place in the merge (order, nonce), if there is one.
    fn advance(&mut self) -> Option<(u64, u64)> {
        match self {
            Self::Sender { queue, nonce, order } => {
                *nonce += 1;
                let p = queue.get(nonce)?;
                *order = (*order).max(p.arrival);
                Some((*order, *nonce))
            }
            Self::Keyed { txs, at } => {
                *at += 1;
                txs.get(*at).map(|p| (p.arrival, p.tx.nonce()))
            }
        }
    }
}

/// Whether a transaction replay-protected by a key (a Solana or Bitcoin one) was processed.
fn key_used(view: &mut TxOverlay<'_>, tx: &VerifiedTx) -> bool {
    use nvm_state_api::StateAccess;
    tx.replay_key().is_some_and(|key| view.get(&key).is_ok_and(|v| v.is_some()))
}
