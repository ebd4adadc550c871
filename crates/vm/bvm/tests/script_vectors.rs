//! Bitcoin Core's script test vectors (`tests/vectors`, from `../shared/vectors/bitcoin-script`), run as Core's
//! `script_tests.cpp` runs them: a crediting transaction whose one output has the vector's
//! scriptPubKey and a spending transaction whose one input has its scriptSig, verified by the
//! interpreter with the vector's flags — Core's policy flags included. Every valid vector passes,
//! every invalid one fails; under the consensus rules alone (what blocks and admission apply),
//! the invalid ones that pass are exactly the policy-only ones (`POLICY_ONLY`, docs/BVM.md), each
//! refused with its policy flags by Core's error of that name.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness, absolute::LockTime,
    consensus::encode::serialize, opcodes::Opcode, transaction::Version,
};
use nvm_vm_bvm::{CONSENSUS_FLAGS, ScriptError, flags};
use std::{collections::HashMap, path::Path};

/// Two invalid vectors of this (older) file that Bitcoin Core 26 itself accepts under their flags:
/// its interpreter runs `NOP2`/`NOP3` without the CLTV/CSV flag as plain NOPs, before the cases
/// that DISCOURAGE_UPGRADABLE_NOPS refuses (those soft forks took these two NOPs).
const NO_LONGER_DISCOURAGED: &[(&str, &str, &str)] = &[
    ("1", "CHECKLOCKTIMEVERIFY", "P2SH,DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "NOP3", "P2SH,DISCOURAGE_UPGRADABLE_NOPS"),
];

/// The invalid vectors Bitcoin's consensus rules accept, by (scriptSig, scriptPubKey): each fails
/// in Bitcoin Core only under a policy flag, with the error named here.
/// Fourteen: the upgradable NOPs Core's policy discourages, and two spends that leave extra
/// items on the stack (CLEANSTACK).
const POLICY_ONLY: &[(&str, &str, &str)] = &[
    ("1", "NOP1", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "CHECKLOCKTIMEVERIFY", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "NOP3", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "NOP4", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "NOP5", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "NOP6", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "NOP7", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "NOP8", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "NOP9", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("1", "NOP10", "DISCOURAGE_UPGRADABLE_NOPS"),
    ("NOP10", "1", "DISCOURAGE_UPGRADABLE_NOPS"),
    (
        "1 0x01 0xb9",
        "HASH160 0x14 0x15727299b05b45fdaf9ac9ecf7565cfe27c3e567 EQUAL",
        "DISCOURAGE_UPGRADABLE_NOPS",
    ),
    (
        "11 0x47 0x304402200a5c6163f07b8d3b013c4d1d6dba25e780b39658d79ba37af7057a3b7f15ffa102201fd9b4eaa9943f734928b99a83592c2e7bf342ea2680f6a2bb705167966b742001",
        "0x41 0x0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8 CHECKSIG",
        "CLEANSTACK",
    ),
    (
        "11 0x47 0x304402202f7505132be14872581f35d74b759212d9da40482653f1ffa3116c3294a4a51702206adbf347a2240ca41c66522b1a22a41693610b76a8e7770645dc721d1635854f01 0x43 0x410479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8ac",
        "HASH160 0x14 0x31edc23bdafda4639e669f89ad6b2318dd79d032 EQUAL",
        "CLEANSTACK",
    ),
];

/// The vector's flags, as Core's `ParseScriptFlags` reads them; CLEANSTACK brings P2SH and
/// WITNESS, as in Core's `script_tests.cpp` (the interpreter takes it only with both).
fn parse_flags(text: &str) -> u32 {
    let all = text
        .split(',')
        .filter(|n| !n.is_empty())
        .map(|name| flags::by_name(name).unwrap_or_else(|| panic!("unknown flag {name}")))
        .fold(0, |all, flag| all | flag);
    if all & flags::CLEANSTACK != 0 { all | flags::P2SH | flags::WITNESS } else { all }
}

/// Opcode names as Core's `ParseScript` takes them (without `OP_`): the opcodes from `NOP` up
/// and `RESERVED`, by rust-bitcoin's names, and Core's names where they differ.
fn opcode_names() -> HashMap<String, u8> {
    let mut names = HashMap::new();
    for byte in std::iter::once(0x50).chain(0x61..=0xb9) {
        let name = Opcode::from(byte).to_string();
        names.insert(name.trim_start_matches("OP_").to_string(), byte);
    }
    for (alias, byte) in [("NOP2", 0xb1), ("CHECKLOCKTIMEVERIFY", 0xb1), ("NOP3", 0xb2)] {
        names.insert(alias.to_string(), byte);
    }
    names
}

/// `bytes` pushed as Core's `CScript << vector` pushes them.
fn push(script: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len < 0x4c {
        script.push(len as u8);
    } else if len <= 0xff {
        script.extend([0x4c, len as u8]);
    } else if len <= 0xffff {
        script.push(0x4d);
        script.extend((len as u16).to_le_bytes());
    } else {
        script.push(0x4e);
        script.extend((len as u32).to_le_bytes());
    }
    script.extend_from_slice(bytes);
}

/// A number as Core's `CScriptNum::serialize` writes it: little-endian magnitude, sign bit on top.
fn script_num(n: i64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut magnitude = n.unsigned_abs();
    while magnitude > 0 {
        out.push((magnitude & 0xff) as u8);
        magnitude >>= 8;
    }
    if let Some(last) = out.last().copied() {
        if last & 0x80 != 0 {
            out.push(if n < 0 { 0x80 } else { 0 });
        } else if n < 0 {
            *out.last_mut().unwrap() |= 0x80;
        }
    }
    out
}

/// Core's `ParseScript`: numbers, `0x…` raw bytes, `'…'` pushed strings, opcode names.
fn parse_script(text: &str, names: &HashMap<String, u8>) -> Vec<u8> {
    let mut script = Vec::new();
    for word in text.split_whitespace() {
        let numeric = word.strip_prefix('-').unwrap_or(word);
        if !numeric.is_empty() && numeric.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = word.parse().unwrap();
            match n {
                -1 => script.push(0x4f),
                0 => script.push(0x00),
                1..=16 => script.push(0x50 + n as u8),
                _ => push(&mut script, &script_num(n)),
            }
        } else if let Some(hex) = word.strip_prefix("0x").filter(|h| !h.is_empty()) {
            script.extend(hex::decode(hex).unwrap_or_else(|e| panic!("{word}: {e}")));
        } else if word.len() >= 2 && word.starts_with('\'') && word.ends_with('\'') {
            push(&mut script, &word.as_bytes()[1..word.len() - 1]);
        } else {
            let byte = names.get(word).unwrap_or_else(|| panic!("unknown opcode {word}"));
            script.push(*byte);
        }
    }
    script
}

/// Core's `BuildCreditingTransaction` and `BuildSpendingTransaction`.
fn spend(script_sig: Vec<u8>, script_pubkey: Vec<u8>) -> (Transaction, TxOut) {
    let credited =
        TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::from_bytes(script_pubkey) };
    let crediting = Transaction {
        version: Version(1),
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::from_bytes(vec![0x00, 0x00]),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![credited.clone()],
    };
    let spending = Transaction {
        version: Version(1),
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: crediting.compute_txid(), vout: 0 },
            script_sig: ScriptBuf::from_bytes(script_sig),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::new() }],
    };
    (spending, credited)
}

