//! What Tron's HTTP API reads from requests and state without a node: addresses (hex or
//! base58check), transaction `raw_data` bytes and a deployment's ABI bytes. Never panics; an
//! address that parses shows back as itself in both forms; a `raw` that shows as JSON has the
//! txID of its bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvm_rpc_tron::json::{abi_json, base58_address, hex_address, parse_address, transaction_json};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    match selector % 3 {
        0 => {
            let Ok(text) = std::str::from_utf8(body) else { return };
            if let Ok(address) = parse_address(text) {
                assert_eq!(parse_address(&hex_address(&address)), Ok(address));
                assert_eq!(parse_address(&base58_address(&address)), Ok(address));
            }
        }
        1 => {
            if let Some(tx) = transaction_json(body, &[]) {
                let txid = hex::encode(nvm_primitives::sha256(body));
                assert_eq!(tx["txID"].as_str(), Some(txid.as_str()));
            }
        }
        _ => {
            let _ = abi_json(body);
        }
    }
});
