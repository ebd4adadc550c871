//! Agave's SVM (`solana-svm`'s `TransactionBatchProcessor`, its program runtime, BPF loaders,
//! syscalls and builtins, unmodified) running Solana transactions over the unified state.

use crate::{SvmMeta, TokenBalance};
use crate::{
    accounts,
    token_ledger::{self, LoadedToken},
};
use agave_feature_set::FeatureSet;
use nvm_state_api::{StateError, TxOverlay};
use nvm_vm_api::{BlockEnv, VmError};
use solana_account::{AccountSharedData, WritableAccount};
use solana_clock::{Clock, Slot};
use solana_compute_budget_instruction::instructions_processor::process_compute_budget_instructions;
use solana_epoch_schedule::EpochSchedule;
use solana_fee_structure::FeeDetails;
use solana_hash::Hash;
use solana_program_runtime::{
    execution_budget::SVMTransactionExecutionBudget,
    invoke_context::BuiltinFunctionRegisterer,
    loaded_programs::{
        BlockRelation, ForkGraph, ProgramRuntimeEnvironment, ProgramRuntimeEnvironments,
    },
    program_cache_entry::ProgramCacheEntry,
    solana_sbpf::program::BuiltinFunctionDefinition,
};
use solana_pubkey::Pubkey;
use solana_rent::Rent;
use solana_svm::{
    account_loader::CheckedTransactionDetails,
    transaction_processing_result::ProcessedTransaction,
    transaction_processor::{
        ExecutionRecordingConfig, TransactionBatchProcessor, TransactionProcessingConfig,
        TransactionProcessingEnvironment,
    },
};
use solana_svm_callback::{InvokeContextCallback, TransactionProcessingCallback};
use solana_svm_transaction::svm_message::{SVMMessage, SVMStaticMessage};
use solana_transaction::sanitized::SanitizedTransaction;
use std::{
    cell::RefCell,
    collections::HashMap,
    sync::{Arc, RwLock},
};

/// Lamports each signature costs, as on Solana.
pub const LAMPORTS_PER_SIGNATURE: u64 = 5_000;

/// n-VM's chain has no forks: a lower slot is an ancestor of a higher one.
pub struct LinearForks;

impl ForkGraph for LinearForks {
    fn relationship(&self, a: Slot, b: Slot) -> BlockRelation {
        match a.cmp(&b) {
            std::cmp::Ordering::Less => BlockRelation::Ancestor,
            std::cmp::Ordering::Equal => BlockRelation::Equal,
            std::cmp::Ordering::Greater => BlockRelation::Descendant,
        }
    }
}

/// How a Solana transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SvmOutcome {
    /// `Err` with Solana's own error, in the JSON form its RPC shows (`{"InstructionError":[0,
    /// {"Custom":1}]}`), when the transaction failed: the fee was paid, nothing else.
    pub status: Result<(), String>,
    /// A program stopped exceptionally — out of compute units, or aborted in the VM — rather than
    /// returning an error of its own: a receipt shows it `Halted`, as an EVM transaction out of
    /// gas or at an invalid opcode.
    pub halted: bool,
    /// The programs' log lines.
    pub logs: Vec<String>,
    /// The ledger's `Transfer` logs for the token balances the transaction moved (none if it
    /// failed), as native operations emit them: what the tokens' ERC-20 views show as events.
    pub ledger_logs: Vec<nvm_primitives::Log>,
    /// Compute units used and the accounts' balances before and after.
    pub meta: SvmMeta,
    /// Lamports the fee payer paid (signature fees and priority fee).
    pub fee_lamports: u64,
}

/// The SVM of one node: Agave's transaction processor with its builtins and program cache.
pub struct SvmRuntime {
    processor: TransactionBatchProcessor<LinearForks>,
    /// The processor of the block being executed, keyed by its height and time: its sysvars
    /// and builtin cache are set up once per block, not once per transaction.
    block: parking_lot::Mutex<Option<BlockProcessor>>,
    /// Held so the program cache's weak reference to it stays valid.
    _forks: Arc<RwLock<LinearForks>>,
    /// Per program id, a digest of the account bytes its cached entries were compiled from: a
    /// program whose accounts differ (an upgrade, a close, another branch) is dropped from the
    /// cache before it can run, so what runs is a function of the state alone.
    programs: parking_lot::Mutex<HashMap<Pubkey, [u8; 32]>>,
    feature_set: FeatureSet,
    svm_features: solana_svm_feature_set::SVMFeatureSet,
    environment: ProgramRuntimeEnvironment,
    /// The SPL Token program is the ledger-backed builtin (always, except in tests that run the
    /// real p-token build at its id to compare).
    token_builtin: bool,
}

