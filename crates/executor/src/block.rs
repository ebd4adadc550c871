//! Executing a block's transactions: serially, or in parallel batches with the same result.

use crate::{Dispatcher, TxError, VerifiedTx, lanes, schedule::schedule_batches};
use nvm_identity::{Registry, id_com_from_credential, identity_key, nonce_key};
use nvm_ledger::{Ledger, LedgerError, NATIVE_MINT, balance_key};
use nvm_primitives::{Log, Receipt, SchemeId, StateKey, TxStatus, route_opcode};
use nvm_state_api::{AccessSet, BlockState, StateError, StateReader, TxOverlay, WriteSet};
use nvm_vm_api::{BlockEnv, TxEnv, VmError};
use rayon::prelude::*;
use std::{collections::HashMap, sync::Arc};

/// What an envelope check read on the way: the sender's next nonce and native balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeCheck {
    pub next_nonce: u64,
    pub native_balance: u128,
}

/// Consensus parameters the executor enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    pub chain_id: u64,
    /// Flat fee of every transaction, in native base units (18 decimals).
    pub tx_fee: u128,
    /// Number of context shards (SPEC §4).
    pub shards: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionMode {
    Serial,
    Parallel,
}

/// A transaction the block includes, with its receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludedTx {
    pub tx: VerifiedTx,
    pub receipt: Receipt,
}

/// The result of executing a block's candidate transactions.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BlockOutcome {
    /// Included transactions in block order, receipts indexed accordingly.
    pub included: Vec<IncludedTx>,
    /// Transactions found invalid against the block's state; they are left out.
    pub rejected: Vec<(VerifiedTx, TxError)>,
    /// Every state write of the block, fees to the proposer included.
    pub writes: WriteSet,
    pub fees: u128,
    /// True when the parallel run saw an undeclared access and the block was re-run serially.
    pub fell_back_to_serial: bool,
}

/// What running one transaction gave.
enum TxRun {
    Invalid(TxError),
    Included {
        status: TxStatus,
        fee: u128,
        logs: Vec<Log>,
        writes: HashMap<StateKey, Option<Vec<u8>>>,
        observed: AccessSet,
    },
}

