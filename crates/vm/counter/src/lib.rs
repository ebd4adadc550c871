//! A test-only VM: a counter per identity, entered by native envelopes (opcodes 0x50–0x5F) and
//! by a wallet format of its own (tag 0xC7), with its own address format (`ctr…`), receipt data
//! and JSON-RPC method. It exists to show that a VM is one crate and one line of registration.

mod address;
mod format;
pub mod rpc;
mod vm;

pub use address::COUNTER_FORMAT;
pub use format::{COUNTER_FEE, COUNTER_TX_TAG, CounterTx, signed_increment};
pub use vm::{CounterOp, CounterVm, OPCODE_INCREMENT, counter, counter_key};
