//! A real `nvm node --dev` under the load users put on it: several senders at once, each
//! pushing JSON-RPC batches of signed transactions as fast as the node takes them (Ethereum
//! ERC-20 `transfer`s and value transfers, native transfers), one batch in flight per sender,
//! for a bounded time. The chain must keep committing the whole time — its height advances in
//! every two-second window — and every transaction the node acknowledged must end in a block.
//! (Found this way: a lock-order deadlock between journal appends and journal compaction that
//! stopped the chain for good after ~30 blocks.)

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, sol};
use common::{
    Node, Rpc, dev_id, eth_tx, free_port, hex0x, log_tail, mnemonic_signer, signed, transfer,
};
use nvm_node::{DEV_CHAIN_ID, dev_key};
use serde_json::{Value, json};
use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

sol! {
    function transfer(address to, uint256 value) returns (bool);
}

/// How long the senders push.
const LOAD_FOR: Duration = Duration::from_secs(20);
/// Transactions per JSON-RPC batch.
const BATCH: u64 = 100;
/// The window in which the height must advance.
const WINDOW: Duration = Duration::from_secs(2);
const BLOCK_TIME_MS: u64 = 200;
/// JSON-RPC error codes: the pool holds these bytes already; the pool (or the sender's share of
/// it) is full.
const ALREADY_KNOWN: i32 = -32008;
const MEMPOOL_FULL: i32 = -32009;

/// What one sender sends.
#[derive(Clone, Copy)]
enum Load {
    /// `transfer` on the native token's ERC-20 view (gas limit 60,000), EIP-1559.
    Erc20(u32),
    /// Plain value transfers, EIP-1559.
    Ether(u32),
    /// Native transfers signed by the dev key.
    Native,
}

/// Which receipt method answers for a transaction of this load.
fn receipt_method(load: Load) -> &'static str {
    match load {
        Load::Native => "nvm_getTransactionReceipt",
        _ => "eth_getTransactionReceipt",
    }
}

/// The send call of transaction `nonce` of this sender.
fn send_call(load: Load, signer: Option<&PrivateKeySigner>, nonce: u64) -> (&'static str, Value) {
    let erc20_view = Address::from(nvm_ledger::erc20_view_address(&nvm_ledger::NATIVE_MINT));
    let recipient = Address::from([0x77; 20]);
    let (to, value, input, gas_limit) = match load {
        Load::Native => {
            let tx = signed(&dev_key(), dev_id(), nonce, DEV_CHAIN_ID, transfer([9; 32], 1));
            return ("nvm_sendTransaction", json!(hex0x(&tx.encode())));
        }
        Load::Erc20(_) => (
            erc20_view,
            0,
            transferCall { to: recipient, value: U256::from(1) }.abi_encode(),
            60_000,
        ),
        Load::Ether(_) => (recipient, 1, Vec::new(), 21_000),
    };
    let raw = eth_tx(signer.unwrap(), nonce, to, value, input, gas_limit);
    ("eth_sendRawTransaction", json!(hex0x(&raw)))
}

/// Sends batch after batch until `stop`; returns the hashes the node acknowledged. A rejected
/// transaction (its sender's queue or the pool full, its fee cap under the base fee) is sent
/// again, from its nonce, in the next batch; what the pool already holds comes back as known and
/// counts once.
fn push(url: &str, load: Load, stop: &AtomicBool) -> (Load, HashSet<String>, u64) {
    let rpc = Rpc::new(url);
    let signer = match load {
        Load::Erc20(i) | Load::Ether(i) => Some(mnemonic_signer(i)),
        Load::Native => None,
    };
    let mut acknowledged = HashSet::new();
    let (mut next, mut rejected) = (0u64, 0u64);
    // After `stop`, a refused nonce is still sent until taken: the nonces after it, which the
    // node may have taken (a base-fee refusal is per transaction), wait for it.
    let mut resending = false;
    while !stop.load(Ordering::Relaxed) || resending {
        let calls: Vec<(&str, Vec<Value>)> = (next..next + BATCH)
            .map(|nonce| {
                let (method, raw) = send_call(load, signer.as_ref(), nonce);
                (method, vec![raw])
            })
            .collect();
        let mut first_rejected = None;
        for (nonce, result) in (next..).zip(rpc.batch(calls)) {
            match result {
                Ok(hash) => {
                    acknowledged.insert(hash.as_str().unwrap().to_string());
                }
                Err((ALREADY_KNOWN, _)) => {}
                Err((code, message)) => {
                    // Load also raises the EIP-1559 base fee past a fee cap (blocks fuller than
                    // half the gas limit raise it an eighth each), until blocks empty again.
                    assert!(
                        code == MEMPOOL_FULL
                            || message.contains("too far ahead")
                            || message.contains("less than block base fee"),
                        "nonce {nonce} refused for a reason other than load: {code} {message}"
                    );
                    rejected += 1;
                    first_rejected.get_or_insert(nonce);
                }
            }
        }
        resending = first_rejected.is_some();
        match first_rejected {
            Some(nonce) => {
                next = nonce;
                std::thread::sleep(Duration::from_millis(BLOCK_TIME_MS / 2));
            }
            None => next += BATCH,
        }
    }
    (load, acknowledged, rejected)
}

