//! The Solana wallet format: transactions as Solana wallets sign them (`sendTransaction`'s bincode
//! `VersionedTransaction`), in blocks as `SOLANA_TX_TAG ‖ wire bytes`. Replay protection is
//! Solana's: a recent blockhash (one of the last [`MAX_BLOCKHASH_AGE`] blocks) and a signature
//! processed once; the fee payer's identity pays the signature fees, to the block's proposer.

use crate::{
    AccountSharedData, MAX_BLOCKHASH_AGE, Pubkey, SolanaTx, SvmOutcome, SvmRuntime,
    UNITS_PER_LAMPORT, accounts, is_recent_blockhash, signature_key,
};
use nvm_ledger::{Ledger, NATIVE_MINT, state_failure};
use nvm_primitives::{TxHash, TxStatus, VmKind};
use nvm_state_api::{StateAccess, StateAccessExt, StateReader, TxOverlay};
use nvm_vm_api::{
    BlockEnv, EnvelopeCheck, Replay, TxEnv, TxError, VmError, WalletFormat, WalletOutcome, WalletTx,
};
use std::sync::Arc;

impl WalletTx for SolanaTx {
    /// SHA-256 of its first signature.
    fn hash(&self) -> TxHash {
        Self::hash(self)
    }

    fn replay(&self) -> Replay {
        Replay::Key(signature_key(&self.signature()))
    }
}

/// First byte of a block transaction that is a Solana transaction (its wire bytes follow): a
/// one-signature Solana transaction starts with `0x01`, as native envelopes do.
pub const SOLANA_TX_TAG: u8 = 0x53;

/// The block encoding of a Solana transaction's wire bytes.
pub fn tag_solana(wire: &[u8]) -> Vec<u8> {
    nvm_vm_api::tagged(SOLANA_TX_TAG, wire)
}

/// Most compute units one block's Solana transactions may use together: Solana mainnet's limit
/// (60 million since SIMD-0256). A transaction enters a block while its compute unit limit fits in
/// what is left; it counts for the units it used.
pub const MAX_BLOCK_COMPUTE_UNITS: u64 = 60_000_000;

/// The SVM of one node as a wallet format: Agave's runtime, started once — and a second one for
/// simulations, so that what RPC clients simulate (at the tip, on any state) never touches the
/// program cache blocks run with.
pub struct SvmVm {
    /// `None` if Agave's runtime could not start: Solana transactions are then refused.
    runtime: Option<Arc<SvmRuntime>>,
    simulator: Option<Arc<SvmRuntime>>,
    /// Most compute units one block's Solana transactions may use together.
    block_units: u64,
}

impl Default for SvmVm {
    fn default() -> Self {
        let start = || SvmRuntime::new().ok().map(Arc::new);
        Self { runtime: start(), simulator: start(), block_units: MAX_BLOCK_COMPUTE_UNITS }
    }
}

/// What a simulation gave: the outcome, and the accounts asked for as they would be after it.
pub struct Simulation {
    pub outcome: SvmOutcome,
    pub accounts: Vec<Option<AccountSharedData>>,
}

impl SvmVm {
    /// This SVM with another block compute-unit limit than Solana's (a chain's own choice; tests).
    pub fn with_block_units_limit(mut self, units: u64) -> Self {
        self.block_units = units;
        self
    }

    /// What `tx` pays in fees when it runs (signatures and priority fee).
    pub fn fee(&self, tx: &SolanaTx) -> Result<u64, TxError> {
        self.runtime()?
            .fee(tx.sanitized())
            .map_err(|e| TxError::InvalidPayload(format!("compute budget: {e}")))
    }

    pub(crate) fn runtime(&self) -> Result<&SvmRuntime, TxError> {
        self.runtime.as_deref().ok_or(TxError::spec_vm_unavailable(VmKind::Svm))
    }

    fn solana(tx: &dyn WalletTx) -> Result<&SolanaTx, TxError> {
        tx.of_format::<SolanaTx>("a Solana")
    }

