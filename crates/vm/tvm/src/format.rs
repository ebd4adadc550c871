//! Tron's transactions as a wallet format (block tag `0x54`): admitted when their reference
//! block is one of the last [`nvm_vm_api::BLOCK_HASH_WINDOW`] n-VM blocks (TAPoS), they have not
//! expired, their txID was never processed and the owner's identity can pay; a `TransferContract`
//! moves TRX (the native token: 1 sun = 10¹² base units) and pays Tron's bandwidth price for its
//! bytes; a `TriggerSmartContract` calls a contract and a `CreateSmartContract` deploys one (at
//! Tron's address for it) on the Tron variant, their energy paid from `fee_limit` (`contract.rs`).

use crate::{
    TronCall, TronTx, TronTxError, TvmVm, contract::ContractRun, transaction::TransactionWire,
};
use alloy_primitives::Address;
use nvm_identity::{Registry, VmAddress};
use nvm_ledger::{Ledger, NATIVE_MINT};
use nvm_primitives::{StateKey, TxHash, TxStatus, VmKind, sha256_parts};
use nvm_state_api::{StateAccess, StateAccessExt, TxOverlay};
use nvm_vm_api::{
    BLOCK_HASH_WINDOW, BlockEnv, EnvelopeCheck, Rejection, Replay, TxEnv, TxError, WalletFormat,
    WalletOutcome, WalletTx, block_hash_key, check_funds,
};
use nvm_vm_evm::{EthereumOutcome, TokenValue};
use prost::Message;
use revm::primitives::TxKind;
use std::sync::Arc;

/// First byte of a block transaction that is a Tron transaction (its protobuf bytes follow).
pub const TRON_TX_TAG: u8 = 0x54;
/// Native base units per sun (TRX has 6 decimals, the native token 18).
pub const UNITS_PER_SUN: u128 = 1_000_000_000_000;
/// Sun per byte of a transaction: Tron's bandwidth price when no free bandwidth is left.
pub const BANDWIDTH_PRICE_SUN: u128 = 1_000;
/// Furthest ahead of the block's time an expiration may be (java-tron's 24 hours).
pub const MAX_EXPIRATION_MS: u64 = 24 * 60 * 60 * 1_000;
/// The receipt's opcodes: a contract call (the Tron VM's call, 0x40), a deployment (0x41) and a
/// TRX transfer (0x42).
const OPCODE_CALL: u8 = 0x40;
const OPCODE_CREATE: u8 = 0x41;
const OPCODE_TRANSFER: u8 = 0x42;

/// `SHA-256("tvm:txid:" ‖ txID)`: written when a Tron transaction is included, so it never runs
/// twice.
pub fn tron_tx_key(txid: &[u8; 32]) -> StateKey {
    sha256_parts(&[b"tvm:txid:", txid])
}

/// A verified Tron transaction and its size (what its bandwidth fee is priced by).
#[derive(Debug)]
struct TronWalletTx {
    tx: TronTx,
    size: usize,
}

impl WalletTx for TronWalletTx {
    fn hash(&self) -> TxHash {
        self.tx.txid
    }

    fn replay(&self) -> Replay {
        Replay::Key(tron_tx_key(&self.tx.txid))
    }
}

impl TronWalletTx {
    fn fee(&self) -> u128 {
        u128::try_from(self.size).unwrap_or(u128::MAX) * BANDWIDTH_PRICE_SUN * UNITS_PER_SUN
    }
}

fn tron(tx: &dyn WalletTx) -> Result<&TronWalletTx, TxError> {
    tx.of_format("a Tron")
}

fn invalid(message: impl std::fmt::Display) -> TxError {
    TxError::rejected(Rejection::Invalid, message)
}

impl From<TronTxError> for TxError {
    fn from(e: TronTxError) -> Self {
        let kind = match &e {
            TronTxError::Malformed(_) => Rejection::Malformed,
            TronTxError::Signature(_) | TronTxError::NotOwner { .. } => Rejection::Signature,
            TronTxError::Unsupported(_) => Rejection::Invalid,
        };
        Self::rejected(kind, e)
    }
}

