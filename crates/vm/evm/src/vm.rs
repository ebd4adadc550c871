//! The EVM as an n-VM `Vm`: run revm, then write its state changes into the overlay.

use crate::variant::{EvmVariant, Mainline};
use crate::{
    EvmOp,
    db::{AccountSpace, UnifiedDb, code_key, view_mint},
    erc20::LedgerPrecompiles,
    ops::TRANSFER_GAS,
};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use nvm_identity::{Registry, derive_address};
use nvm_ledger::{Ledger, LedgerError, NATIVE_MINT, balance_key};
use nvm_primitives::Log;
use nvm_state_api::{StateAccess, StateAccessExt, TxOverlay};
use nvm_vm_api::{ExecOutput, TxEnv, Vm, VmError, VmResult};
use revm::{
    Context, MainContext,
    context::{
        BlockEnv, CfgEnv, ContextTr, Evm, JournalTr, TxEnv as RevmTx,
        result::{EVMError, ExecutionResult, InvalidTransaction, Output, ResultAndState},
    },
    handler::instructions::EthInstructions,
    primitives::{KECCAK_EMPTY, hardfork::SpecId},
    state::EvmState,
};

/// Gas limit of one block's EVM execution environment (what `GASLIMIT` returns).
pub const BLOCK_GAS_LIMIT: u64 = 36_000_000;
/// Most gas one transaction may use (EIP-7825, in force since Osaka).
pub const TX_GAS_CAP: u64 = 1 << 24;

/// The EVM at a hardfork (revm's latest by default), as mainline Ethereum runs it or as a
/// variant changes it ([`EvmVariant`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct EvmVm<V = Mainline> {
    pub spec: SpecId,
    pub variant: V,
}

/// An identity's EVM address as revm's type.
pub fn evm_address(id_com: &[u8; 32]) -> Address {
    Address::from_slice(derive_address(&nvm_identity::EVM_FORMAT, id_com).as_bytes())
}

fn state_err<E: std::fmt::Display>(e: EVMError<crate::DbError, E>) -> VmError {
    match e {
        EVMError::Database(db) => VmError::State(db.0),
        other => VmError::Failed(other.to_string()),
    }
}

/// revm's refusal of a transaction before it ran, as this VM reports it.
fn refused(refusal: InvalidTransaction) -> VmError {
    VmError::Failed(crate::VariantError::Transaction(refusal).to_string())
}

/// revm's block environment for an n-VM block (the proposer's account in Ethereum's space).
pub fn revm_block(env: &TxEnv<'_>) -> BlockEnv {
    revm_block_in(env, AccountSpace::ETHEREUM)
}

/// [`revm_block`] with the proposer's account in `space`.
pub fn revm_block_in(env: &TxEnv<'_>, space: AccountSpace) -> BlockEnv {
    BlockEnv {
        number: U256::from(env.block.height),
        beneficiary: space.account_of(&env.block.proposer),
        timestamp: U256::from(env.block.timestamp_ms / 1000),
        gas_limit: env.block.gas_limit,
        basefee: env.block.base_fee_per_gas,
        difficulty: U256::ZERO,
        // Post-merge PREVRANDAO: derived from the parent-independent block facts until
        // consensus provides randomness.
        prevrandao: Some(B256::from(nvm_primitives::sha256_parts(&[
            b"nvm:prevrandao:",
            &env.block.height.to_le_bytes(),
            &env.block.proposer,
        ]))),
        ..BlockEnv::default()
    }
}

