//! The address parser (every VM's display form): never panics; a parsed address displays in a
//! form that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_identity::{BVM_FORMAT, VmAddress};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(address) = VmAddress::parse(text) {
        // Bare, a BVM address's hex is an id_com's (Bitcoin's own form is `bc1p…`).
        let shown = if address.code() == BVM_FORMAT.code {
            format!("bvm:{}", address.display())
        } else {
            address.display()
        };
        assert_eq!(VmAddress::parse(&shown), Ok(address));
    }
});
