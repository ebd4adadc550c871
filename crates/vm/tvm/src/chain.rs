//! The Tron VM's part in a dev chain: the standard dev mnemonic's keys funded as Tron keys.

use crate::TvmVm;
use nvm_identity::VmAddress;
use nvm_vm_api::{ChainHooks, FundedAddresses, GenesisPart};
use nvm_vm_evm::{DEV_MNEMONIC, DEV_MNEMONIC_ACCOUNTS, DEV_MNEMONIC_BALANCE, mnemonic_addresses};
use std::sync::Arc;

/// The dev mnemonic's first accounts as Tron addresses: a secp256k1 key's Tron address is its
/// Ethereum address's 20 bytes behind `0x41`.
pub fn dev_tron_addresses() -> Vec<[u8; 20]> {
    mnemonic_addresses(DEV_MNEMONIC, DEV_MNEMONIC_ACCOUNTS).expect("the standard mnemonic derives")
}

impl ChainHooks for TvmVm {
    /// The dev mnemonic's keys hold [`DEV_MNEMONIC_BALANCE`] each at their Tron addresses too
    /// (their `legacy_tron:` identities, apart from the same keys' Ethereum ones until linked),
    /// so TronWeb finds them funded.
    fn dev_genesis(&self) -> Vec<Arc<dyn GenesisPart>> {
        let funded = dev_tron_addresses()
            .into_iter()
            .map(|address| (VmAddress::Tvm(address), DEV_MNEMONIC_BALANCE))
            .collect();
        vec![Arc::new(FundedAddresses(funded))]
    }
}
