//! SPEC §2's address formats, pinned byte for byte: however the formats are represented or
//! registered, an address's wire bytes (a native transfer's `to`), its reverse-index key, the
//! address an identity derives, the legacy identity an external address acts as and the text
//! wallets show stay exactly these.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use nvm_identity::{SPEC_FORMATS, VmAddress, derive_address, index_key, legacy_id_com};
use nvm_primitives::sha256_parts;

const ID: [u8; 32] = [0xab; 32];

/// A format's vector: (its name, code, the SPEC's derivation tag, the legacy tag, how wallets
/// show the derived address of `ID`).
type Vector = (&'static str, u8, Option<&'static [u8]>, Option<&'static [u8]>, &'static str);

const FORMATS: [Vector; 5] = [
    ("native", 0, None, None, "0xabababababababababababababababababababababababababababababababab"),
    ("evm", 1, Some(b"evm:"), Some(b"legacy_evm:"), "0x0dF5aB9924670cdc51b3dED91e51E13A2a9C1D82"),
    ("svm", 2, Some(b"svm:"), Some(b"legacy_sol:"), "FDnnGCgbeHPwR5PoBi31mSpdeBLpb8ta8psa4kwgy1G4"),
    (
        "bvm",
        3,
        Some(b"bvm:"),
        Some(b"legacy_btc:"),
        "0xcb94d21dcca60538bf002e379a79d851e0d586261cefdad38bcfa664825b93c1",
    ),
    ("tvm", 4, Some(b"tron:"), Some(b"legacy_tron:"), "TEHkH8QHt1B3kJ46tBdPAoYiZhBUAuKoGT"),
];

/// SPEC §2's raw lengths: 20 bytes for the EVM's and Tron's, 32 for the others.
fn raw_len(vm: &str) -> usize {
    if matches!(vm, "evm" | "tvm") { 20 } else { 32 }
}

#[test]
fn every_format_keeps_its_bytes_keys_derivation_and_text() {
    for (vm, code, tag, legacy_tag, shown) in FORMATS {
        let format = SPEC_FORMATS.iter().find(|f| f.name == vm).unwrap();
        let address = derive_address(format, &ID);
        // Derivation: Truncate(SHA-256(tag ‖ id_com)), the last 20 or all 32 bytes.
        let raw: Vec<u8> = match tag {
            None => ID.to_vec(),
            Some(tag) => {
                let digest = sha256_parts(&[tag, &ID]);
                digest[32 - raw_len(vm)..].to_vec()
            }
        };
        assert_eq!(address.as_bytes(), raw.as_slice(), "{vm}");
        // Wire: the format's code, then the raw bytes (no length).
        let wire = borsh::to_vec(&address).unwrap();
        assert_eq!(wire, [&[code][..], &raw].concat(), "{vm}");
        assert_eq!(borsh::from_slice::<VmAddress>(&wire).unwrap(), address, "{vm}");
        // The reverse index: SHA-256("addr:" ‖ code ‖ raw).
        assert_eq!(index_key(&address), sha256_parts(&[b"addr:", &[code], &raw]), "{vm}");
        // The legacy identity: SHA-256(legacy tag ‖ raw), a BVM address as its taproot script.
        let legacy = legacy_tag.map(|tag| match vm {
            "bvm" => sha256_parts(&[tag, &[0x51, 0x20], &raw]),
            _ => sha256_parts(&[tag, &raw]),
        });
        assert_eq!(legacy_id_com(&address), legacy, "{vm}");
        // Text: what wallets show, and it parses back.
        assert_eq!(address.display(), shown, "{vm}");
        let prefixed = format!("{vm}:{shown}");
        assert_eq!(VmAddress::parse(&prefixed).unwrap(), address, "{vm}");
        // (Bare, a BVM address's hex is an id_com's: Bitcoin's own form is `bc1p…`.)
        if vm != "bvm" {
            assert_eq!(VmAddress::parse(shown).unwrap(), address, "{vm}");
        }
    }
}

#[test]
fn malformed_wire_bytes_are_refused() {
    for bad in [&[5u8; 21][..], &[1; 20], &[1; 22], &[0; 32], &[]] {
        assert!(borsh::from_slice::<VmAddress>(bad).is_err(), "{bad:?}");
    }
}
