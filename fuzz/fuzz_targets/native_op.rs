//! The native-runtime payload decoder: never panics, canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_vm_native::NativeOp;

fuzz_target!(|data: &[u8]| {
    if let Ok(op) = NativeOp::decode(data) {
        assert_eq!(op.encode(), data, "non-canonical native payload accepted");
    }
});
