//! Four real validator processes on 127.0.0.1 (`nvm testnet init`, `nvm node --validator`):
//! transfers are sent to different validators while one of them is killed with SIGKILL and
//! restarted; all four converge on the same height and state root, every acknowledged transfer
//! is included exactly once, and each ecosystem's RPC reports finality as its clients expect;
//! with two of them down the others report the stall.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{CLI_WITHIN, Rpc, hex0x, process::run_within, signed, transfer};
use nvm_identity::SecretKey;
use nvm_node::DEV_CHAIN_ID;
use nvm_primitives::{IdCom, SchemeId, sha256};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const VALIDATORS: usize = 4;
const SENDERS: usize = 8;
const ROUNDS: u64 = 45;

/// A base port with the 10·n + 5 ports `nvm testnet init` hands out all free.
fn free_base_port() -> u16 {
    let seed = std::process::id() as u16;
    (0..200u16)
        .map(|i| 20_000 + (seed.wrapping_add(i * 97) % 400) * 100)
        .find(|&base| {
            (0..VALIDATORS as u16 * 10 + 5)
                .all(|p| TcpListener::bind(("127.0.0.1", base + p)).is_ok())
        })
        .expect("a free range of ports")
}

struct Validator {
    config: PathBuf,
    log: PathBuf,
    url: String,
    rpc: Rpc,
    solana: Rpc,
    metrics_port: u16,
    child: Option<Child>,
}

