//! A real `nvm node --dev` on loopback for the integration tests: started on a free port,
//! called over JSON-RPC, killed when dropped.

#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod process;

use process::{poll, run_within};

use jsonrpsee::{
    core::{ClientError, client::ClientT, params::ArrayParams},
    http_client::{HttpClient, HttpClientBuilder},
};
use nvm_identity::{SecretKey, VmAddress};
use nvm_node::{DEV_TX_FEE, dev_key};
use nvm_primitives::{ENVELOPE_VERSION, IdCom, SchemeId, Transaction, TxBody};
use nvm_vm_native::NativeOp;
use serde_json::Value;
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// What each call of a JSON-RPC batch gave: its result, or its error code and message.
pub type BatchResults = Vec<Result<Value, (i32, String)>>;

/// A JSON-RPC client of one node.
pub struct Rpc {
    client: HttpClient,
    rt: tokio::runtime::Runtime,
}

impl Rpc {
    pub fn new(url: &str) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(10))
            .build(url)
            .unwrap();
        Self { client, rt }
    }

    pub fn try_call(&self, method: &str, params: Vec<Value>) -> Result<Value, ClientError> {
        let mut array = ArrayParams::new();
        for p in params {
            array.insert(p).unwrap();
        }
        self.rt.block_on(self.client.request::<Value, _>(method, array))
    }

    pub fn call(&self, method: &str, params: Vec<Value>) -> Value {
        self.try_call(method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// One JSON-RPC batch (one HTTP request): each call's result, or its error code and message.
    pub fn batch(&self, calls: Vec<(&str, Vec<Value>)>) -> BatchResults {
        self.send_batch(calls).unwrap_or_else(|e| panic!("batch: {e}"))
    }

    /// [`Rpc::batch`], `None` when the node does not answer (it may be down).
    pub fn try_batch(&self, calls: Vec<(&str, Vec<Value>)>) -> Option<BatchResults> {
        self.send_batch(calls).ok()
    }

    fn send_batch(&self, calls: Vec<(&str, Vec<Value>)>) -> Result<BatchResults, ClientError> {
        let mut batch = jsonrpsee::core::params::BatchRequestBuilder::new();
        for (method, params) in calls {
            let mut array = ArrayParams::new();
            for p in params {
                array.insert(p).unwrap();
            }
            batch.insert(method, array).unwrap();
        }
        let response = self.rt.block_on(self.client.batch_request::<Value>(batch))?;
        Ok(response
            .into_iter()
            .map(|entry| entry.map_err(|e| (e.code(), e.message().to_string())))
            .collect())
    }
}

pub struct Node {
    pub child: Child,
    rpc: Rpc,
    /// Where its Tron HTTP API answers (`http://127.0.0.1:<free port>`).
    pub tron_url: String,
    /// The data directory, where `node.log` is.
    dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The client-library folder `tests/<folder>`, once its `npm ci` (what `.ci/run` does) has
/// installed `package` there.
pub fn installed_clients(folder: &str, package: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests").join(folder);
    assert!(
        dir.join("node_modules").join(package).is_dir(),
        "{package} is not installed: run `npm ci` in tests/{folder} (and the rest of .ci/run's installs)"
    );
    dir
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A free port whose successor is free too (Solana's RPC and pub-sub pair).
pub fn free_port_pair() -> u16 {
    loop {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

impl Node {
    /// A node whose Solana RPC and pub-sub take any free ports.
    pub fn start(dir: &Path, port: u16, block_time_ms: u64) -> Self {
        Self::start_with_solana(dir, port, 0, block_time_ms)
    }

    /// A node with its Solana RPC on `solana_port` (pub-sub on the next port). Its log goes to
    /// `node.log` in `dir` (appended to across restarts).
    pub fn start_with_solana(dir: &Path, port: u16, solana_port: u16, block_time_ms: u64) -> Self {
        Self::start_with(dir, port, solana_port, block_time_ms, &[])
    }

    /// [`Node::start_with_solana`] with more `nvm node` flags (`extra`).
    pub fn start_with(
        dir: &Path,
        port: u16,
        solana_port: u16,
        block_time_ms: u64,
        extra: &[&str],
    ) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let tron_addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_nvm"))
            .args(["node", "--dev", "--data-dir"])
            .arg(dir)
            .args([
                "--rpc-addr",
                &format!("127.0.0.1:{port}"),
                "--solana-rpc-addr",
                &format!("127.0.0.1:{solana_port}"),
                "--tron-http-addr",
                &tron_addr,
                "--block-time-ms",
                &block_time_ms.to_string(),
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nvm node");
        let rpc = Rpc::new(&format!("http://127.0.0.1:{port}"));
        let tron_url = format!("http://{tron_addr}");
        let node = Self { child, rpc, tron_url, dir: dir.to_path_buf() };
        node.wait_for(START_WITHIN, "the node's first JSON-RPC answer", || {
            node.try_call("nvm_chainInfo", vec![]).ok()
        });
        node
    }

    /// Polls `probe` (every 20 ms) until it gives a value; after `within`, fails naming `what`
    /// with the tail of the node's log (the node is killed when the failing test drops it).
    pub fn wait_for<T>(&self, within: Duration, what: &str, probe: impl FnMut() -> Option<T>) -> T {
        poll(within, Duration::from_millis(20), probe).unwrap_or_else(|| {
            panic!("{what} not seen within {} s\n{}", within.as_secs_f32(), self.log_tail())
        })
    }

    /// The last lines of the node's log, headed, for a failure message.
    pub fn log_tail(&self) -> String {
        format!(
            "--- {} (last 40 lines)\n{}",
            self.dir.join("node.log").display(),
            log_tail(&self.dir, 40)
        )
    }

    /// The data directory the node was started on.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn try_call(&self, method: &str, params: Vec<Value>) -> Result<Value, ClientError> {
        self.rpc.try_call(method, params)
    }

    pub fn call(&self, method: &str, params: Vec<Value>) -> Value {
        self.rpc.call(method, params)
    }

    /// One JSON-RPC batch to the node (see [`Rpc::batch`]).
    pub fn batch(&self, calls: Vec<(&str, Vec<Value>)>) -> BatchResults {
        self.rpc.batch(calls)
    }

    /// The JSON-RPC error code of a call that must fail.
    pub fn error_code(&self, method: &str, params: Vec<Value>) -> (i32, String) {
        match self.try_call(method, params) {
            Err(ClientError::Call(obj)) => (obj.code(), obj.message().to_string()),
            other => panic!("{method} should fail with a JSON-RPC error, got {other:?}"),
        }
    }

    /// Waits (at most 20 s) until the node has committed block `height`.
    pub fn wait_for_height(&self, height: u64) {
        self.wait_for(WAIT_WITHIN, &format!("block {height}"), || {
            let at = self.try_call("nvm_chainInfo", vec![]).ok()?["height"].as_u64()?;
            (at >= height).then_some(())
        });
    }

    /// Waits (at most 20 s) for the `nvm_getTransactionReceipt` of `hash` and returns it.
    pub fn wait_for_receipt(&self, hash: &Value) -> Value {
        self.wait_for(WAIT_WITHIN, &format!("the receipt of {hash}"), || {
            let receipt = self.try_call("nvm_getTransactionReceipt", vec![hash.clone()]).ok()?;
            (!receipt.is_null()).then_some(receipt)
        })
    }

    pub fn kill_9(mut self) {
        // Child::kill sends SIGKILL on Unix: no shutdown path runs.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// The last `lines` lines of the log a test node in `dir` writes (`node.log`), oldest first.
pub fn log_tail(dir: &Path, lines: usize) -> String {
    let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// How long a node may take to answer its first call.
pub const START_WITHIN: Duration = Duration::from_secs(20);
/// How long a test waits for a block, a receipt or a state change on a node making blocks.
pub const WAIT_WITHIN: Duration = Duration::from_secs(20);
/// How long one `nvm` CLI call may take (it waits at most 30 s for a receipt itself).
pub const CLI_WITHIN: Duration = Duration::from_secs(60);

/// Runs a client program in `dir` to completion with `env` set, for at most `within`; fails with
/// its output — and the tail of `node`'s log — if it fails or is still running then.
pub fn run(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
    within: Duration,
    node: Option<&Node>,
) {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir).envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let done =
        run_within(&mut command, within).unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let shown = format!("$ {program} {}\n{}{}", args.join(" "), done.stdout, done.stderr);
    println!("{shown}");
    if done.success() {
        return;
    }
    let log = node.map(Node::log_tail).unwrap_or_default();
    match done.status {
        None => panic!(
            "{program} {args:?} did not finish within {} s (killed)\n{shown}\n{log}",
            within.as_secs()
        ),
        Some(status) => panic!("{program} {args:?} failed ({status})\n{shown}\n{log}"),
    }
}

/// Runs the `nvm` CLI (`args` then `more`) in `dir`, which must succeed within [`CLI_WITHIN`],
/// and returns its JSON output.
pub fn nvm(dir: &Path, rpc: &str, args: &[&str], more: &[&str]) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nvm"));
    command.current_dir(dir).env("NVM_RPC", rpc).args(args).args(more).arg("--json");
    let done = run_within(&mut command, CLI_WITHIN).unwrap();
    match done.status {
        None => panic!(
            "nvm {args:?} {more:?} did not finish within {} s: {}",
            CLI_WITHIN.as_secs(),
            done.stderr
        ),
        Some(_) if !done.success() => panic!("nvm {args:?} {more:?} failed: {}", done.stderr),
        Some(_) => serde_json::from_str(&done.stdout).unwrap(),
    }
}

/// Runs the `nvm` CLI in `dir`, which must fail within [`CLI_WITHIN`] (a non-zero exit); its
/// error output.
pub fn nvm_refused(dir: &Path, rpc: &str, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nvm"));
    command.current_dir(dir).env("NVM_RPC", rpc).args(args);
    let done = run_within(&mut command, CLI_WITHIN).unwrap();
    assert!(done.status.is_some() && !done.success(), "nvm {args:?} did not fail: {}", done.stdout);
    done.stderr
}

/// The dev key written to `dir/dev.json` and a ledger token made with it by n-VM's own CLI
/// ("Gold", GLD, 6 decimals, 1,000 units to the dev identity); returns the token's id (0x-hex).
pub fn gold_token(dir: &Path, rpc: &str) -> String {
    nvm(dir, rpc, &["key", "dev", "--out", "dev.json"], &[]);
    let token = nvm(
        dir,
        rpc,
        &["token", "create", "--key", "dev.json", "--name", "Gold", "--symbol", "GLD"],
        &["--decimals", "6", "--supply", "1000"],
    );
    token["token"].as_str().unwrap().to_string()
}

pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

pub fn signed(
    key: &SecretKey,
    sender: IdCom,
    nonce: u64,
    chain_id: u64,
    payload: Vec<u8>,
) -> Transaction {
    let body = TxBody {
        version: ENVELOPE_VERSION,
        chain_id,
        sender,
        nonce,
        max_fee: DEV_TX_FEE,
        context: None,
        payload,
    };
    key.sign_transaction(body).unwrap()
}

pub fn dev_id() -> IdCom {
    nvm_identity::id_com_from_credential(SchemeId::Ed25519, &dev_key().public_key(), &[0; 32])
}

pub fn transfer(to: IdCom, amount: u128) -> Vec<u8> {
    NativeOp::Transfer { mint: [0; 32], to: VmAddress::Native(to), amount }.encode()
}

/// Account `index` of the dev mnemonic (funded by the dev genesis).
pub fn mnemonic_signer(index: u32) -> alloy_signer_local::PrivateKeySigner {
    use alloy_signer_local::{MnemonicBuilder, coins_bip39::English};
    MnemonicBuilder::<English>::default()
        .phrase(nvm_vm_evm::DEV_MNEMONIC)
        .index(index)
        .unwrap()
        .build()
        .unwrap()
}

/// A signed EIP-1559 transaction on the dev chain (fee cap 100 × the initial base fee), in its
/// EIP-2718 bytes.
pub fn eth_tx(
    signer: &alloy_signer_local::PrivateKeySigner,
    nonce: u64,
    to: alloy_primitives::Address,
    value: u128,
    input: Vec<u8>,
    gas_limit: u64,
) -> Vec<u8> {
    use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_signer::SignerSync;
    let tx = TxEip1559 {
        chain_id: nvm_node::DEV_CHAIN_ID,
        nonce,
        gas_limit,
        max_fee_per_gas: 100 * u128::from(nvm_vm_evm::INITIAL_BASE_FEE),
        max_priority_fee_per_gas: 1_000_000_000,
        to: alloy_primitives::TxKind::Call(to),
        value: alloy_primitives::U256::from(value),
        access_list: Default::default(),
        input: input.into(),
    };
    let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
}