#[test]
fn the_chain_keeps_committing_under_batched_load_from_many_senders() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = Node::start(dir.path(), port, BLOCK_TIME_MS);
    let url = format!("http://127.0.0.1:{port}");
    let loads = [
        Load::Erc20(0),
        Load::Erc20(1),
        Load::Erc20(2),
        Load::Ether(3),
        Load::Ether(4),
        Load::Native,
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = loads
        .iter()
        .map(|&load| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || push(&url, load, &stop))
        })
        .collect();

    // The height, sampled while the load runs.
    let log = |lines| log_tail(dir.path(), lines);
    let height = || match node.try_call("nvm_chainInfo", vec![]) {
        Ok(info) => info["height"].as_u64().unwrap(),
        Err(e) => panic!("the node stopped answering ({e}); log tail:\n{}", log(60)),
    };
    let started = Instant::now();
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    while started.elapsed() < LOAD_FOR {
        samples.push((started.elapsed(), height()));
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    let results: Vec<_> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let final_sample = (started.elapsed(), height());
    samples.push(final_sample);
    for (i, &(at, height)) in samples.iter().enumerate() {
        let Some(&(later, after)) = samples[i..].iter().find(|(t, _)| *t >= at + WINDOW) else {
            break;
        };
        assert!(
            after > height,
            "no block committed between {at:.1?} and {later:.1?} of the load (height {height}); \
             samples {samples:?}\nnode log tail:\n{}",
            log(40)
        );
    }

    // Every acknowledged transaction is in a block once the pool drains.
    let total: usize = results.iter().map(|(_, acked, _)| acked.len()).sum();
    let rejected: u64 = results.iter().map(|(_, _, rejected)| rejected).sum();
    println!(
        "{total} transactions acknowledged ({rejected} refused as over a limit and sent again) \
         in {LOAD_FOR:?}; height {}",
        final_sample.1
    );
    assert!(total > 5_000, "only {total} transactions acknowledged: the load did not saturate");
    // Blocks are read as they come (their transaction hashes are what the RPC acknowledged).
    let rpc = Rpc::new(&url);
    let mut included: HashSet<String> = HashSet::new();
    let mut scanned = 0u64;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let head = height();
        let blocks: Vec<(&str, Vec<Value>)> =
            (scanned + 1..=head).map(|h| ("nvm_getBlock", vec![json!(h.to_string())])).collect();
        for chunk in blocks.chunks(100) {
            for block in rpc.batch(chunk.to_vec()) {
                let block = block.unwrap();
                for tx in block["transactions"].as_array().unwrap() {
                    assert!(included.insert(tx.as_str().unwrap().to_string()), "{tx} twice");
                }
            }
        }
        scanned = head;
        let missing = results
            .iter()
            .flat_map(|(_, acked, _)| acked)
            .filter(|hash| !included.contains(*hash))
            .count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} acknowledged transactions never included; log tail:\n{}",
            log(40)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // And they ran: a hundred of each sender's transactions succeeded.
    for (load, acknowledged, _) in &results {
        let sample: Vec<&String> = acknowledged.iter().take(100).collect();
        for (hash, receipt) in sample.iter().zip(receipts(&rpc, receipt_method(*load), &sample)) {
            let status = &receipt["status"];
            assert!(status == "0x1" || status == "success", "transaction {hash} failed: {receipt}");
        }
    }
    drop(node);
}

/// Receipts of `hashes`, 500 to a JSON-RPC batch.
fn receipts(rpc: &Rpc, method: &str, hashes: &[&String]) -> Vec<Value> {
    hashes
        .chunks(500)
        .flat_map(|chunk| {
            rpc.batch(chunk.iter().map(|h| (method, vec![json!(h)])).collect())
                .into_iter()
                .map(|r| r.unwrap_or_else(|e| panic!("{method}: {e:?}")))
        })
        .collect()
}

/// How many clients hold a connection each at once in the mixed load.
const CLIENTS: usize = 1_000;
/// How long they keep asking.
const MIXED_FOR: Duration = Duration::from_secs(15);
/// Senders among them: the dev mnemonic's funded accounts, one ERC-20 `transfer` at a time each.
const SENDERS: usize = nvm_vm_evm::DEV_MNEMONIC_ACCOUNTS as usize;

