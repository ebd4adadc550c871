//! The Ethereum transaction decoder (what `eth_sendRawTransaction` takes): never panics, accepts
//! only canonical encodings, and whatever it accepts re-encodes to the same bytes and hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_vm_evm::EthereumTx;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = EthereumTx::decode(data) {
        assert_eq!(tx.encoded(), data, "non-canonical Ethereum transaction accepted");
        // Blocks name it by its format's hash: the same one.
        let format = <nvm_vm_evm::EvmVm>::default();
        assert_eq!(Some(tx.hash()), nvm_vm_api::WalletFormat::tx_hash(&format, data));
        let _ = tx.check(Default::default());
        let _ = tx.revm_tx();
    }
});
