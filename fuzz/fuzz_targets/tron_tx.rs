//! The Tron transaction decoder: never panics, and accepts only canonical protobuf bytes (one
//! encoding, so one txID per transaction).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_vm_tvm::{TransactionWire, TronTx};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = TronTx::decode(data) {
        let wire = TransactionWire::decode(data).expect("accepted bytes decode");
        assert_eq!(wire.encode_to_vec(), data, "non-canonical Tron transaction accepted");
        assert_eq!(tx.txid, nvm_primitives::sha256(&wire.raw_data));
    }
});
