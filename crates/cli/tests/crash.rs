//! A real `nvm node --dev` killed with SIGKILL at (seeded) random moments while several senders
//! submit to it concurrently, restarted each time: no acknowledged transaction is lost, none is
//! applied twice, and every recipient holds exactly what its sender's included transfers sent.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use alloy_primitives::Address;
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

/// Fixed, so a failure replays with the same kill moments.
const SEED: u64 = 0x5EED_C4A5;
const KILLS: usize = 3;

/// One sender: the dev identity (native transfers) or a dev mnemonic account (Ethereum).
#[derive(Clone, Copy, Debug)]
enum Sender {
    Native,
    Ethereum(u32),
}

impl Sender {
    /// Where its transfers (1 unit each) go: an address nobody else pays.
    fn recipient(self) -> String {
        match self {
            Self::Native => hex0x(&[0x42; 32]),
            Self::Ethereum(i) => hex0x(&[0x50 + i as u8; 20]),
        }
    }

    fn address(self) -> String {
        match self {
            Self::Native => hex0x(&dev_id()),
            Self::Ethereum(i) => mnemonic_signer(i).address().to_string(),
        }
    }

    /// Its next nonce, counting pending transactions (`pending`) or only included ones.
    fn nonce(self, rpc: &Rpc, pending: bool) -> Option<u64> {
        let tag = json!(if pending { "pending" } else { "latest" });
        match self {
            Self::Native => {
                rpc.try_call("nvm_getNonce", vec![json!(self.address()), tag]).ok()?.as_u64()
            }
            Self::Ethereum(_) => {
                let count = rpc
                    .try_call("eth_getTransactionCount", vec![json!(self.address()), tag])
                    .ok()?;
                u64::from_str_radix(count.as_str()?.trim_start_matches("0x"), 16).ok()
            }
        }
    }

    fn send_call(self, nonce: u64) -> (&'static str, Value) {
        match self {
            Self::Native => {
                let tx = signed(&dev_key(), dev_id(), nonce, DEV_CHAIN_ID, transfer([0x42; 32], 1));
                ("nvm_sendTransaction", json!(hex0x(&tx.encode())))
            }
            Self::Ethereum(i) => {
                let to = Address::from([0x50 + i as u8; 20]);
                let raw = eth_tx(&mnemonic_signer(i), nonce, to, 1, vec![], 21_000);
                ("eth_sendRawTransaction", json!(hex0x(&raw)))
            }
        }
    }

    fn receipt_method(self) -> &'static str {
        match self {
            Self::Native => "nvm_getTransactionReceipt",
            Self::Ethereum(_) => "eth_getTransactionReceipt",
        }
    }
}

/// Submits batches of 20 until `stop`, through the node's crashes, as a careful client does: it
/// never sends again what the node acknowledged (the node promised to keep it), and resends what
/// got no answer. So it goes on from the pending nonce the node reports, or past its highest
/// acknowledged one if the node reports less — which leaves a gap nothing fills if the node lost
/// an acknowledged transaction. Returns the acknowledged hashes.
fn submit(url: &str, sender: Sender, stop: &AtomicBool) -> HashSet<String> {
    let rpc = Rpc::new(url);
    let mut acknowledged = HashSet::new();
    let (mut next, mut acknowledged_to) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        let calls: Vec<(&str, Vec<Value>)> = (next..next + 20)
            .map(|n| {
                let (method, raw) = sender.send_call(n);
                (method, vec![raw])
            })
            .collect();
        match rpc.try_batch(calls) {
            Some(results) => {
                for (nonce, result) in (next..).zip(results) {
                    // Refusals under load (a full queue) are sent again from the pending nonce.
                    if let Ok(hash) = result {
                        acknowledged.insert(hash.as_str().unwrap().to_string());
                        acknowledged_to = acknowledged_to.max(nonce + 1);
                    }
                }
            }
            None => std::thread::sleep(Duration::from_millis(100)), // down: wait for the restart
        }
        match sender.nonce(&rpc, true) {
            Some(pending) => next = pending.max(acknowledged_to),
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    acknowledged
}

/// SplitMix64: the kill moments from the seed.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn kill_9_at_random_moments_during_concurrent_submission_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut node = Node::start(dir.path(), port, 100);
    let senders = [Sender::Native, Sender::Ethereum(4), Sender::Ethereum(5)];
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = senders
        .iter()
        .map(|&sender| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || submit(&url, sender, &stop))
        })
        .collect();
    let mut random = SEED;
    for kill in 0..KILLS {
        let after = Duration::from_millis(500 + next_random(&mut random) % 2_500);
        std::thread::sleep(after);
        println!("kill {kill} after {after:?}");
        node.kill_9();
        node = Node::start(dir.path(), port, 100);
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<HashSet<String>> =
        threads.into_iter().map(|t| t.join().unwrap()).collect();

    let rpc = Rpc::new(&url);
    let deadline = Instant::now() + Duration::from_secs(60);
    for (sender, hashes) in senders.iter().zip(&acknowledged) {
        assert!(hashes.len() > 20, "{sender:?}: only {} acknowledged", hashes.len());
        // Everything it acknowledged is included (the pool drains after the last restart) ...
        let hashes: Vec<&String> = hashes.iter().collect();
        let mut missing = hashes.clone();
        while !missing.is_empty() {
            // In batches of a few hundred: a dev node lets a sender queue thousands.
            let receipts: Vec<_> = missing
                .chunks(250)
                .flat_map(|chunk| {
                    rpc.batch(
                        chunk.iter().map(|h| (sender.receipt_method(), vec![json!(h)])).collect(),
                    )
                })
                .collect();
            let mut still = Vec::new();
            for (hash, receipt) in missing.iter().zip(receipts) {
                let receipt = receipt.unwrap();
                if receipt.is_null() {
                    still.push(*hash);
                } else {
                    let status = &receipt["status"];
                    assert!(status == "success" || status == "0x1", "{hash}: {receipt}");
                }
            }
            missing = still;
            assert!(
                missing.is_empty() || Instant::now() < deadline,
                "{sender:?}: {} acknowledged transactions lost, e.g. {}; log:\n{}",
                missing.len(),
                missing[0],
                log_tail(dir.path(), 30)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // ... and nothing twice: its recipient holds one unit per included transfer, which is
        // the sender's nonce.
        let included = sender.nonce(&rpc, false).unwrap();
        let balance = match sender {
            Sender::Native => {
                rpc.call("nvm_getBalance", vec![json!(sender.recipient())])["balance"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            }
            Sender::Ethereum(_) => {
                let wei =
                    rpc.call("eth_getBalance", vec![json!(sender.recipient()), json!("latest")]);
                u64::from_str_radix(wei.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
            }
        };
        assert!(included as usize >= hashes.len(), "{sender:?}: {included} included");
        assert_eq!(balance, included, "{sender:?}: the recipient's balance");
        println!("{sender:?}: {} acknowledged, {included} included", hashes.len());
    }
}
