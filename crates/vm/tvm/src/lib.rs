//! The Tron VM (opcodes 0x40–0x4F, SPEC §1): the EVM crate's revm execution as a variant with
//! Tron's semantics, the way op-revm extends revm — no fork. What it changes:
//! - its accounts are Tron's: an identity's Tron address (SPEC §2), and contract code and
//!   storage of their own (`TRON_SPACE`), so a Tron contract never runs as an Ethereum
//!   one;
//! - `ISCONTRACT` (`0xd4`, java-tron's number): whether an address holds code;
//! - Tron's resource opcodes (`0xd5`–`0xdf`: freeze, vote, delegate, …) halt as not activated;
//! - the TRC-10 opcodes over the ledger (`token_ops.rs`), Tron's precompiles, and Tron's
//!   protobuf transactions as a wallet format (`transaction.rs`, `format.rs`; its HTTP API is
//!   `nvm-rpc-tron`). Departures from java-tron: `docs/TVM.md`.

mod asset;
mod chain;
mod contract;
mod format;
mod variant;

pub use asset::{FIRST_ASSET_ID, asset_id, asset_mint, parse_asset_id};
pub use chain::dev_tron_addresses;
mod precompiles;
mod token_ops;
mod transaction;

pub use contract::{
    ENERGY_PRICE_SUN, MAX_FEE_LIMIT_SUN, TronContractInfo, energy_limit, tron_contract_key,
};
pub use format::{BANDWIDTH_PRICE_SUN, MAX_EXPIRATION_MS, TRON_TX_TAG, UNITS_PER_SUN, tron_tx_key};

pub use transaction::{
    Any, Contract, CreateSmartContract, MAX_TRON_TX_SIZE, Raw, SmartContract, TRON_ADDRESS_PREFIX,
    TransactionWire, TransferAssetContract, TransferContract, TriggerSmartContract, TronCall,
    TronTx, TronTxError,
};

use nvm_state_api::{AccessSet, StateReader, TxOverlay};
use nvm_vm_api::{ExecOutput, TxEnv, Vm, VmResult};
use nvm_vm_evm::EvmVm;

pub use precompiles::{BATCH_VALIDATE_SIGN, VALIDATE_MULTI_SIGN};
pub use token_ops::{CALLTOKEN, CALLTOKENID, CALLTOKENVALUE, TOKENBALANCE};
pub use variant::{
    ISCONTRACT, RESOURCE_OPCODES, TRON_SPACE, Tron, contract_address, create2_address,
    nested_contract_address,
};

/// The Tron VM: the EVM crate's VM with the [`Tron`] variant (0x40–0x4F), wrapped so it can also
/// be Tron's wallet format (`format.rs`). Its EVM side is reached through `Deref`
/// (simulations).
#[derive(Clone, Copy, Debug, Default)]
pub struct TvmVm {
    pub evm: EvmVm<Tron>,
}

impl std::ops::Deref for TvmVm {
    type Target = EvmVm<Tron>;

    fn deref(&self) -> &EvmVm<Tron> {
        &self.evm
    }
}

/// Native envelopes' operations at 0x40–0x4F: the Tron variant's EVM.
impl Vm for TvmVm {
    fn name(&self) -> &'static str {
        self.evm.name()
    }

    fn address_format(&self) -> Option<&'static nvm_identity::AddressFormat> {
        self.evm.address_format()
    }

    fn opcodes(&self) -> std::ops::RangeInclusive<u8> {
        self.evm.opcodes()
    }

    fn check(&self, payload: &[u8]) -> VmResult<()> {
        self.evm.check(payload)
    }

    fn value_out(&self, payload: &[u8]) -> u128 {
        self.evm.value_out(payload)
    }

    fn gas_reserved(&self, payload: &[u8]) -> u64 {
        self.evm.gas_reserved(payload)
    }

    fn declare(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &dyn StateReader,
        access: &mut AccessSet,
    ) -> VmResult<()> {
        self.evm.declare(env, payload, state, access)
    }

    fn execute(
        &self,
        env: &TxEnv<'_>,
        payload: &[u8],
        state: &mut TxOverlay<'_>,
    ) -> VmResult<ExecOutput> {
        self.evm.execute(env, payload, state)
    }
}