/// revm's transaction for an EVM operation sent by `caller` with `nonce`.
pub fn revm_tx(op: EvmOp, caller: Address, nonce: u64, chain_id: u64) -> VmResult<RevmTx> {
    let (kind, value, data, gas_limit) = match op {
        EvmOp::Call { to, value, data, gas_limit } => {
            (TxKind::Call(Address::from(to)), value, data, gas_limit)
        }
        EvmOp::Create { value, init_code, gas_limit } => {
            (TxKind::Create, value, init_code, gas_limit)
        }
        EvmOp::Transfer { to, value } => {
            (TxKind::Call(Address::from(to)), value, Vec::new(), TRANSFER_GAS)
        }
        EvmOp::DevCallAs { to, value, data, gas_limit, .. } => (
            to.map_or(TxKind::Create, |to| TxKind::Call(Address::from(to))),
            value,
            data,
            gas_limit,
        ),
    };
    RevmTx::builder()
        .caller(caller)
        .kind(kind)
        .value(U256::from(value))
        .data(Bytes::from(data))
        .gas_limit(gas_limit)
        .gas_price(0)
        .nonce(nonce)
        .chain_id(Some(chain_id))
        .build()
        .map_err(|e| VmError::Invalid(format!("{e:?}")))
}

impl<V: EvmVariant> EvmVm<V> {
    /// Runs `tx` with revm at this VM's spec, through its variant's instruction table and
    /// handler, over `state` in the block of `env`, without writing: the caller commits (or
    /// discards) the returned state changes. `pays_gas` is true for Ethereum-signed
    /// transactions; operations in native envelopes (which paid n-VM's flat fee) and
    /// simulations run at gas price 0, below the base fee.
    pub(crate) fn transact(
        &self,
        state: &mut TxOverlay<'_>,
        env: &TxEnv<'_>,
        tx: RevmTx,
        pays_gas: bool,
        token: Option<crate::TokenValue>,
        deadline: Option<crate::Deadline>,
    ) -> VmResult<ResultAndState> {
        self.transact_checked(state, env, tx, pays_gas, token, deadline)?.map_err(refused)
    }

    /// [`Self::transact`], with revm's refusal of the transaction before it ran (its nonce, fee,
    /// funds or intrinsic gas: what `eth_simulateV1`'s validation reports) kept apart.
    pub(crate) fn transact_checked(
        &self,
        state: &mut TxOverlay<'_>,
        env: &TxEnv<'_>,
        tx: RevmTx,
        pays_gas: bool,
        token: Option<crate::TokenValue>,
        deadline: Option<crate::Deadline>,
    ) -> VmResult<Result<ResultAndState, InvalidTransaction>> {
        let run = |evm: &mut crate::VariantEvm<'_, '_>| self.variant.run(evm);
        Ok(self.run_with(state, env, tx, pays_gas, token, deadline, (), run)?.0)
    }

    /// [`Self::transact`] with `inspector` watching the run (through the variant's
    /// [`crate::EvmVariant::inspect`]), handed back with what it recorded. Nothing is written.
    /// Past `deadline` the run is aborted, as a simulation's is.
    pub fn inspect<I>(
        &self,
        state: &mut TxOverlay<'_>,
        env: &TxEnv<'_>,
        tx: RevmTx,
        pays_gas: bool,
        inspector: I,
        deadline: Option<crate::Deadline>,
    ) -> VmResult<(ResultAndState, I)>
    where
        I: for<'s, 'b> revm::Inspector<crate::EvmContext<'s, 'b>>,
    {
        let (run, inspector) =
            self.run_with(state, env, tx, pays_gas, None, deadline, inspector, |evm| {
                self.variant.inspect(evm)
            })?;
        Ok((run.map_err(refused)?, inspector))
    }

