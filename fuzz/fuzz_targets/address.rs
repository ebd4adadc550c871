//! The address parser (every VM's display form): never panics; a parsed address displays in a
//! form that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_identity::VmAddress;
use nvm_primitives::VmKind;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(address) = VmAddress::parse(text) {
        let shown = match address.vm() {
            VmKind::Bvm => format!("bvm:{}", address.display()),
            _ => address.display(),
        };
        assert_eq!(VmAddress::parse(&shown), Ok(address));
    }
});
