//! What a node offers the ecosystem APIs: a chain reader and a transaction submitter, over the
//! project's own types (never the storage engine's), so the RPC crates run against any node —
//! the real one or an in-memory one in their tests.

use nvm_executor::{AdmissionError, Executor, VerifiedTx};
use nvm_primitives::{
    Block, ChainHead, IdCom, Mint, Receipt, StateKey, StateProof, TxHash, TxLocation,
};
use nvm_state_api::StateReader;
use nvm_vm_api::BlockEnv;

/// Why the node could not answer (the request itself was fine: an RPC reports it as an internal
/// error).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Reading or writing the node's storage or state failed.
    #[error("{0}")]
    Storage(String),
    /// Anything else the node failed at.
    #[error("{0}")]
    Failed(String),
    /// The state at `height` is not kept (the node keeps `oldest..=head`): a request's answer,
    /// not a failure of the node.
    #[error("{}", state_not_kept(*.height, *.oldest, *.head))]
    StateNotKept { height: u64, oldest: u64, head: u64 },
}

fn state_not_kept(height: u64, oldest: u64, head: u64) -> String {
    if height > head {
        format!("block {height} is past the head (block {head})")
    } else {
        format!(
            "state at block {height} is not kept: this node keeps blocks {oldest}..={head} (start it with a larger --history-blocks, or --archive)"
        )
    }
}

pub type NodeResult<T> = Result<T, NodeError>;

/// What writing back the state after an earlier block takes: every key the blocks since changed,
/// as it was then — but for those the chain itself keeps as blocks close (later blocks still
/// follow the real ones) and the native token's record — with the balances among them apart, to
/// be set through the ledger (the native supply following them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateRestore {
    /// Keys written back as they were (`None` deletes).
    pub writes: Vec<(StateKey, Option<Vec<u8>>)>,
    /// Balances set back: (mint, holder, amount then).
    pub balances: Vec<(Mint, IdCom, u128)>,
}

/// Committed state at one block, read as of that block however many land meanwhile.
pub trait CommittedState: StateReader {
    /// The block whose state this is (`None` before genesis).
    fn head(&self) -> Option<&ChainHead>;

    /// The height of that block.
    fn height(&self) -> Option<u64> {
        self.head().map(|h| h.height)
    }

    /// The secondary index's entries under `prefix` as of that block, in key order from `from`
    /// (a key under `prefix`, or `prefix` for all), at most `limit`
    /// ([`nvm_state_api::IndexWrites`]: how an API finds accounts by a field).
    fn scan_index(
        &self,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> nvm_state_api::StateResult<nvm_state_api::IndexEntries>;
}

/// State read by simulations and admission: the tip's, a block still being committed included.
pub type TipState = Box<dyn StateReader>;

/// Reading the chain.
pub trait ChainReader: Send + Sync {
    /// The executor the node runs: its chain config and VMs (for decoding, verifying and
    /// simulating as blocks do).
    fn executor(&self) -> &Executor;

    fn chain_id(&self) -> u64 {
        self.executor().config.chain_id
    }

    /// The last durably committed block.
    fn head(&self) -> NodeResult<ChainHead>;

    /// The committed block at `height`.
    fn block(&self, height: u64) -> NodeResult<Option<Block>>;

    /// The committed block whose header hashes to `hash`.
    fn block_by_hash(&self, hash: &[u8; 32]) -> NodeResult<Option<Block>>;

    /// A committed transaction's receipt.
    fn receipt(&self, tx_hash: &TxHash) -> NodeResult<Option<Receipt>>;

    /// How many transactions the committed blocks hold, every VM's.
    fn transaction_count(&self) -> NodeResult<u64>;

    /// Where a committed transaction is: its block and index.
    fn tx_location(&self, tx_hash: &TxHash) -> NodeResult<Option<TxLocation>>;

    /// Proofs of `keys` against the committed state root.
    fn prove_many(&self, keys: &[StateKey]) -> NodeResult<Vec<StateProof>>;

    /// Committed state at the head, with the head it is at.
    fn snapshot(&self) -> NodeResult<Box<dyn CommittedState>>;

    /// Committed state as it was after the block at `height`, while the node keeps it
    /// ([`NodeError::StateNotKept`] otherwise). Its secondary index is not readable.
    fn snapshot_at(&self, height: u64) -> NodeResult<Box<dyn CommittedState>>;

    /// What restoring the state after block `height` writes (a dev chain's `evm_revert`), while
    /// the node keeps the history since ([`NodeError::StateNotKept`] otherwise).
    fn restore_of(&self, height: u64) -> NodeResult<StateRestore>;

    /// State at the tip (a block being committed counts): what nonces and balances the mempool
    /// checks against.
    fn tip_state(&self) -> NodeResult<TipState>;

    /// The environment of the block after the tip (at `timestamp_ms`, never before the tip) and
    /// the tip's state: what admission and simulations run against.
    fn next_block(&self, timestamp_ms: u64) -> NodeResult<(BlockEnv, TipState)>;

    /// The base fee per gas of the next block.
    fn next_base_fee(&self) -> NodeResult<u64>;

    /// Moves the time this node stamps the blocks it proposes `ms` further ahead of its clock;
    /// returns how far from its clock it is, in milliseconds (a dev chain's `evm_increaseTime`).
    fn advance_clock(&self, ms: u64) -> NodeResult<i64>;

    /// Stamps this node's next proposal at `timestamp_ms` (a dev chain's
    /// `evm_setNextBlockTimestamp`): refused unless after the head's time and the time already
    /// stamped.
    fn set_next_timestamp(&self, timestamp_ms: u64) -> NodeResult<()>;

    /// Wakes on every durably committed block (starts at the current head).
    fn watch_heads(&self) -> tokio::sync::watch::Receiver<ChainHead>;
}

/// Sending transactions, and what waits to be included.
pub trait TxSubmitter: Send + Sync {
    /// Verifies raw transactions and admits them; each admitted one is durable (journaled) and
    /// announced to the other validators before this returns. One result per transaction.
    fn submit(&self, raws: Vec<Vec<u8>>) -> NodeResult<Vec<Result<TxHash, AdmissionError>>>;

    /// [`TxSubmitter::submit`] of one transaction already decoded and verified.
    fn submit_verified(&self, tx: VerifiedTx) -> NodeResult<Result<TxHash, AdmissionError>>;

    /// A transaction waiting in the mempool.
    fn pending_tx(&self, hash: &TxHash) -> Option<VerifiedTx>;

    /// The nonce after `sender`'s waiting transactions, given the next nonce its state expects.
    fn pending_nonce(&self, sender: &IdCom, state_next: u64) -> u64;

    /// How many transactions wait.
    fn pending_count(&self) -> usize;

    /// Up to `limit` of the waiting transactions, each sender's in nonce order.
    fn pending_txs(&self, limit: usize) -> Vec<VerifiedTx>;

    /// Hashes of the transactions admitted from now on (a receiver that falls behind misses the
    /// oldest).
    fn watch_pending(&self) -> tokio::sync::broadcast::Receiver<TxHash>;
}

/// A node as the RPC crates see it.
pub trait NodeApi: ChainReader + TxSubmitter {}

impl<T: ChainReader + TxSubmitter> NodeApi for T {}
