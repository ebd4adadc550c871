//! Real Ethereum client libraries, unmodified, against the real `nvm node --dev` on loopback:
//! solc-js compiles the Solidity contracts in `tests/eth-clients/contracts`, then ethers v6
//! (EIP-1559 transactions, `node --test`) and web3.py (legacy transactions) deploy and call them,
//! read receipts and logs, and check balances through `nvm_getBalance`. `.ci/run` installs the
//! libraries (`npm ci` and `pip install -r requirements.txt` in `tests/eth-clients`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{Node, free_port};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/eth-clients")
}

/// Runs a client program to completion with the node's URL and the compiled artifacts, and
/// fails with its output if it fails.
fn run(program: &str, args: &[&str], rpc: &str, artifacts: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(clients_dir())
        .env("NVM_RPC_URL", rpc)
        .env("NVM_ARTIFACTS", artifacts)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("$ {program} {}\n{stdout}{stderr}", args.join(" "));
    assert!(output.status.success(), "{program} {args:?} failed:\n{stdout}\n{stderr}");
}

#[test]
fn ethers_web3py_and_solc_work_unmodified() {
    assert!(
        clients_dir().join("node_modules/ethers").is_dir(),
        "the client libraries are not installed: run `npm ci` in tests/eth-clients (and \
         `pip install -r tests/eth-clients/requirements.txt`), as .ci/run does"
    );
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts.json");
    run("node", &["compile.mjs", artifacts.to_str().unwrap()], "", &artifacts);
    let port = free_port();
    let _node = Node::start(&dir.path().join("chain"), port, 200);
    let rpc = format!("http://127.0.0.1:{port}");
    run("node", &["--test", "ethers.test.mjs"], &rpc, &artifacts);
    run("python3", &["test_web3.py"], &rpc, &artifacts);
}
