//! The EVM (opcodes 0x10–0x1F): revm over the unified state.

mod call;
mod db;
mod ops;
mod vm;

pub use call::{CallOutcome, CallRequest, estimate_gas, simulate};
pub use db::{DbError, UnifiedDb, code_hash_key, code_key, storage_key};
pub use ops::EvmOp;
pub use vm::{BLOCK_GAS_LIMIT, EvmVm, TX_GAS_CAP, evm_address, revm_block, revm_tx};
