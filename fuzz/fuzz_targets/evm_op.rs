//! The EVM payload decoder: never panics, canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_vm_evm::EvmOp;

fuzz_target!(|data: &[u8]| {
    if let Ok(op) = EvmOp::decode(data) {
        assert_eq!(op.encode(), data, "non-canonical EVM payload accepted");
    }
});
