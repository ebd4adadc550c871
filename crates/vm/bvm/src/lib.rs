//! The Bitcoin Script VM (opcodes 0x30–0x3F): native-token value in UTXOs under any Bitcoin
//! script — locked there by an envelope operation, spent by the transactions Bitcoin wallets
//! sign — verified by Bitcoin Core's own interpreter (docs/BVM.md).

mod chain;
mod format;
pub mod link;
pub mod ops;
pub mod script;
mod vm;

pub use format::{BITCOIN_TX_TAG, BitcoinTx, BvmVm, MAX_WEIGHT, OPCODE_SPEND};
pub use link::{key_scripts, verify_link};
pub use nvm_utxo::{
    self as utxo, UNITS_PER_SAT, Utxo, credited_identity, declare_credited, funding_transaction,
};
pub use ops::{BvmOp, MAX_LINK_MINTS, OPCODE_LOCK, script_of};
pub use script::{
    CONSENSUS_FLAGS, CoreScriptError, ScriptError, flags, verify_input, verify_inputs,
};
