//! Four validators under seeded message loss and latency (transactions gossiped between them), a
//! validator crashed and restarted, and a partition that heals. Safety: no two validators ever
//! commit different blocks at one height. Liveness: the chain keeps finalizing while at least
//! three validators are connected. A run is a function of its seed (checked by running one seed
//! twice).

mod common;

use common::Net;
use commonware_runtime::{Clock, Runner, deterministic};
use nvm_consensus::BlockRules;
use nvm_vms::dev::dev_transfer;
use std::time::Duration;

/// Runs the scenario for `seed` and returns every validator's head hash at the end.
fn scenario(seed: u64) -> Vec<[u8; 32]> {
    let runner = deterministic::Runner::new(
        deterministic::Config::new().with_seed(seed).with_timeout(Some(Duration::from_secs(900))),
    );
    runner.start(|context| async move {
        let rules = BlockRules { max_block_txs: 500, block_time: Duration::from_millis(200) };
        let net = Net::new(&context, 4, seed, rules).await;
        let mut handles: Vec<_> = (0..4).map(|i| net.spawn(&context, i, 0)).collect();

        // Lossy, slow links: all four finalize.
        net.wait_above(&context, &[0, 1, 2, 3], 5, Duration::from_secs(60), "start").await;
        // Transfers, each submitted to one validator (consecutive nonces to different ones):
        // gossip over the lossy links brings them to the others, and what a loss or the crash
        // below kept from them is announced again.
        let txs: Vec<Vec<u8>> = (0..200).map(|n| dev_transfer(n, [7; 32], 1)).collect();
        for (n, tx) in txs.iter().enumerate() {
            let v = &net.validators[n % 4];
            let admitted = v.chain().submit(&v.mempool(), vec![tx.clone()]).expect("submitted");
            assert!(admitted[0].is_ok(), "seed {seed}: {:?}", admitted[0]);
        }

        // One validator crashes: the other three keep finalizing, and it really stopped.
        handles[3].abort();
        let (top, crashed_at) = (net.top(), net.validators[3].height());
        net.wait_above(&context, &[0, 1, 2], top + 10, Duration::from_secs(120), "three of four")
            .await;
        assert_eq!(net.validators[3].height(), crashed_at, "seed {seed}: the crashed one went on");

        // It restarts from its disk — chain, consensus storage and transaction journal, nothing
        // kept in memory — and catches up from its peers.
        net.validators[3].reopen(&context).await;
        assert_eq!(net.validators[3].height(), crashed_at, "seed {seed}: the chain reopened");
        handles[3] = net.spawn(&context, 3, 1);
        let top = net.top();
        net.wait_above(&context, &[3], top, Duration::from_secs(120), "restart catch-up").await;

        // A partition into two halves: neither has a quorum, so nothing new is finalized ...
        net.set_links(|i, j| (i < 2) == (j < 2)).await;
        context.sleep(Duration::from_secs(5)).await;
        let split = net.heights();
        context.sleep(Duration::from_secs(20)).await;
        assert_eq!(net.heights(), split, "seed {seed}: finalized without a quorum");
        net.assert_safe();
        // ... until it heals.
        net.set_links(|_, _| true).await;
        net.wait_above(&context, &[0, 1, 2, 3], net.top() + 5, Duration::from_secs(180), "healed")
            .await;

        net.assert_safe();
        let min = net.heights().into_iter().min().unwrap_or(0);
        // Every transfer is in exactly one block (a second inclusion would fail its nonce).
        let mut included = net.included(0, min);
        included.sort();
        let mut expected = txs.clone();
        expected.sort();
        assert!(
            included == expected,
            "seed {seed}: {} transfers included, {} sent",
            included.len(),
            expected.len()
        );
        for v in &net.validators {
            assert!(v.mempool().is_empty(), "seed {seed}: pools drained");
        }
        net.validators
            .iter()
            .map(|v| v.chain().block(min).expect("read").expect("block").header.hash())
            .collect()
    })
}

#[test]
fn four_validators_stay_safe_and_live_under_loss_crash_and_partition() {
    for seed in [1, 2, 3] {
        let heads = scenario(seed);
        assert!(heads.windows(2).all(|w| w[0] == w[1]), "seed {seed}: validators disagree");
    }
}

#[test]
fn a_seed_replays_exactly() {
    assert_eq!(scenario(42), scenario(42));
}
