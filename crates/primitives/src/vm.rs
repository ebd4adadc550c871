//! SPEC §1's table of its five VMs: their names and opcode ranges (what the SPEC's VMs register
//! for; a node routes by what its registry holds).

use serde::{Deserialize, Serialize};

/// The five execution environments of n-VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VmKind {
    Native,
    Evm,
    Svm,
    Bvm,
    Tvm,
}

impl VmKind {
    pub const ALL: [Self; 5] = [Self::Native, Self::Evm, Self::Svm, Self::Bvm, Self::Tvm];

    /// The first opcode of this VM's 16-opcode range.
    pub const fn opcode_base(self) -> u8 {
        match self {
            Self::Native => 0x00,
            Self::Evm => 0x10,
            Self::Svm => 0x20,
            Self::Bvm => 0x30,
            Self::Tvm => 0x40,
        }
    }

    /// Short lowercase name; also the `vm` string hashed into a shard id (SPEC §4).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Evm => "evm",
            Self::Svm => "svm",
            Self::Bvm => "bvm",
            Self::Tvm => "tvm",
        }
    }

    /// The opcodes SPEC §1 gives it: its range of 16 (the native runtime's starts at 0x01, as
    /// 0x00 is no operation) — what a SPEC VM registers for.
    pub const fn opcodes(self) -> std::ops::RangeInclusive<u8> {
        let base = self.opcode_base();
        let first = if base == 0 { 1 } else { base };
        first..=base + 0x0F
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|vm| vm.name() == name)
    }
}

impl std::fmt::Display for VmKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Routes an opcode to its VM: 0x01–0x0F native, then one 16-opcode range per VM. Opcode 0x00 and
/// everything from 0x50 up belong to no VM.
pub const fn route_opcode(opcode: u8) -> Option<VmKind> {
    match opcode {
        0x01..=0x0F => Some(VmKind::Native),
        0x10..=0x1F => Some(VmKind::Evm),
        0x20..=0x2F => Some(VmKind::Svm),
        0x30..=0x3F => Some(VmKind::Bvm),
        0x40..=0x4F => Some(VmKind::Tvm),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_table_matches_spec() {
        assert_eq!(route_opcode(0x00), None);
        assert_eq!(route_opcode(0x01), Some(VmKind::Native));
        assert_eq!(route_opcode(0x0F), Some(VmKind::Native));
        assert_eq!(route_opcode(0x10), Some(VmKind::Evm));
        assert_eq!(route_opcode(0x2F), Some(VmKind::Svm));
        assert_eq!(route_opcode(0x30), Some(VmKind::Bvm));
        assert_eq!(route_opcode(0x4F), Some(VmKind::Tvm));
        assert_eq!(route_opcode(0x50), None);
        assert_eq!(route_opcode(0xFF), None);
    }

    #[test]
    fn ranges_are_disjoint_and_start_at_base() {
        for vm in VmKind::ALL {
            let base = vm.opcode_base();
            for op in base..base + 16 {
                if op != 0 {
                    assert_eq!(route_opcode(op), Some(vm));
                }
            }
        }
    }
}
