//! The Solana VM (opcodes 0x20–0x2F): Agave's SVM over the unified state.

pub mod accounts;
mod runtime;

pub use accounts::{UNITS_PER_LAMPORT, account_key};
pub use runtime::{LAMPORTS_PER_SIGNATURE, LinearForks, SvmOutcome, SvmRuntime};
