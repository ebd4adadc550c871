//! Address formats — SPEC §2's table, a row each: how an identity's address in a VM is derived
//! from its id_com, which identity an address no identity linked acts as, and how wallets write
//! one. A format is data and two functions, so a VM can bring its own; the SPEC's five are here.

use crate::AddressError;
use alloy_primitives::Address;
use nvm_primitives::{IdCom, sha256_parts};
use parking_lot::RwLock;

/// Tron's address prefix byte (mainnet addresses start with `T` in base58check).
const TRON_PREFIX: u8 = 0x41;

/// One VM's address format.
#[derive(Clone, Copy, Debug)]
pub struct AddressFormat {
    /// Its byte on the wire (before the raw bytes) and in the reverse index's keys.
    pub code: u8,
    /// Its name: how errors name it, and the `name:` prefix that reads a text as this format.
    pub name: &'static str,
    /// Other prefixes taken for it (`tron:` for `tvm:`).
    pub aliases: &'static [&'static str],
    /// Bytes of a raw address (at most 32).
    pub len: usize,
    /// `addr = Truncate(SHA-256(tag ‖ id_com))`, the digest's last `len` bytes; `None`: the
    /// id_com itself (the native format).
    pub derive_tag: Option<&'static [u8]>,
    /// `SHA-256(tag ‖ prefix ‖ addr)`: the legacy identity an address no identity linked acts
    /// as; `None`: none (the native format).
    pub legacy: Option<(&'static [u8], &'static [u8])>,
    /// How wallets show a raw address.
    pub display: fn(&[u8]) -> String,
    /// Reads a trimmed text as this format — `named` when a `name:` prefix said it is one, so
    /// a form another format claims when bare is taken too. `None`: not this format's shape.
    pub parse: ParseAddress,
}

/// [`AddressFormat::parse`]: a trimmed text, and whether a `name:` prefix named the format.
pub type ParseAddress = fn(text: &str, named: bool) -> Option<Result<Vec<u8>, AddressError>>;

impl AddressFormat {
    /// The address of `id_com` in this format.
    pub fn derive(&self, id_com: &IdCom) -> Vec<u8> {
        match self.derive_tag {
            None => id_com.to_vec(),
            Some(tag) => sha256_parts(&[tag, id_com])[32 - self.len..].to_vec(),
        }
    }

    /// The identity `raw` acts as until some identity links it.
    pub fn legacy_id(&self, raw: &[u8]) -> Option<IdCom> {
        self.legacy.map(|(tag, prefix)| sha256_parts(&[tag, prefix, raw]))
    }

    /// Whether `prefix` (before a `:`) names this format.
    pub fn is_named(&self, prefix: &str) -> bool {
        self.name == prefix || self.aliases.contains(&prefix)
    }

    /// `raw` if it has this format's length.
    pub fn checked(&self, raw: Vec<u8>) -> Result<Vec<u8>, AddressError> {
        if raw.len() == self.len {
            Ok(raw)
        } else {
            Err(AddressError::Length { format: self.name, expected: self.len, got: raw.len() })
        }
    }
}

/// SPEC §2's formats, in the order a bare text is tried: Bitcoin's `bc1p…`, an EVM `0x` + 40
/// hex, an id_com's `0x` + 64 hex, a Tron `T…` base58check, and last a Solana base58 key (which
/// may start with `T` or `bc1p` too).
pub const SPEC_FORMATS: [AddressFormat; 5] =
    [BVM_FORMAT, EVM_FORMAT, NATIVE_FORMAT, TVM_FORMAT, SVM_FORMAT];

/// The SPEC formats an identity has an address of its own in (all but the native one), in the
/// order its addresses are indexed on a chain whose genesis names no formats of its own
/// ([`crate::Registry::indexed_formats`]): code order, its Solana address last.
pub static SPEC_DERIVED: [&AddressFormat; 4] = [&EVM_FORMAT, &BVM_FORMAT, &TVM_FORMAT, &SVM_FORMAT];

/// Formats VMs brought beside the SPEC's ([`register_format`]).
static REGISTERED: RwLock<Vec<&'static AddressFormat>> = parking_lot::const_rwlock(Vec::new());

/// Why a format cannot join the formats this process knows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("address format {new} (code {code}) clashes with the format {existing} this node knows")]
pub struct FormatClash {
    pub new: &'static str,
    pub code: u8,
    pub existing: &'static str,
}

