//! Envelope decoding plus signature verification on arbitrary bytes (and on them as every
//! registered wallet format's): never panics, and nothing random verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_executor::{VerifiedTx, VmRegistry};
use std::sync::{Arc, OnceLock};

/// The VMs and wallet formats the `nvm` binary registers.
fn vms() -> &'static VmRegistry {
    static VMS: OnceLock<VmRegistry> = OnceLock::new();
    VMS.get_or_init(|| {
        let evm = Arc::new(nvm_vm_evm::EvmVm::default());
        VmRegistry::new()
            .register(Arc::new(nvm_vm_native::NativeVm))
            .and_then(|vms| vms.register(evm.clone()))
            .and_then(|vms| vms.register_format(evm))
            .and_then(|vms| vms.register(Arc::new(nvm_vm_bvm::BvmVm::default())))
            .and_then(|vms| vms.register_format(Arc::new(nvm_vm_bvm::BvmVm::default())))
            .expect("the VMs register")
    })
}

fuzz_target!(|data: &[u8]| {
    let single = VerifiedTx::verify(vms(), data.to_vec());
    let batched = VerifiedTx::verify_many(vms(), vec![data.to_vec()]).pop();
    assert_eq!(single.is_ok(), matches!(batched, Some(Ok(_))), "batch and single verification disagree");
});