/// Whether the reference block — its number's low two bytes and bytes 8..16 of its hash — is
/// one of the last [`BLOCK_HASH_WINDOW`] blocks before `env`'s.
fn tapos_holds(state: &mut TxOverlay<'_>, env: &BlockEnv, tx: &TronTx) -> Result<bool, TxError> {
    let parent = env.height.saturating_sub(1);
    for height in (parent.saturating_sub(BLOCK_HASH_WINDOW - 1)..=parent).rev() {
        if (height & 0xffff) as u16 != u16::from_be_bytes(tx.ref_block_bytes) {
            continue;
        }
        // The parent's hash is the block's own environment; older ones are in state.
        let hash = if height == parent {
            Some(env.parent_hash.to_vec())
        } else {
            state.get(&block_hash_key(height))?
        };
        if hash.is_some_and(|h| h.get(8..16) == Some(&tx.ref_block_hash[..])) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl WalletFormat for TvmVm {
    fn tag(&self) -> u8 {
        TRON_TX_TAG
    }

    fn vm(&self) -> &'static str {
        VmKind::Tvm.name()
    }

    /// The txID: SHA-256 of the `raw_data` bytes.
    fn tx_hash(&self, bytes: &[u8]) -> Option<TxHash> {
        let wire = TransactionWire::decode(bytes).ok()?;
        Some(nvm_primitives::sha256(&wire.raw_data))
    }

    fn decode(&self, bytes: &[u8]) -> Result<Arc<dyn WalletTx>, TxError> {
        Ok(Arc::new(TronWalletTx { tx: TronTx::decode(bytes)?, size: bytes.len() }))
    }

    /// A TRX transfer of an owner that can pay it and the bandwidth, referencing a recent
    /// block, not expired, never processed.
    fn check(
        &self,
        tx: &dyn WalletTx,
        state: &mut TxOverlay<'_>,
        _exact_nonce: bool,
        env: &BlockEnv,
    ) -> Result<EnvelopeCheck, TxError> {
        let wallet = tron(tx)?;
        let tx = &wallet.tx;
        // What it may move (sun) and the energy it reserves.
        let (value_sun, energy) = match &tx.call {
            // As java-tron: nothing to move, or a move to oneself, is no transfer.
            TronCall::Transfer { amount: 0, .. } | TronCall::TransferAsset { amount: 0, .. } => {
                return Err(invalid("a transfer must move more than 0"));
            }
            TronCall::Transfer { to, .. } | TronCall::TransferAsset { to, .. }
                if *to == tx.owner =>
            {
                return Err(invalid("cannot transfer to yourself"));
            }
            TronCall::Transfer { amount, .. } => (*amount, 0),
            TronCall::TransferAsset { .. } => (0, 0),
            TronCall::Trigger { .. } | TronCall::Create { .. } => {
                match &tx.call {
                    TronCall::Trigger { contract, .. } => {
                        crate::contract::check_trigger(state, tx.fee_limit, contract)
                    }
                    _ => crate::contract::check_fee_limit(tx.fee_limit),
                }
                .map_err(invalid)?;
                let run = contract_run(tx);
                self.check_base_cost(&run, env.chain_id).map_err(invalid)?;
                (run.value_sun, crate::energy_limit(tx.fee_limit))
            }
        };
        if tx.expiration_ms <= env.timestamp_ms {
            return Err(invalid(format!(
                "transaction expired: expiration {} is not after the block time {}",
                tx.expiration_ms, env.timestamp_ms
            )));
        }
        if tx.expiration_ms > env.timestamp_ms.saturating_add(MAX_EXPIRATION_MS) {
            return Err(invalid(format!(
                "expiration {} is more than 24 h after the block time {}",
                tx.expiration_ms, env.timestamp_ms
            )));
        }
        if !tapos_holds(state, env, tx)? {
            return Err(invalid(format!(
                "TAPoS: reference block 0x{}/0x{} is not among the last {BLOCK_HASH_WINDOW} blocks",
                hex(&tx.ref_block_bytes),
                hex(&tx.ref_block_hash)
            )));
        }
        if state.get(&tron_tx_key(&tx.txid))?.is_some() {
            return Err(TxError::AlreadyProcessed);
        }
        let sender = Registry::resolve(state, &VmAddress::Tvm(tx.owner))?;
        match tx.call {
            TronCall::TransferAsset { asset_id, amount, .. }
            | TronCall::Trigger { token_id: asset_id, call_token_value: amount, .. }
            | TronCall::Create { token_id: asset_id, call_token_value: amount, .. }
                if amount > 0 =>
            {
                check_asset_funds(state, &sender, asset_id, amount)?
            }
            _ => {}
        }
        let value = u128::from(value_sun) * UNITS_PER_SUN;
        let energy_cost = u128::from(energy) * crate::contract::energy_price_units();
        let max_cost = wallet.fee().saturating_add(value).saturating_add(energy_cost);
        let native_balance = check_funds(state, &sender, max_cost)?;
        Ok(EnvelopeCheck {
            sender,
            next_nonce: Registry::nonce(state, &sender)?,
            native_balance,
            max_cost,
            gas_reserved: energy,
            units_reserved: 0,
        })
    }

    /// A TRX transfer's accesses, so transfers of different owners run in one parallel batch: its
    /// replay key, the reference block's hash, the owner's identity (index, nonce, balance) and the
    /// recipient's (resolved, indexed if new, credited). Contract calls and deployments run code
    /// that may touch anything: they run alone, as EVM transactions do.
    fn declare(
        &self,
        tx: &dyn WalletTx,
        env: &BlockEnv,
        state: &dyn nvm_state_api::StateReader,
        access: &mut nvm_state_api::AccessSet,
    ) {
        let declared = tron(tx).ok().and_then(|wallet| match wallet.tx.call {
            TronCall::Transfer { to, .. } => {
                declare_transfer(&wallet.tx, to, None, env, state, access)
            }
            TronCall::TransferAsset { to, asset_id, .. } => {
                declare_transfer(&wallet.tx, to, Some(asset_id), env, state, access)
            }
            _ => None,
        });
        if declared.is_none() {
            access.exclusive = true;
        }
    }

    /// The bandwidth fee to the proposer and the txID recorded, then the transfer (an overdraft
    /// fails it, the fee still paid) or the contract call (its energy paid whatever the outcome).
    fn execute(
        &self,
        tx: &dyn WalletTx,
        env: &TxEnv<'_>,
        state: &mut TxOverlay<'_>,
    ) -> Result<WalletOutcome, TxError> {
        let wallet = tron(tx)?;
        let fee = wallet.fee();
        // Admission checked the balance against this block's state: a failure here is the node's.
        Ledger::debit(state, &NATIVE_MINT, &env.sender, fee).map_err(nvm_ledger::state_failure)?;
        state.set_encoded(tron_tx_key(&wallet.tx.txid), &env.block.height);
        let outcome = |status, opcode| WalletOutcome {
            status,
            proposer_fee: fee,
            fee_paid: fee,
            gas_used: 0,
            logs: Vec::new(),
            vm_data: Vec::new(),
            opcode,
            units_used: 0,
        };
        match &wallet.tx.call {
            TronCall::Transfer { to, amount } => {
                let value = u128::from(*amount) * UNITS_PER_SUN;
                let status = transfer(state, env, *to, &NATIVE_MINT, value)?;
                Ok(outcome(status, OPCODE_TRANSFER))
            }
            TronCall::TransferAsset { asset_id, to, amount } => {
                // Assets are never removed: admission found this one.
                let mint = crate::asset_mint(state, *asset_id)
                    .map_err(nvm_ledger::state_failure)?
                    .ok_or_else(|| {
                        TxError::InvalidPayload(format!("no TRC-10 asset {asset_id}"))
                    })?;
                let status = transfer(state, env, *to, &mint, u128::from(*amount))?;
                Ok(outcome(status, OPCODE_TRANSFER))
            }
            TronCall::Trigger { .. } | TronCall::Create { .. } => {
                let opcode = if matches!(wallet.tx.call, TronCall::Create { .. }) {
                    OPCODE_CREATE
                } else {
                    OPCODE_CALL
                };
                let ran =
                    self.run_contract(env, state, wallet.tx.owner, contract_run(&wallet.tx))?;
                if ran.status == TxStatus::Success {
                    record_deployment(state, &wallet.tx);
                }
                Ok(ran_outcome(outcome(ran.status.clone(), opcode), fee, ran))
            }
        }
    }
}

/// What a contract transaction runs (a transfer runs nothing: an empty call).
fn contract_run(tx: &TronTx) -> ContractRun<'_> {
    let mut token = None;
    let (kind, value_sun, data) = match &tx.call {
        TronCall::Trigger { contract, call_value, data, token_id, call_token_value } => {
            if *token_id != 0 {
                token = Some(TokenValue { id: *token_id, amount: *call_token_value });
            }
            (TxKind::Call(Address::from(*contract)), *call_value, data.as_slice())
        }
        TronCall::Create { bytecode, call_value, token_id, call_token_value, .. } => {
            if *token_id != 0 {
                token = Some(TokenValue { id: *token_id, amount: *call_token_value });
            }
            (TxKind::Create, *call_value, bytecode.as_slice())
        }
        TronCall::Transfer { .. } | TronCall::TransferAsset { .. } => {
            (TxKind::Call(Address::ZERO), 0, &[][..])
        }
    };
    ContractRun { kind, value_sun, data, fee_limit_sun: tx.fee_limit, token }
}

