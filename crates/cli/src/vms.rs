//! The VMs this binary runs: the one list in `nvm-vms` (a new VM is one crate and one line there).

use nvm_executor::VmRegistry;

pub fn registry() -> Result<VmRegistry, String> {
    nvm_vms::registry().map_err(|e| format!("cannot register the VMs: {e}"))
}