impl AddressFormat {
    /// Whether `other` is this format: same code, name, length and derivation (a VM registered
    /// twice — two chains in one process — brings the same row twice).
    fn same_as(&self, other: &Self) -> bool {
        (self.code, self.name, self.len, self.derive_tag, self.legacy)
            == (other.code, other.name, other.len, other.derive_tag, other.legacy)
    }
}

/// Makes `format` one this process reads and writes (a VM's, when it is registered), so its
/// addresses decode from transactions and state and parse from text. A format whose code or
/// name another has is refused; the same format again is accepted. Which formats a chain
/// *indexes* an identity's addresses in is the chain's own ([`crate::Registry::indexed_formats`]).
///
/// Process-wide because an address decodes from bytes alone (borsh has no context): the
/// format's code must say how many bytes follow wherever the address is read.
pub fn register_format(format: &'static AddressFormat) -> Result<(), FormatClash> {
    let mut registered = REGISTERED.write();
    let clash = SPEC_FORMATS
        .iter()
        .chain(registered.iter().copied())
        .find(|known| known.code == format.code || known.name == format.name);
    match clash {
        Some(known) if known.same_as(format) => Ok(()),
        Some(known) => {
            Err(FormatClash { new: format.name, code: format.code, existing: known.name })
        }
        None => {
            registered.push(format);
            Ok(())
        }
    }
}

/// Every format this process knows: SPEC §2's, then those VMs registered, in the order a bare
/// text is tried.
pub fn known_formats() -> Vec<&'static AddressFormat> {
    let registered = REGISTERED.read();
    SPEC_FORMATS.iter().chain(registered.iter().copied()).collect()
}

/// The known format whose code is `code`.
pub fn known_format(code: u8) -> Option<&'static AddressFormat> {
    spec_format(code).or_else(|| {
        let registered = REGISTERED.read();
        registered.iter().copied().find(|f| f.code == code)
    })
}

/// The SPEC format whose code is `code`.
pub fn spec_format(code: u8) -> Option<&'static AddressFormat> {
    SPEC_FORMATS.iter().find(|f| f.code == code)
}

fn unrecognised(text: &str) -> AddressError {
    AddressError::Unrecognised(text.to_string())
}

fn hex0x(raw: &[u8]) -> String {
    format!("0x{}", hex::encode(raw))
}

/// Hex with or without `0x`.
fn parse_hex(text: &str) -> Result<Vec<u8>, AddressError> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    hex::decode(digits).map_err(|_| unrecognised(text))
}

/// `0x` + exactly `digits` hex digits, bare.
fn is_hex_of(text: &str, digits: usize) -> bool {
    text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).is_some_and(|h| h.len() == digits)
}

pub const NATIVE_FORMAT: AddressFormat = AddressFormat {
    code: 0,
    name: "native",
    aliases: &[],
    len: 32,
    derive_tag: None,
    legacy: None,
    display: hex0x,
    parse: |text, named| (named || is_hex_of(text, 64)).then(|| parse_hex(text)),
};

pub const EVM_FORMAT: AddressFormat = AddressFormat {
    code: 1,
    name: "evm",
    aliases: &[],
    len: 20,
    derive_tag: Some(b"evm:"),
    legacy: Some((b"legacy_evm:", b"")),
    // EIP-55.
    display: |raw| Address::from_slice(raw).to_checksum(None),
    parse: |text, named| {
        if !named && !is_hex_of(text, 40) {
            return None;
        }
        let Ok(address) = text.parse::<Address>() else { return Some(Err(unrecognised(text))) };
        let digits = text.trim_start_matches("0x").trim_start_matches("0X");
        let mixed = digits.chars().any(|c| c.is_ascii_uppercase())
            && digits.chars().any(|c| c.is_ascii_lowercase());
        if mixed && address.to_checksum(None) != format!("0x{digits}") {
            return Some(Err(AddressError::BadChecksum {
                text: text.to_string(),
                checksum: "EIP-55",
            }));
        }
        Some(Ok(address.to_vec()))
    },
};

pub const SVM_FORMAT: AddressFormat = AddressFormat {
    code: 2,
    name: "svm",
    aliases: &[],
    len: 32,
    derive_tag: Some(b"svm:"),
    legacy: Some((b"legacy_sol:", b"")),
    display: |raw| bs58::encode(raw).into_string(),
    parse: |text, named| match bs58::decode(text).into_vec() {
        Ok(raw) => Some(SVM_FORMAT.checked(raw)),
        Err(_) if named => Some(Err(unrecognised(text))),
        Err(_) => None,
    },
};

