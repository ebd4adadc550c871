//! `nvm bench --validators N`: a local network of N validator processes on 127.0.0.1 (what
//! `nvm testnet init` + `run` start), native transfers submitted over JSON-RPC to all of them,
//! and what clients see: finalized transactions per second, and the time from a transaction's
//! acknowledgement to the commit of the block that finalized it.

use super::{BenchArgs, native_transfers};
use crate::{
    client::Client,
    testnet::{self, Plan},
    validator::FundedKey,
};
use nvm_primitives::TxHash;
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    net::TcpListener,
    process::Child,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Envelopes per `nvm_sendRawTransactions` call.
const SUBMIT_BATCH: usize = 2_000;
/// How long the network may go without finalizing a submitted transaction before the run fails.
const STALL: Duration = Duration::from_secs(60);

/// The validator processes; killed when dropped.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A base port with the 10·n + 5 ports `nvm testnet init` hands out all free.
fn free_base_port(validators: usize) -> Result<u16, String> {
    (200u16..600)
        .map(|i| i * 100)
        .find(|&base| {
            (0..validators as u16 * 10 + 5)
                .all(|p| TcpListener::bind(("127.0.0.1", base + p)).is_ok())
        })
        .ok_or_else(|| "no free range of ports on 127.0.0.1".to_string())
}

fn height(client: &Client) -> Option<u64> {
    client.call("nvm_chainInfo", vec![]).ok()?["height"].as_u64()
}

