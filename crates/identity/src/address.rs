//! id_com and VM address derivation, display and parsing (SPEC §2).

use crate::format::{
    AddressFormat, BVM_FORMAT, EVM_FORMAT, NATIVE_FORMAT, SVM_FORMAT, TVM_FORMAT, known_format,
    known_formats,
};
use borsh::{BorshDeserialize, BorshSerialize};
use nvm_primitives::{IdCom, SchemeId, sha256_parts};

/// `id_com = SHA-256("nvm:id_com:" ‖ scheme ‖ u16_le(len(pk)) ‖ pk ‖ salt)`: fixed when the
/// identity is created from its first credential; later credential rotations do not change it.
pub fn id_com_from_credential(scheme: SchemeId, public_key: &[u8], salt: &[u8; 32]) -> IdCom {
    let len = u16::try_from(public_key.len()).unwrap_or(u16::MAX).to_le_bytes();
    sha256_parts(&[b"nvm:id_com:", &[scheme as u8], &len, public_key, salt])
}

/// `id_com`'s address in `format`: `addr_V = Truncate(SHA-256(tag_V ‖ id_com))`, exactly as in
/// the paper (Def. 3), for every format but the native one (the id_com itself).
pub fn derive_address(format: &AddressFormat, id_com: &IdCom) -> VmAddress {
    VmAddress::from_code(format.code, &format.derive(id_com))
        .expect("a derived address has its format's length")
}

/// The identity an external address acts as until some identity links it:
/// `SHA-256(tag ‖ external address)` with the SPEC's `legacy_*` tags. A BVM address counts as the
/// taproot-style output script `OP_1 PUSH32 <address>`. The native VM has no legacy identities.
pub fn legacy_id_com(address: &VmAddress) -> Option<IdCom> {
    address.format().legacy_id(address.as_bytes())
}

/// A BVM address as Bitcoin wallets show a witness-v1 program: `bc1p…` (bech32m, mainnet).
pub fn taproot_address(program: &[u8; 32]) -> String {
    bech32::segwit::encode(bech32::hrp::BC, bech32::segwit::VERSION_1, program)
        .expect("a 32-byte witness v1 program encodes")
}

/// The legacy identity of a Bitcoin output script: `SHA-256("legacy_btc:" ‖ scriptPubKey)`
/// (SPEC §2) — whoever can spend the script acts as it until an identity links it.
pub fn legacy_btc_id(script_pubkey: &[u8]) -> IdCom {
    sha256_parts(&[b"legacy_btc:", script_pubkey])
}

/// An address in one VM's native format: the format's code and its raw bytes (at most 32).
///
/// On the wire it is the code, then the raw bytes — the format fixes their length — as the
/// SPEC formats' enum was encoded, so transactions, hashes and state keys stay as they were.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmAddress {
    code: u8,
    len: u8,
    /// The raw bytes, then zeros (so equal addresses are equal values).
    raw: [u8; 32],
}

/// Constructors named after SPEC §2's formats.
#[allow(non_snake_case)]
impl VmAddress {
    /// An id_com itself.
    pub const fn Native(id_com: [u8; 32]) -> Self {
        Self { code: NATIVE_FORMAT.code, len: 32, raw: id_com }
    }

    pub const fn Evm(raw: [u8; 20]) -> Self {
        Self::short(EVM_FORMAT.code, raw)
    }

    pub const fn Svm(raw: [u8; 32]) -> Self {
        Self { code: SVM_FORMAT.code, len: 32, raw }
    }

    pub const fn Bvm(raw: [u8; 32]) -> Self {
        Self { code: BVM_FORMAT.code, len: 32, raw }
    }

    pub const fn Tvm(raw: [u8; 20]) -> Self {
        Self::short(TVM_FORMAT.code, raw)
    }

    const fn short(code: u8, short: [u8; 20]) -> Self {
        let mut raw = [0u8; 32];
        let mut i = 0;
        while i < 20 {
            raw[i] = short[i];
            i += 1;
        }
        Self { code, len: 20, raw }
    }
}

impl BorshSerialize for VmAddress {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(&[self.code])?;
        writer.write_all(self.as_bytes())
    }
}

impl BorshDeserialize for VmAddress {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let code = u8::deserialize_reader(reader)?;
        let format = known_format(code).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("unknown address format {code}"),
            )
        })?;
        let mut raw = [0u8; 32];
        reader.read_exact(&mut raw[..format.len])?;
        Ok(Self { code, len: format.len as u8, raw })
    }
}

