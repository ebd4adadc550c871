//! Script verification by Bitcoin Core's interpreter (`libbitcoinconsensus` 26's, linked from the
//! `bitcoinconsensus` crate), called through `csrc/verify.cpp` so that a failing input is named
//! with Core's own `SCRIPT_ERR_*` code — the library's C API reports only pass/fail. Every input
//! is checked with all the spent outputs (without them taproot's rules cannot run, and a P2TR
//! output would be spendable by anyone) and with every consensus rule on.

use bitcoin::{Transaction, TxOut, consensus::encode::serialize};
use std::ffi::{c_int, c_uint};

/// Bitcoin Core's script verification flags (`SCRIPT_VERIFY_*` in `script/interpreter.h`).
pub mod flags {
    pub const P2SH: u32 = 1 << 0;
    pub const STRICTENC: u32 = 1 << 1;
    pub const DERSIG: u32 = 1 << 2;
    pub const LOW_S: u32 = 1 << 3;
    pub const NULLDUMMY: u32 = 1 << 4;
    pub const SIGPUSHONLY: u32 = 1 << 5;
    pub const MINIMALDATA: u32 = 1 << 6;
    pub const DISCOURAGE_UPGRADABLE_NOPS: u32 = 1 << 7;
    pub const CLEANSTACK: u32 = 1 << 8;
    pub const CHECKLOCKTIMEVERIFY: u32 = 1 << 9;
    pub const CHECKSEQUENCEVERIFY: u32 = 1 << 10;
    pub const WITNESS: u32 = 1 << 11;
    pub const DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM: u32 = 1 << 12;
    pub const MINIMALIF: u32 = 1 << 13;
    pub const NULLFAIL: u32 = 1 << 14;
    pub const WITNESS_PUBKEYTYPE: u32 = 1 << 15;
    pub const CONST_SCRIPTCODE: u32 = 1 << 16;
    pub const TAPROOT: u32 = 1 << 17;

    /// A flag by the name Core's test vectors give it.
    pub fn by_name(name: &str) -> Option<u32> {
        Some(match name {
            "NONE" => 0,
            "P2SH" => P2SH,
            "STRICTENC" => STRICTENC,
            "DERSIG" => DERSIG,
            "LOW_S" => LOW_S,
            "NULLDUMMY" => NULLDUMMY,
            "SIGPUSHONLY" => SIGPUSHONLY,
            "MINIMALDATA" => MINIMALDATA,
            "DISCOURAGE_UPGRADABLE_NOPS" => DISCOURAGE_UPGRADABLE_NOPS,
            "CLEANSTACK" => CLEANSTACK,
            "CHECKLOCKTIMEVERIFY" => CHECKLOCKTIMEVERIFY,
            "CHECKSEQUENCEVERIFY" => CHECKSEQUENCEVERIFY,
            "WITNESS" => WITNESS,
            "DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM" => DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM,
            "MINIMALIF" => MINIMALIF,
            "NULLFAIL" => NULLFAIL,
            "WITNESS_PUBKEYTYPE" => WITNESS_PUBKEYTYPE,
            "CONST_SCRIPTCODE" => CONST_SCRIPTCODE,
            "TAPROOT" => TAPROOT,
            _ => return None,
        })
    }
}

/// Bitcoin's consensus rules since block 709,632: P2SH, strict DER, NULLDUMMY,
/// CHECKLOCKTIMEVERIFY, CHECKSEQUENCEVERIFY, segwit and taproot. Core's policy rules (clean
/// stack, upgradable NOPs, …) are not consensus and are not applied to blocks or admission.
pub const CONSENSUS_FLAGS: u32 = flags::P2SH
    | flags::DERSIG
    | flags::NULLDUMMY
    | flags::CHECKLOCKTIMEVERIFY
    | flags::CHECKSEQUENCEVERIFY
    | flags::WITNESS
    | flags::TAPROOT;

// The library `csrc/verify.cpp` calls into is the `bitcoinconsensus` crate's (this reference also
// links it): the consensus flags are the ones it verifies with.
const _: () = assert!(
    CONSENSUS_FLAGS == bitcoinconsensus::VERIFY_ALL_PRE_TAPROOT | bitcoinconsensus::VERIFY_TAPROOT
);

/// Core's `ScriptError_t` names, in its order (`script/script_error.h`), without `SCRIPT_ERR_`.
const SCRIPT_ERRORS: &[&str] = &[
    "OK",
    "UNKNOWN_ERROR",
    "EVAL_FALSE",
    "OP_RETURN",
    "SCRIPT_SIZE",
    "PUSH_SIZE",
    "OP_COUNT",
    "STACK_SIZE",
    "SIG_COUNT",
    "PUBKEY_COUNT",
    "VERIFY",
    "EQUALVERIFY",
    "CHECKMULTISIGVERIFY",
    "CHECKSIGVERIFY",
    "NUMEQUALVERIFY",
    "BAD_OPCODE",
    "DISABLED_OPCODE",
    "INVALID_STACK_OPERATION",
    "INVALID_ALTSTACK_OPERATION",
    "UNBALANCED_CONDITIONAL",
    "NEGATIVE_LOCKTIME",
    "UNSATISFIED_LOCKTIME",
    "SIG_HASHTYPE",
    "SIG_DER",
    "MINIMALDATA",
    "SIG_PUSHONLY",
    "SIG_HIGH_S",
    "SIG_NULLDUMMY",
    "PUBKEYTYPE",
    "CLEANSTACK",
    "MINIMALIF",
    "SIG_NULLFAIL",
    "DISCOURAGE_UPGRADABLE_NOPS",
    "DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM",
    "DISCOURAGE_UPGRADABLE_TAPROOT_VERSION",
    "DISCOURAGE_OP_SUCCESS",
    "DISCOURAGE_UPGRADABLE_PUBKEYTYPE",
    "WITNESS_PROGRAM_WRONG_LENGTH",
    "WITNESS_PROGRAM_WITNESS_EMPTY",
    "WITNESS_PROGRAM_MISMATCH",
    "WITNESS_MALLEATED",
    "WITNESS_MALLEATED_P2SH",
    "WITNESS_UNEXPECTED",
    "WITNESS_PUBKEYTYPE",
    "SCHNORR_SIG_SIZE",
    "SCHNORR_SIG_HASHTYPE",
    "SCHNORR_SIG",
    "TAPROOT_WRONG_CONTROL_SIZE",
    "TAPSCRIPT_VALIDATION_WEIGHT",
    "TAPSCRIPT_CHECKMULTISIG",
    "TAPSCRIPT_MINIMALIF",
    "OP_CODESEPARATOR",
    "SIG_FINDANDDELETE",
];