struct BlockProcessor {
    height: u64,
    timestamp_ms: u64,
    processor: Arc<TransactionBatchProcessor<LinearForks>>,
}

/// The builtin programs every transaction can invoke: id, the name their account holds, and
/// Agave's entrypoint.
const BUILTIN_PROGRAMS: [(Pubkey, &str, BuiltinFunctionRegisterer); 5] = [
    (
        solana_sdk_ids::system_program::ID,
        "system_program",
        solana_system_program::system_processor::Entrypoint::register,
    ),
    (
        solana_sdk_ids::compute_budget::ID,
        "compute_budget_program",
        solana_compute_budget_program::Entrypoint::register,
    ),
    (
        solana_sdk_ids::bpf_loader_upgradeable::ID,
        "solana_bpf_loader_upgradeable_program",
        solana_bpf_loader_program::Entrypoint::register,
    ),
    (
        solana_sdk_ids::bpf_loader::ID,
        "solana_bpf_loader_program",
        solana_bpf_loader_program::Entrypoint::register,
    ),
    (
        solana_sdk_ids::bpf_loader_deprecated::ID,
        "solana_bpf_loader_deprecated_program",
        solana_bpf_loader_program::Entrypoint::register,
    ),
];

/// The SPL Token program as n-VM's builtin over the ledger ([`crate::token_program`]).
const TOKEN_BUILTIN: (Pubkey, &str, BuiltinFunctionRegisterer) = (
    crate::SPL_TOKEN_PROGRAM_ID,
    "spl_token_ledger_program",
    crate::token_program::Entrypoint::register,
);

/// A builtin program's native-loader account, if `address` is one.
fn builtin_account(address: &Pubkey, token_builtin: bool) -> Option<AccountSharedData> {
    let token = token_builtin.then_some(&TOKEN_BUILTIN);
    let (_, name, _) = BUILTIN_PROGRAMS.iter().chain(token).find(|(id, _, _)| id == address)?;
    let mut account = AccountSharedData::new(1, name.len(), &solana_sdk_ids::native_loader::id());
    account.set_data_from_slice(name.as_bytes());
    account.set_executable(true);
    Some(account)
}

/// The account at `address` as programs see it: a builtin program's native-loader account, or
/// the account over the unified state ([`accounts::load`]). `None` when it holds nothing.
pub fn read_account(
    state: &mut dyn nvm_state_api::StateAccess,
    address: &Pubkey,
) -> Result<Option<AccountSharedData>, StateError> {
    match builtin_account(address, true) {
        Some(account) => Ok(Some(account)),
        None => accounts::load(state, address),
    }
}

impl SvmRuntime {
    /// The SVM with Agave's features enabled (except those that would refuse today's programs)
    /// and the full set of syscalls.
    pub fn new() -> Result<Self, VmError> {
        Self::with_token_builtin(true)
    }