    /// Its recent blockhash names one of the last [`MAX_BLOCKHASH_AGE`] blocks, its signature was
    /// not processed, and its fee payer's identity can pay the signature fees.
    fn check_solana(
        &self,
        state: &mut TxOverlay<'_>,
        tx: &SolanaTx,
        env: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError> {
        let blockhash = tx.recent_blockhash();
        if !is_recent_blockhash(state, &blockhash, &env.parent_hash, env.height)? {
            return Err(TxError::BlockhashNotFound(MAX_BLOCKHASH_AGE));
        }
        if state.get(&signature_key(&tx.signature()))?.is_some() {
            return Err(TxError::AlreadyProcessed);
        }
        let sender = accounts::identity_of(state, &tx.fee_payer())?;
        let available = Ledger::balance(state, &NATIVE_MINT, &sender).map_err(state_failure)?;
        let fee = u128::from(tx.signature_fee_lamports()) * UNITS_PER_LAMPORT;
        if available < fee {
            return Err(TxError::InsufficientFunds { needed: fee, available });
        }
        Ok(EnvelopeCheck {
            sender,
            next_nonce: 0,
            native_balance: available,
            max_cost: fee,
            gas_reserved: 0,
            units_reserved: self.runtime()?.compute_unit_limit(tx.sanitized()),
        })
    }

    /// Runs `tx` over `state` as the block `env` would and discards its writes
    /// (`simulateTransaction`, `sendTransaction`'s preflight). With `check`, the block's
    /// admission checks come first and fail as they would there. `inspect` names accounts to
    /// return as they would be after it.
    pub fn simulate(
        &self,
        state: &dyn StateReader,
        env: &BlockEnv,
        tx: &SolanaTx,
        check: bool,
        inspect: &[[u8; 32]],
    ) -> Result<Simulation, TxError> {
        let runtime = self.simulator.as_deref().ok_or(TxError::spec_vm_unavailable(VmKind::Svm))?;
        let mut overlay = TxOverlay::new(state);
        if check {
            self.check_solana(&mut overlay, tx, env)?;
        }
        let outcome = runtime.execute(&mut overlay, env, tx.sanitized()).map_err(vm_failure)?;
        let accounts = inspect
            .iter()
            .map(|address| accounts::load(&mut overlay, &Pubkey::new_from_array(*address)))
            .collect::<Result<_, _>>()?;
        Ok(Simulation { outcome, accounts })
    }
}

/// The runtime's refusal of a transaction it cannot run: invalid (a node failure stays one).
fn vm_failure(e: VmError) -> TxError {
    match e {
        VmError::State(e) => TxError::State(e),
        other => TxError::InvalidPayload(other.to_string()),
    }
}

impl WalletFormat for SvmVm {
    fn tag(&self) -> u8 {
        SOLANA_TX_TAG
    }

    /// Solana's: its first signature (after a one-byte signature count), hashed with SHA-256
    /// into n-VM's 32-byte transaction hash.
    fn tx_hash(&self, wire: &[u8]) -> Option<TxHash> {
        match wire.first() {
            Some(1..=127) if wire.len() >= 65 => Some(nvm_primitives::sha256(&wire[1..65])),
            _ => None,
        }
    }

    fn vm(&self) -> &'static str {
        VmKind::Svm.name()
    }

    /// Solana mainnet's block limit, [`MAX_BLOCK_COMPUTE_UNITS`], unless set otherwise.
    fn block_units_limit(&self) -> Option<u64> {
        Some(self.block_units)
    }

    fn decode(&self, bytes: &[u8]) -> Result<Arc<dyn WalletTx>, TxError> {
        Ok(Arc::new(SolanaTx::decode(bytes)?))
    }

    fn check(
        &self,
        tx: &dyn WalletTx,
        state: &mut TxOverlay<'_>,
        _exact_nonce: bool,
        env: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError> {
        self.check_solana(state, Self::solana(tx)?, env)
    }

    // Programs may touch any account: Solana transactions run alone (the default declaration).

    /// Agave's SVM charges the fee payer and runs it; its signature is recorded as processed
    /// whatever the outcome, and the fee goes to the proposer.
    fn execute(
        &self,
        tx: &dyn WalletTx,
        env: &TxEnv<'_>,
        state: &mut TxOverlay<'_>,
    ) -> Result<WalletOutcome, TxError> {
        let tx = Self::solana(tx)?;
        let outcome =
            self.runtime()?.execute(state, env.block, tx.sanitized()).map_err(vm_failure)?;
        state.set_encoded(signature_key(&tx.signature()), &env.block.height);
        let fee = u128::from(outcome.fee_lamports) * UNITS_PER_LAMPORT;
        let units_used = outcome.meta.compute_units;
        // Solana's error, in the JSON its RPC shows, either way: a program that stopped
        // exceptionally (out of compute units) halted, as an EVM transaction out of gas; a
        // program's own error failed.
        let status = match outcome.status {
            Ok(()) => TxStatus::Success,
            Err(reason) if outcome.halted => TxStatus::Halted { reason },
            Err(reason) => TxStatus::Failed { reason },
        };
        Ok(WalletOutcome {
            status,
            proposer_fee: fee,
            fee_paid: fee,
            gas_used: 0,
            logs: outcome.ledger_logs,
            vm_data: crate::SvmMeta { log_messages: outcome.logs, ..outcome.meta }.encode(),
            opcode: VmKind::Svm.opcode_base(),
            units_used,
        })
    }
}