/// As the SPEC formats' enum showed it: `Evm([…])`.
impl std::fmt::Debug for VmAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let variant = match self.code {
            0 => "Native",
            1 => "Evm",
            2 => "Svm",
            3 => "Bvm",
            4 => "Tvm",
            _ => self.format().name,
        };
        write!(f, "{variant}({:?})", self.as_bytes())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error(
        "not a valid address: {0:?} (expected 0x + 40 hex (EVM), 0x + 64 hex (id_com), base58 (SVM), T… base58check (Tron), bc1p… (BVM), or vm:… prefixed)"
    )]
    Unrecognised(String),
    /// `checksum` names the scheme: "bad EIP-55 checksum", "bad Tron checksum".
    #[error("address {text} has a bad {checksum} checksum")]
    BadChecksum { text: String, checksum: &'static str },
    #[error("{format} address must be {expected} bytes, got {got}")]
    Length { format: &'static str, expected: usize, got: usize },
}

impl VmAddress {
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw[..usize::from(self.len)]
    }

    /// The raw bytes, if the address is in the format `code` (of `N` bytes).
    fn raw_in<const N: usize>(&self, code: u8) -> Option<[u8; N]> {
        (self.code == code).then(|| self.as_bytes().try_into().ok()).flatten()
    }

    /// The id_com, if this is a native address.
    pub fn native(&self) -> Option<[u8; 32]> {
        self.raw_in(NATIVE_FORMAT.code)
    }

    /// The 20 bytes, if this is an EVM address.
    pub fn evm(&self) -> Option<[u8; 20]> {
        self.raw_in(EVM_FORMAT.code)
    }

    /// The key, if this is a Solana address.
    pub fn svm(&self) -> Option<[u8; 32]> {
        self.raw_in(SVM_FORMAT.code)
    }

    /// The witness-v1 program, if this is a BVM address.
    pub fn bvm(&self) -> Option<[u8; 32]> {
        self.raw_in(BVM_FORMAT.code)
    }

    /// The 20 bytes after Tron's `0x41`, if this is a Tron address.
    pub fn tvm(&self) -> Option<[u8; 20]> {
        self.raw_in(TVM_FORMAT.code)
    }

    /// Its format's code: its byte on the wire and in the reverse index's keys.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// Its format (SPEC §2's row, or one a VM registered).
    pub fn format(&self) -> &'static AddressFormat {
        known_format(self.code()).expect("an address is only built in a known format")
    }

    /// Builds an address of the format `code` from raw bytes of its length.
    pub fn from_code(code: u8, bytes: &[u8]) -> Result<Self, AddressError> {
        let format = known_format(code).ok_or_else(|| {
            AddressError::Unrecognised(format!("format {code}: {}", hex::encode(bytes)))
        })?;
        let raw = format.checked(bytes.to_vec())?;
        let mut padded = [0u8; 32];
        padded[..raw.len()].copy_from_slice(&raw);
        Ok(Self { code, len: format.len as u8, raw: padded })
    }

    /// `0x` + lowercase hex of the raw bytes.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.as_bytes()))
    }

    /// How each ecosystem shows the address: EIP-55 for EVM, base58 for SVM, Tron base58check
    /// (`0x41 ‖ addr`) for TVM, hex for native and BVM.
    pub fn display(&self) -> String {
        (self.format().display)(self.as_bytes())
    }

    /// Parses any VM's display form; `vm:` prefixes (`native:`, `evm:`, `svm:`, `bvm:`, `tvm:`)
    /// remove ambiguity (a bare 0x + 64 hex is an id_com). A BVM address is also taken in its
    /// Bitcoin form, the witness-v1 program `bc1p…` (bech32m).
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let text = input.trim();
        let unrecognised = || AddressError::Unrecognised(input.to_string());
        let formats = known_formats();
        let named = text.split_once(':').map(|(prefix, rest)| {
            formats.iter().find(|f| f.is_named(prefix)).map(|format| (format, rest))
        });
        let read = match named {
            Some(None) => None,
            Some(Some((format, rest))) => (format.parse)(rest, true).map(|raw| (format, raw)),
            None => formats
                .iter()
                .find_map(|format| (format.parse)(text, false).map(|raw| (format, raw))),
        };
        match read {
            Some((format, Ok(raw))) => Self::from_code(format.code, &raw),
            Some((_, Err(AddressError::Unrecognised(_)))) | None => Err(unrecognised()),
            Some((_, Err(other))) => Err(other),
        }
    }
}

