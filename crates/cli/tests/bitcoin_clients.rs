//! A real Bitcoin wallet library, unmodified, against the real `nvm node --dev` on loopback:
//! bitcoinjs-lib 7 with ecpair and @bitcoinerlab/secp256k1 (`node --test` in
//! `tests/bitcoin-clients`) spends UTXOs the CLI locked under its addresses — P2WPKH, 2-of-3
//! P2WSH, P2TR key path — to an identity's BVM address, which then shows the value through the
//! Ethereum and Solana RPCs. `.ci/run` installs the libraries (`npm ci` in
//! `tests/bitcoin-clients`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{Node, free_port, free_port_pair, installed_clients, nvm, run};
use std::time::Duration;

#[test]
fn bitcoinjs_lib_spends_utxos_to_an_identity_every_vm_sees() {
    let clients = installed_clients("bitcoin-clients", "bitcoinjs-lib");
    let dir = tempfile::tempdir().unwrap();
    let (port, solana_port) = (free_port(), free_port_pair());
    let node = Node::start_with_solana(&dir.path().join("chain"), port, solana_port, 200);
    let rpc = format!("http://127.0.0.1:{port}");
    nvm(dir.path(), &rpc, &["key", "dev", "--out", "dev.json"], &[]);
    let env = [
        ("NVM_RPC_URL", rpc.clone()),
        ("NVM_SOLANA_RPC_URL", format!("http://127.0.0.1:{solana_port}")),
        ("NVM_BIN", env!("CARGO_BIN_EXE_nvm").to_string()),
        ("NVM_DEV_KEY", dir.path().join("dev.json").display().to_string()),
    ];
    // Each wait inside the script has its own deadline; this bounds the file whole.
    run(
        &clients,
        "node",
        &["--test", "wallet.test.mjs"],
        &env,
        Duration::from_secs(240),
        Some(&node),
    );

    // The CLI over the same node: a fresh address has no coins; a transaction decodes to its
    // txid and outputs; bytes that are not one are refused.
    let empty =
        nvm(dir.path(), &rpc, &["bvm", "utxos", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"], &[]);
    assert_eq!(empty, serde_json::json!([]));
    let funding = nvm_vm_bvm::funding_transaction(&[7; 32], 0, 1_234, &[0x51]);
    let hex = hex::encode(bitcoin::consensus::encode::serialize(&funding));
    let decoded = nvm(dir.path(), &rpc, &["bvm", "decode", &hex], &[]);
    assert_eq!(decoded["txid"], funding.compute_txid().to_string());
    assert_eq!(decoded["outputs"][0]["value"], 1_234);
}
