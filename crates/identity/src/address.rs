//! id_com and VM address derivation, display and parsing (SPEC §2).

use alloy_primitives::Address;
use borsh::{BorshDeserialize, BorshSerialize};
use nvm_primitives::{IdCom, SchemeId, VmKind, sha256_parts};

/// Tron's address prefix byte (mainnet addresses start with `T` in base58check).
const TRON_PREFIX: u8 = 0x41;

/// `id_com = SHA-256("nvm:id_com:" ‖ scheme ‖ u16_le(len(pk)) ‖ pk ‖ salt)`: fixed when the
/// identity is created from its first credential; later credential rotations do not change it.
pub fn id_com_from_credential(scheme: SchemeId, public_key: &[u8], salt: &[u8; 32]) -> IdCom {
    let len = u16::try_from(public_key.len()).unwrap_or(u16::MAX).to_le_bytes();
    sha256_parts(&[b"nvm:id_com:", &[scheme as u8], &len, public_key, salt])
}

/// `addr_V = Truncate(SHA-256(tag_V ‖ id_com))`, exactly as in the paper (Def. 3).
pub fn derive_address(vm: VmKind, id_com: &IdCom) -> VmAddress {
    let Some(tag) = vm.address_tag() else { return VmAddress::Native(*id_com) };
    let digest = sha256_parts(&[tag, id_com]);
    let mut short = [0u8; 20];
    short.copy_from_slice(&digest[12..32]);
    match vm {
        VmKind::Native => VmAddress::Native(*id_com),
        VmKind::Evm => VmAddress::Evm(short),
        VmKind::Svm => VmAddress::Svm(digest),
        VmKind::Bvm => VmAddress::Bvm(digest),
        VmKind::Tvm => VmAddress::Tvm(short),
    }
}

/// The identity an external address acts as until some identity links it:
/// `SHA-256(tag ‖ external address)` with the SPEC's `legacy_*` tags. A BVM address counts as the
/// taproot-style output script `OP_1 PUSH32 <address>`. The native VM has no legacy identities.
pub fn legacy_id_com(address: &VmAddress) -> Option<IdCom> {
    Some(match address {
        VmAddress::Native(_) => return None,
        VmAddress::Evm(a) => sha256_parts(&[b"legacy_evm:", a]),
        VmAddress::Svm(a) => sha256_parts(&[b"legacy_sol:", a]),
        VmAddress::Bvm(a) => legacy_btc_id(&[&[0x51, 0x20][..], a].concat()),
        VmAddress::Tvm(a) => sha256_parts(&[b"legacy_tron:", a]),
    })
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

/// An address in one VM's native format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub enum VmAddress {
    /// An id_com itself.
    Native([u8; 32]),
    Evm([u8; 20]),
    Svm([u8; 32]),
    Bvm([u8; 32]),
    Tvm([u8; 20]),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error(
        "not a valid address: {0:?} (expected 0x + 40 hex (EVM), 0x + 64 hex (id_com), base58 (SVM), T… base58check (Tron), or vm:… prefixed)"
    )]
    Unrecognised(String),
    #[error("EVM address {0} has a bad EIP-55 checksum")]
    BadChecksum(String),
    #[error("Tron address {0} has a bad Tron checksum (base58check)")]
    BadTronChecksum(String),
    #[error("{vm} address must be {expected} bytes, got {got}")]
    Length { vm: VmKind, expected: usize, got: usize },
}

impl VmAddress {
    pub fn vm(&self) -> VmKind {
        match self {
            Self::Native(_) => VmKind::Native,
            Self::Evm(_) => VmKind::Evm,
            Self::Svm(_) => VmKind::Svm,
            Self::Bvm(_) => VmKind::Bvm,
            Self::Tvm(_) => VmKind::Tvm,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Native(a) | Self::Svm(a) | Self::Bvm(a) => a,
            Self::Evm(a) | Self::Tvm(a) => a,
        }
    }