    /// Builds the variant's EVM for `tx` over `state` (with `inspector`) and runs it with `run`;
    /// the inspector comes back with the outcome.
    #[allow(clippy::too_many_arguments)]
    fn run_with<I>(
        &self,
        state: &mut TxOverlay<'_>,
        env: &TxEnv<'_>,
        tx: RevmTx,
        pays_gas: bool,
        token: Option<crate::TokenValue>,
        deadline: Option<crate::Deadline>,
        inspector: I,
        run: impl FnOnce(
            &mut crate::VariantEvm<'_, '_, I>,
        ) -> Result<revm::context::result::ExecutionResult, crate::VariantError>,
    ) -> VmResult<(Result<ResultAndState, InvalidTransaction>, I)> {
        let mut cfg = CfgEnv::new_with_spec(self.spec);
        cfg.chain_id = env.block.chain_id;
        cfg.disable_base_fee = !pays_gas;
        let space = self.variant.space();
        let context = Context::mainnet()
            .with_db(UnifiedDb::in_space(state, space).with_origin(env.tx_hash))
            .with_block(revm_block_in(env, space))
            .with_cfg(cfg)
            .with_tx(tx)
            .with_chain(crate::FrameValues {
                next: token,
                watch: deadline.map(crate::deadline::Watch::new),
                ..Default::default()
            });
        let mut instructions = EthInstructions::new_mainnet_with_spec(self.spec);
        self.variant.instructions(&mut instructions, self.spec);
        if deadline.is_some() {
            crate::deadline::watch_jumps(&mut instructions);
        }
        let precompiles = LedgerPrecompiles::with(self.variant.precompiles(self.spec), self.spec);
        let mut evm = Evm::new_with_inspector(context, inspector, instructions, precompiles);
        let result = run(&mut evm);
        // Finalizing clears the journal whether the run succeeded or not (as revm's own
        // `transact` does).
        let changes = evm.journal_mut().finalize();
        let run = match result {
            Ok(result) => Ok(ResultAndState::new(result, changes)),
            Err(EVMError::Transaction(refusal)) => Err(refusal),
            Err(other) => return Err(state_err(other)),
        };
        Ok((run, evm.inspector))
    }
}

/// A ledger error while committing: a state failure, or a broken invariant (this node failed).
fn ledger_failure(e: LedgerError) -> VmError {
    match e {
        LedgerError::State(s) => VmError::State(s),
        other => VmError::Failed(format!("ledger: {other}")),
    }
}