    /// The SVM with (`true`) or without the SPL Token builtin: without it, the token program is
    /// whatever program account the state holds at its id (the differential test deploys the
    /// p-token build there).
    pub fn with_token_builtin(token_builtin: bool) -> Result<Self, VmError> {
        let mut feature_set = FeatureSet::all_enabled();
        // Pending on Solana, not active on mainnet: with it, no program built by today's
        // toolchains (SBPF v0–v2) could be deployed.
        feature_set.deactivate(&agave_feature_set::disable_sbpf_v0_v1_v2_deployment::id());
        let svm_features = feature_set.runtime_features();
        let budget = SVMTransactionExecutionBudget::new_with_defaults(
            svm_features.raise_cpi_nesting_limit_to_8,
        );
        let environment = solana_syscalls::create_program_runtime_environment(
            &svm_features,
            &budget,
            true,
            false,
        )
        .map_err(|e| VmError::Invalid(format!("cannot create the SVM program runtime: {e}")))?;
        let forks = Arc::new(RwLock::new(LinearForks));
        let mut processor = TransactionBatchProcessor::new_uninitialized(0, 0);
        processor
            .global_program_cache
            .write()
            .map_err(|_| VmError::Invalid("the SVM program cache is poisoned".into()))?
            .set_fork_graph(Arc::downgrade(&forks));
        processor.set_program_runtime_environment(environment.clone());
        let token = token_builtin.then_some(TOKEN_BUILTIN);
        for (id, name, register) in BUILTIN_PROGRAMS.into_iter().chain(token) {
            processor.add_builtin(id, ProgramCacheEntry::new_builtin(0, name.len(), register));
        }
        Ok(Self {
            processor,
            block: Default::default(),
            _forks: forks,
            programs: Default::default(),
            feature_set,
            svm_features,
            environment,
            token_builtin,
        })
    }