/// One of Core's script errors, by its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreScriptError(pub u32);

impl CoreScriptError {
    /// Core's name without `SCRIPT_ERR_` (as its test vectors write it): `EVAL_FALSE`, …
    pub fn name(&self) -> &'static str {
        usize::try_from(self.0).ok().and_then(|i| SCRIPT_ERRORS.get(i)).unwrap_or(&"UNKNOWN_ERROR")
    }
}

impl std::fmt::Display for CoreScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SCRIPT_ERR_{}", self.name())
    }
}

/// Why an input does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The scripts ran and failed, with Core's reason (`input 1: SCRIPT_ERR_EVAL_FALSE`).
    #[error("input {input}: {error}")]
    Failed { input: usize, error: CoreScriptError },
    /// The interpreter could not read the bytes as exactly one transaction.
    #[error("Bitcoin Core's interpreter cannot deserialize the transaction")]
    Malformed,
    #[error("the transaction spends {inputs} inputs but {spent} spent outputs were given")]
    SpentOutputsMismatch { inputs: usize, spent: usize },
    #[error("the transaction has no input {0}")]
    NoSuchInput(usize),
    /// Flags Core's interpreter does not take together (WITNESS without P2SH, CLEANSTACK
    /// without both) or does not know.
    #[error("verification flags {0:#x} are not a combination Bitcoin Core's interpreter takes")]
    InvalidFlags(u32),
}

unsafe extern "C" {
    /// `csrc/verify.cpp`.
    fn nvm_verify_inputs(
        tx_bytes: *const u8,
        tx_len: usize,
        scripts: *const *const u8,
        script_lens: *const usize,
        amounts: *const i64,
        n_spent: usize,
        only: usize,
        flags: c_uint,
        failed_input: *mut usize,
        script_error: *mut c_int,
    ) -> c_int;
}

/// Runs the interpreter over input `only` of `tx_bytes` (every input, in order, when `None`).
fn verify(
    tx_bytes: &[u8],
    only: Option<usize>,
    spent: &[TxOut],
    flags: u32,
) -> Result<(), ScriptError> {
    let scripts: Vec<*const u8> =
        spent.iter().map(|o| o.script_pubkey.as_bytes().as_ptr()).collect();
    let lens: Vec<usize> = spent.iter().map(|o| o.script_pubkey.len()).collect();
    let amounts: Vec<i64> =
        spent.iter().map(|o| i64::try_from(o.value.to_sat()).unwrap_or(i64::MAX)).collect();
    let (mut failed_input, mut script_error) = (0usize, 0 as c_int);
    // SAFETY: every pointer is to a live buffer of the length passed beside it (`spent`'s
    // scripts outlive the call; `scripts`, `lens` and `amounts` have `spent.len()` entries), and
    // the two out-pointers are to locals. The shim reads only within those bounds and catches
    // every C++ exception.
    let status = unsafe {
        nvm_verify_inputs(
            tx_bytes.as_ptr(),
            tx_bytes.len(),
            scripts.as_ptr(),
            lens.as_ptr(),
            amounts.as_ptr(),
            spent.len(),
            only.unwrap_or(usize::MAX),
            flags,
            &mut failed_input,
            &mut script_error,
        )
    };
    match status {
        0 => Ok(()),
        1 => Err(ScriptError::Failed {
            input: failed_input,
            error: CoreScriptError(u32::try_from(script_error).unwrap_or(1)),
        }),
        3 => Err(ScriptError::SpentOutputsMismatch { inputs: failed_input, spent: spent.len() }),
        4 => Err(ScriptError::NoSuchInput(only.unwrap_or(0))),
        5 => Err(ScriptError::InvalidFlags(flags)),
        _ => Err(ScriptError::Malformed),
    }
}

/// Verifies input `input` of a transaction (its consensus serialization in `tx_bytes`) against
/// `spent`, the outputs every input spends, in input order, under `flags` (any of [`flags`],
/// Core's policy rules included).
pub fn verify_input(
    tx_bytes: &[u8],
    input: usize,
    spent: &[TxOut],
    flags: u32,
) -> Result<(), ScriptError> {
    verify(tx_bytes, Some(input), spent, flags)
}

/// Verifies every input of `tx` against the outputs it spends (in input order) under the
/// consensus rules; the first failing input is the error.
pub fn verify_inputs(tx: &Transaction, spent: &[TxOut]) -> Result<(), ScriptError> {
    if spent.len() != tx.input.len() {
        return Err(ScriptError::SpentOutputsMismatch {
            inputs: tx.input.len(),
            spent: spent.len(),
        });
    }
    verify(&serialize(tx), None, spent, CONSENSUS_FLAGS)
}