/// The hashes of block `height`'s transactions, as validator `client` committed it.
fn block_hashes(client: &Client, height: u64) -> Result<Vec<TxHash>, String> {
    let block = client.call("nvm_getBlock", vec![json!(height.to_string())])?;
    let txs = block["transactions"].as_array().ok_or("block without transactions")?;
    txs.iter()
        .map(|t| {
            let text = t.as_str().ok_or("a transaction hash is not a string")?;
            let bytes = hex::decode(text.trim_start_matches("0x")).map_err(|e| e.to_string())?;
            TxHash::try_from(bytes).map_err(|_| "a transaction hash is not 32 bytes".to_string())
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub(super) fn run(args: &BenchArgs, validators: usize) -> Result<(), String> {
    let senders = args.senders.max(validators);
    println!(
        "n-VM bench: {} native transfers from {senders} senders to {validators} validators on \
         127.0.0.1 (one process each), blocks of at most {} transactions every {} ms or more",
        args.txs, args.block_txs, args.block_time_ms
    );
    let started = Instant::now();
    let (accounts, signed) = native_transfers(args.txs, senders);
    println!("signed {} transactions in {:.2?}", signed.len(), started.elapsed());

    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    // With --data-dir the network (configs, chains, logs) is kept there.
    let dir = args.data_dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    let plan = Plan {
        validators,
        base_port: free_base_port(validators)?,
        block_time_ms: args.block_time_ms,
        max_block_txs: args.block_txs.max(1),
        chain_id: nvm_node::DEV_CHAIN_ID,
        funded_addresses: Vec::new(),
        dev_accounts: true,
        funded: accounts
            .iter()
            .map(|a| FundedKey {
                public_key: hex::encode(&a.public_key),
                balance: a.balance.to_string(),
            })
            .collect(),
    };
    testnet::init(&plan, &dir)?;
    let processes = Processes(
        (0..validators).map(|i| testnet::spawn_validator(&dir, i)).collect::<Result<_, _>>()?,
    );
    let clients: Vec<Client> = (0..validators)
        .map(|i| Client::new(&format!("http://127.0.0.1:{}", plan.base_port + 10 * i as u16 + 1)))
        .collect::<Result<_, _>>()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while clients.iter().any(|c| height(c).is_none_or(|h| h < 1)) {
        if Instant::now() > deadline {
            return Err(format!("the network did not start (logs in {})", dir.display()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("{validators} validators finalizing (logs in {})", dir.display());

    // Sender s submits through validator s % n, in nonce order.
    let mut per_validator: Vec<Vec<(TxHash, Vec<u8>)>> = vec![Vec::new(); validators];
    for (j, tx) in signed.into_iter().enumerate() {
        per_validator[(j % senders) % validators].push(tx);
    }
    let acknowledged: Arc<Mutex<HashMap<TxHash, Instant>>> = Arc::default();
    let rate = args.rate as f64 / validators as f64;
    let first_height = clients.iter().filter_map(height).min().unwrap_or(0);
    let watcher_client = Client::new(&format!("http://127.0.0.1:{}", plan.base_port + 1))?;
    let begin = Instant::now();
    let (submitted, commits) = std::thread::scope(|scope| -> Result<_, String> {
        let watcher = scope.spawn(|| watch(&watcher_client, first_height, args.txs));
        let submitters: Vec<_> = per_validator
            .iter()
            .zip(&clients)
            .map(|(txs, client)| {
                let acknowledged = acknowledged.clone();
                scope.spawn(move || submit(client, txs, rate, &acknowledged))
            })
            .collect();
        for submitter in submitters {
            submitter.join().map_err(|_| "a submitter panicked".to_string())??;
        }
        let submitted = begin.elapsed();
        let commits = watcher.join().map_err(|_| "the watcher panicked".to_string())?;
        Ok((submitted, commits))
    })?;
    let commits = commits.map_err(|e| format!("{e} (logs in {})", dir.display()))?;
    println!(
        "acknowledged {} transactions in {submitted:.2?} ({:.0} tx/s offered{})",
        args.txs,
        args.txs as f64 / submitted.as_secs_f64(),
        if args.rate > 0 { format!(", paced at {} tx/s", args.rate) } else { String::new() }
    );
    let acknowledged = acknowledged.lock().map_err(|_| "poisoned")?;
    let mut latencies: Vec<Duration> = commits
        .seen
        .iter()
        .filter_map(|(hash, at)| Some(at.saturating_duration_since(*acknowledged.get(hash)?)))
        .collect();
    let (blocks, last_commit) = (commits.blocks, commits.last);
    let elapsed = last_commit - begin;
    latencies.sort();
    println!(
        "finalized:        {:>10.0} tx/s  ({} transactions in {blocks} blocks, {elapsed:.2?} from the first submission to the last commit)",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        latencies.len()
    );
    let ms = |d: Duration| d.as_millis();
    println!(
        "time to finality: p50 {} ms, p99 {} ms, max {} ms  (acknowledged by a validator's RPC -> committed on validator 0)",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    agreement(&clients)?;
    drop(processes);
    Ok(())
}

/// What the watcher saw: when each transaction's block was committed on validator 0.
struct Commits {
    seen: HashMap<TxHash, Instant>,
    /// Blocks that carried transactions.
    blocks: usize,
    last: Instant,
}

/// Follows validator 0's committed blocks from `from + 1` until `count` transactions are in.
fn watch(client: &Client, from: u64, count: usize) -> Result<Commits, String> {
    let mut commits =
        Commits { seen: HashMap::with_capacity(count), blocks: 0, last: Instant::now() };
    let mut next = from + 1;
    let mut last_progress = Instant::now();
    while commits.seen.len() < count {
        let top = height(client).unwrap_or(0);
        if next > top {
            if last_progress.elapsed() > STALL {
                return Err(format!(
                    "{} of {count} transactions finalized; no progress for {STALL:?}",
                    commits.seen.len()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let at = Instant::now();
        for h in next..=top {
            let hashes = block_hashes(client, h)?;
            if !hashes.is_empty() {
                commits.blocks += 1;
                commits.last = at;
            }
            commits.seen.extend(hashes.into_iter().map(|hash| (hash, at)));
        }
        next = top + 1;
        last_progress = Instant::now();
    }
    Ok(commits)
}

/// Sends `txs` through `client` in batches, at most `rate` per second (0: as fast as the node
/// takes them); records when each was acknowledged.
fn submit(
    client: &Client,
    txs: &[(TxHash, Vec<u8>)],
    rate: f64,
    acknowledged: &Mutex<HashMap<TxHash, Instant>>,
) -> Result<(), String> {
    let begin = Instant::now();
    // Paced submissions go in batches of about 50 ms of load.
    let size =
        if rate > 0.0 { ((rate / 20.0) as usize).clamp(1, SUBMIT_BATCH) } else { SUBMIT_BATCH };
    let mut sent = 0usize;
    for batch in txs.chunks(size) {
        if rate > 0.0 {
            let due = begin + Duration::from_secs_f64(sent as f64 / rate);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        sent += batch.len();
        let hexes: Vec<Value> =
            batch.iter().map(|(_, raw)| json!(format!("0x{}", hex::encode(raw)))).collect();
        let results = client.call("nvm_sendRawTransactions", vec![Value::Array(hexes)])?;
        let at = Instant::now();
        let results = results.as_array().ok_or("no results")?;
        if let Some(error) = results.iter().find(|r| !r["error"].is_null()) {
            return Err(format!("a transaction was refused: {}", error["error"]));
        }
        let mut map = acknowledged.lock().map_err(|_| "poisoned")?;
        map.extend(batch.iter().map(|(hash, _)| (*hash, at)));
    }
    Ok(())
}

/// Every validator reaches the same height with the same block.
fn agreement(clients: &[Client]) -> Result<(), String> {
    let top = clients.iter().filter_map(height).max().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while clients.iter().any(|c| height(c).is_none_or(|h| h < top)) {
        if Instant::now() > deadline {
            return Err(format!("validators did not all reach height {top}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let blocks: Vec<Value> = clients
        .iter()
        .map(|c| c.call("nvm_getBlock", vec![json!(top.to_string())]))
        .collect::<Result<_, _>>()?;
    if blocks
        .iter()
        .any(|b| b["stateRoot"] != blocks[0]["stateRoot"] || b["hash"] != blocks[0]["hash"])
    {
        return Err(format!("validators disagree at height {top}"));
    }
    println!(
        "agreement:        all {} validators at height {top}, state root {}",
        clients.len(),
        blocks[0]["stateRoot"].as_str().unwrap_or_default()
    );
    Ok(())
}