/// Writes revm's state changes into the overlay: balances through the ledger's keys, nonces
/// through the identity's nonce, code and storage under their own keys.
///
/// Several addresses can be one identity (its derived address, a linked Ethereum account, the
/// coinbase): revm loads each with the identity's balance and changes them apart, so the
/// identity's new balance is its old one plus every address's change, and its nonce the highest.
///
/// `logs` are the transaction's (none if it failed): the payments into scripts they record become
/// UTXOs. The native value a view's account received is theirs; any more (sent to a view by
/// `SELFDESTRUCT`, which no call can refuse) is burned.
pub(crate) fn commit(
    state: &mut TxOverlay<'_>,
    changes: EvmState,
    space: AccountSpace,
    env: &TxEnv<'_>,
    logs: &[revm::primitives::Log],
) -> Result<(), VmError> {
    // Per identity: the sum of its addresses' balances, how many, the highest nonce.
    let mut identities: std::collections::HashMap<[u8; 32], (U256, u32, u64)> = Default::default();
    let mut views_received = U256::ZERO;
    for (address, account) in changes {
        if !account.is_touched() {
            continue;
        }
        if let Some(mint) = view_mint(state, &address).map_err(|e| VmError::State(e.0))? {
            views_received += account.info.balance;
            // An ERC-20 view's changed slots are ledger balances and allowances, markers of
            // the identities it credited (their holdings) and whose balances it wrote (notes
            // for the index of holders), and the count of payments into
            // scripts (the transaction's own).
            for (slot, value) in account.changed_storage_slots() {
                let credited = value.present_value.to_be_bytes::<32>();
                if slot.to_be_bytes::<32>() == crate::erc20::credited_marker(&credited) {
                    Ledger::note_holding(state, &mint, &credited).map_err(ledger_failure)?;
                    continue;
                }
                if slot.to_be_bytes::<32>() == crate::erc20::moved_marker(&credited) {
                    state.note_balance(&mint, &credited);
                    continue;
                }
                if slot.to_be_bytes::<32>() == crate::erc20::script_payments_slot() {
                    continue;
                }
                let amount = u128::try_from(value.present_value).map_err(|_| {
                    VmError::Failed(format!("ledger amount at {address} exceeds u128"))
                })?;
                state.set_u128(slot.to_be_bytes::<32>(), amount);
            }
            continue;
        }
        // A touched account's legacy identity is found at every address it shows from now on.
        let id = Registry::resolve_and_index(state, &space.address(address.into_array()))?;
        let entry = identities.entry(id).or_insert((U256::ZERO, 0, 0));
        entry.0 += account.info.balance;
        entry.1 += 1;
        // An account destroyed in the transaction that created it is gone (EIP-6780): no nonce
        // is left at its address, so the address can be created again.
        if !account.is_selfdestructed() {
            entry.2 = entry.2.max(account.info.nonce);
        }
        if account.is_selfdestructed() {
            state.delete(space.code_hash_key(&address));
        } else if account.is_created() && account.info.code_hash != KECCAK_EMPTY {
            if let Some(code) = &account.info.code {
                state.set(code_key(&account.info.code_hash), code.original_bytes().to_vec());
            }
            state.set(space.code_hash_key(&address), account.info.code_hash.to_vec());
        }
        for (slot, value) in account.changed_storage_slots() {
            let key = space.storage_key(&address, slot);
            if value.present_value.is_zero() || account.is_selfdestructed() {
                state.delete(key);
            } else {
                state.set(key, value.present_value.to_be_bytes::<32>().to_vec());
            }
        }
    }
    let in_scripts = crate::erc20::settle_script_payments(state, env, logs)
        .map_err(|e| VmError::Failed(format!("ledger: {e}")))?;
    let burned = views_received
        .checked_sub(U256::from(in_scripts))
        .and_then(|b| u128::try_from(b).ok())
        .ok_or_else(|| {
            VmError::Failed("ledger: scripts hold more than their payers paid".into())
        })?;
    if burned > 0 {
        Ledger::retire_supply(state, &NATIVE_MINT, burned).map_err(ledger_failure)?;
    }
    for (id, (sum, addresses, nonce)) in identities {
        let key = balance_key(&NATIVE_MINT, &id);
        let before = U256::from(state.get_u128(&key)?);
        let after = sum
            .checked_sub(before * U256::from(addresses - 1))
            .and_then(|b| u128::try_from(b).ok())
            .ok_or_else(|| {
                VmError::Failed(format!(
                    "balance of 0x{} leaves the ledger's range",
                    hex::encode(id)
                ))
            })?;
        Ledger::set_balance(state, &NATIVE_MINT, &id, after);
        let nonce_key = nvm_identity::nonce_key(&id);
        if state.get_u64(&nonce_key)? != nonce {
            state.set_encoded(nonce_key, &nonce);
        }
    }
    Ok(())
}

pub(crate) fn to_logs(logs: Vec<revm::primitives::Log>) -> Vec<Log> {
    logs.into_iter()
        .map(|log| {
            let mut source = [0u8; 32];
            source[12..].copy_from_slice(log.address.as_slice());
            Log {
                source,
                topics: log.data.topics().iter().map(|t| t.0).collect(),
                data: log.data.data.to_vec(),
            }
        })
        .collect()
}

impl<V: EvmVariant> EvmVm<V> {
    /// An operation of a native envelope, at this VM's opcodes.
    fn op(&self, payload: &[u8]) -> Result<EvmOp, String> {
        let (name, opcodes) = (self.variant.name(), self.variant.opcodes());
        EvmOp::decode_at(payload, &name.to_uppercase(), *opcodes.start())
    }
}

