//! A blocking JSON-RPC client of a node, and signing of native operations.

use crate::keyfile::KeyFile;
use jsonrpsee::{
    core::{ClientError, client::ClientT, params::ArrayParams},
    http_client::{HttpClient, HttpClientBuilder},
};
use nvm_primitives::{ENVELOPE_VERSION, IdCom, TxBody};
use nvm_vm_native::NativeOp;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long `send` waits for a receipt before giving up.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Client {
    http: HttpClient,
    runtime: tokio::runtime::Runtime,
    url: String,
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

impl Client {
    pub fn new(url: &str) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .build(url)
            .map_err(|e| format!("bad RPC URL {url}: {e}"))?;
        Ok(Self { http, runtime, url: url.to_string() })
    }

    pub fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, String> {
        let mut array = ArrayParams::new();
        for p in params {
            array.insert(p).map_err(|e| e.to_string())?;
        }
        self.runtime.block_on(self.http.request::<Value, _>(method, array)).map_err(|e| match e {
            ClientError::Call(obj) => format!("{} (JSON-RPC error {})", obj.message(), obj.code()),
            ClientError::Transport(t) => format!("cannot reach node at {}: {t}", self.url),
            other => other.to_string(),
        })
    }

    /// The sender's next nonce, counting its transactions in the mempool.
    pub fn pending_nonce(&self, sender: &IdCom) -> Result<u64, String> {
        self.call(
            "nvm_getNonce",
            vec![Value::String(hex0x(sender)), Value::String("pending".into())],
        )?
        .as_u64()
        .ok_or_else(|| "node did not report a nonce".to_string())
    }

    /// The chain the node runs.
    pub fn chain_id(&self) -> Result<u64, String> {
        let info = self.call("nvm_chainInfo", vec![])?;
        info["chainId"].as_u64().ok_or_else(|| "node did not report a chain id".to_string())
    }

    /// Signs `op` as `sender` with `key`, sends it and waits for its receipt.
    pub fn send(
        &self,
        key: &KeyFile,
        sender: IdCom,
        op: &NativeOp,
        wait: bool,
    ) -> Result<Value, String> {
        self.send_payload(key, sender, op.encode(), wait)
    }

    /// [`Client::send`] of any VM's payload (`opcode ‖ body`).
    pub fn send_payload(
        &self,
        key: &KeyFile,
        sender: IdCom,
        payload: Vec<u8>,
        wait: bool,
    ) -> Result<Value, String> {
        let info = self.call("nvm_chainInfo", vec![])?;
        let chain_id = info["chainId"].as_u64().ok_or("node did not report a chain id")?;
        let fee: u128 = info["txFee"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or("node did not report a fee")?;
        let nonce = self.pending_nonce(&sender)?;
        let body = TxBody {
            version: ENVELOPE_VERSION,
            chain_id,
            sender,
            nonce,
            max_fee: fee,
            context: None,
            payload,
        };
        let tx = key.key.sign_transaction(body).map_err(|e| e.to_string())?;
        let hash = self.call("nvm_sendTransaction", vec![Value::String(hex0x(&tx.encode()))])?;
        if !wait {
            return Ok(serde_json::json!({ "txHash": hash }));
        }
        let started = Instant::now();
        loop {
            let receipt = self.call("nvm_getTransactionReceipt", vec![hash.clone()])?;
            if !receipt.is_null() {
                return Ok(receipt);
            }
            if started.elapsed() > RECEIPT_TIMEOUT {
                return Err(format!("transaction {hash} not included after {RECEIPT_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
