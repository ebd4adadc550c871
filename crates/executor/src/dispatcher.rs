//! Routing by opcode prefix (SPEC §1).

use crate::TxError;
use nvm_primitives::{VmKind, route_opcode};
use nvm_vm_api::{Vm, VmError};
use std::sync::Arc;

/// The VMs this node runs, one slot per opcode range.
#[derive(Clone, Default)]
pub struct Dispatcher {
    vms: [Option<Arc<dyn Vm>>; 5],
}

fn slot(kind: VmKind) -> usize {
    kind.code() as usize
}

impl Dispatcher {
    /// A dispatcher with every VM this build provides.
    pub fn with_default_vms() -> Self {
        Self::default()
            .with_vm(Arc::new(nvm_vm_native::NativeVm))
            .with_vm(Arc::new(nvm_vm_evm::EvmVm::default()))
    }

    pub fn with_vm(mut self, vm: Arc<dyn Vm>) -> Self {
        let at = slot(vm.kind());
        self.vms[at] = Some(vm);
        self
    }

    /// The VM that serves `payload`'s opcode, or why none does.
    pub fn route(&self, payload: &[u8]) -> Result<&dyn Vm, TxError> {
        let opcode = *payload.first().ok_or(TxError::InvalidPayload("empty payload".into()))?;
        let kind = route_opcode(opcode).ok_or(TxError::UnknownOpcode(opcode))?;
        self.vms[slot(kind)].as_deref().ok_or(TxError::VmUnavailable(kind))
    }

    /// Routes and statically checks a payload.
    pub fn check(&self, payload: &[u8]) -> Result<&dyn Vm, TxError> {
        let vm = self.route(payload)?;
        vm.check(payload).map_err(|e| match e {
            VmError::State(s) => TxError::State(s),
            other => TxError::InvalidPayload(match other {
                VmError::Invalid(reason) | VmError::Failed(reason) => reason,
                failed => failed.to_string(),
            }),
        })?;
        Ok(vm)
    }

    pub fn available(&self) -> Vec<VmKind> {
        VmKind::ALL.into_iter().filter(|k| self.vms[slot(*k)].is_some()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_and_unknown_opcodes_are_named() {
        let d = Dispatcher::with_default_vms();
        assert!(d.route(&[0x10]).is_ok());
        assert!(matches!(d.route(&[0x20]), Err(TxError::VmUnavailable(VmKind::Svm))));
        assert!(matches!(d.route(&[0x42]), Err(TxError::VmUnavailable(VmKind::Tvm))));
        assert!(matches!(d.route(&[0x00]), Err(TxError::UnknownOpcode(0))));
        assert!(matches!(d.route(&[0x99]), Err(TxError::UnknownOpcode(0x99))));
        assert_eq!(
            TxError::VmUnavailable(VmKind::Svm).to_string(),
            "the svm VM is not available on this node (opcodes 0x20-0x2f)"
        );
        assert!(d.route(&[0x03]).is_ok());
    }
}