    /// Builds an address of `vm` from raw bytes of the right length.
    pub fn from_raw(vm: VmKind, bytes: &[u8]) -> Result<Self, AddressError> {
        let err = || AddressError::Length { vm, expected: vm.address_len(), got: bytes.len() };
        Ok(match vm {
            VmKind::Native => Self::Native(bytes.try_into().map_err(|_| err())?),
            VmKind::Evm => Self::Evm(bytes.try_into().map_err(|_| err())?),
            VmKind::Svm => Self::Svm(bytes.try_into().map_err(|_| err())?),
            VmKind::Bvm => Self::Bvm(bytes.try_into().map_err(|_| err())?),
            VmKind::Tvm => Self::Tvm(bytes.try_into().map_err(|_| err())?),
        })
    }

    /// `0x` + lowercase hex of the raw bytes.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.as_bytes()))
    }

    /// How each ecosystem shows the address: EIP-55 for EVM, base58 for SVM, Tron base58check
    /// (`0x41 ‖ addr`) for TVM, hex for native and BVM.
    pub fn display(&self) -> String {
        match self {
            Self::Evm(a) => Address::from(*a).to_checksum(None),
            Self::Svm(a) => bs58::encode(a).into_string(),
            Self::Tvm(a) => {
                let mut payload = [0u8; 21];
                payload[0] = TRON_PREFIX;
                payload[1..].copy_from_slice(a);
                bs58::encode(payload).with_check().into_string()
            }
            Self::Native(_) | Self::Bvm(_) => self.to_hex(),
        }
    }

    /// Parses any VM's display form; `vm:` prefixes (`native:`, `evm:`, `svm:`, `bvm:`, `tvm:`)
    /// remove ambiguity (a bare 0x + 64 hex is an id_com). A BVM address is also taken in its
    /// Bitcoin form, the witness-v1 program `bc1p…` (bech32m).
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let text = input.trim();
        // (A base58 Solana address may start with these four letters too: it is not bech32m.)
        if text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("bc1p"))
            && let Ok((hrp, version, program)) = bech32::segwit::decode(text)
            && hrp == bech32::hrp::BC
            && version == bech32::segwit::VERSION_1
        {
            return Self::from_raw(VmKind::Bvm, &program);
        }
        if let Some((prefix, rest)) = text.split_once(':') {
            let vm = match prefix {
                "tron" => VmKind::Tvm,
                other => VmKind::from_name(other)
                    .ok_or_else(|| AddressError::Unrecognised(input.to_string()))?,
            };
            return Self::parse_as(vm, rest, input);
        }
        if let Some(hex_part) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            return match hex_part.len() {
                40 => Self::parse_as(VmKind::Evm, text, input),
                64 => Self::parse_as(VmKind::Native, text, input),
                _ => Err(AddressError::Unrecognised(input.to_string())),
            };
        }
        if text.starts_with('T') {
            match Self::parse_as(VmKind::Tvm, text, input) {
                Ok(tron) => return Ok(tron),
                Err(bad @ AddressError::BadTronChecksum(_)) => return Err(bad),
                // A Solana address may start with `T` too.
                Err(_) => {}
            }
        }
        Self::parse_as(VmKind::Svm, text, input)
    }

    fn parse_as(vm: VmKind, text: &str, original: &str) -> Result<Self, AddressError> {
        let unrecognised = || AddressError::Unrecognised(original.to_string());
        match vm {
            VmKind::Evm => {
                let address: Address = text.parse().map_err(|_| unrecognised())?;
                let hex_part = text.trim_start_matches("0x").trim_start_matches("0X");
                let mixed = hex_part.chars().any(|c| c.is_ascii_uppercase())
                    && hex_part.chars().any(|c| c.is_ascii_lowercase());
                if mixed && address.to_checksum(None) != format!("0x{hex_part}") {
                    return Err(AddressError::BadChecksum(original.to_string()));
                }
                Ok(Self::Evm(address.into_array()))
            }
            VmKind::Native | VmKind::Bvm => {
                let hex_part = text.trim_start_matches("0x").trim_start_matches("0X");
                let bytes = hex::decode(hex_part).map_err(|_| unrecognised())?;
                Self::from_raw(vm, &bytes)
            }
            VmKind::Svm => {
                let bytes = bs58::decode(text).into_vec().map_err(|_| unrecognised())?;
                Self::from_raw(vm, &bytes)
            }
            VmKind::Tvm => {
                let bytes = bs58::decode(text).with_check(None).into_vec().map_err(|e| {
                    // A Tron address's length and prefix whose check bytes do not match.
                    let unchecked = bs58::decode(text).into_vec().unwrap_or_default();
                    let tron_shaped = unchecked.len() == 25 && unchecked[0] == TRON_PREFIX;
                    match e {
                        bs58::decode::Error::InvalidChecksum { .. } if tron_shaped => {
                            AddressError::BadTronChecksum(original.to_string())
                        }
                        _ => unrecognised(),
                    }
                })?;
                match bytes.split_first() {
                    Some((&TRON_PREFIX, rest)) => Self::from_raw(vm, rest),
                    _ => Err(unrecognised()),
                }
            }
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
        assert_eq!(derive_address(VmKind::Evm, &id).as_bytes(), &evm_digest[12..]);
        let svm_digest = sha256(&[b"svm:".as_slice(), &id].concat());
        assert_eq!(derive_address(VmKind::Svm, &id).as_bytes(), &svm_digest);
        let bvm_digest = sha256(&[b"bvm:".as_slice(), &id].concat());
        assert_eq!(derive_address(VmKind::Bvm, &id).as_bytes(), &bvm_digest);
        let tron_digest = sha256(&[b"tron:".as_slice(), &id].concat());
        assert_eq!(derive_address(VmKind::Tvm, &id).as_bytes(), &tron_digest[12..]);
        assert_eq!(derive_address(VmKind::Native, &id), VmAddress::Native(id));
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
        assert_eq!(parsed.vm(), VmKind::Bvm);
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
        let shown = derive_address(VmKind::Tvm, &[1; 32]).display();
        assert!(shown.starts_with('T'), "{shown}");
        assert_eq!(shown.len(), 34);
    }

    #[test]
    fn a_tron_address_with_a_bad_checksum_says_so() {
        let shown = derive_address(VmKind::Tvm, &[1; 32]).display();
        // Its last check character changed: a Tron address, wrongly checked.
        let last = shown.chars().last().unwrap();
        let other = if last == '2' { '3' } else { '2' };
        let bad = format!("{}{other}", &shown[..shown.len() - 1]);
        match VmAddress::parse(&bad) {
            Err(e @ AddressError::BadTronChecksum(_)) => {
                assert!(e.to_string().contains("bad Tron checksum"), "{e}")
            }
            other => panic!("{bad}: {other:?}"),
        }
        // A Solana address that starts with T is still one.
        let t_solana = bs58::encode([[6, 170].as_slice(), &[0; 30]].concat()).into_string();
        assert!(t_solana.starts_with('T'), "{t_solana}");
        assert!(matches!(VmAddress::parse(&t_solana), Ok(VmAddress::Svm(_))), "{t_solana}");
    }

    #[test]
    fn bad_checksum_rejected() {
        let shown = derive_address(VmKind::Evm, &[1; 32]).display();
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
                assert!(matches!(VmAddress::parse(&flipped), Err(AddressError::BadChecksum(_))));
            }
        }
        assert!(VmAddress::parse("0x1234").is_err());
        assert!(VmAddress::parse("not an address!").is_err());
    }

    proptest! {
        #[test]
        fn display_round_trips(id in any::<[u8; 32]>()) {
            for vm in VmKind::ALL {
                let addr = derive_address(vm, &id);
                let shown = addr.display();
                let parsed = if vm == VmKind::Bvm {
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
            for vm in VmKind::ALL {
                prop_assert_ne!(derive_address(vm, &a), derive_address(vm, &b));
            }
            let svm = derive_address(VmKind::Svm, &a);
            let bvm = derive_address(VmKind::Bvm, &a);
            prop_assert_ne!(svm.as_bytes(), bvm.as_bytes());
            let evm = derive_address(VmKind::Evm, &a);
            let tvm = derive_address(VmKind::Tvm, &a);
            prop_assert_ne!(evm.as_bytes(), tvm.as_bytes());
        }
    }
}