pub const BVM_FORMAT: AddressFormat = AddressFormat {
    code: 3,
    name: "bvm",
    aliases: &[],
    len: 32,
    derive_tag: Some(b"bvm:"),
    // The address counts as the taproot-style output script `OP_1 PUSH32 <address>`.
    legacy: Some((b"legacy_btc:", &[0x51, 0x20])),
    display: hex0x,
    // Bitcoin's own form, the witness-v1 program `bc1p…` (bech32m, mainnet); named, hex too.
    parse: |text, named| {
        if text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("bc1p"))
            && let Ok((hrp, version, program)) = bech32::segwit::decode(text)
            && hrp == bech32::hrp::BC
            && version == bech32::segwit::VERSION_1
        {
            return Some(BVM_FORMAT.checked(program));
        }
        named.then(|| parse_hex(text))
    },
};

pub const TVM_FORMAT: AddressFormat = AddressFormat {
    code: 4,
    name: "tvm",
    aliases: &["tron"],
    len: 20,
    derive_tag: Some(b"tron:"),
    legacy: Some((b"legacy_tron:", b"")),
    // base58check of `0x41 ‖ address`.
    display: |raw| bs58::encode([&[TRON_PREFIX][..], raw].concat()).with_check().into_string(),
    parse: |text, named| {
        if !named && !text.starts_with('T') {
            return None;
        }
        let failed = |e| {
            // A Tron address's length and prefix whose check bytes do not match.
            let unchecked = bs58::decode(text).into_vec().unwrap_or_default();
            let tron_shaped = unchecked.len() == 25 && unchecked[0] == TRON_PREFIX;
            match e {
                bs58::decode::Error::InvalidChecksum { .. } if tron_shaped => {
                    Some(Err(AddressError::BadChecksum {
                        text: text.to_string(),
                        checksum: "Tron",
                    }))
                }
                // Bare, a Solana address may start with `T` too.
                _ => named.then(|| Err(unrecognised(text))),
            }
        };
        match bs58::decode(text).with_check(None).into_vec() {
            Ok(bytes) => match bytes.split_first() {
                Some((&TRON_PREFIX, raw)) => Some(TVM_FORMAT.checked(raw.to_vec())),
                _ => named.then(|| Err(unrecognised(text))),
            },
            Err(e) => failed(e),
        }
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VmAddress;
    use nvm_primitives::VmKind;

    static EXTRA: AddressFormat = AddressFormat { code: 0xE1, name: "format-test", ..EVM_FORMAT };

    #[test]
    fn a_registered_format_is_read_and_written_and_a_clashing_one_is_refused() {
        assert!(known_format(0xE1).is_none());
        register_format(&EXTRA).unwrap();
        register_format(&EXTRA).unwrap();
        assert_eq!(known_format(0xE1).map(|f| f.name), Some("format-test"));
        let text = format!("format-test:0x{}", "ab".repeat(20));
        let address = VmAddress::parse(&text).unwrap();
        assert_eq!((address.code(), address.as_bytes()), (0xE1, &[0xab; 20][..]));
        let bytes = borsh::to_vec(&address).unwrap();
        assert_eq!(bytes[0], 0xE1);
        assert_eq!(borsh::from_slice::<VmAddress>(&bytes).unwrap(), address);
        // Unknown codes still do not decode.
        assert!(borsh::from_slice::<VmAddress>(&[0xE0; 21]).is_err());

        static SAME_CODE: AddressFormat = AddressFormat { code: 0xE1, name: "other", ..EVM_FORMAT };
        static SAME_NAME: AddressFormat = AddressFormat { code: 0xE9, name: "evm", ..EVM_FORMAT };
        for clash in [&SAME_CODE, &SAME_NAME] {
            assert!(register_format(clash).is_err(), "{}", clash.name);
        }
        assert!(known_format(0xE9).is_none());
    }

    #[test]
    fn the_spec_table_has_one_row_per_vm_as_the_spec_names_it() {
        for vm in VmKind::ALL {
            assert!(SPEC_FORMATS.iter().any(|f| f.name == vm.name()), "{vm}");
        }
        let mut codes: Vec<u8> = SPEC_FORMATS.iter().map(|f| f.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), SPEC_FORMATS.len(), "codes are unique");
        let mut derived: Vec<u8> = SPEC_DERIVED.iter().map(|f| f.code).collect();
        assert_eq!(derived.pop(), Some(SVM_FORMAT.code), "the Solana address last");
        derived.sort_unstable();
        assert_eq!(derived, [1, 3, 4], "the others: every VM's but the native one, in code order");
    }
}
