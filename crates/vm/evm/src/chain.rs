//! The EVM's part in the chain's life: contracts and funded accounts in genesis (as geth's
//! `alloc` and anvil's dev accounts), and EIP-1559's base fee, from 1 gwei at genesis, following
//! each parent's gas use.

use crate::{BLOCK_GAS_LIMIT, EvmVm, INITIAL_BASE_FEE, code_hash_key, code_key, next_base_fee};
use nvm_identity::VmAddress;
use nvm_state_api::{StateAccess, TxOverlay};
use nvm_vm_api::{BlockEnv, ChainHooks, FundedAddresses, GenesisPart, ParentBlock};
use std::sync::Arc;

/// The standard development mnemonic (hardhat's and anvil's): tools and wallets know its accounts.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// How many of its accounts a dev genesis funds, and with how much (as anvil does).
pub const DEV_MNEMONIC_ACCOUNTS: u32 = 10;
/// 10,000 native tokens (18 decimals).
pub const DEV_MNEMONIC_BALANCE: u128 = 10_000 * 10u128.pow(18);

/// The Ethereum addresses of the first `count` accounts of `phrase` (BIP-44 `m/44'/60'/0'/0/i`).
pub fn mnemonic_addresses(phrase: &str, count: u32) -> Result<Vec<[u8; 20]>, String> {
    use alloy_signer_local::{MnemonicBuilder, coins_bip39::English};
    (0..count)
        .map(|i| {
            let signer = MnemonicBuilder::<English>::default()
                .phrase(phrase)
                .index(i)
                .map_err(|e| e.to_string())?
                .build()
                .map_err(|e| e.to_string())?;
            Ok(signer.address().into_array())
        })
        .collect()
}

/// A contract in the genesis state: runtime code and storage slots (32-byte big-endian words).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisContract {
    pub address: [u8; 20],
    pub code: Vec<u8>,
    pub storage: Vec<([u8; 32], [u8; 32])>,
}

/// Contracts present from the start (as geth's genesis `alloc` has them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisContracts(pub Vec<GenesisContract>);

impl GenesisPart for GenesisContracts {
    fn write(&self, state: &mut TxOverlay<'_>) -> Result<u128, String> {
        for contract in &self.0 {
            let address = alloy_primitives::Address::from(contract.address);
            let hash = alloy_primitives::keccak256(&contract.code);
            state.set(code_key(&hash), contract.code.clone());
            state.set(code_hash_key(&address), hash.to_vec());
            for (slot, value) in &contract.storage {
                let slot = alloy_primitives::U256::from_be_bytes(*slot);
                state.set(crate::storage_key(&address, &slot), value.to_vec());
            }
        }
        Ok(0)
    }
}

impl ChainHooks for EvmVm {
    /// The first [`DEV_MNEMONIC_ACCOUNTS`] accounts of [`DEV_MNEMONIC`], [`DEV_MNEMONIC_BALANCE`]
    /// each: what hardhat and anvil fund, so tools find them funded here too.
    fn dev_genesis(&self) -> Vec<Arc<dyn GenesisPart>> {
        let funded = mnemonic_addresses(DEV_MNEMONIC, DEV_MNEMONIC_ACCOUNTS)
            .expect("the standard mnemonic derives")
            .into_iter()
            .map(|address| (VmAddress::Evm(address), DEV_MNEMONIC_BALANCE))
            .collect();
        vec![Arc::new(FundedAddresses(funded))]
    }

    fn dev_block_gas_limit(&self) -> Option<u64> {
        Some(BLOCK_GAS_LIMIT)
    }

    fn genesis_env(&self, env: &mut BlockEnv) {
        env.base_fee_per_gas = INITIAL_BASE_FEE;
    }

    fn next_env(&self, parent: &ParentBlock, env: &mut BlockEnv) {
        env.base_fee_per_gas =
            next_base_fee(parent.base_fee_per_gas, parent.gas_used, env.gas_limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_mnemonic_derives_the_accounts_every_tool_knows() {
        let addresses = mnemonic_addresses(DEV_MNEMONIC, 2).unwrap();
        // The addresses hardhat and anvil print for this mnemonic.
        assert_eq!(hex::encode(addresses[0]), "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
        assert_eq!(hex::encode(addresses[1]), "70997970c51812dc3a010c7d01b50e0d17dc79c8");
    }
}