/// Runs transactions through the dispatcher's VMs under the chain's rules.
#[derive(Clone)]
pub struct Executor {
    pub dispatcher: Dispatcher,
    pub config: ChainConfig,
    /// Threads of block execution. Apart from rayon's global pool, where admission verifies
    /// signatures: a block waiting behind a queue of signature batches would stall the chain.
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Executor {
    pub fn new(dispatcher: Dispatcher, config: ChainConfig) -> Self {
        Self { dispatcher, config, pool: None }
    }

    /// Runs block execution on its own pool of `threads` threads.
    pub fn with_dedicated_pool(
        mut self,
        threads: usize,
    ) -> Result<Self, rayon::ThreadPoolBuildError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("nvm-exec-{i}"))
            .build()?;
        self.pool = Some(Arc::new(pool));
        Ok(self)
    }

    fn in_pool<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(work),
            None => work(),
        }
    }

    /// Checks the envelope against `state`: chain, credential, nonce (`exact_nonce`, or at least
    /// the next one for mempool admission), fee cap and fee balance. Returns the nonce and
    /// balance it read.
    pub fn check_envelope(
        &self,
        state: &dyn StateReader,
        tx: &VerifiedTx,
        exact_nonce: bool,
    ) -> Result<EnvelopeCheck, TxError> {
        self.check_envelope_in(&mut TxOverlay::new(state), tx, exact_nonce)
    }

    /// [`Executor::check_envelope`] inside a transaction's own overlay (reads only).
    fn check_envelope_in(
        &self,
        view: &mut TxOverlay<'_>,
        tx: &VerifiedTx,
        exact_nonce: bool,
    ) -> Result<EnvelopeCheck, TxError> {
        let body = &tx.tx().body;
        if body.chain_id != self.config.chain_id {
            return Err(TxError::WrongChain { expected: self.config.chain_id, got: body.chain_id });
        }
        self.dispatcher.check(&body.payload)?;
        self.authorize(view, tx)?;
        let next = Registry::nonce(view, &body.sender)?;
        if body.nonce < next || (exact_nonce && body.nonce != next) {
            return Err(TxError::BadNonce { expected: next, got: body.nonce });
        }
        if body.max_fee < self.config.tx_fee {
            return Err(TxError::FeeTooLow { max_fee: body.max_fee, required: self.config.tx_fee });
        }
        let available = Ledger::balance(view, &NATIVE_MINT, &body.sender).map_err(ledger_state)?;
        if available < self.config.tx_fee {
            return Err(TxError::InsufficientFunds { needed: self.config.tx_fee, available });
        }
        Ok(EnvelopeCheck { next_nonce: next, native_balance: available })
    }

    /// The credential must be the sender's registered one, or — for a `CreateIdentity` of the
    /// sender itself — the credential being registered.
    fn authorize(&self, state: &mut TxOverlay<'_>, tx: &VerifiedTx) -> Result<(), TxError> {
        let body = &tx.tx().body;
        let cred = &tx.tx().credential;
        match Registry::get(state, &body.sender)? {
            Some(record)
                if record.scheme == cred.scheme && record.public_key == cred.public_key =>
            {
                Ok(())
            }
            Some(_) => Err(TxError::CredentialMismatch(body.sender)),
            None => {
                let creates_sender = nvm_vm_native::self_creation(&body.payload).is_some_and(
                    |(scheme, public_key, salt)| {
                        scheme == cred.scheme
                            && public_key == cred.public_key
                            && SchemeId::try_from(scheme).is_ok_and(|s| {
                                id_com_from_credential(s, &public_key, &salt) == body.sender
                            })
                    },
                );
                if creates_sender { Ok(()) } else { Err(TxError::UnknownSender(body.sender)) }
            }
        }
    }

    fn run_tx(
        &self,
        view: &dyn StateReader,
        env: &BlockEnv,
        tx: &VerifiedTx,
    ) -> Result<TxRun, StateError> {
        let mut state = TxOverlay::new(view);
        let nonce = match self.check_envelope_in(&mut state, tx, true) {
            Ok(check) => check.next_nonce,
            Err(TxError::State(e)) => return Err(e),
            Err(e) => return Ok(TxRun::Invalid(e)),
        };
        let body = &tx.tx().body;
        let vm = match self.dispatcher.route(&body.payload) {
            Ok(vm) => vm,
            Err(e) => return Ok(TxRun::Invalid(e)),
        };
        let fee = self.config.tx_fee;
        Ledger::debit(&mut state, &NATIVE_MINT, &body.sender, fee).map_err(ledger_state)?;
        let checkpoint = state.checkpoint();
        let tx_env = TxEnv { block: env, sender: body.sender, nonce, tx_hash: tx.hash() };
        let (status, logs) = match vm.execute(&tx_env, &body.payload, &mut state) {
            Ok(out) => (TxStatus::Success, out.logs),
            Err(VmError::State(e)) => return Err(e),
            Err(e) => {
                state.revert(checkpoint);
                (TxStatus::Failed { reason: e.to_string() }, Vec::new())
            }
        };
        // After the operation, so a VM sees the nonce this transaction uses (the EVM derives
        // CREATE addresses from it); whatever the VM did to it, the next nonce is this one.
        Registry::set_nonce(&mut state, &body.sender, nonce + 1);
        let (writes, observed) = state.into_writes();
        Ok(TxRun::Included { status, fee, logs, writes, observed })
    }

    /// Declares what a transaction's envelope and operation touch, against the pre-block state.
    fn declare(&self, base: &dyn StateReader, env: &BlockEnv, tx: &VerifiedTx) -> AccessSet {
        let body = &tx.tx().body;
        let mut access = AccessSet::default();
        access
            .read(identity_key(&body.sender))
            .write(nonce_key(&body.sender))
            .write(balance_key(&NATIVE_MINT, &body.sender));
        let tx_env =
            TxEnv { block: env, sender: body.sender, nonce: body.nonce, tx_hash: tx.hash() };
        if let Ok(vm) = self.dispatcher.route(&body.payload) {
            // A failed declaration leaves the set partial; validation then falls back to serial.
            let _ = vm.declare(&tx_env, &body.payload, base, &mut access);
        }
        access
    }

    /// Declares every transaction's accesses against the pre-block state (in parallel).
    pub fn declare_all(
        &self,
        base: &dyn StateReader,
        env: &BlockEnv,
        txs: Vec<VerifiedTx>,
    ) -> Vec<(VerifiedTx, AccessSet)> {
        let access: Vec<_> =
            self.in_pool(|| txs.par_iter().map(|tx| self.declare(base, env, tx)).collect());
        txs.into_iter().zip(access).collect()
    }

    /// Orders candidate transactions into lanes (SPEC §4) for a new block, keeping each one's
    /// declared accesses for [`Executor::execute_declared`].
    pub fn order_for_block(
        &self,
        base: &dyn StateReader,
        env: &BlockEnv,
        txs: Vec<VerifiedTx>,
    ) -> Vec<(VerifiedTx, AccessSet)> {
        let declared = self.declare_all(base, env, txs);
        let shards: Vec<_> = declared
            .iter()
            .map(|(tx, _)| {
                let body = &tx.tx().body;
                let vm =
                    body.opcode().and_then(route_opcode).unwrap_or(nvm_primitives::VmKind::Native);
                lanes::shard_of(vm, body.context.as_ref(), self.config.shards)
            })
            .collect();
        let access: Vec<&AccessSet> = declared.iter().map(|(_, a)| a).collect();
        let order = lanes::order_by_lanes(&shards, &access);
        let mut slots: Vec<Option<(VerifiedTx, AccessSet)>> =
            declared.into_iter().map(Some).collect();
        order.into_iter().filter_map(|i| slots[i].take()).collect()
    }

    /// Executes `txs` in the given order on top of `base`, then credits the fees to the proposer.
    pub fn execute_block(
        &self,
        base: &dyn StateReader,
        env: &BlockEnv,
        txs: Vec<VerifiedTx>,
        mode: ExecutionMode,
    ) -> Result<BlockOutcome, StateError> {
        match mode {
            ExecutionMode::Serial => self.execute_serial(base, env, txs),
            ExecutionMode::Parallel => {
                let declared = self.declare_all(base, env, txs);
                self.execute_declared(base, env, declared, mode)
            }
        }
    }

    /// [`Executor::execute_block`] for transactions whose accesses were declared against `base`.
    pub fn execute_declared(
        &self,
        base: &dyn StateReader,
        env: &BlockEnv,
        declared: Vec<(VerifiedTx, AccessSet)>,
        mode: ExecutionMode,
    ) -> Result<BlockOutcome, StateError> {
        let parallel = match mode {
            ExecutionMode::Parallel => self.execute_parallel(base, env, &declared)?,
            ExecutionMode::Serial => None,
        };
        let txs: Vec<VerifiedTx> = declared.into_iter().map(|(tx, _)| tx).collect();
        if let Some((block, runs)) = parallel {
            return self.finish(block, env, txs, runs);
        }
        let mut outcome = self.execute_serial(base, env, txs)?;
        outcome.fell_back_to_serial = mode == ExecutionMode::Parallel;
        Ok(outcome)
    }

    fn execute_serial(
        &self,
        base: &dyn StateReader,
        env: &BlockEnv,
        txs: Vec<VerifiedTx>,
    ) -> Result<BlockOutcome, StateError> {
        let mut block = BlockState::new(base);
        let mut runs = Vec::with_capacity(txs.len());
        for tx in &txs {
            let mut run = self.run_tx(&block, env, tx)?;
            if let TxRun::Included { writes, .. } = &mut run {
                block.merge(std::mem::take(writes));
            }
            runs.push(run);
        }
        self.finish(block, env, txs, runs)
    }

    /// Runs conflict-free batches on rayon, returning the block's state and each transaction's
    /// run. `None` when a transaction accessed a key it did not declare: the schedule may then
    /// be wrong, and the caller re-executes serially.
    fn execute_parallel<'a>(
        &self,
        base: &'a dyn StateReader,
        env: &BlockEnv,
        declared: &[(VerifiedTx, AccessSet)],
    ) -> Result<Option<(BlockState<'a>, Vec<TxRun>)>, StateError> {
        let access: Vec<&AccessSet> = declared.iter().map(|(_, a)| a).collect();
        let batches = schedule_batches(&access);
        let mut block = BlockState::new(base);
        let mut runs: Vec<Option<TxRun>> = (0..declared.len()).map(|_| None).collect();
        for batch in batches {
            let view = &block;
            let results: Vec<Result<TxRun, StateError>> = if batch.len() < 4 {
                batch.iter().map(|&i| self.run_tx(view, env, &declared[i].0)).collect()
            } else {
                self.in_pool(|| {
                    batch.par_iter().map(|&i| self.run_tx(view, env, &declared[i].0)).collect()
                })
            };
            for (&i, result) in batch.iter().zip(results) {
                let mut run = result?;
                match &mut run {
                    TxRun::Included { writes, observed, .. } => {
                        if !declared[i].1.covers(observed) {
                            return Ok(None);
                        }
                        block.merge(std::mem::take(writes));
                    }
                    TxRun::Invalid(_) => {}
                }
                runs[i] = Some(run);
            }
        }
        let runs = runs
            .into_iter()
            .map(|r| r.unwrap_or(TxRun::Invalid(TxError::InvalidPayload("not scheduled".into()))))
            .collect();
        Ok(Some((block, runs)))
    }

    fn finish(
        &self,
        mut block: BlockState<'_>,
        env: &BlockEnv,
        txs: Vec<VerifiedTx>,
        runs: Vec<TxRun>,
    ) -> Result<BlockOutcome, StateError> {
        let mut outcome = BlockOutcome::default();
        for (tx, run) in txs.into_iter().zip(runs) {
            match run {
                TxRun::Invalid(e) => outcome.rejected.push((tx, e)),
                TxRun::Included { status, fee, logs, .. } => {
                    outcome.fees += fee;
                    let receipt = Receipt {
                        tx_hash: tx.hash(),
                        block_height: env.height,
                        index: u32::try_from(outcome.included.len()).unwrap_or(u32::MAX),
                        sender: tx.tx().body.sender,
                        opcode: tx.tx().body.opcode().unwrap_or(0),
                        status,
                        fee_paid: fee,
                        logs,
                    };
                    outcome.included.push(IncludedTx { tx, receipt });
                }
            }
        }
        if outcome.fees > 0 {
            let mut state = TxOverlay::new(&block);
            Ledger::credit(&mut state, &NATIVE_MINT, &env.proposer, outcome.fees)
                .map_err(ledger_state)?;
            let (writes, _) = state.into_writes();
            block.merge(writes);
        }
        outcome.writes = block.into_write_set();
        Ok(outcome)
    }
}

/// Ledger errors on paths already checked can only be state failures.
fn ledger_state(e: LedgerError) -> StateError {
    match e {
        LedgerError::State(s) => s,
        other => StateError::Backend(format!("ledger invariant broken: {other}")),
    }
}
