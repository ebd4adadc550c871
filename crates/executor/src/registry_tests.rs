//! The registry as the executor routes through it, with the real VMs.

use crate::{RegistryError, TxError, VmRegistry};
use nvm_primitives::VmKind;
use std::sync::Arc;

fn native_and_evm() -> VmRegistry {
    let evm = Arc::new(<nvm_vm_evm::EvmVm>::default());
    VmRegistry::new()
        .register(Arc::new(nvm_vm_native::NativeVm))
        .and_then(|vms| vms.register(evm.clone()))
        .and_then(|vms| vms.register_format(evm))
        .expect("disjoint ranges and tags register")
}

#[test]
fn unavailable_and_unknown_opcodes_are_named() {
    let vms = native_and_evm();
    assert_eq!(vms.route(&[0x10]).map(|vm| vm.name()).ok(), Some("evm"));
    assert_eq!(vms.route(&[0x03]).map(|vm| vm.name()).ok(), Some("native"));
    assert_eq!(vms.route(&[0x20]).err(), Some(TxError::spec_vm_unavailable(VmKind::Svm)));
    assert_eq!(vms.route(&[0x42]).err(), Some(TxError::spec_vm_unavailable(VmKind::Tvm)));
    assert!(matches!(vms.route(&[0x00]), Err(TxError::UnknownOpcode(0))));
    assert!(matches!(vms.route(&[0x99]), Err(TxError::UnknownOpcode(0x99))));
    assert!(matches!(vms.route(&[]), Err(TxError::InvalidPayload(_))));
    assert_eq!(
        TxError::spec_vm_unavailable(VmKind::Svm).to_string(),
        "the svm VM is not available on this node (opcodes 0x20-0x2f)"
    );
    assert_eq!(vms.available(), vec!["native", "evm"]);
    assert!(vms.vm_of::<nvm_vm_evm::EvmVm>().is_some());
    assert!(vms.vm_of::<nvm_vm_native::NativeVm>().is_some());
}

#[test]
fn a_vm_whose_opcodes_overlap_another_is_refused_by_name() {
    let twice = native_and_evm().register(Arc::new(<nvm_vm_evm::EvmVm>::default()));
    let err = twice.err().expect("the EVM's range is taken");
    assert!(matches!(err, RegistryError::Overlap { new: "evm", existing: "evm", .. }));
    assert_eq!(err.to_string(), "the evm VM's opcodes 0x10-0x1f overlap the evm VM's 0x10-0x1f");
}

#[test]
fn a_wallet_format_is_found_by_its_tag_and_a_taken_tag_is_refused() {
    let vms = native_and_evm();
    let tag = nvm_vm_evm::ETHEREUM_TX_TAG;
    assert_eq!(vms.format(tag).map(|f| f.vm()), Some("evm"));
    assert!(vms.format(tag.wrapping_add(1)).is_none());
    let again = vms.register_format(Arc::new(<nvm_vm_evm::EvmVm>::default()));
    let err = again.err().expect("the tag is taken");
    assert_eq!(err.to_string(), "block tag 0xee of a evm wallet format is taken by a evm format");
}

/// A VM of its own opcodes and name that claims the EVM's address format.
struct Impostor;

impl nvm_vm_api::Vm for Impostor {
    fn name(&self) -> &'static str {
        "impostor"
    }

    fn opcodes(&self) -> std::ops::RangeInclusive<u8> {
        0x60..=0x6f
    }

    fn address_format(&self) -> Option<&'static nvm_identity::AddressFormat> {
        Some(&nvm_identity::EVM_FORMAT)
    }

    fn check(&self, _: &[u8]) -> nvm_vm_api::VmResult<()> {
        Ok(())
    }

    fn execute(
        &self,
        _: &nvm_vm_api::TxEnv<'_>,
        _: &[u8],
        _: &mut nvm_state_api::TxOverlay<'_>,
    ) -> nvm_vm_api::VmResult<nvm_vm_api::ExecOutput> {
        Ok(nvm_vm_api::ExecOutput::default())
    }
}

#[test]
fn address_formats_come_from_the_registered_vms_one_vm_each() {
    let names: Vec<&str> = native_and_evm().address_formats().iter().map(|f| f.name).collect();
    assert_eq!(names, ["native", "evm"]);
    let all = nvm_vms_formats();
    assert_eq!(all, [(0, "native"), (1, "evm"), (2, "svm"), (3, "bvm"), (4, "tvm")]);
    let err = native_and_evm().register(Arc::new(Impostor)).err().expect("the format is taken");
    assert!(matches!(err, RegistryError::AddressFormatTaken { code: 1, existing: "evm", .. }));
    assert_eq!(err.to_string(), "the impostor VM's address format evm (code 1) is the evm VM's");
}

/// The formats the node's VMs bring, as (code, name), in registration order.
fn nvm_vms_formats() -> Vec<(u8, &'static str)> {
    let vms = nvm_vms::registry().expect("the node's VMs register");
    vms.address_formats().iter().map(|f| (f.code, f.name)).collect()
}