struct Vector {
    script_sig: String,
    script_pubkey: String,
    flags: String,
}

fn vectors(file: &str) -> Vec<Vector> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let all: Vec<Vec<serde_json::Value>> = serde_json::from_str(&text).unwrap();
    all.into_iter()
        .filter(|v| v.len() >= 3) // one-element rows are comments
        .map(|v| Vector {
            script_sig: v[0].as_str().unwrap().to_string(),
            script_pubkey: v[1].as_str().unwrap().to_string(),
            flags: v[2].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Runs a vector under its flags, or only under those of them that are consensus rules.
fn run(
    vector: &Vector,
    names: &HashMap<String, u8>,
    consensus_only: bool,
) -> Result<(), ScriptError> {
    let mut flags = parse_flags(&vector.flags);
    if consensus_only {
        flags &= CONSENSUS_FLAGS;
    }
    let sig = parse_script(&vector.script_sig, names);
    let pubkey = parse_script(&vector.script_pubkey, names);
    let (tx, credited) = spend(sig, pubkey);
    nvm_vm_bvm::verify_input(&serialize(&tx), 0, &[credited], flags)
}

#[test]
fn every_valid_vector_of_bitcoin_core_verifies() {
    let names = opcode_names();
    let valid = vectors("script_valid.json");
    assert_eq!(valid.len(), 593);
    let failed: Vec<String> = valid
        .iter()
        .filter_map(|v| match run(v, &names, false) {
            Ok(()) => None,
            Err(e) => {
                Some(format!("[{:?}, {:?}, {:?}]: {e}", v.script_sig, v.script_pubkey, v.flags))
            }
        })
        .collect();
    assert!(failed.is_empty(), "{} valid vectors failed:\n{}", failed.len(), failed.join("\n"));
}

#[test]
fn every_invalid_vector_of_bitcoin_core_fails_with_its_flags() {
    let names = opcode_names();
    let invalid = vectors("script_invalid.json");
    let accepted: Vec<_> = invalid
        .iter()
        .filter(|v| run(v, &names, false).is_ok())
        .map(|v| format!("[{:?}, {:?}, {:?}]", v.script_sig, v.script_pubkey, v.flags))
        .collect();
    let expected: Vec<_> = NO_LONGER_DISCOURAGED
        .iter()
        .map(|(sig, pubkey, flags)| format!("[{sig:?}, {pubkey:?}, {flags:?}]"))
        .collect();
    assert_eq!(accepted, expected, "invalid vectors Bitcoin Core 26 accepts under their flags");
}

#[test]
fn under_consensus_rules_alone_only_the_policy_vectors_pass_and_core_names_their_policy() {
    let names = opcode_names();
    let mut accepted = Vec::new();
    for v in &vectors("script_invalid.json") {
        if run(v, &names, true).is_err() {
            continue;
        }
        // Under its own flags, Core refuses it by the policy rule it needs.
        let refused = match run(v, &names, false) {
            Err(ScriptError::Failed { input: 0, error }) => error.name().to_string(),
            Ok(()) => "DISCOURAGE_UPGRADABLE_NOPS".to_string(), // NO_LONGER_DISCOURAGED
            Err(other) => panic!("{:?}: {other}", v.script_pubkey),
        };
        accepted.push((v.script_sig.clone(), v.script_pubkey.clone(), refused));
    }
    let known: Vec<(String, String, String)> = POLICY_ONLY
        .iter()
        .map(|(sig, pubkey, flag)| (sig.to_string(), pubkey.to_string(), flag.to_string()))
        .collect();
    assert_eq!(accepted, known, "the invalid vectors Bitcoin's consensus rules accept");
}
