//! The one list of the VMs a node runs (SPEC §6): a new VM is one crate and one line here. The
//! `nvm` binary and the tests of the node and consensus share it.

use nvm_vm_api::{RegistryError, VmRegistry};
use std::sync::Arc;

pub mod dev;

/// Every VM an n-VM node runs, each registered for its opcode range, its wallet format and its
/// chain hooks. One EVM serves native envelopes' EVM operations, Ethereum wallets' transactions
/// and `eth_call`; the SVM runs Solana wallets' transactions and identities' invocations; the BVM locks value under Bitcoin
/// scripts and runs Bitcoin wallets' transactions; the Tron VM (the EVM's Tron variant) runs
/// contract operations at 0x40–0x4F in Tron's account space.
pub fn registry() -> Result<VmRegistry, RegistryError> {
    let evm = Arc::new(<nvm_vm_evm::EvmVm>::default());
    let svm = Arc::new(nvm_vm_svm::SvmVm::default());
    let bvm = Arc::new(nvm_vm_bvm::BvmVm::default());
    let tvm = Arc::new(nvm_vm_tvm::TvmVm::default());
    let vms = VmRegistry::new()
        .register(Arc::new(nvm_vm_native::NativeVm))?
        .register(evm.clone())?
        .register_format(evm.clone())?
        .register(svm.clone())?
        .register_format(svm.clone())?
        .register(bvm.clone())?
        .register_format(bvm.clone())?
        .register(tvm.clone())?
        .register_format(tvm.clone())?;
    Ok(vms.register_hooks(evm).register_hooks(svm).register_hooks(bvm).register_hooks(tvm))
}
