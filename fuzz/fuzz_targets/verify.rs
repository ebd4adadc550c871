//! Envelope decoding plus signature verification on arbitrary bytes: never panics, and nothing
//! random verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_executor::VerifiedTx;

fuzz_target!(|data: &[u8]| {
    let single = VerifiedTx::verify(data.to_vec());
    let batched = VerifiedTx::verify_many(vec![data.to_vec()]).pop();
    assert_eq!(single.is_ok(), matches!(batched, Some(Ok(_))), "batch and single verification disagree");
});
