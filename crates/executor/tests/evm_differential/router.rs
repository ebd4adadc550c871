//! The differential test's contract, written in EVM assembly: one contract that, by its first
//! calldata byte, stores, calls another account (and may revert after the call returns), deploys
//! with CREATE2, self-destructs or reverts — so random calldata sequences reach nested calls,
//! reverts inside them, creations, destructions and storage refunds.

/// Calldata commands (the first byte; anything else, or no calldata, just accepts the value).
const STORE: u8 = 1;
const CALL: u8 = 2;
const CREATE2: u8 = 3;
const DESTRUCT: u8 = 4;
const REVERT: u8 = 5;
/// As CALL, then revert this frame (undoing the callee's writes too) with the callee's output.
const CALL_THEN_REVERT: u8 = 6;

/// Storage slot holding the last call's success (slot 8 holds the last CREATE2's address).
pub const CALL_SUCCESS_SLOT: u64 = 9;

/// The router's runtime code. Layout of the arguments after the command byte:
/// STORE `slot ‖ value` (32 bytes each; logs LOG1(topic = slot, data = value));
/// CALL / CALL_THEN_REVERT `target (20) ‖ value (32) ‖ inner calldata`;
/// CREATE2 `salt (32) ‖ init code` (the call's value goes to the new contract);
/// DESTRUCT `beneficiary (20)`; REVERT: with data `0xdead`.
const RUNTIME: &str = "
    PUSH1 0x00 CALLDATALOAD PUSH1 0xf8 SHR
    DUP1 PUSH1 0x01 EQ @store JUMPI
    DUP1 PUSH1 0x02 EQ @call JUMPI
    DUP1 PUSH1 0x06 EQ @call JUMPI
    DUP1 PUSH1 0x03 EQ @create2 JUMPI
    DUP1 PUSH1 0x04 EQ @destruct JUMPI
    DUP1 PUSH1 0x05 EQ @revert JUMPI
    STOP
  :store
    PUSH1 0x21 CALLDATALOAD PUSH1 0x01 CALLDATALOAD SSTORE
    PUSH1 0x21 CALLDATALOAD PUSH1 0x00 MSTORE
    PUSH1 0x01 CALLDATALOAD PUSH1 0x20 PUSH1 0x00 LOG1
    STOP
  :call
    CALLDATASIZE PUSH1 0x35 SWAP1 SUB
    DUP1 PUSH1 0x35 PUSH1 0x00 CALLDATACOPY
    PUSH1 0x00 PUSH1 0x00 DUP3 PUSH1 0x00
    PUSH1 0x15 CALLDATALOAD
    PUSH1 0x01 CALLDATALOAD PUSH1 0x60 SHR
    GAS CALL
    PUSH1 0x09 SSTORE
    RETURNDATASIZE PUSH1 0x00 PUSH1 0x00 RETURNDATACOPY
    PUSH1 0x06 DUP3 EQ @unwind JUMPI
    RETURNDATASIZE PUSH1 0x00 RETURN
  :unwind
    RETURNDATASIZE PUSH1 0x00 REVERT
  :create2
    CALLDATASIZE PUSH1 0x21 SWAP1 SUB
    DUP1 PUSH1 0x21 PUSH1 0x00 CALLDATACOPY
    PUSH1 0x01 CALLDATALOAD DUP2 PUSH1 0x00 CALLVALUE CREATE2
    DUP1 PUSH1 0x08 SSTORE
    PUSH1 0x00 MSTORE PUSH1 0x20 PUSH1 0x00 RETURN
  :destruct
    PUSH1 0x01 CALLDATALOAD PUSH1 0x60 SHR SELFDESTRUCT
  :revert
    PUSH2 0xdead PUSH1 0x00 MSTORE PUSH1 0x20 PUSH1 0x00 REVERT
";