    /// Executes `tx` (signatures already verified) in `block` over `state`. An error is a
    /// transaction that cannot be processed at all (it changes nothing); an outcome with a failed
    /// status paid its fee and changed nothing else.
    pub fn execute(
        &self,
        state: &mut TxOverlay<'_>,
        block: &BlockEnv,
        tx: &SanitizedTransaction,
    ) -> Result<SvmOutcome, VmError> {
        let callback = StateCallback {
            state: RefCell::new(state),
            block,
            failure: RefCell::new(None),
            loaded_tokens: RefCell::default(),
            token_builtin: self.token_builtin,
        };
        let processor = self.processor_for(block, &callback)?;
        self.revalidate_programs(&callback, tx, &processor)?;
        let check = self.check(tx).map_err(|e| VmError::Invalid(e.to_string()))?;
        let environment = TransactionProcessingEnvironment {
            blockhash: Hash::new_from_array(nvm_primitives::sha256_parts(&[
                b"svm:blockhash:",
                &block.height.to_le_bytes(),
            ])),
            blockhash_lamports_per_signature: LAMPORTS_PER_SIGNATURE,
            alpenglow_migration_succeeded: false,
            epoch_total_stake: 0,
            feature_set: self.svm_features,
            program_runtime_environments: ProgramRuntimeEnvironments::new(
                self.environment.clone(),
                self.environment.clone(),
            ),
            rent: Rent::default(),
        };
        let config = TransactionProcessingConfig {
            recording_config: ExecutionRecordingConfig {
                enable_log_recording: true,
                enable_return_data_recording: true,
                enable_cpi_recording: false,
                enable_transaction_balance_recording: true,
            },
            // A cached program is used only if it is the version the state holds (its
            // loader-v3/v4 deployment slot): an upgrade or a close is never hidden by a warm cache.
            check_program_deployment_slot: true,
            ..Default::default()
        };
        let output = processor.load_and_execute_sanitized_transactions(
            &callback,
            std::slice::from_ref(tx),
            vec![Ok(check)],
            &environment,
            &config,
        );
        if let Some(e) = callback.failure.take() {
            return Err(VmError::State(e));
        }
        let mut meta = balances(output.balance_collector);
        let processed = output
            .processing_results
            .into_iter()
            .next()
            .ok_or_else(|| VmError::Invalid("the SVM returned no result".into()))?
            .map_err(|e| VmError::Invalid(e.to_string()))?;
        let state = callback.state.into_inner();
        let mut halted = false;
        let (mut status, logs, fee_details, writes, rollback_writes) = match processed {
            ProcessedTransaction::Executed(executed) => {
                let details = executed.execution_details;
                let rollback_writes = rollback(&executed.loaded_transaction.rollback_accounts);
                let writes: Vec<(Pubkey, AccountSharedData)> = match &details.status {
                    Ok(()) => executed
                        .loaded_transaction
                        .accounts
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| tx.is_writable(*i))
                        .map(|(_, account)| account)
                        .collect(),
                    Err(_) => rollback_writes.clone(),
                };
                meta.compute_units = details.executed_units;
                halted = details.status.as_ref().is_err_and(exhausted_compute);
                (
                    details.status.map_err(|e| error_json(&e)),
                    details.log_messages.unwrap_or_default(),
                    executed.loaded_transaction.fee_details,
                    writes,
                    rollback_writes,
                )
            }
            ProcessedTransaction::FeesOnly(fees_only) => {
                let writes = rollback(&fees_only.rollback_accounts);
                (
                    Err(error_json(&fees_only.load_error)),
                    Vec::new(),
                    fees_only.fee_details,
                    writes.clone(),
                    writes,
                )
            }
        };
        let loaded = callback.loaded_tokens.take();
        let changes: Vec<token_ledger::TokenChange> = writes
            .iter()
            .filter_map(|(address, account)| {
                token_ledger::change_of(address, loaded.get(address).copied(), account)
            })
            .collect();
        let checkpoint = state.checkpoint();
        let committed = accounts::commit(&mut *state, &writes)
            .and_then(|()| token_ledger::apply(&mut *state, &changes));
        let mut ledger_logs = Vec::new();
        match committed {
            Ok(moves) => ledger_logs = token_ledger::transfer_logs(&moves),
            Err(token_ledger::CommitError::State(e)) => return Err(VmError::State(e)),
            Err(token_ledger::CommitError::Ledger(e)) => {
                // One balance spent twice through two of its addresses: the transaction fails
                // and pays its fee, as any failed one does.
                state.revert(checkpoint);
                accounts::commit(&mut *state, &rollback_writes).map_err(|e| match e {
                    token_ledger::CommitError::State(e) => VmError::State(e),
                    other => VmError::Invalid(other.to_string()),
                })?;
                status = Err(serde_json::json!({ "LedgerDebit": e.to_string() }).to_string());
            }
        }
        let fee_lamports = fee_details.total_fee();
        Ok(SvmOutcome { status, halted, logs, ledger_logs, meta, fee_lamports })
    }

    /// The processor for `block`: the one already set up for it, or a new one sharing the
    /// program cache, its sysvars read from the block.
    fn processor_for(
        &self,
        block: &BlockEnv,
        callback: &StateCallback<'_, '_, '_>,
    ) -> Result<Arc<TransactionBatchProcessor<LinearForks>>, VmError> {
        let mut current = self.block.lock();
        if let Some(b) = current
            .as_ref()
            .filter(|b| (b.height, b.timestamp_ms) == (block.height, block.timestamp_ms))
        {
            return Ok(b.processor.clone());
        }
        let processor = Arc::new(self.processor.new_from(block.height, 0));
        processor.reset_and_fill_sysvar_cache_entries(callback);
        *current = Some(BlockProcessor {
            height: block.height,
            timestamp_ms: block.timestamp_ms,
            processor: processor.clone(),
        });
        Ok(processor)
    }

    /// Drops from the program cache every program `tx` names whose accounts changed since its
    /// entries were compiled. (A CPI can only reach a program the message names: address lookup
    /// tables are refused.)
    fn revalidate_programs(
        &self,
        callback: &StateCallback<'_, '_, '_>,
        tx: &SanitizedTransaction,
        processor: &TransactionBatchProcessor<LinearForks>,
    ) -> Result<(), VmError> {
        let mut known = self.programs.lock();
        let mut stale = Vec::new();
        for key in SVMMessage::account_keys(tx).iter() {
            let changed = match program_digest(callback, key) {
                Some(digest) => known.insert(*key, digest) != Some(digest),
                None => known.remove(key).is_some(),
            };
            if changed {
                stale.push(*key);
            }
        }
        if !stale.is_empty() {
            processor
                .global_program_cache
                .write()
                .map_err(|_| VmError::Invalid("the SVM program cache is poisoned".into()))?
                .remove_programs(stale.into_iter());
        }
        Ok(())
    }

    /// What `tx` pays in fees (signatures and its priority fee), as executing it would charge.
    pub fn fee(
        &self,
        tx: &SanitizedTransaction,
    ) -> Result<u64, solana_transaction_error::TransactionError> {
        Ok(fee_details(tx, &self.budget_limits(tx)?).total_fee())
    }

    /// The limits `tx`'s compute-budget instructions set.
    fn budget_limits(
        &self,
        tx: &SanitizedTransaction,
    ) -> Result<
        solana_compute_budget::compute_budget_limits::ComputeBudgetLimits,
        solana_transaction_error::TransactionError,
    > {
        process_compute_budget_instructions(
            SVMStaticMessage::program_instructions_iter(tx),
            &self.feature_set,
        )
    }

    /// The compute units `tx` may use: its compute-budget instructions' limit, else Solana's
    /// default per instruction (a transaction whose budget instructions are invalid reserves
    /// Solana's most, and fails when it runs).
    pub fn compute_unit_limit(&self, tx: &SanitizedTransaction) -> u64 {
        self.budget_limits(tx).map_or(
            u64::from(solana_compute_budget::compute_budget_limits::MAX_COMPUTE_UNIT_LIMIT),
            |l| u64::from(l.compute_unit_limit),
        )
    }

    /// The transaction's compute budget and fee, from its compute-budget instructions.
    fn check(
        &self,
        tx: &SanitizedTransaction,
    ) -> Result<CheckedTransactionDetails, solana_transaction_error::TransactionError> {
        let limits = self.budget_limits(tx)?;
        let fee = fee_details(tx, &limits);
        let budget = limits.get_compute_budget_and_limits(
            limits.loaded_accounts_bytes,
            fee,
            self.svm_features.raise_cpi_nesting_limit_to_8,
        );
        Ok(CheckedTransactionDetails::new(None, budget))
    }
}

