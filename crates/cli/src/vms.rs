//! The one list of the VMs this node runs (SPEC §6): a new VM is one crate and one line here.

use nvm_executor::VmRegistry;
use std::sync::Arc;

/// Every VM the `nvm` binary registers, each for its opcode range.
pub fn registry() -> Result<VmRegistry, String> {
    VmRegistry::new()
        .register(Arc::new(nvm_vm_native::NativeVm))
        .and_then(|vms| vms.register(Arc::new(nvm_vm_evm::EvmVm::default())))
        .map_err(|e| format!("cannot register the VMs: {e}"))
}
