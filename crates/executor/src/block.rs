//! Executing a block's transactions: serially, or in parallel batches with the same result.

use crate::{TxError, VerifiedTx, lanes, schedule::schedule_batches};
use nvm_identity::{Registry, id_com_from_credential, identity_key, nonce_key};
use nvm_ledger::{Ledger, NATIVE_MINT, balance_key, state_failure as ledger_state};
use nvm_primitives::{IdCom, Log, Mint, Receipt, SchemeId, Transaction, TxStatus};
use nvm_state_api::{AccessSet, BlockState, StateError, StateReader, TxOverlay, WriteSet};
use nvm_vm_api::{
    BlockEnv, EnvelopeCheck, TxEnv, VmError, VmRegistry, WalletFormat, WalletTx, check_nonce,
};
use rayon::prelude::*;
use std::{collections::HashMap, sync::Arc};

/// Block units each wallet format's transactions used so far, by the format's tag.
type UnitsUsed = HashMap<u8, u64>;

/// Consensus parameters the executor enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    pub chain_id: u64,
    /// Flat fee of every transaction, in native base units (18 decimals).
    pub tx_fee: u128,
    /// Number of context shards (SPEC §4).
    pub shards: u64,
    /// Most gas the EVM transactions of one block may reserve together.
    pub block_gas_limit: u64,
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
    /// Gas the block's EVM transactions used.
    pub gas_used: u64,
    /// True when the parallel run saw an undeclared access and the block was re-run serially.
    pub fell_back_to_serial: bool,
    /// The most transactions one batch of the parallel run held (0 when the block ran
    /// serially): how much parallelism the schedule found.
    pub widest_batch: usize,
    /// (mint, holder) of every balance the block wrote, for the node's index of holders
    /// ([`nvm_state_api::StateAccess::note_balance`]).
    pub noted_balances: nvm_ledger::holders::NotedBalances,
}

/// What running one transaction gave.
#[allow(clippy::large_enum_variant)] // one per transaction, moved once
enum TxRun {
    Invalid(TxError),
    Included {
        sender: IdCom,
        status: TxStatus,
        /// Native fee owed to the proposer (a wallet format may pay it itself, as the EVM pays
        /// an Ethereum transaction's tip).
        credit: u128,
        fee_paid: u128,
        gas_used: u64,
        logs: Vec<Log>,
        vm_data: Vec<u8>,
        /// The opcode the receipt names.
        opcode: u8,
        /// Block units of its wallet format it used (the format's tag, the units).
        units: Option<(u8, u64)>,
        writes: nvm_state_api::KeyMap<Option<Vec<u8>>>,
        observed: AccessSet,
        /// (mint, holder) of the balances it wrote.
        noted: Vec<(Mint, IdCom)>,
    },
}