/// Solana's fee for `tx` under its compute-budget `limits`: per signature (the transaction's and
/// its precompiles'), plus the priority fee.
fn fee_details(
    tx: &SanitizedTransaction,
    limits: &solana_compute_budget::compute_budget_limits::ComputeBudgetLimits,
) -> FeeDetails {
    let signatures = tx
        .num_transaction_signatures()
        .saturating_add(tx.num_ed25519_signatures())
        .saturating_add(tx.num_secp256k1_signatures())
        .saturating_add(tx.num_secp256r1_signatures());
    FeeDetails::new(
        signatures.saturating_mul(LAMPORTS_PER_SIGNATURE),
        limits.get_prioritization_fee(),
    )
}

/// The one transaction's balances the SVM recorded before and after it ran.
fn balances(collector: Option<solana_svm::transaction_balances::BalanceCollector>) -> SvmMeta {
    let Some(collector) = collector else { return SvmMeta::default() };
    let (native_pre, native_post, token_pre, token_post) = collector.into_vecs();
    let tokens = |batch: Vec<Vec<solana_svm::transaction_balances::SvmTokenInfo>>| {
        let infos = batch.into_iter().next().unwrap_or_default();
        infos
            .into_iter()
            .map(|t| TokenBalance {
                account_index: t.account_index,
                mint: t.mint.to_bytes(),
                owner: t.owner.to_bytes(),
                program_id: t.program_id.to_bytes(),
                amount: t.amount,
                decimals: t.decimals,
            })
            .collect()
    };
    SvmMeta {
        compute_units: 0,
        pre_balances: native_pre.into_iter().next().unwrap_or_default(),
        post_balances: native_post.into_iter().next().unwrap_or_default(),
        pre_token_balances: tokens(token_pre),
        post_token_balances: tokens(token_post),
        log_messages: Vec::new(),
    }
}

/// A Solana error as its JSON-RPC shows it (`err` of `getSignatureStatuses`).
/// A program stopped exceptionally (Agave reports a program out of compute units, or aborted
/// in the VM, as `ProgramFailedToComplete`).
fn exhausted_compute(e: &solana_transaction_error::TransactionError) -> bool {
    use solana_instruction_error::InstructionError;
    matches!(
        e,
        solana_transaction_error::TransactionError::InstructionError(
            _,
            InstructionError::ComputationalBudgetExceeded
                | InstructionError::ProgramFailedToComplete
        )
    )
}

fn error_json(e: &solana_transaction_error::TransactionError) -> String {
    serde_json::to_string(e).unwrap_or_else(|_| e.to_string())
}

