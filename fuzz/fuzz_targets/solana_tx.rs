//! The Solana transaction decoder (what `sendTransaction` carries): never panics, accepts only
//! canonical wire bytes, and whatever it accepts is filed under SHA-256 of its first signature.
//! The SVM's envelope operation (`SvmOp::Invoke`, a Solana message an identity runs) decodes
//! strictly too: what it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_vm_svm::{SolanaTx, SvmOp};

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SolanaTx::decode(data) {
        // Blocks name it by its format's hash: the same one.
        let format = nvm_vm_svm::SvmVm::default();
        assert_eq!(Some(tx.hash()), nvm_vm_api::WalletFormat::tx_hash(&format, data));
        let _ = (tx.fee_payer(), tx.recent_blockhash());
    }
    // As an envelope payload: the opcode, then a length-prefixed message.
    let mut payload = vec![nvm_vm_svm::OPCODE_INVOKE];
    payload.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
    payload.extend_from_slice(data);
    if let Ok((op, _)) = SvmOp::decode(&payload) {
        assert_eq!(op.encode(), payload, "an SVM operation accepted with bytes after it");
    }
});
