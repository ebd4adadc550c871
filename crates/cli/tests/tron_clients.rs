//! TronWeb 6 and solc-js, unmodified, against the real `nvm node --dev`'s Tron HTTP API on
//! loopback (`node --test` in `tests/tron-clients`): TRX sent with `trx.sendTransaction`, balances,
//! transactions and blocks read back, a replay and a forged signature refused; a TRC-20 deployed,
//! read and moved. `.ci/run` installs
//! the library (`npm ci` in `tests/tron-clients`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{Node, free_port, installed_clients, run};
use std::time::Duration;

#[test]
fn tronweb_sends_trx_over_the_ledger_unmodified() {
    let clients = installed_clients("tron-clients", "tronweb");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = Node::start(&dir.path().join("chain"), port, 200);
    let env = [
        ("NVM_RPC_URL", format!("http://127.0.0.1:{port}")),
        ("NVM_TRON_URL", node.tron_url.clone()),
    ];
    // Each wait inside the script has its own deadline; this bounds the file whole.
    run(
        &clients,
        "node",
        &["--test", "trx.test.mjs", "trc20.test.mjs"],
        &env,
        Duration::from_secs(180),
        Some(&node),
    );
}
