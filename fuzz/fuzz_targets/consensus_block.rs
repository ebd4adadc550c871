//! The block codec consensus uses on the wire and in marshal's archives (blocks arrive from any
//! peer): never panics, and whatever decodes re-encodes to the same bytes.
#![no_main]

use commonware_codec::{DecodeExt, Encode};
use libfuzzer_sys::fuzz_target;
use nvm_consensus::ConsensusBlock;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = ConsensusBlock::decode(data.to_vec()) {
        assert_eq!(block.encode().to_vec(), data);
    }
});