/// A deployment's declared ABI, name and energy terms, kept by the contract's address.
fn record_deployment(state: &mut TxOverlay<'_>, tx: &TronTx) {
    if let TronCall::Create {
        abi, name, consume_user_resource_percent, origin_energy_limit, ..
    } = &tx.call
    {
        let address = crate::contract_address(&tx.txid, &Address::from(tx.owner));
        let info = crate::TronContractInfo {
            abi: abi.clone(),
            name: name.clone(),
            origin: tx.owner,
            consume_user_resource_percent: *consume_user_resource_percent,
            origin_energy_limit: *origin_energy_limit,
        };
        state.set_encoded(crate::tron_contract_key(&address.into_array()), &info);
    }
}

/// A contract transaction's receipt fields: its energy's fee beside the bandwidth's, its gas and
/// logs.
fn ran_outcome(base: WalletOutcome, bandwidth_fee: u128, ran: EthereumOutcome) -> WalletOutcome {
    WalletOutcome {
        fee_paid: bandwidth_fee + ran.fee_paid,
        gas_used: ran.gas_used,
        logs: ran.logs,
        // What the call returned, for `gettransactioninfobyid`'s `contractResult`.
        vm_data: ran.output,
        ..base
    }
}

/// [`WalletFormat::declare`] of a transfer to `to` of TRX or of the TRC-10 asset `asset_id`;
/// `None` if the state cannot say (the transaction then runs alone).
fn declare_transfer(
    tx: &TronTx,
    to: [u8; 20],
    asset_id: Option<u64>,
    env: &BlockEnv,
    state: &dyn nvm_state_api::StateReader,
    access: &mut nvm_state_api::AccessSet,
) -> Option<()> {
    let mut view = TxOverlay::new(state);
    let owner = VmAddress::Tvm(tx.owner);
    Registry::declare_resolve(access, &owner);
    let sender = Registry::resolve(&mut view, &owner).ok()?;
    access
        .write(tron_tx_key(&tx.txid))
        .write(nvm_ledger::balance_key(&NATIVE_MINT, &sender))
        .read(nvm_ledger::token_key(&NATIVE_MINT))
        .read(nvm_identity::nonce_key(&sender));
    // TAPoS reads the one recent block whose number ends in the reference's two bytes.
    let parent = env.height.saturating_sub(1);
    for height in parent.saturating_sub(BLOCK_HASH_WINDOW - 1)..parent {
        if (height & 0xffff) as u16 == u16::from_be_bytes(tx.ref_block_bytes) {
            access.read(block_hash_key(height));
        }
    }
    let mint = match asset_id {
        None => NATIVE_MINT,
        Some(id) => {
            let mint = crate::asset_mint(&mut view, id).ok()??;
            let number = nvm_ledger::Ledger::token_number(&mut view, &mint).ok()??;
            access
                .read(nvm_ledger::token_by_number_key(number))
                .read(nvm_ledger::token_key(&mint))
                .write(nvm_ledger::balance_key(&mint, &sender));
            mint
        }
    };
    let to = VmAddress::Tvm(to);
    Registry::declare_resolve_and_index(access, &to);
    let recipient = Registry::resolve(&mut view, &to).ok()?;
    Registry::declare_credit(&mut view, access, &mint, &to, &recipient).ok()
}