/// Assembles whitespace-separated mnemonics: `PUSHn 0x..` with its literal, `@label` as a
/// PUSH2 of the label's offset, `:label` as a JUMPDEST there.
fn assemble(source: &str) -> Vec<u8> {
    let opcode = |name: &str| -> u8 {
        match name {
            "STOP" => 0x00,
            "SUB" => 0x03,
            "EQ" => 0x14,
            "SHR" => 0x1c,
            "CALLER" => 0x33,
            "CALLVALUE" => 0x34,
            "CALLDATALOAD" => 0x35,
            "CALLDATASIZE" => 0x36,
            "CALLDATACOPY" => 0x37,
            "CODECOPY" => 0x39,
            "RETURNDATASIZE" => 0x3d,
            "RETURNDATACOPY" => 0x3e,
            "MSTORE" => 0x52,
            "SSTORE" => 0x55,
            "JUMPI" => 0x57,
            "GAS" => 0x5a,
            "LOG1" => 0xa1,
            "CALL" => 0xf1,
            "RETURN" => 0xf3,
            "CREATE2" => 0xf5,
            "REVERT" => 0xfd,
            "SELFDESTRUCT" => 0xff,
            _ if name.starts_with("PUSH") => 0x5f + name[4..].parse::<u8>().unwrap(),
            _ if name.starts_with("DUP") => 0x7f + name[3..].parse::<u8>().unwrap(),
            _ if name.starts_with("SWAP") => 0x8f + name[4..].parse::<u8>().unwrap(),
            other => panic!("unknown mnemonic {other}"),
        }
    };
    let tokens: Vec<&str> = source.split_whitespace().collect();
    let mut labels = std::collections::HashMap::new();
    for pass in 0..2 {
        let mut code = Vec::new();
        for token in &tokens {
            if let Some(label) = token.strip_prefix(':') {
                labels.insert(label.to_string(), code.len());
                code.push(0x5b);
            } else if let Some(label) = token.strip_prefix('@') {
                let at = labels.get(label).copied().unwrap_or(0);
                assert!(pass == 0 || labels.contains_key(label), "no label {label}");
                code.push(0x61);
                code.extend((at as u16).to_be_bytes());
            } else if let Some(literal) = token.strip_prefix("0x") {
                code.extend(hex::decode(literal).unwrap());
            } else {
                code.push(opcode(token));
            }
        }
        if pass == 1 {
            return code;
        }
    }
    unreachable!()
}

/// Init code returning `runtime`: CODECOPY it after this 13-byte prefix, RETURN it.
fn deployer_of(runtime: &[u8]) -> Vec<u8> {
    let len = (runtime.len() as u16).to_be_bytes();
    let mut code =
        vec![0x61, len[0], len[1], 0x80, 0x61, 0x00, 13, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3];
    code.extend(runtime);
    code
}

/// The router's init code.
pub fn init_code() -> Vec<u8> {
    deployer_of(&assemble(RUNTIME))
}

/// Init code that self-destructs to its creator before it has code: created and destroyed in
/// one transaction, so the account is gone afterwards (EIP-6780), its value with the creator.
pub fn self_destructing_init_code() -> Vec<u8> {
    assemble("CALLER SELFDESTRUCT")
}

fn word(value: u128) -> [u8; 32] {
    let mut out = [0; 32];
    out[16..].copy_from_slice(&value.to_be_bytes());
    out
}

pub fn store(slot: u8, value: u64) -> Vec<u8> {
    [&[STORE][..], &word(slot.into()), &word(value.into())].concat()
}

pub fn call(target: [u8; 20], value: u128, inner: &[u8], then_revert: bool) -> Vec<u8> {
    let command = if then_revert { CALL_THEN_REVERT } else { CALL };
    [&[command][..], &target, &word(value), inner].concat()
}

pub fn create2(salt: u8, init_code: &[u8]) -> Vec<u8> {
    [&[CREATE2][..], &word(salt.into()), init_code].concat()
}

pub fn destruct(beneficiary: [u8; 20]) -> Vec<u8> {
    [&[DESTRUCT][..], &beneficiary].concat()
}

pub fn revert() -> Vec<u8> {
    vec![REVERT]
}

#[test]
fn labels_resolve_to_jumpdests() {
    let code = assemble(RUNTIME);
    // Every PUSH2 of a label points at a JUMPDEST.
    let mut i = 0;
    while i < code.len() {
        let op = code[i];
        if op == 0x61 && code.get(i + 3).is_some_and(|next| *next == 0x57) {
            let at = u16::from_be_bytes([code[i + 1], code[i + 2]]) as usize;
            assert_eq!(code[at], 0x5b, "PUSH2 at {i} names {at}");
        }
        i += if (0x60..=0x7f).contains(&op) { 1 + (op - 0x5f) as usize } else { 1 };
    }
}