/// What one client of the mixed load asks, by its number: the first [`SENDERS`] send, the others
/// read — `eth_call` (`balanceOf` on the ERC-20 view), `eth_getLogs` over the last blocks of its
/// `Transfer`s, and head reads.
async fn mixed_client(
    url: String,
    client: usize,
    until: Instant,
) -> Result<(usize, HashSet<String>), String> {
    use jsonrpsee::core::{client::ClientT, params::ArrayParams};
    let rpc = jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(60))
        .build(&url)
        .map_err(|e| e.to_string())?;
    let call = |method: &'static str, params: Vec<Value>| {
        let rpc = &rpc;
        async move {
            let mut array = ArrayParams::new();
            for p in params {
                array.insert(p)?;
            }
            rpc.request::<Value, _>(method, array).await
        }
    };
    let view = Address::from(nvm_ledger::erc20_view_address(&nvm_ledger::NATIVE_MINT));
    let signer = (client < SENDERS).then(|| mnemonic_signer(client as u32));
    let (mut asked, mut nonce, mut acknowledged) = (0, 0u64, HashSet::new());
    while Instant::now() < until {
        asked += 1;
        let answer = match (&signer, client % 3) {
            (Some(signer), _) => {
                let (method, raw) = send_call(Load::Erc20(client as u32), Some(signer), nonce);
                let sent = call(method, vec![raw]).await;
                if let Ok(hash) = &sent {
                    acknowledged.insert(hash.as_str().unwrap_or_default().to_string());
                    nonce += 1;
                }
                sent
            }
            (None, 0) => {
                let data =
                    format!("0x70a08231{:0>64}", format!("{:x}", mnemonic_signer(0).address()));
                call("eth_call", vec![json!({ "to": view, "data": data }), json!("latest")]).await
            }
            (None, 1) => {
                let head = call("eth_blockNumber", vec![]).await.map_err(|e| e.to_string())?;
                let head = u64::from_str_radix(head.as_str().unwrap().trim_start_matches("0x"), 16)
                    .map_err(|e| e.to_string())?;
                let from = format!("{:#x}", head.saturating_sub(5));
                let filter = json!({ "fromBlock": from, "toBlock": "latest", "address": view });
                call("eth_getLogs", vec![filter]).await
            }
            (None, _) => call("nvm_chainInfo", vec![]).await,
        };
        match answer {
            Ok(value) if !value.is_null() => {}
            other => return Err(format!("client {client}, request {asked}: {other:?}")),
        }
    }
    Ok((asked, acknowledged))
}

/// A thousand clients at once, each on its own connection, mixing sends, calls and log queries
/// against a dev node for a bounded time: every request gets a well-formed answer, blocks keep
/// coming at the configured pace, and every acknowledged transaction ends in a block.
#[test]
fn a_thousand_clients_mixing_sends_calls_and_log_queries_are_all_answered() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Room for every client and the sampler at once.
    let node =
        Node::start_with(dir.path(), port, 0, BLOCK_TIME_MS, &["--rpc-max-connections", "1024"]);
    let url = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let until = Instant::now() + MIXED_FOR;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| runtime.spawn(mixed_client(url.clone(), client, until)))
        .collect();
    // The height, sampled by one more client while the load runs.
    let sampler = Rpc::new(&url);
    let started = Instant::now();
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    while Instant::now() < until {
        match sampler.try_call("nvm_chainInfo", vec![]) {
            Ok(info) => samples.push((started.elapsed(), info["height"].as_u64().unwrap())),
            Err(e) => {
                panic!("the node stopped answering ({e}); log tail:\n{}", log_tail(dir.path(), 60))
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let results: Vec<_> = runtime.block_on(async {
        let mut results = Vec::with_capacity(CLIENTS);
        for client in clients {
            results.push(client.await.unwrap());
        }
        results
    });
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} clients got no proper answer, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let answered: usize = results.iter().flatten().map(|(asked, _)| asked).sum();
    let acknowledged: HashSet<String> =
        results.into_iter().flatten().flat_map(|(_, acked)| acked).collect();
    println!(
        "{CLIENTS} clients: {answered} requests answered, {} transactions acknowledged in \
         {MIXED_FOR:?}; heights {:?}",
        acknowledged.len(),
        (samples.first(), samples.last())
    );
    for (i, &(at, height)) in samples.iter().enumerate() {
        let Some(&(later, after)) = samples[i..].iter().find(|(t, _)| *t >= at + WINDOW) else {
            break;
        };
        assert!(
            after > height,
            "no block committed between {at:.1?} and {later:.1?} (height {height})\nlog tail:\n{}",
            log_tail(dir.path(), 40)
        );
    }
    assert!(answered > CLIENTS * 2, "only {answered} requests answered");
    assert!(acknowledged.len() >= SENDERS, "only {} transactions acknowledged", acknowledged.len());
    // Every acknowledged transaction ends in a block.
    let hashes: Vec<&String> = acknowledged.iter().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let receipts = receipts(&sampler, "eth_getTransactionReceipt", &hashes);
        let missing = receipts.iter().filter(|r| r.is_null()).count();
        if missing == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{missing} acknowledged transactions never included");
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(node);
}
