//! The one list of the VMs this node runs (SPEC §6): a new VM is one crate and one line here.

use nvm_executor::VmRegistry;
use std::sync::Arc;

/// Every VM the `nvm` binary registers, each for its opcode range, and the wallet formats they
/// accept. One EVM serves native envelopes' EVM operations, Ethereum wallets' transactions and
/// `eth_call`; the SVM runs Solana wallets' transactions.
pub fn registry() -> Result<VmRegistry, String> {
    let evm = Arc::new(nvm_vm_evm::EvmVm::default());
    let bvm = Arc::new(nvm_vm_bvm::BvmVm::default());
    let svm = Arc::new(nvm_vm_svm::SvmVm::default());
    VmRegistry::new()
        .register(Arc::new(nvm_vm_native::NativeVm))
        .and_then(|vms| vms.register(evm.clone()))
        .and_then(|vms| vms.register_format(evm.clone()))
        .and_then(|vms| vms.register_format(svm.clone()))
        .and_then(|vms| vms.register(bvm.clone()))
        .and_then(|vms| vms.register_format(bvm))
        .map(|vms| vms.register_hooks(evm).register_hooks(svm))
        .map_err(|e| format!("cannot register the VMs: {e}"))
}
