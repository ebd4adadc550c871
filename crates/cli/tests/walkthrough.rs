//! The README's five-minute walk-through, run with the real `nvm` binary against a real node.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{
    CLI_WITHIN,
    process::{Finished, run_within},
};
use serde_json::Value;
use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

struct Devnet(Child);

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the CLI (at most [`CLI_WITHIN`]: a hang is a failure naming the command).
fn nvm(dir: &Path, rpc: &str, args: &[&str]) -> Finished {
    let mut cli = Command::new(env!("CARGO_BIN_EXE_nvm"));
    cli.current_dir(dir).env("NVM_RPC", rpc).args(args);
    let out = run_within(&mut cli, CLI_WITHIN).unwrap();
    assert!(out.status.is_some(), "nvm {args:?} did not finish within {} s", CLI_WITHIN.as_secs());
    out
}

/// Runs a command that must succeed and print JSON.
fn json(dir: &Path, rpc: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = nvm(dir, rpc, &all);
    assert!(out.success(), "nvm {args:?} failed: {}", out.stderr);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("nvm {args:?} printed no JSON: {e}"))
}

fn field(value: &Value, name: &str) -> String {
    value[name].as_str().unwrap_or_else(|| panic!("no {name} in {value}")).to_string()
}

#[test]
fn readme_walkthrough() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let rpc = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_nvm"))
        .args(["node", "--dev", "--data-dir", "data", "--block-time-ms", "100", "--rpc-addr"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _devnet = Devnet(child);
    let d = dir.path();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !nvm(d, &rpc, &["balance", "0x0000000000000000000000000000000000000001"]).success() {
        assert!(Instant::now() < deadline, "devnet did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    json(d, &rpc, &["key", "dev", "--out", "dev.json"]);
    let alice = json(d, &rpc, &["key", "new", "--out", "alice.json"]);
    let alice_id = field(&alice, "id_com");
    json(d, &rpc, &["transfer", "--key", "dev.json", "--to", &alice_id, "--amount", "10"]);
    let created = json(d, &rpc, &["identity", "create", "--key", "alice.json"]);
    assert_eq!(created["status"], "success");

    let derived = json(d, &rpc, &["identity", "derive", "--key", "alice.json"]);
    let by_id = json(d, &rpc, &["identity", "derive", "--id-com", &alice_id]);
    assert_eq!(derived, by_id);
    for key in ["id_com", "evm", "svm", "bvm", "tvm", "evm_display", "svm_display", "tvm_display"] {
        assert!(derived[key].is_string(), "derive --json lacks {key}");
    }
    let evm = field(&derived, "evm_display");
    json(d, &rpc, &["transfer", "--key", "dev.json", "--to", &evm, "--amount", "2.5"]);
    let shown = json(d, &rpc, &["identity", "show", &evm]);
    assert_eq!(field(&shown, "id_com"), alice_id);
    // 10 + 2.5 minus one fee of 10^12 base units for the identity creation.
    let expected = (12_500_000_000_000_000_000u128 - 1_000_000_000_000).to_string();
    for address in ["evm_display", "svm_display", "tvm_display", "id_com"] {
        let balance = json(d, &rpc, &["balance", &field(&derived, address)]);
        assert_eq!(field(&balance, "balance"), expected, "seen from {address}");
    }

    // The same balance, proven against a block header's state root instead of trusted.
    let proven = json(d, &rpc, &["balance", &evm, "--prove"]);
    assert_eq!(field(&proven, "balance"), expected);
    assert_eq!(field(&proven, "idCom"), alice_id);
    assert!(proven["proven"]["height"].as_u64().unwrap() > 0);
    // ... and that header was finalized: its certificate carries the one dev validator's vote.
    assert_eq!(proven["proven"]["finalizedBy"], 1);
    assert_eq!(proven["proven"]["validators"], 1);
    // An address nobody registered is its legacy identity, proven empty.
    let stranger =
        json(d, &rpc, &["balance", "0x00000000000000000000000000000000000000aa", "--prove"]);
    assert_eq!(field(&stranger, "balance"), "0");

    let token = json(
        d,
        &rpc,
        &[
            "token",
            "create",
            "--key",
            "alice.json",
            "--name",
            "Gold",
            "--symbol",
            "GLD",
            "--decimals",
            "6",
            "--supply",
            "1000",
        ],
    );
    let gld = field(&token, "token");
    let dev = json(d, &rpc, &["identity", "derive", "--key", "dev.json"]);
    json(
        d,
        &rpc,
        &[
            "transfer",
            "--key",
            "alice.json",
            "--token",
            &gld,
            "--to",
            &field(&dev, "tvm_display"),
            "--amount",
            "1.5",
        ],
    );
    let balance = json(d, &rpc, &["balance", &field(&dev, "evm_display"), "--token", &gld]);
    assert_eq!(field(&balance, "balance"), "1500000");
    let proven =
        json(d, &rpc, &["balance", &field(&dev, "tvm_display"), "--token", &gld, "--prove"]);
    assert_eq!(field(&proven, "balance"), "1500000");
    json(
        d,
        &rpc,
        &["token", "mint", "--key", "alice.json", "--token", &gld, "--to", &evm, "--amount", "1"],
    );

    // Errors: a clear message and a non-zero exit, nothing sent.
    let overdraft =
        nvm(d, &rpc, &["transfer", "--key", "alice.json", "--to", &evm, "--amount", "999999"]);
    assert!(!overdraft.success());
    assert!(overdraft.stderr.contains("insufficient funds"));
    let unauthorised = nvm(
        d,
        &rpc,
        &["token", "mint", "--key", "dev.json", "--token", &gld, "--to", &evm, "--amount", "1"],
    );
    assert!(!unauthorised.success());
    assert!(unauthorised.stderr.contains("not the mint authority"));
    let garbage = nvm(d, &rpc, &["balance", "definitely-not-an-address"]);
    assert!(!garbage.success());

    // Rotation: a new key takes over alice's identity; her addresses and balance stay.
    json(d, &rpc, &["key", "new", "--scheme", "ml-dsa-44", "--out", "alice2.json"]);
    json(d, &rpc, &["identity", "rotate", "--key", "alice.json", "--new-key", "alice2.json"]);
    let after = json(d, &rpc, &["identity", "derive", "--key", "alice2.json"]);
    assert_eq!(after, derived);
    json(
        d,
        &rpc,
        &["transfer", "--key", "alice2.json", "--to", &field(&dev, "svm_display"), "--amount", "1"],
    );
    let refused = nvm(d, &rpc, &["transfer", "--key", "alice.json", "--to", &evm, "--amount", "1"]);
    assert!(!refused.success(), "the rotated-out key still works");
}
