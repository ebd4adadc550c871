//! Tron contract calls (`TriggerSmartContract`) on the Tron variant of the EVM, paid in energy:
//! the transaction's `fee_limit` (sun) buys at most `fee_limit / ENERGY_PRICE_SUN` energy, each
//! unit of the gas revm meters (Tron's energy costs are the EVM's gas costs), charged at the
//! chain's energy price whatever the outcome — an out-of-energy failure pays all it was allowed.

use crate::TvmVm;
use alloy_primitives::{Address, Bytes, U256};
use nvm_identity::Registry;
use nvm_state_api::{StateAccess, TxOverlay};
use nvm_vm_api::{TxEnv, TxError, VmError};
use nvm_vm_evm::{AccountSpace, EthereumOutcome, TX_GAS_CAP};
use revm::{context::TxEnv as RevmTx, primitives::TxKind};

/// Sun per unit of energy (java-tron's `getEnergyFee` chain parameter; Tron's mainnet price).
pub const ENERGY_PRICE_SUN: u128 = 210;
/// Most sun a transaction may offer for energy (java-tron's `maxFeeLimit`, 15,000 TRX).
pub const MAX_FEE_LIMIT_SUN: u64 = 15_000_000_000;

/// The energy price in the native token's base units, as revm's gas price.
pub fn energy_price_units() -> u128 {
    ENERGY_PRICE_SUN * crate::UNITS_PER_SUN
}

/// The energy `fee_limit` buys (never past the EVM's per-transaction gas cap).
pub fn energy_limit(fee_limit_sun: u64) -> u64 {
    let energy = u128::from(fee_limit_sun) / ENERGY_PRICE_SUN;
    u64::try_from(energy).unwrap_or(u64::MAX).min(TX_GAS_CAP)
}

/// A contract call is admitted when its `fee_limit` is within Tron's bound and buys some energy,
/// and `contract` has code in Tron's account space (java-tron refuses a call to anything else).
pub fn check_trigger(
    state: &mut dyn StateAccess,
    fee_limit_sun: u64,
    contract: &[u8; 20],
) -> Result<(), String> {
    if fee_limit_sun > MAX_FEE_LIMIT_SUN {
        return Err(format!(
            "fee_limit {fee_limit_sun} sun is above the most, {MAX_FEE_LIMIT_SUN}"
        ));
    }
    if energy_limit(fee_limit_sun) == 0 {
        return Err(format!(
            "fee_limit {fee_limit_sun} sun buys no energy at {ENERGY_PRICE_SUN} sun per unit"
        ));
    }
    let code = state
        .get(&AccountSpace::TRON.code_hash_key(&Address::from(*contract)))
        .map_err(|e| e.to_string())?;
    if code.is_none() {
        return Err(format!("no contract at 41{}", hex::encode(contract)));
    }
    Ok(())
}

impl TvmVm {
    /// Runs a contract call by `owner` on the Tron variant, its energy paid from `fee_limit`:
    /// revm's outcome, with what the energy cost (the base-fee part burned, the rest to the
    /// proposer). Invalid only if the owner can no longer pay the energy it offered.
    pub(crate) fn trigger(
        &self,
        env: &TxEnv<'_>,
        state: &mut TxOverlay<'_>,
        owner: [u8; 20],
        (contract, call_value_sun, data): ([u8; 20], u64, &[u8]),
        fee_limit_sun: u64,
    ) -> Result<EthereumOutcome, TxError> {
        let nonce = Registry::nonce(state, &env.sender)?;
        let value = u128::from(call_value_sun) * crate::UNITS_PER_SUN;
        let tx = RevmTx::builder()
            .caller(Address::from(owner))
            .kind(TxKind::Call(Address::from(contract)))
            .value(U256::from(value))
            .data(Bytes::copy_from_slice(data))
            .gas_limit(energy_limit(fee_limit_sun))
            .gas_price(energy_price_units())
            .nonce(nonce)
            .chain_id(Some(env.block.chain_id))
            .build()
            .map_err(|e| TxError::InvalidPayload(format!("{e:?}")))?;
        // Tron transactions are replay-protected by their txID, not the identity's nonce.
        match self.evm.execute_priced(env, tx, energy_price_units(), state, true) {
            Ok(outcome) => Ok(outcome),
            Err(VmError::State(e)) => Err(TxError::State(e)),
            Err(e) => Err(TxError::InvalidPayload(e.to_string())),
        }
    }
}
