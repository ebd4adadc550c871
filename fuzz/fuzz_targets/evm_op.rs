//! The EVM payload decoder, at the EVM's opcodes and at the Tron VM's (the same operations from
//! 0x40): never panics, canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_vm_evm::EvmOp;

fuzz_target!(|data: &[u8]| {
    if let Ok(op) = EvmOp::decode(data) {
        assert_eq!(op.encode(), data, "non-canonical EVM payload accepted");
    }
    if let Ok(op) = EvmOp::decode_at(data, "TVM", 0x40) {
        assert_eq!(op.encode_at(0x40), data, "non-canonical TVM payload accepted");
    }
});
