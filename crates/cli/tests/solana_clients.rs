//! Real Solana client libraries, unmodified, against the real `nvm node --dev` on loopback:
//! `@solana/web3.js` 1.x, `@solana/kit` and `@solana/spl-token` (`node --test` in
//! `tests/solana-clients`) airdrop, transfer, confirm over the pub-sub WebSocket, deploy and invoke the mainnet SPL Memo build, and
//! send every kind of bad input; the balances are then read back through `nvm_getBalance` and
//! `eth_getBalance`. `.ci/run` installs the libraries (`npm ci` in `tests/solana-clients`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{Node, free_port, free_port_pair, gold_token, installed_clients, nvm, run};
use serde_json::json;
use std::time::Duration;

#[test]
fn solana_web3_and_spl_token_work_unmodified() {
    let clients = installed_clients("solana-clients", "@solana/web3.js");
    let dir = tempfile::tempdir().unwrap();
    let (port, solana_port) = (free_port(), free_port_pair());
    let node = Node::start_with_solana(&dir.path().join("chain"), port, solana_port, 200);
    let rpc = format!("http://127.0.0.1:{port}");
    // A token made with n-VM's own CLI; the Solana clients meet it as an SPL mint.
    let token = gold_token(dir.path(), &rpc);
    let dev = nvm(dir.path(), &rpc, &["identity", "derive", "--key", "dev.json"], &[]);
    let memo = dir.path().join("spl_memo.so");
    std::fs::write(&memo, memo_elf()).unwrap();
    let env = [
        ("NVM_SOLANA_RPC_URL", format!("http://127.0.0.1:{solana_port}")),
        ("NVM_RPC_URL", rpc.clone()),
        ("NVM_DEV_SVM", dev["svm_display"].as_str().unwrap().to_string()),
        ("NVM_DEV_EVM", dev["evm_display"].as_str().unwrap().to_string()),
        ("NVM_MEMO_SO", memo.display().to_string()),
        ("NVM_LEDGER_TOKEN", token),
        ("NVM_BIN", env!("CARGO_BIN_EXE_nvm").to_string()),
        ("NVM_DEV_KEY", dir.path().join("dev.json").display().to_string()),
    ];
    let tests = [
        "--test",
        "--test-concurrency=1",
        "web3.test.mjs",
        "spl-token.test.mjs",
        "link.test.mjs",
        "identity.test.mjs",
        "history.test.mjs",
        "kit.test.mjs",
    ];
    // Each wait inside the scripts has its own deadline; this bounds the three files whole.
    run(&clients, "node", &tests, &env, Duration::from_secs(300), Some(&node));

    // The dev identity's balance, three ways: the CLI (with a state proof), nvm_* and eth_*.
    let svm = format!("svm:{}", env[2].1);
    let native = nvm(dir.path(), &rpc, &["balance", &svm, "--prove"], &[]);
    let eth = node.call("eth_getBalance", vec![json!(env[3].1), json!("latest")]);
    let eth = u128::from_str_radix(eth.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(native["balance"].as_str().unwrap(), eth.to_string());
}

/// The mainnet SPL Memo v2 build that `solana-program-binaries` ships.
fn memo_elf() -> Vec<u8> {
    let rent = solana_rent::Rent::default();
    let programs = solana_program_binaries::spl_programs(&rent);
    let memo = programs
        .iter()
        .find(|(id, _)| id.to_string() == "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
        .expect("the SPL Memo v2 build");
    // The loader-v2 account's data is the ELF itself.
    solana_account::ReadableAccount::data(&memo.1).to_vec()
}