/// A TRC-10 transfer is admitted when the asset exists and the owner holds the amount (as
/// java-tron refuses it otherwise).
fn check_asset_funds(
    state: &mut TxOverlay<'_>,
    owner: &nvm_primitives::IdCom,
    asset_id: u64,
    amount: u64,
) -> Result<(), TxError> {
    let state_error = |e| TxError::State(nvm_ledger::state_failure(e));
    let mint = crate::asset_mint(state, asset_id)
        .map_err(state_error)?
        .ok_or_else(|| invalid(format!("no TRC-10 asset {asset_id}")))?;
    let held = Ledger::balance(state, &mint, owner).map_err(state_error)?;
    if held < u128::from(amount) {
        return Err(invalid(format!(
            "asset {asset_id} balance is not sufficient: need {amount}, have {held}"
        )));
    }
    Ok(())
}

/// Moves `value` of `mint` (base units) from the sender to `to`'s identity; an overdraft fails
/// the transfer (its writes undone), a state failure is the node's.
fn transfer(
    state: &mut TxOverlay<'_>,
    env: &TxEnv<'_>,
    to: [u8; 20],
    mint: &nvm_primitives::Mint,
    value: u128,
) -> Result<TxStatus, TxError> {
    let checkpoint = state.checkpoint();
    let moved = Registry::resolve_and_index(state, &VmAddress::Tvm(to))
        .map_err(nvm_ledger::LedgerError::State)
        .and_then(|recipient| Ledger::transfer(state, mint, &env.sender, &recipient, value));
    match moved {
        Ok(()) => Ok(TxStatus::Success),
        Err(nvm_ledger::LedgerError::State(e)) => Err(TxError::State(e)),
        Err(e) => {
            state.revert(checkpoint);
            Ok(TxStatus::Failed { reason: e.to_string() })
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