/// Runs transactions through the registered VMs under the chain's rules.
#[derive(Clone)]
pub struct Executor {
    /// The VMs native envelopes' payloads are routed to, by opcode, and the wallet formats
    /// they accept.
    pub vms: VmRegistry,
    pub config: ChainConfig,
    /// Threads of block execution. Apart from rayon's global pool, where admission verifies
    /// signatures: a block waiting behind a queue of signature batches would stall the chain.
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Executor {
    pub fn new(vms: VmRegistry, config: ChainConfig) -> Self {
        Self { vms, config, pool: None }
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

    /// Checks a transaction against `state` for the block `next`: a native envelope's chain,
    /// credential, nonce (`exact_nonce`, or at least the next one for mempool admission), fee
    /// and balance; a wallet transaction's by its format. Returns what it read.
    pub fn check_envelope(
        &self,
        state: &dyn StateReader,
        tx: &VerifiedTx,
        exact_nonce: bool,
        next: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError> {
        self.check_in(&mut TxOverlay::new(state), tx, exact_nonce, next)
    }

    /// [`Executor::check_envelope`] inside a transaction's own overlay (reads only).
    fn check_in(
        &self,
        view: &mut TxOverlay<'_>,
        tx: &VerifiedTx,
        exact_nonce: bool,
        env: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError> {
        match tx.signed() {
            crate::SignedTx::Native(native) => self.check_native_in(view, native, exact_nonce),
            crate::SignedTx::Wallet { tag, tx, .. } => {
                self.format(*tag)?.check(&**tx, view, exact_nonce, env)
            }
        }
    }

    /// [`Executor::check_envelope`] of a native envelope, inside a transaction's overlay.
    fn check_native_in(
        &self,
        view: &mut TxOverlay<'_>,
        tx: &Transaction,
        exact_nonce: bool,
    ) -> Result<EnvelopeCheck, TxError> {
        let body = &tx.body;
        if body.chain_id != self.config.chain_id {
            return Err(TxError::WrongChain { expected: self.config.chain_id, got: body.chain_id });
        }
        let vm = self.vms.check(&body.payload)?;
        self.authorize(view, tx)?;
        let next = check_nonce(view, &body.sender, body.nonce, exact_nonce)?;
        if body.max_fee < self.config.tx_fee {
            return Err(TxError::FeeTooLow { max_fee: body.max_fee, required: self.config.tx_fee });
        }
        let available = Ledger::balance(view, &NATIVE_MINT, &body.sender).map_err(ledger_state)?;
        if available < self.config.tx_fee {
            return Err(TxError::InsufficientFunds { needed: self.config.tx_fee, available });
        }
        Ok(EnvelopeCheck {
            sender: body.sender,
            next_nonce: next,
            native_balance: available,
            max_cost: self.config.tx_fee.saturating_add(vm.value_out(&body.payload)),
            gas_reserved: vm.gas_reserved(&body.payload),
            units_reserved: 0,
        })
    }

    /// The registered wallet format of block tag `tag`.
    fn format(&self, tag: u8) -> Result<&dyn WalletFormat, TxError> {
        self.vms
            .format(tag)
            .ok_or_else(|| TxError::InvalidPayload(format!("no wallet format has tag {tag:#04x}")))
    }

    /// The credential must be the sender's registered one, or — for a `CreateIdentity` of the
    /// sender itself — the credential being registered.
    fn authorize(&self, state: &mut TxOverlay<'_>, tx: &Transaction) -> Result<(), TxError> {
        let body = &tx.body;
        let cred = &tx.credential;
        match Registry::get(state, &body.sender)? {
            Some(record)
                if record.scheme == cred.scheme && record.public_key == cred.public_key =>
            {
                Ok(())
            }
            Some(_) => Err(TxError::CredentialMismatch(body.sender)),
            None => {
                let registers = self
                    .vms
                    .route(&body.payload)
                    .ok()
                    .and_then(|vm| vm.self_registration(&body.payload));
                let creates_sender = registers.is_some_and(|(scheme, public_key, salt)| {
                    scheme == cred.scheme
                        && public_key == cred.public_key
                        && SchemeId::try_from(scheme).is_ok_and(|s| {
                            id_com_from_credential(s, &public_key, &salt) == body.sender
                        })
                });
                if creates_sender { Ok(()) } else { Err(TxError::UnknownSender(body.sender)) }
            }
        }
    }

    /// For a wallet format with a block limit, the format and the units its transactions may
    /// still use in a block that used `used`.
    fn units_left(&self, tx: &VerifiedTx, used: &UnitsUsed) -> Option<(&dyn WalletFormat, u64)> {
        let crate::SignedTx::Wallet { tag, .. } = tx.signed() else { return None };
        let format = self.vms.format(*tag)?;
        let limit = format.block_units_limit()?;
        Some((format, limit.saturating_sub(used.get(tag).copied().unwrap_or(0))))
    }

    /// Runs one transaction on `view`, with `gas_available` left in the block and `units_used`
    /// of each wallet format's block units used.
    fn run_tx(
        &self,
        view: &dyn StateReader,
        env: &BlockEnv,
        tx: &VerifiedTx,
        gas_available: u64,
        units_used: &UnitsUsed,
    ) -> Result<TxRun, StateError> {
        let mut state = TxOverlay::new(view);
        let checked = match self.check_in(&mut state, tx, true, env) {
            Ok(checked) if checked.gas_reserved > gas_available => {
                return Ok(TxRun::Invalid(TxError::BlockGasExhausted {
                    needed: checked.gas_reserved,
                    available: gas_available,
                }));
            }
            Ok(checked) => checked,
            Err(TxError::State(e)) => return Err(e),
            Err(e) => return Ok(TxRun::Invalid(e)),
        };
        if let Some((format, left)) = self.units_left(tx, units_used)
            && checked.units_reserved > left
        {
            return Ok(TxRun::Invalid(TxError::BlockUnitsExhausted {
                vm: format.vm(),
                needed: checked.units_reserved,
                available: left,
            }));
        }
        let tx_env = TxEnv {
            block: env,
            sender: checked.sender,
            nonce: checked.next_nonce,
            tx_hash: tx.hash(),
        };
        match tx.signed() {
            crate::SignedTx::Native(native) => self.run_native(state, &tx_env, native),
            crate::SignedTx::Wallet { tag, tx, .. } => self.run_wallet(state, &tx_env, *tag, &**tx),
        }
    }

    /// A native envelope: the flat fee, then the operation (undone if it fails), then the nonce.
    fn run_native(
        &self,
        mut state: TxOverlay<'_>,
        tx_env: &TxEnv<'_>,
        tx: &Transaction,
    ) -> Result<TxRun, StateError> {
        let body = &tx.body;
        let vm = match self.vms.route(&body.payload) {
            Ok(vm) => vm,
            Err(e) => return Ok(TxRun::Invalid(e)),
        };
        let fee = self.config.tx_fee;
        Ledger::debit(&mut state, &NATIVE_MINT, &body.sender, fee).map_err(ledger_state)?;
        let checkpoint = state.checkpoint();
        let (status, logs, gas_used) = match vm.execute(tx_env, &body.payload, &mut state) {
            Ok(out) => (TxStatus::Success, out.logs, out.gas_used),
            Err(VmError::State(e)) => return Err(e),
            Err(e) => {
                state.revert(checkpoint);
                vm.after_failure(tx_env, &body.payload, &e, &mut state)?;
                let (status, gas_used) = e.status();
                (status, Vec::new(), gas_used)
            }
        };
        // After the operation, so a VM sees the nonce this transaction uses (the EVM derives
        // CREATE addresses from it). The next nonce is this one, or more if the operation raised
        // it (linking an Ethereum account raises it past the account's own).
        let after = Registry::nonce(&mut state, &body.sender)?;
        Registry::set_nonce(&mut state, &body.sender, (tx_env.nonce + 1).max(after));
        let noted = state.take_noted_balances();
        let (writes, observed) = state.into_writes();
        Ok(TxRun::Included {
            sender: body.sender,
            status,
            credit: fee,
            fee_paid: fee,
            gas_used,
            logs,
            vm_data: Vec::new(),
            opcode: body.opcode().unwrap_or(0),
            units: None,
            writes,
            observed,
            noted,
        })
    }

    /// A wallet format's transaction: the format charges its fee and runs it.
    fn run_wallet(
        &self,
        mut state: TxOverlay<'_>,
        tx_env: &TxEnv<'_>,
        tag: u8,
        tx: &dyn WalletTx,
    ) -> Result<TxRun, StateError> {
        let executed = self.format(tag).and_then(|f| f.execute(tx, tx_env, &mut state));
        let out = match executed {
            Ok(out) => out,
            Err(TxError::State(e)) => return Err(e),
            Err(e) => return Ok(TxRun::Invalid(e)),
        };
        let noted = state.take_noted_balances();
        let (writes, observed) = state.into_writes();
        Ok(TxRun::Included {
            sender: tx_env.sender,
            status: out.status,
            credit: out.proposer_fee,
            fee_paid: out.fee_paid,
            gas_used: out.gas_used,
            logs: out.logs,
            vm_data: out.vm_data,
            opcode: out.opcode,
            units: Some((tag, out.units_used)),
            writes,
            observed,
            noted,
        })
    }

    /// Declares what a transaction's envelope and operation touch, against the pre-block state.
    fn declare(&self, base: &dyn StateReader, env: &BlockEnv, tx: &VerifiedTx) -> AccessSet {
        let mut access = AccessSet::default();
        let native = match tx.signed() {
            crate::SignedTx::Native(native) => native,
            crate::SignedTx::Wallet { tag, tx, .. } => {
                match self.format(*tag) {
                    Ok(format) => format.declare(&**tx, env, base, &mut access),
                    Err(_) => access.exclusive = true,
                }
                return access;
            }
        };
        let body = &native.body;
        access
            .read(identity_key(&body.sender))
            .write(nonce_key(&body.sender))
            .write(balance_key(&NATIVE_MINT, &body.sender));
        let tx_env =
            TxEnv { block: env, sender: body.sender, nonce: body.nonce, tx_hash: tx.hash() };
        if let Ok(vm) = self.vms.route(&body.payload) {
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
                let context = tx.native().and_then(|native| native.body.context.as_ref());
                lanes::shard_of(tx.lane_vm(&self.vms), context, self.config.shards)
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
        if let Some((block, runs, widest_batch)) = parallel {
            let outcome = self.finish(block, env, txs, runs)?;
            return Ok(BlockOutcome { widest_batch, ..outcome });
        }
        let mut outcome = self.execute_serial(base, env, txs)?;
        outcome.fell_back_to_serial = mode == ExecutionMode::Parallel;
        Ok(outcome)
    }

    /// Runs `txs` in order on `block` in the block of `env`, merging what each included one
    /// writes — as the block ran them, before the proposer's fees (credited when a block
    /// finishes): the state a block's next transaction saw. What a trace of a committed
    /// transaction replays first.
    pub fn replay(
        &self,
        block: &mut BlockState<'_>,
        env: &BlockEnv,
        txs: &[VerifiedTx],
    ) -> Result<(), StateError> {
        self.run_in_order(block, env, txs, drop)
    }

    /// Runs `txs` one after another on `block`, merging each included one's writes; `keep` gets
    /// each run.
    fn run_in_order(
        &self,
        block: &mut BlockState<'_>,
        env: &BlockEnv,
        txs: &[VerifiedTx],
        mut keep: impl FnMut(TxRun),
    ) -> Result<(), StateError> {
        let mut gas_used = 0;
        let mut units_used = UnitsUsed::new();
        for tx in txs {
            let left = env.gas_limit.saturating_sub(gas_used);
            let mut run = self.run_tx(block, env, tx, left, &units_used)?;
            if let TxRun::Included { writes, gas_used: used, units, .. } = &mut run {
                block.merge(std::mem::take(writes));
                gas_used += *used;
                count_units(&mut units_used, *units);
            }
            keep(run);
        }
        Ok(())
    }

    fn execute_serial(
        &self,
        base: &dyn StateReader,
        env: &BlockEnv,
        txs: Vec<VerifiedTx>,
    ) -> Result<BlockOutcome, StateError> {
        let mut block = BlockState::new(base);
        let mut runs = Vec::with_capacity(txs.len());
        self.run_in_order(&mut block, env, &txs, |run| runs.push(run))?;
        self.finish(block, env, txs, runs)
    }

    /// Runs conflict-free batches on rayon, returning the block's state, each transaction's
    /// run and the widest batch. `None` when a transaction accessed a key it did not declare:
    /// the schedule may then be wrong, and the caller re-executes serially.
    #[allow(clippy::type_complexity)]
    fn execute_parallel<'a>(
        &self,
        base: &'a dyn StateReader,
        env: &BlockEnv,
        declared: &[(VerifiedTx, AccessSet)],
    ) -> Result<Option<(BlockState<'a>, Vec<TxRun>, usize)>, StateError> {
        let access: Vec<&AccessSet> = declared.iter().map(|(_, a)| a).collect();
        let batches = schedule_batches(&access);
        let widest = batches.iter().map(Vec::len).max().unwrap_or(0);
        let mut block = BlockState::new(base);
        let mut runs: Vec<Option<TxRun>> = (0..declared.len()).map(|_| None).collect();
        // Only exclusive (EVM, Solana) transactions use gas or block units, and they run alone:
        // the count is serial. (Should a batch ever overrun a limit, the block runs serially.)
        let mut gas_used = 0u64;
        let mut units_used = UnitsUsed::new();
        for batch in batches {
            let view = &block;
            let left = env.gas_limit.saturating_sub(gas_used);
            let units = &units_used;
            let results: Vec<Result<TxRun, StateError>> = if batch.len() < 4 {
                batch.iter().map(|&i| self.run_tx(view, env, &declared[i].0, left, units)).collect()
            } else {
                self.in_pool(|| {
                    batch
                        .par_iter()
                        .map(|&i| self.run_tx(view, env, &declared[i].0, left, units))
                        .collect()
                })
            };
            for (&i, result) in batch.iter().zip(results) {
                let mut run = result?;
                match &mut run {
                    TxRun::Included { writes, observed, gas_used: used, units, .. } => {
                        if !declared[i].1.covers(observed) {
                            return Ok(None);
                        }
                        block.merge(std::mem::take(writes));
                        gas_used += *used;
                        count_units(&mut units_used, *units);
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
        Ok(Some((block, runs, widest)))
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
                TxRun::Included {
                    sender,
                    status,
                    credit,
                    fee_paid,
                    gas_used,
                    logs,
                    vm_data,
                    opcode,
                    noted,
                    ..
                } => {
                    outcome.noted_balances.extend(noted);
                    outcome.fees += credit;
                    outcome.gas_used += gas_used;
                    let receipt = Receipt {
                        tx_hash: tx.hash(),
                        block_height: env.height,
                        index: u32::try_from(outcome.included.len()).unwrap_or(u32::MAX),
                        sender,
                        opcode,
                        status,
                        fee_paid,
                        gas_used,
                        logs,
                        vm_data,
                    };
                    outcome.included.push(IncludedTx { tx, receipt });
                }
            }
        }
        if outcome.fees > 0 {
            let mut state = TxOverlay::new(&block);
            Ledger::credit(&mut state, &NATIVE_MINT, &env.proposer, outcome.fees)
                .map_err(ledger_state)?;
            outcome.noted_balances.extend(state.take_noted_balances());
            let (writes, _) = state.into_writes();
            block.merge(writes);
        }
        outcome.writes = block.into_write_set();
        Ok(outcome)
    }
}

fn count_units(used: &mut UnitsUsed, units: Option<(u8, u64)>) {
    if let Some((tag, units)) = units {
        let total = used.entry(tag).or_default();
        *total = total.saturating_add(units);
    }
}
