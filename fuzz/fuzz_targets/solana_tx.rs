//! The Solana transaction decoder (what `sendTransaction` carries): never panics, accepts only
//! canonical wire bytes, and whatever it accepts is filed under SHA-256 of its first signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_vm_svm::SolanaTx;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SolanaTx::decode(data) {
        let mut tagged = vec![nvm_primitives::SOLANA_TX_TAG];
        tagged.extend_from_slice(data);
        assert_eq!(Some(tx.hash()), nvm_primitives::block_tx_hash(&tagged));
        let _ = (tx.fee_payer(), tx.recent_blockhash());
    }
});