impl std::fmt::Display for VmAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nvm_primitives::sha256;
    use proptest::prelude::*;

    #[test]
    fn derivation_matches_spec_formula() {
        let id = [0xab; 32];
        let evm_digest = sha256(&[b"evm:".as_slice(), &id].concat());
        assert_eq!(derive_address(&crate::EVM_FORMAT, &id).as_bytes(), &evm_digest[12..]);
        let svm_digest = sha256(&[b"svm:".as_slice(), &id].concat());
        assert_eq!(derive_address(&crate::SVM_FORMAT, &id).as_bytes(), &svm_digest);
        let bvm_digest = sha256(&[b"bvm:".as_slice(), &id].concat());
        assert_eq!(derive_address(&crate::BVM_FORMAT, &id).as_bytes(), &bvm_digest);
        let tron_digest = sha256(&[b"tron:".as_slice(), &id].concat());
        assert_eq!(derive_address(&crate::TVM_FORMAT, &id).as_bytes(), &tron_digest[12..]);
        assert_eq!(derive_address(&crate::NATIVE_FORMAT, &id), VmAddress::Native(id));
    }

    #[test]
    fn a_bvm_address_parses_in_its_bitcoin_form() {
        // BIP-350's P2TR example: the witness program is the generator's x coordinate.
        let g = hex::decode("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
            .unwrap();
        let parsed =
            VmAddress::parse("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0")
                .unwrap();
        assert_eq!(parsed.as_bytes(), g.as_slice());
        assert_eq!(parsed.code(), BVM_FORMAT.code);
        // A bad checksum, a testnet address, a v0 program: not BVM addresses.
        for bad in [
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj1",
            "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47zagq",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        ] {
            assert!(VmAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tron_display_is_t_address() {
        let shown = derive_address(&crate::TVM_FORMAT, &[1; 32]).display();
        assert!(shown.starts_with('T'), "{shown}");
        assert_eq!(shown.len(), 34);
    }

    #[test]
    fn a_tron_address_with_a_bad_checksum_says_so() {
        let shown = derive_address(&crate::TVM_FORMAT, &[1; 32]).display();
        // Its last check character changed: a Tron address, wrongly checked.
        let last = shown.chars().last().unwrap();
        let other = if last == '2' { '3' } else { '2' };
        let bad = format!("{}{other}", &shown[..shown.len() - 1]);
        match VmAddress::parse(&bad) {
            Err(e @ AddressError::BadChecksum { checksum: "Tron", .. }) => {
                assert!(e.to_string().contains("bad Tron checksum"), "{e}")
            }
            other => panic!("{bad}: {other:?}"),
        }
        // A Solana address that starts with T is still one.
        let t_solana = bs58::encode([[6, 170].as_slice(), &[0; 30]].concat()).into_string();
        assert!(t_solana.starts_with('T'), "{t_solana}");
        assert!(VmAddress::parse(&t_solana).unwrap().svm().is_some(), "{t_solana}");
    }

    #[test]
    fn bad_checksum_rejected() {
        let shown = derive_address(&crate::EVM_FORMAT, &[1; 32]).display();
        // Flip the case of one letter: still mixed case, now with a wrong checksum.
        let at =
            shown.char_indices().skip(2).find(|(_, c)| c.is_ascii_alphabetic()).map(|(i, _)| i);
        if let Some(at) = at {
            let mut flipped = shown.into_bytes();
            flipped[at] ^= 0x20;
            let flipped = String::from_utf8(flipped).unwrap();
            let all_one_case = flipped[2..].chars().all(|c| !c.is_ascii_lowercase())
                || flipped[2..].chars().all(|c| !c.is_ascii_uppercase());
            if !all_one_case {
                assert!(matches!(
                    VmAddress::parse(&flipped),
                    Err(AddressError::BadChecksum { checksum: "EIP-55", .. })
                ));
            }
        }
        assert!(VmAddress::parse("0x1234").is_err());
        assert!(VmAddress::parse("not an address!").is_err());
    }

    proptest! {
        #[test]
        fn display_round_trips(id in any::<[u8; 32]>()) {
            for format in &crate::SPEC_FORMATS {
                let addr = derive_address(format, &id);
                let shown = addr.display();
                let parsed = if format.code == BVM_FORMAT.code {
                    VmAddress::parse(&format!("bvm:{shown}"))
                } else {
                    VmAddress::parse(&shown)
                };
                prop_assert_eq!(parsed, Ok(addr));
            }
        }

        /// Different identities never share an address, and one identity's addresses in
        /// different VMs never coincide (identity isolation, paper Thm 4.1).
        #[test]
        fn addresses_never_collide(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            prop_assume!(a != b);
            for format in &crate::SPEC_FORMATS {
                prop_assert_ne!(derive_address(format, &a), derive_address(format, &b));
            }
            let svm = derive_address(&crate::SVM_FORMAT, &a);
            let bvm = derive_address(&crate::BVM_FORMAT, &a);
            prop_assert_ne!(svm.as_bytes(), bvm.as_bytes());
            let evm = derive_address(&crate::EVM_FORMAT, &a);
            let tvm = derive_address(&crate::TVM_FORMAT, &a);
            prop_assert_ne!(evm.as_bytes(), tvm.as_bytes());
        }
    }
}
