//! TronWeb 6 and solc-js, unmodified, against the real `nvm node --dev`'s Tron HTTP API on
//! loopback (`node --test` in `tests/tron-clients`): TRX sent with `trx.sendTransaction`, balances,
//! transactions and blocks read back, a replay and a forged signature refused; a TRC-20 deployed,
//! read and moved; a ledger token sent as a TRC-10 asset (`trx.sendToken`), its balance the same in
//! the ERC-20 and SPL views. `.ci/run` installs
//! the library (`npm ci` in `tests/tron-clients`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{
    Node, free_port, free_port_pair, gold_token, installed_clients, mnemonic_signer, nvm, run,
};
use std::time::Duration;

#[test]
fn tronweb_sends_trx_over_the_ledger_unmodified() {
    let clients = installed_clients("tron-clients", "tronweb");
    let dir = tempfile::tempdir().unwrap();
    let (port, solana_port) = (free_port(), free_port_pair());
    let node = Node::start_with_solana(&dir.path().join("chain"), port, solana_port, 200);
    let rpc = format!("http://127.0.0.1:{port}");
    // A token made with n-VM's own CLI, 5,000 units of it sent to the dev mnemonic's third key's
    // Tron address: TronWeb meets it as a TRC-10 asset.
    let token = gold_token(dir.path(), &rpc);
    let holder = nvm_rpc_tron::json::base58_address(&mnemonic_signer(2).address().into_array());
    nvm(
        dir.path(),
        &rpc,
        &["transfer", "--key", "dev.json", "--token", &token, "--to", &holder],
        &["--amount", "5000", "--raw"],
    );
    let env = [
        ("NVM_RPC_URL", rpc),
        ("NVM_TRON_URL", node.tron_url.clone()),
        ("NVM_SOLANA_RPC_URL", format!("http://127.0.0.1:{solana_port}")),
        ("NVM_LEDGER_TOKEN", token),
    ];
    // Each wait inside the script has its own deadline; this bounds the file whole.
    let tests = ["--test", "trx.test.mjs", "trc20.test.mjs", "trc10.test.mjs"];
    run(&clients, "node", &tests, &env, Duration::from_secs(180), Some(&node));
}
