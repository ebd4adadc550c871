//! Script verification by Bitcoin Core's interpreter (`libbitcoinconsensus` 26's, linked from the
//! `bitcoinconsensus` crate), called through `csrc/verify.cpp` so that a failing input is named
//! with Core's own `SCRIPT_ERR_*` code — the library's C API reports only pass/fail. Every input
//! is checked with all the spent outputs (without them taproot's rules cannot run, and a P2TR
//! output would be spendable by anyone) and with every consensus rule on.

use bitcoin::{Transaction, TxOut, consensus::encode::serialize};
use rayon::prelude::*;
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

/// `csrc/verify.cpp`'s prepared transaction.
#[repr(C)]
struct NvmPreparedTx {
    _opaque: [u8; 0],
}

unsafe extern "C" {
    fn nvm_prepare_tx(
        tx_bytes: *const u8,
        tx_len: usize,
        scripts: *const *const u8,
        script_lens: *const usize,
        amounts: *const i64,
        n_spent: usize,
        status: *mut c_int,
        n_inputs: *mut usize,
    ) -> *mut NvmPreparedTx;
    fn nvm_verify_prepared_input(
        prepared: *const NvmPreparedTx,
        input: usize,
        flags: c_uint,
        script_error: *mut c_int,
    ) -> c_int;
    fn nvm_free_prepared_tx(prepared: *mut NvmPreparedTx);
}

/// A transaction deserialized by Core's code with its signature-hash data precomputed over the
/// outputs it spends: its inputs can be verified from many threads at once.
struct PreparedTx {
    ptr: std::ptr::NonNull<NvmPreparedTx>,
    inputs: usize,
}

// SAFETY: the prepared transaction is never written after `nvm_prepare_tx` returns; verifying
// inputs only reads it (Core verifies one transaction's inputs on parallel threads the same way).
unsafe impl Send for PreparedTx {}
unsafe impl Sync for PreparedTx {}

impl PreparedTx {
    fn new(tx_bytes: &[u8], spent: &[TxOut]) -> Result<Self, ScriptError> {
        let scripts: Vec<*const u8> =
            spent.iter().map(|o| o.script_pubkey.as_bytes().as_ptr()).collect();
        let lens: Vec<usize> = spent.iter().map(|o| o.script_pubkey.len()).collect();
        let amounts: Vec<i64> =
            spent.iter().map(|o| i64::try_from(o.value.to_sat()).unwrap_or(i64::MAX)).collect();
        let (mut status, mut inputs) = (0 as c_int, 0usize);
        // SAFETY: every pointer is to a live buffer of the length passed beside it (`spent`'s
        // scripts outlive the call; `scripts`, `lens` and `amounts` have `spent.len()` entries;
        // the shim copies what it keeps), and the out-pointers are to locals. The shim catches
        // every C++ exception.
        let ptr = unsafe {
            nvm_prepare_tx(
                tx_bytes.as_ptr(),
                tx_bytes.len(),
                scripts.as_ptr(),
                lens.as_ptr(),
                amounts.as_ptr(),
                spent.len(),
                &mut status,
                &mut inputs,
            )
        };
        match std::ptr::NonNull::new(ptr) {
            Some(ptr) => Ok(Self { ptr, inputs }),
            None if status == 3 => {
                Err(ScriptError::SpentOutputsMismatch { inputs, spent: spent.len() })
            }
            None => Err(ScriptError::Malformed),
        }
    }

    fn verify(&self, input: usize, flags: u32) -> Result<(), ScriptError> {
        let mut script_error = 0 as c_int;
        // SAFETY: `ptr` is a live prepared transaction (freed only on drop); the out-pointer is
        // to a local.
        let status = unsafe {
            nvm_verify_prepared_input(self.ptr.as_ptr(), input, flags, &mut script_error)
        };
        match status {
            0 => Ok(()),
            1 => Err(ScriptError::Failed {
                input,
                error: CoreScriptError(u32::try_from(script_error).unwrap_or(1)),
            }),
            4 => Err(ScriptError::NoSuchInput(input)),
            5 => Err(ScriptError::InvalidFlags(flags)),
            _ => Err(ScriptError::Malformed),
        }
    }
}

impl Drop for PreparedTx {
    fn drop(&mut self) {
        // SAFETY: allocated by `nvm_prepare_tx`, freed once, here.
        unsafe { nvm_free_prepared_tx(self.ptr.as_ptr()) }
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
    PreparedTx::new(tx_bytes, spent)?.verify(input, flags)
}

/// Verifies every input of `tx` against the outputs it spends (in input order) under the
/// consensus rules, the inputs in parallel; the failing input of lowest index is the error.
pub fn verify_inputs(tx: &Transaction, spent: &[TxOut]) -> Result<(), ScriptError> {
    if spent.len() != tx.input.len() {
        return Err(ScriptError::SpentOutputsMismatch {
            inputs: tx.input.len(),
            spent: spent.len(),
        });
    }
    let prepared = PreparedTx::new(&serialize(tx), spent)?;
    if prepared.inputs == 1 {
        return prepared.verify(0, CONSENSUS_FLAGS);
    }
    (0..prepared.inputs)
        .into_par_iter()
        .filter_map(|input| prepared.verify(input, CONSENSUS_FLAGS).err())
        .min_by_key(|e| match e {
            ScriptError::Failed { input, .. } | ScriptError::NoSuchInput(input) => *input,
            _ => 0,
        })
        .map_or(Ok(()), Err)
}
