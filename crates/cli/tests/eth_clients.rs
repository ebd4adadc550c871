//! Real Ethereum client libraries, unmodified, against the real `nvm node --dev` on loopback:
//! solc-js compiles the Solidity contracts in `tests/eth-clients/contracts`, then ethers v6
//! (EIP-1559 transactions, `node --test`) and web3.py (legacy transactions) deploy and call them,
//! read receipts and logs, and check balances through `nvm_getBalance`; ethers and viem follow
//! events over HTTP (polling filters) and WebSocket (subscriptions); Foundry's cast traces a
//! committed transaction (`cast run`), reads older blocks and drives anvil's dev methods
//! (`anvil_set*`, `evm_snapshot`/`evm_revert`, `evm_mine`). `.ci/run` installs the
//! libraries (`npm ci` and `pip install -r requirements.txt` in `tests/eth-clients`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{Node, free_port, gold_token, installed_clients, nvm, run};
use serde_json::json;
use std::time::Duration;

#[test]
fn ethers_web3py_and_solc_work_unmodified() {
    let clients = installed_clients("eth-clients", "ethers");
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts.json");
    let compile = ["compile.mjs", artifacts.to_str().unwrap()];
    run(&clients, "node", &compile, &[], Duration::from_secs(120), None);
    let port = free_port();
    let node = Node::start(&dir.path().join("chain"), port, 200);
    let rpc = format!("http://127.0.0.1:{port}");

    // A ledger token made with n-VM's own CLI; the clients meet it as an ERC-20.
    let mint = gold_token(dir.path(), &rpc);
    let account0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    nvm(
        dir.path(),
        &rpc,
        &["transfer", "--key", "dev.json", "--token", &mint, "--to", account0],
        &["--amount", "100"],
    );
    let account1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    nvm(
        dir.path(),
        &rpc,
        &["transfer", "--key", "dev.json", "--token", &mint, "--to", account1],
        &["--amount", "50"],
    );
    let dev = nvm(dir.path(), &rpc, &["identity", "derive", "--key", "dev.json"], &[]);
    let env = [
        ("NVM_RPC_URL", rpc),
        ("NVM_ARTIFACTS", artifacts.display().to_string()),
        ("NVM_LEDGER_TOKEN", mint),
        ("NVM_DEV_EVM", dev["evm_display"].as_str().unwrap().to_string()),
        ("NVM_DEV_KEY", dir.path().join("dev.json").display().to_string()),
        ("NVM_BIN", env!("CARGO_BIN_EXE_nvm").to_string()),
    ];
    // Each wait inside the scripts has its own deadline (30 s); these bound the scripts whole.
    let within = Duration::from_secs(240);
    run(&clients, "node", &["--test", "ethers.test.mjs"], &env, within, Some(&node));
    run(&clients, "node", &["--test", "events.test.mjs"], &env, within, Some(&node));
    run(&clients, "node", &["--test", "viem.test.mjs"], &env, within, Some(&node));
    run(&clients, "node", &["--test", "trace.test.mjs"], &env, within, Some(&node));
    run(&clients, "node", &["--test", "dev.test.mjs"], &env, within, Some(&node));
    run(&clients, "python3", &["test_web3.py"], &env, within, Some(&node));

    // What the clients did, seen through the CLI (with a state proof) and both RPC namespaces.
    let rpc = &env[0].1;
    let native = nvm(dir.path(), rpc, &["balance", account0, "--prove"], &[]);
    let eth = node.call("eth_getBalance", vec![json!(account0), json!("latest")]);
    let eth = u128::from_str_radix(eth.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(native["balance"].as_str().unwrap(), eth.to_string());
    let gold = nvm(dir.path(), rpc, &["balance", account0, "--token", &env[2].1], &[]);
    // 100 GLD, less 5 sent, 20 deposited in the vault and 3 sent to the dev identity (ethers).
    assert_eq!(gold["balance"].as_str().unwrap(), "72000000");
    let via_rpc = node.call("nvm_getBalance", vec![json!(account0), json!(env[2].1)]);
    assert_eq!(via_rpc["balance"], gold["balance"]);
}