impl Validator {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_nvm"))
            .args(["node", "--validator", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn kill_9(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn height(&self) -> Option<u64> {
        self.rpc.try_call("nvm_chainInfo", vec![]).ok()?["height"].as_u64()
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Testnet {
    dir: tempfile::TempDir,
    validators: Vec<Validator>,
    /// The network's chain id (`testnet init` picked it at random).
    chain_id: u64,
}

impl Testnet {
    /// `nvm testnet init`, the senders funded in its genesis, and every validator started.
    fn start(senders: &[SecretKey]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = free_base_port();
        let mut init = Command::new(env!("CARGO_BIN_EXE_nvm"));
        init.args(["testnet", "init", "--validators", &VALIDATORS.to_string(), "--out"])
            .arg(dir.path())
            .args(["--base-port", &base.to_string(), "--block-time-ms", "200"]);
        let out = run_within(&mut init, CLI_WITHIN).unwrap();
        assert!(out.success(), "nvm testnet init: {:?} {}", out.status, out.stderr);
        let chain_id = fund(&dir.path().join("genesis.json"), senders);
        assert_ne!(chain_id, DEV_CHAIN_ID, "a network gets its own chain id");
        let validators = (0..VALIDATORS)
            .map(|i| {
                let folder = dir.path().join(format!("validator-{i}"));
                let port = |offset: u16| base + 10 * i as u16 + offset;
                let mut validator = Validator {
                    config: folder.join("config.json"),
                    log: folder.join("node.log"),
                    url: format!("http://127.0.0.1:{}", port(1)),
                    rpc: Rpc::new(&format!("http://127.0.0.1:{}", port(1))),
                    solana: Rpc::new(&format!("http://127.0.0.1:{}", port(2))),
                    metrics_port: port(4),
                    child: None,
                };
                validator.start();
                validator
            })
            .collect();
        Self { dir, validators, chain_id }
    }

    fn heights(&self) -> Vec<Option<u64>> {
        self.validators.iter().map(Validator::height).collect()
    }

    /// Waits until every validator is at or above `height`, or fails with the logs.
    fn wait_all_at(&self, height: u64, within: Duration, what: &str) {
        let deadline = Instant::now() + within;
        while self.heights().iter().any(|h| h.is_none_or(|h| h < height)) {
            if Instant::now() > deadline {
                self.fail(&format!("{what}: heights {:?}, wanted {height}", self.heights()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn fail(&self, message: &str) -> ! {
        for (i, v) in self.validators.iter().enumerate() {
            let log = std::fs::read_to_string(&v.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("--- validator {i} (last lines, newest first)\n{}", tail.join("\n"));
        }
        panic!("{message} (network in {})", self.dir.path().display());
    }
}

/// Adds the senders' identities, funded, to the network's genesis file.
/// Funds `senders` in the genesis file; returns its chain id.
fn fund(genesis: &Path, senders: &[SecretKey]) -> u64 {
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(genesis).unwrap()).unwrap();
    file["funded"] = senders
        .iter()
        .map(|k| json!({ "public_key": hex::encode(k.public_key()), "balance": "1000000000000000000000000" }))
        .collect();
    std::fs::write(genesis, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    file["chain_id"].as_u64().unwrap()
}

fn id_of(key: &SecretKey) -> IdCom {
    nvm_identity::id_com_from_credential(SchemeId::Ed25519, &key.public_key(), &[0; 32])
}

/// Sends `raw` to validator `first`, or the next ones while a validator does not answer (it
/// may just have been killed). Returns the acknowledged hash.
fn submit(net: &Testnet, first: usize, tx: &nvm_primitives::Transaction) -> Value {
    let raw = tx.encode();
    for k in 0..VALIDATORS {
        let v = &net.validators[(first + k) % VALIDATORS];
        if v.child.is_none() {
            continue;
        }
        match v.rpc.try_call("nvm_sendTransaction", vec![json!(hex0x(&raw))]) {
            Ok(hash) => return hash,
            Err(jsonrpsee::core::ClientError::Call(e)) if e.code() == -32008 => {
                // Already known: a validator acknowledged it before its answer was lost.
                return json!(hex0x(&tx.hash()));
            }
            Err(jsonrpsee::core::ClientError::Call(e)) => {
                net.fail(&format!("transaction refused: {}", e.message()))
            }
            Err(_) => continue, // not answering: try the next validator
        }
    }
    net.fail("no validator answers")
}

/// Runs the `nvm` CLI against validator `v` with `args` then `path`; its JSON output, or its
/// error message.
fn nvm_cli(v: &Validator, args: &[&str], path: &Path) -> Result<Value, String> {
    let mut cli = Command::new(env!("CARGO_BIN_EXE_nvm"));
    cli.args(args).arg(path).args(["--json", "--rpc", &v.url]);
    let out = run_within(&mut cli, CLI_WITHIN).unwrap();
    match out.status {
        Some(_) if out.success() => Ok(serde_json::from_str(&out.stdout).unwrap()),
        Some(_) => Err(out.stderr),
        None => Err(format!("nvm {args:?} did not finish within {} s", CLI_WITHIN.as_secs())),
    }
}

fn metrics(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn four_validators_survive_a_kill_9_mid_load_and_converge() {
    let senders: Vec<SecretKey> = (0..SENDERS)
        .map(|i| {
            SecretKey::from_secret(SchemeId::Ed25519, &sha256(format!("sender {i}").as_bytes()))
                .unwrap()
        })
        .collect();
    let mut net = Testnet::start(&senders);
    net.wait_all_at(2, Duration::from_secs(90), "start");

    let victim = 2;
    let mut acknowledged = Vec::new();
    let mut height_at_kill = 0;
    for round in 0..ROUNDS {
        if round == ROUNDS / 3 {
            net.validators[victim].kill_9();
            height_at_kill = net.validators[0].height().unwrap();
        }
        if round == 2 * ROUNDS / 3 {
            // The other three kept finalizing without it.
            let up: Vec<usize> = (0..VALIDATORS).filter(|&i| i != victim).collect();
            let deadline = Instant::now() + Duration::from_secs(60);
            while up.iter().any(|&i| net.validators[i].height().unwrap_or(0) < height_at_kill + 10)
            {
                if Instant::now() > deadline {
                    net.fail("three of four stopped finalizing");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            net.validators[victim].start();
        }
        for (s, key) in senders.iter().enumerate() {
            let to = [(round % 250) as u8 + 1; 32];
            let tx = signed(key, id_of(key), round, net.chain_id, transfer(to, 1 + s as u128));
            // Consecutive nonces of one sender go to different validators.
            acknowledged.push(submit(&net, s + round as usize, &tx));
        }
        std::thread::sleep(Duration::from_millis(40));
    }

    // Every acknowledged transfer is in a block on every validator, the restarted one included.
    let deadline = Instant::now() + Duration::from_secs(120);
    for (i, v) in net.validators.iter().enumerate() {
        for hash in &acknowledged {
            loop {
                match v.rpc.try_call("nvm_getTransactionReceipt", vec![hash.clone()]) {
                    Ok(receipt) if !receipt.is_null() => {
                        assert_eq!(receipt["status"], "success", "{receipt}");
                        break;
                    }
                    _ if Instant::now() > deadline => {
                        net.fail(&format!("validator {i} lacks acknowledged transaction {hash}"))
                    }
                    _ => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
    }

    // All four converge: the same block, state root included, at one height.
    let top = net.heights().into_iter().flatten().max().unwrap();
    net.wait_all_at(top, Duration::from_secs(60), "convergence");
    let log = std::fs::read_to_string(&net.validators[victim].log).unwrap();
    println!(
        "{} transfers acknowledged; validator {victim} killed at height {height_at_kill}, \
         restarted (log: {} lines mention re-admission); all four at height {top}",
        acknowledged.len(),
        log.lines().filter(|l| l.contains("re-admitted")).count()
    );
    let blocks: Vec<Value> = net
        .validators
        .iter()
        .map(|v| v.rpc.call("nvm_getBlock", vec![json!(top.to_string())]))
        .collect();
    for block in &blocks[1..] {
        assert_eq!(block["hash"], blocks[0]["hash"], "validators disagree at height {top}");
        assert_eq!(block["stateRoot"], blocks[0]["stateRoot"]);
    }

    // Exactly once: no transaction appears twice in the chain, and each acknowledged one once.
    let mut seen: HashMap<String, u32> = HashMap::new();
    for height in 1..=top {
        let block = net.validators[0].rpc.call("nvm_getBlock", vec![json!(height.to_string())]);
        for tx in block["transactions"].as_array().unwrap() {
            *seen.entry(tx.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    assert!(seen.values().all(|&n| n == 1), "a transaction was included twice");
    for hash in &acknowledged {
        assert_eq!(seen.get(hash.as_str().unwrap()), Some(&1), "{hash} not included once");
    }

    // Finality as each ecosystem's clients ask for it: blocks are committed only once final,
    // so Ethereum's `finalized` and `safe` are final blocks every validator agrees on, and
    // Solana's `finalized` slot is one of them.
    for v in &net.validators {
        for tag in ["finalized", "safe"] {
            let block = v.rpc.call("eth_getBlockByNumber", vec![json!(tag), json!(false)]);
            let number =
                u64::from_str_radix(block["number"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            assert!(number >= top, "{tag} block {number} is behind the agreed height {top}");
            // Validator 0 may not have committed it yet: wait for it rather than skip the check.
            net.wait_all_at(number, Duration::from_secs(30), "the finalized block everywhere");
            let ours = net.validators[0].rpc.call("nvm_getBlock", vec![json!(number.to_string())]);
            assert_eq!(block["hash"], ours["hash"], "{tag} block differs between validators");
        }
        let slot = v.solana.call("getSlot", vec![json!({ "commitment": "finalized" })]);
        assert!(slot.as_u64().unwrap() >= top);
    }
    // Don't trust the node: a balance proven against a header, and the header against its
    // finalization certificate, signed by a quorum of the genesis validator set.
    let genesis = net.dir.path().join("genesis.json");
    let recipient = hex0x(&[1; 32]);
    let proven =
        nvm_cli(&net.validators[1], &["balance", &recipient, "--prove", "--genesis"], &genesis)
            .expect("proves");
    assert!(proven["proven"]["finalizedBy"].as_u64().unwrap() >= 3, "{proven}");
    assert_eq!(proven["proven"]["validators"], 4);
    assert_eq!(proven["proven"]["validatorSet"], "genesis");
    // Against another validator set the same certificate proves nothing.
    let mut other: Value =
        serde_json::from_str(&std::fs::read_to_string(&genesis).unwrap()).unwrap();
    other["validators"][0] = json!(hex::encode([7u8; 32]));
    let forged = net.dir.path().join("other-genesis.json");
    std::fs::write(&forged, other.to_string()).unwrap();
    let refused =
        nvm_cli(&net.validators[1], &["balance", &recipient, "--prove", "--genesis"], &forged)
            .expect_err("another validator set");
    assert!(refused.contains("not proven final"), "{refused}");

    // Prometheus metrics (refreshed every 100 ms): the finalized height and transaction count.
    let value = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = metrics(net.validators[0].metrics_port);
        let height = value(&text, "nvm_finalized_height");
        let txs = value(&text, "nvm_finalized_transactions_total");
        let peers = value(&text, "nvm_peers");
        // Ethereum tools ask the same count of `net_peerCount`.
        let counted = net.validators[0].rpc.call("net_peerCount", vec![]);
        if height >= top as f64 && txs >= acknowledged.len() as f64 && peers == 3.0 {
            assert_eq!(counted, json!("0x3"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "metrics: height {height}, {txs} transactions, {peers} peers"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(value(&metrics(net.validators[0].metrics_port), "nvm_commit_stalled"), 0.0);

    // A stall is never silent: with two of the four gone nothing can be finalized, and the two
    // left log an error naming what their commit loop waits for; /metrics shows it.
    net.validators[2].kill_9();
    net.validators[3].kill_9();
    let key = &senders[0];
    submit(&net, 0, &signed(key, id_of(key), ROUNDS, net.chain_id, transfer([1; 32], 1)));
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let log = std::fs::read_to_string(&net.validators[0].log).unwrap();
        let text = metrics(net.validators[0].metrics_port);
        let stalled = log.lines().find(|l| l.contains("chain stalled"));
        if let Some(line) = stalled
            && value(&text, "nvm_commit_stalled") == 1.0
        {
            assert!(line.contains("ERROR") && line.contains("transactions pending"), "{line}");
            assert!(
                line.contains("waiting for consensus to deliver the finalized block"),
                "{line}"
            );
            assert!(value(&text, "nvm_seconds_since_last_commit") >= 8.0, "{text}");
            break;
        }
        if Instant::now() > deadline {
            net.fail("no stall reported with two of four validators down");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