/// The accounts a failed transaction still writes: the fee payer, charged its fee.
fn rollback(
    accounts: &solana_svm::rollback_accounts::RollbackAccounts,
) -> Vec<(Pubkey, AccountSharedData)> {
    accounts.iter().map(|(address, account)| (*address, account.clone())).collect()
}

/// Serves accounts to the SVM from the unified state: sysvars from the block, builtin programs
/// as native-loader accounts, everything else through [`accounts::load`].
struct StateCallback<'s, 'b, 'e> {
    state: RefCell<&'s mut TxOverlay<'b>>,
    block: &'e BlockEnv,
    /// The first state failure: the SVM cannot report one, so execution stops being trusted.
    failure: RefCell<Option<StateError>>,
    /// The ledger values token-program accounts were loaded with.
    loaded_tokens: RefCell<HashMap<Pubkey, LoadedToken>>,
    /// Whether the SPL Token program is n-VM's builtin (else an account at its id, if any).
    token_builtin: bool,
}

impl StateCallback<'_, '_, '_> {
    fn sysvar(&self, address: &Pubkey) -> Option<AccountSharedData> {
        let data = if *address == solana_sdk_ids::sysvar::clock::id() {
            let seconds = i64::try_from(self.block.timestamp_ms / 1000).unwrap_or(i64::MAX);
            bincode::serialize(&Clock {
                slot: self.block.height,
                epoch_start_timestamp: 0,
                epoch: 0,
                leader_schedule_epoch: 0,
                unix_timestamp: seconds,
            })
        } else if *address == solana_sdk_ids::sysvar::rent::id() {
            bincode::serialize(&Rent::default())
        } else if *address == solana_sdk_ids::sysvar::epoch_schedule::id() {
            bincode::serialize(&EpochSchedule::without_warmup())
        } else {
            return None;
        };
        let data = data.ok()?;
        let mut account = AccountSharedData::new(1, data.len(), &solana_sdk_ids::sysvar::id());
        account.set_data_from_slice(&data);
        Some(account)
    }
}

impl InvokeContextCallback for StateCallback<'_, '_, '_> {}

impl TransactionProcessingCallback for StateCallback<'_, '_, '_> {
    fn get_account_shared_data(&self, address: &Pubkey) -> Option<(AccountSharedData, Slot)> {
        if let Some(account) = self.sysvar(address) {
            return Some((account, 0));
        }
        if let Some(account) = builtin_account(address, self.token_builtin) {
            return Some((account, 0));
        }
        let mut state = self.state.borrow_mut();
        match accounts::load_tracked(&mut **state, address) {
            Ok(Some((account, loaded))) => {
                if let Some(loaded) = loaded {
                    self.loaded_tokens.borrow_mut().insert(*address, loaded);
                }
                Some((account, 0))
            }
            Ok(None) => None,
            Err(e) => {
                self.failure.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

/// A digest of what a program's cache entries are compiled from — its account (owner and
/// bytes) and, under loader v3, its program data account — or `None` if `key` is no program.
fn program_digest(callback: &StateCallback<'_, '_, '_>, key: &Pubkey) -> Option<[u8; 32]> {
    use solana_account::ReadableAccount;
    use solana_sdk_ids::{bpf_loader, bpf_loader_deprecated, bpf_loader_upgradeable, loader_v4};
    let (account, _) = callback.get_account_shared_data(key)?;
    let (owner, data) = (account.owner(), account.data());
    let program_data = if bpf_loader_upgradeable::check_id(owner) {
        // `UpgradeableLoaderState::Program { programdata_address }` (buffers and program data
        // accounts are no programs).
        let address = data.strip_prefix(&[2, 0, 0, 0])?.get(..32)?;
        let address = Pubkey::try_from(address).ok()?;
        callback.get_account_shared_data(&address).map(|(a, _)| a.data().to_vec())
    } else if [bpf_loader::ID, bpf_loader_deprecated::ID, loader_v4::ID].contains(owner) {
        None
    } else {
        return None;
    };
    Some(nvm_primitives::sha256_parts(&[
        b"svm:program:",
        owner.as_ref(),
        &(data.len() as u64).to_le_bytes(),
        data,
        &program_data.unwrap_or_default(),
    ]))
}
