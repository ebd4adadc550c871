//! Transaction gossip messages (from any peer): never panic, stay within their bounds, and only
//! canonical encodings decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_consensus::gossip::{MAX_GOSSIP_TXS, decode_batch, encode_batch};

fuzz_target!(|data: &[u8]| {
    if let Ok(raws) = decode_batch(data) {
        assert!(raws.len() <= MAX_GOSSIP_TXS);
        assert!(raws.iter().all(|raw| raw.len() <= nvm_primitives::MAX_TX_SIZE));
        assert_eq!(encode_batch(&raws), data);
    }
});
