//! The counter's own address format: an identity's counter address is `ctr` + 40 hex digits,
//! derived like SPEC §2's (`Truncate₂₀(SHA-256("counter:" ‖ id_com))`), with a legacy identity
//! for an address no identity derived — a row of the address table that no other crate knows.

use nvm_identity::{AddressError, AddressFormat};

/// What the counter's addresses start with, as wallets show them.
const PREFIX: &str = "ctr";

/// The counter's row of the address table (its code is its wallet format's block tag).
pub const COUNTER_FORMAT: AddressFormat = AddressFormat {
    code: crate::COUNTER_TX_TAG,
    name: "counter",
    aliases: &["ctr"],
    len: 20,
    derive_tag: Some(b"counter:"),
    legacy: Some((b"legacy_counter:", b"")),
    display: |raw| format!("{PREFIX}{}", hex(raw)),
    parse: |text, named| {
        let digits = match text.strip_prefix(PREFIX) {
            Some(digits) => digits,
            None if named => text,
            None => return None,
        };
        let raw = (digits.len() % 2 == 0 && digits.is_ascii())
            .then(|| {
                (0..digits.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
                    .collect::<Option<Vec<u8>>>()
            })
            .flatten();
        Some(match raw {
            Some(raw) => COUNTER_FORMAT.checked(raw),
            None => Err(AddressError::Unrecognised(text.to_string())),
        })
    },
};

fn hex(raw: &[u8]) -> String {
    raw.iter().map(|b| format!("{b:02x}")).collect()
}
