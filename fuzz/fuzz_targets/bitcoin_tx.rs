//! The Bitcoin transaction decoder (what `nvm_sendBitcoinTransaction` takes) and the Bitcoin
//! address parser (what `nvm transfer --to` and `nvm_getUtxos` take): never panic; an accepted
//! transaction is exactly its consensus encoding, and an accepted address's script shows as an
//! address that parses back to the same script. The BVM's envelope operations (lock, hold, link a
//! key) decode strictly: an accepted one re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use bitcoin::hashes::Hash;
use nvm_vm_bvm::{BitcoinTx, BvmOp, script_of};

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = BitcoinTx::decode(data) {
        let encoded = bitcoin::consensus::encode::serialize(tx.transaction());
        assert_eq!(encoded, data, "a Bitcoin transaction accepted with bytes after it or re-encoded differently");
        assert_eq!(tx.txid(), tx.transaction().compute_txid().to_byte_array());
    }
    if let Ok(op) = BvmOp::decode(data) {
        assert_eq!(op.encode(), data, "a BVM operation accepted with bytes after it");
    }
    if let Ok(text) = std::str::from_utf8(data)
        && !text.starts_with("script:")
        && let Ok(script) = script_of(text)
    {
        let address = bitcoin::Address::from_script(bitcoin::Script::from_bytes(&script), bitcoin::Network::Bitcoin)
            .expect("an address's script is an address's");
        assert_eq!(script_of(&address.to_string()), Ok(script));
    }
});
