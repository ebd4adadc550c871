//! TronWeb 6, unmodified, against the real `nvm node --dev`'s Tron HTTP API on loopback
//! (`node --test` in `tests/tron-clients`): TRX sent with `trx.sendTransaction`, balances,
//! transactions and blocks read back, a replay and a forged signature refused. `.ci/run` installs
//! the library (`npm ci` in `tests/tron-clients`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{Node, free_port, run};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tron-clients")
}

#[test]
fn tronweb_sends_trx_over_the_ledger_unmodified() {
    assert!(
        clients_dir().join("node_modules/tronweb").is_dir(),
        "the client library is not installed: run `npm ci` in tests/tron-clients, as .ci/run does"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = Node::start(&dir.path().join("chain"), port, 200);
    let env = [
        ("NVM_RPC_URL", format!("http://127.0.0.1:{port}")),
        ("NVM_TRON_URL", node.tron_url.clone()),
    ];
    // Each wait inside the script has its own deadline; this bounds the file whole.
    run(
        &clients_dir(),
        "node",
        &["--test", "trx.test.mjs"],
        &env,
        Duration::from_secs(180),
        Some(&node),
    );
}
