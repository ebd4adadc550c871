//! Tron contract calls and deployments (`TriggerSmartContract`, `CreateSmartContract`) on the
//! Tron variant of the EVM, paid in energy:
//! the transaction's `fee_limit` (sun) buys at most `fee_limit / ENERGY_PRICE_SUN` energy, each
//! unit of the gas revm meters (Tron's energy costs are the EVM's gas costs), charged at the
//! chain's energy price whatever the outcome — an out-of-energy failure pays all it was allowed.

use crate::TvmVm;
use alloy_primitives::{Address, Bytes, U256};
use nvm_identity::Registry;
use nvm_state_api::{StateAccess, TxOverlay};
use nvm_vm_api::{TxEnv, TxError, VmError};
use nvm_vm_evm::{EthereumOutcome, TX_GAS_CAP};
use revm::{
    context::TxEnv as RevmTx, handler::validation::validate_initial_tx_gas, primitives::TxKind,
};

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

/// A contract transaction's `fee_limit` must be within Tron's bound and buy some energy.
pub fn check_fee_limit(fee_limit_sun: u64) -> Result<(), String> {
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
    Ok(())
}

/// A contract call is admitted when its `fee_limit` is admissible and `contract` has code in
/// Tron's account space (java-tron refuses a call to anything else) or is a ledger token's
/// TRC-20 view (the ERC-20 view precompile, answering in Tron's space too).
pub fn check_trigger(
    state: &mut dyn StateAccess,
    fee_limit_sun: u64,
    contract: &[u8; 20],
) -> Result<(), String> {
    check_fee_limit(fee_limit_sun)?;
    let code = state
        .get(&crate::TRON_SPACE.code_hash_key(&Address::from(*contract)))
        .map_err(|e| e.to_string())?;
    if code.is_none()
        && nvm_ledger::Ledger::mint_of_erc20_view(state, contract)
            .map_err(|e| e.to_string())?
            .is_none()
    {
        return Err(format!("no contract at 41{}", hex::encode(contract)));
    }
    Ok(())
}

/// `SHA-256("tvm:contract:" ‖ address)` → [`TronContractInfo`] of a contract a Tron transaction
/// deployed: what `wallet/getcontract` shows beside its code.
pub fn tron_contract_key(address: &[u8; 20]) -> nvm_primitives::StateKey {
    nvm_primitives::sha256_parts(&[b"tvm:contract:", address])
}

/// What a deployment declared of its contract.
#[derive(Clone, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct TronContractInfo {
    /// `SmartContract.ABI` as the deployment's protobuf bytes.
    pub abi: Vec<u8>,
    pub name: String,
    /// The deployer (without `0x41`).
    pub origin: [u8; 20],
    pub consume_user_resource_percent: u8,
    pub origin_energy_limit: u64,
}

/// What a contract transaction runs: a call of a contract, or a deployment (its init code), with
/// a value in sun and the sun offered for energy.
pub(crate) struct ContractRun<'a> {
    pub kind: TxKind,
    pub value_sun: u64,
    pub data: &'a [u8],
    pub fee_limit_sun: u64,
    /// The TRC-10 asset sent with a call (its first frame's `CALLTOKENVALUE`/`CALLTOKENID`).
    pub token: Option<nvm_vm_evm::TokenValue>,
}

impl ContractRun<'_> {
    /// The call or deployment as revm's transaction from `owner` with `nonce`.
    fn revm_tx(&self, owner: [u8; 20], nonce: u64, chain_id: u64) -> Result<RevmTx, String> {
        let value = u128::from(self.value_sun) * crate::UNITS_PER_SUN;
        RevmTx::builder()
            .caller(Address::from(owner))
            .kind(self.kind)
            .value(U256::from(value))
            .data(Bytes::copy_from_slice(self.data))
            .gas_limit(energy_limit(self.fee_limit_sun))
            .gas_price(energy_price_units())
            .nonce(nonce)
            .chain_id(Some(chain_id))
            .build()
            .map_err(|e| format!("{e:?}"))
    }
}

impl TvmVm {
    /// Whether the energy `run`'s `fee_limit` buys covers its base cost (revm's intrinsic gas:
    /// the transaction, its data, a deployment's creation) — else it could never start, and is
    /// refused at admission rather than left out of a block.
    pub(crate) fn check_base_cost(
        &self,
        run: &ContractRun<'_>,
        chain_id: u64,
    ) -> Result<(), String> {
        let tx = run.revm_tx([0; 20], 0, chain_id)?;
        validate_initial_tx_gas(tx, self.evm.spec, false, false, TX_GAS_CAP, None)
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "fee_limit {} sun buys {} energy, less than the transaction's base cost ({e:?})",
                    run.fee_limit_sun,
                    energy_limit(run.fee_limit_sun)
                )
            })
    }

    /// Runs a contract call or deployment by `owner` on the Tron variant (a deployment lands at
    /// [`crate::contract_address`] of the transaction), its energy paid from `fee_limit`:
    /// revm's outcome, with what the energy cost (the base-fee part burned, the rest to the
    /// proposer). Invalid only if the owner can no longer pay the energy it offered.
    pub(crate) fn run_contract(
        &self,
        env: &TxEnv<'_>,
        state: &mut TxOverlay<'_>,
        owner: [u8; 20],
        run: ContractRun<'_>,
    ) -> Result<EthereumOutcome, TxError> {
        let nonce = Registry::nonce(state, &env.sender)?;
        let tx = run.revm_tx(owner, nonce, env.block.chain_id).map_err(TxError::InvalidPayload)?;
        // Tron transactions are replay-protected by their txID, not the identity's nonce.
        match self.evm.execute_priced(env, tx, energy_price_units(), state, true, run.token) {
            Ok(outcome) => Ok(outcome),
            Err(VmError::State(e)) => Err(TxError::State(e)),
            Err(e) => Err(TxError::InvalidPayload(e.to_string())),
        }
    }
}
