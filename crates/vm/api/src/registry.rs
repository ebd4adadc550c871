//! The VMs a node runs, found by the opcode range each registered with (SPEC §1, §6). Only the
//! composition root — the `nvm` binary, a test — names concrete VMs; everything else asks this.

use crate::{TxError, Vm, VmError, WalletFormat};
use nvm_primitives::{VmKind, route_opcode};
use std::{ops::RangeInclusive, sync::Arc};

/// Why a VM cannot be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "the {new} VM's opcodes {:#04x}-{:#04x} overlap the {existing} VM's {:#04x}-{:#04x}",
        .new_range.start(), .new_range.end(), .existing_range.start(), .existing_range.end()
    )]
    Overlap {
        new: &'static str,
        new_range: RangeInclusive<u8>,
        existing: &'static str,
        existing_range: RangeInclusive<u8>,
    },
    #[error("opcode 0x00 belongs to no VM (the {0} VM's range starts there)")]
    ZeroOpcode(&'static str),
    #[error("a VM named {0} is registered already")]
    NameTaken(&'static str),
    #[error("the {new} VM's address format {format} (code {code}) is the {existing} VM's")]
    AddressFormatTaken { new: &'static str, format: &'static str, code: u8, existing: &'static str },
    #[error("the {vm} VM's address format: {clash}")]
    AddressFormatClash { vm: &'static str, clash: nvm_identity::FormatClash },
    #[error("block tag {tag:#04x} of a {new} wallet format is taken by a {existing} format")]
    TagTaken { tag: u8, new: &'static str, existing: &'static str },
    #[error("block tag {0:#04x} is the native envelope's version byte")]
    TagIsEnvelope(u8),
}

/// The registered VMs, each with the opcodes it serves, and the wallet formats they accept.
#[derive(Clone, Default)]
pub struct VmRegistry {
    vms: Vec<(RangeInclusive<u8>, Arc<dyn Vm>)>,
    formats: Vec<Arc<dyn WalletFormat>>,
    hooks: Vec<Arc<dyn crate::ChainHooks>>,
}

impl VmRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `vm` for its [`Vm::opcodes`]; a range that overlaps one registered before (or
    /// claims opcode 0x00) is refused.
    pub fn register(mut self, vm: Arc<dyn Vm>) -> Result<Self, RegistryError> {
        let range = vm.opcodes();
        if *range.start() == 0 {
            return Err(RegistryError::ZeroOpcode(vm.name()));
        }
        if let Some((existing_range, existing)) =
            self.vms.iter().find(|(r, _)| r.start() <= range.end() && range.start() <= r.end())
        {
            return Err(RegistryError::Overlap {
                new: vm.name(),
                new_range: range,
                existing: existing.name(),
                existing_range: existing_range.clone(),
            });
        }
        if self.vms.iter().any(|(_, existing)| existing.name() == vm.name()) {
            return Err(RegistryError::NameTaken(vm.name()));
        }
        if let Some(format) = vm.address_format()
            && let Some((_, existing)) = self.vms.iter().find(|(_, e)| {
                e.address_format().is_some_and(|f| f.code == format.code || f.name == format.name)
            })
        {
            return Err(RegistryError::AddressFormatTaken {
                new: vm.name(),
                format: format.name,
                code: format.code,
                existing: existing.name(),
            });
        }
        if let Some(format) = vm.address_format() {
            nvm_identity::register_format(format)
                .map_err(|clash| RegistryError::AddressFormatClash { vm: vm.name(), clash })?;
        }
        self.vms.push((range, vm));
        Ok(self)
    }

    /// The VM that serves `payload`'s opcode, or why none does: an opcode of a range the SPEC
    /// gives a VM this node does not run, or one of no range at all.
    pub fn route(&self, payload: &[u8]) -> Result<&dyn Vm, TxError> {
        let opcode = *payload.first().ok_or(TxError::InvalidPayload("empty payload".into()))?;
        match self.vms.iter().find(|(range, _)| range.contains(&opcode)) {
            Some((_, vm)) => Ok(&**vm),
            None => Err(route_opcode(opcode)
                .map_or(TxError::UnknownOpcode(opcode), TxError::spec_vm_unavailable)),
        }
    }

    /// Routes and statically checks a payload.
    pub fn check(&self, payload: &[u8]) -> Result<&dyn Vm, TxError> {
        let vm = self.route(payload)?;
        vm.check(payload).map_err(|e| match e {
            VmError::State(s) => TxError::State(s),
            VmError::Invalid(reason) | VmError::Failed(reason) => TxError::InvalidPayload(reason),
            failed => TxError::InvalidPayload(failed.to_string()),
        })?;
        Ok(vm)
    }

    /// Accepts a wallet format's transactions, found in blocks by its [`WalletFormat::tag`]
    /// (refused if another format has it, or it is the native envelope's version byte).
    pub fn register_format(mut self, format: Arc<dyn WalletFormat>) -> Result<Self, RegistryError> {
        let tag = format.tag();
        if tag == nvm_primitives::ENVELOPE_VERSION {
            return Err(RegistryError::TagIsEnvelope(tag));
        }
        if let Some(existing) = self.format(tag) {
            return Err(RegistryError::TagTaken { tag, new: format.vm(), existing: existing.vm() });
        }
        self.formats.push(format);
        Ok(self)
    }

    /// Adds a VM's block-level rules ([`crate::ChainHooks`]), called in registration order.
    pub fn register_hooks(mut self, hooks: Arc<dyn crate::ChainHooks>) -> Self {
        self.hooks.push(hooks);
        self
    }

    /// The address formats of the registered VMs, in registration order.
    pub fn address_formats(&self) -> Vec<&'static nvm_identity::AddressFormat> {
        self.vms.iter().filter_map(|(_, vm)| vm.address_format()).collect()
    }

    /// Every registered VM's block-level rules.
    pub fn hooks(&self) -> &[Arc<dyn crate::ChainHooks>] {
        &self.hooks
    }

    /// The wallet format whose block tag is `tag`.
    pub fn format(&self, tag: u8) -> Option<&dyn WalletFormat> {
        self.formats.iter().find(|f| f.tag() == tag).map(|f| &**f)
    }

    /// The hash a block transaction is known by: a native envelope's body hash, a wallet
    /// format's transaction's own ([`WalletFormat::tx_hash`]). `None` if the bytes are neither.
    pub fn block_tx_hash(&self, raw: &[u8]) -> Option<nvm_primitives::TxHash> {
        match raw.split_first().and_then(|(tag, bytes)| Some((self.format(*tag)?, bytes))) {
            Some((format, bytes)) => format.tx_hash(bytes),
            None => nvm_primitives::Transaction::decode(raw).ok().map(|tx| tx.hash()),
        }
    }

    /// The registered VM that is a `T` (an ecosystem's RPC reaching its own VM).
    pub fn vm_of<T: Vm>(&self) -> Option<&T> {
        self.vms.iter().find_map(|(_, vm)| {
            let any: &dyn std::any::Any = &**vm;
            any.downcast_ref()
        })
    }

    /// The registered wallet format that is a `T` (an ecosystem's RPC reaching its own format,
    /// e.g. to simulate a transaction).
    pub fn format_of<T: WalletFormat>(&self) -> Option<&T> {
        self.formats.iter().find_map(|format| {
            let any: &dyn std::any::Any = &**format;
            any.downcast_ref()
        })
    }

    /// The names of the registered VMs, in opcode order.
    pub fn available(&self) -> Vec<&'static str> {
        let mut vms: Vec<_> = self.vms.iter().collect();
        vms.sort_by_key(|(range, _)| *range.start());
        vms.into_iter().map(|(_, vm)| vm.name()).collect()
    }

    /// The name of the VM whose lane a native envelope with `payload` runs in: the VM its
    /// opcode routes to, else the native runtime's.
    pub fn lane_of(&self, payload: &[u8]) -> &'static str {
        self.route(payload).map_or(VmKind::Native.name(), |vm| vm.name())
    }
}