/// The VM of its variant's space: the EVM at 0x10–0x1F, the Tron VM at 0x40–0x4F (SPEC §1),
/// running the same operations.
impl<V: EvmVariant> Vm for EvmVm<V> {
    fn name(&self) -> &'static str {
        self.variant.name()
    }

    fn address_format(&self) -> Option<&'static nvm_identity::AddressFormat> {
        Some(self.variant.space().format)
    }

    fn opcodes(&self) -> std::ops::RangeInclusive<u8> {
        self.variant.opcodes()
    }

    fn check(&self, payload: &[u8]) -> VmResult<()> {
        let op = self.op(payload).map_err(VmError::Invalid)?;
        match op {
            EvmOp::Call { gas_limit, .. }
            | EvmOp::Create { gas_limit, .. }
            | EvmOp::DevCallAs { gas_limit, .. }
                if gas_limit > TX_GAS_CAP =>
            {
                Err(VmError::Invalid(format!(
                    "gas limit {gas_limit} is above the per-transaction cap {TX_GAS_CAP}"
                )))
            }
            _ => Ok(()),
        }
    }

    fn value_out(&self, payload: &[u8]) -> u128 {
        match self.op(payload) {
            // `from` pays it, not the sender.
            Ok(EvmOp::DevCallAs { .. }) | Err(_) => 0,
            Ok(op) => op.value(),
        }
    }

    fn gas_reserved(&self, payload: &[u8]) -> u64 {
        self.op(payload).map(|op| op.gas_limit()).unwrap_or(0)
    }

    // `declare`: the default, exclusive — contract code may touch any account or slot, so an
    // EVM transaction runs alone between the parallel batches (as the paper runs every one).

    fn execute(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &mut TxOverlay<'_>,
    ) -> VmResult<ExecOutput> {
        let op = self.op(payload).map_err(VmError::Invalid)?;
        let space = self.variant.space();
        let (caller, nonce) = match &op {
            EvmOp::DevCallAs { from, nonce, .. } => {
                let authority: Option<nvm_primitives::IdCom> =
                    state.get_decoded(&nvm_identity::dev_authority_key())?;
                if authority != Some(env.sender) {
                    return Err(VmError::Failed(
                        "only a dev chain's dev authority may run calls as another account".into(),
                    ));
                }
                (Address::from(*from), *nonce)
            }
            _ => (space.account_of(&env.sender), env.nonce),
        };
        let tx = revm_tx(op, caller, nonce, env.block.chain_id)?;
        let outcome = self.transact(state, env, tx, false, None, None)?;
        match outcome.result {
            ExecutionResult::Success { logs, output, gas, .. } => {
                commit(state, outcome.state, space, env, &logs)?;
                let output = match output {
                    Output::Call(bytes) => bytes.to_vec(),
                    Output::Create(_, address) => address.map(|a| a.to_vec()).unwrap_or_default(),
                };
                Ok(ExecOutput { logs: to_logs(logs), output, gas_used: gas.tx_gas_used() })
            }
            ExecutionResult::Revert { output, gas, .. } => {
                Err(VmError::Reverted { data: output.to_vec(), gas_used: gas.tx_gas_used() })
            }
            ExecutionResult::Halt { reason, gas, .. } => {
                Err(VmError::Halted { reason: format!("{reason:?}"), gas_used: gas.tx_gas_used() })
            }
        }
    }

    /// A dev chain's impersonated call that reverted or halted still took its caller's nonce,
    /// as any Ethereum transaction does (the envelope's own nonce is the dev authority's).
    fn after_failure(
        &self,
        _env: &TxEnv<'_>,
        payload: &[u8],
        error: &VmError,
        state: &mut TxOverlay<'_>,
    ) -> Result<(), nvm_state_api::StateError> {
        let (
            Ok(EvmOp::DevCallAs { from, nonce, .. }),
            VmError::Reverted { .. } | VmError::Halted { .. },
        ) = (self.op(payload), error)
        else {
            return Ok(());
        };
        let id = Registry::resolve(state, &self.variant.space().address(from))?;
        let next = Registry::nonce(state, &id)?.max(nonce.saturating_add(1));
        Registry::set_nonce(state, &id, next);
        Ok(())
    }
}
