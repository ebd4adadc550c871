//! Finalization certificates a node serves (`nvm_getFinalization`), as a client checks them:
//! arbitrary bytes never panic the check and never pass it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Four validators with keys no fuzzer input can sign for.
    let validators: Vec<[u8; 32]> = (1u8..=4)
        .map(|i| {
            let key = ed25519_dalek::SigningKey::from_bytes(&[i; 32]);
            key.verifying_key().to_bytes()
        })
        .collect();
    assert!(nvm_consensus::verify_finalization(31_337, &validators, data, &[0; 32]).is_err());
});
