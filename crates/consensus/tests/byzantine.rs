//! A Byzantine leader: every block it proposes is broken in one of three ways — a wrong state
//! root, a transaction with a bad signature, or a double spend (two transactions of one sender
//! with the same nonce). The honest validators re-execute, vote against each, and the network
//! keeps finalizing through the other leaders' views; none of its blocks is ever committed.

mod common;

use common::{Context, Net, Validator};
use commonware_consensus::{
    Application, marshal::ancestry::Ancestry, simplex::scheme::ed25519::Scheme,
    simplex::types::Context as Round,
};
use commonware_cryptography::{Digested, Digestible, ed25519::PublicKey, sha256::Digest};
use commonware_runtime::{Runner, deterministic};
use nvm_consensus::{BlockRules, ConsensusBlock, NvmApplication};
use nvm_primitives::{Transaction, tx_root};
use nvm_vms::dev::dev_transfer;
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

/// Proposes what the honest application builds, broken.
#[derive(Clone)]
struct Byzantine {
    honest: NvmApplication,
    proposals: Arc<AtomicUsize>,
}

impl Byzantine {
    /// Each kind of fault is made as a careful adversary would: the header still commits to the
    /// transactions it carries, so only the defence the fault is aimed at can refuse it.
    fn corrupt(&self, mut block: nvm_primitives::Block) -> Option<nvm_primitives::Block> {
        let first = Transaction::decode(block.transactions.first()?).ok()?;
        match self.proposals.fetch_add(1, Ordering::Relaxed) % 3 {
            0 => block.header.state_root[0] ^= 1,
            1 => {
                // The block's first transaction with its signature broken: the same body, so the
                // same hash, nonce and execution (state and receipts roots stay right): only the
                // signature check can refuse it.
                let mut forged = first;
                forged.credential.signature[0] ^= 1;
                block.transactions[0] = forged.encode();
            }
            _ => block.transactions.push(dev_transfer(first.body.nonce, [9; 32], 5)),
        }
        block.header.tx_root = tx_root(block.transactions.iter().map(Vec::as_slice));
        Some(block)
    }
}

impl Application<Context> for Byzantine {
    type SigningScheme = Scheme;
    type Context = Round<Digest, PublicKey>;
    type Block = ConsensusBlock;
    type Input = ();

    async fn propose(
        &mut self,
        context: (Context, Self::Context),
        ancestry: impl Ancestry<Self::Block>,
        input: (),
    ) -> Option<Digested<Self::Block>> {
        let honest = self.honest.propose(context, ancestry, input).await?;
        let block = ConsensusBlock::new(self.corrupt(honest.inner().block().clone())?);
        let digest = block.digest();
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        context: (Context, Self::Context),
        ancestry: impl Ancestry<Self::Block>,
    ) -> bool {
        self.honest.verify(context, ancestry).await
    }
}

#[test]
fn invalid_proposals_are_rejected_and_the_network_moves_on() {
    let runner = deterministic::Runner::new(
        deterministic::Config::new().with_seed(7).with_timeout(Some(Duration::from_secs(900))),
    );
    runner.start(|context| async move {
        // Small blocks, so the Byzantine leader always has transactions to break.
        let rules = BlockRules { max_block_txs: 5, block_time: Duration::from_millis(200) };
        let net = Net::new(&context, 4, 7, rules).await;
        let txs: Vec<Vec<u8>> = (0..150).map(|n| dev_transfer(n, [7; 32], 1)).collect();
        for v in &net.validators {
            v.chain().submit(&v.mempool(), txs.clone()).expect("submitted");
        }
        let proposals = Arc::new(AtomicUsize::new(0));
        let counter = proposals.clone();
        let _byzantine =
            net.spawn_with(&context, 0, 0, move |honest| Byzantine { honest, proposals });
        let _honest: Vec<_> = (1..4).map(|i| net.spawn(&context, i, 0)).collect();

        net.wait_above(&context, &[1, 2, 3], 20, Duration::from_secs(300), "honest progress").await;
        net.assert_safe();
        let broken = counter.load(Ordering::Relaxed);
        assert!(
            broken >= 3,
            "the Byzantine leader proposed {broken} blocks, not every kind of fault"
        );
        let height = net.validators[1].height();
        for h in 1..=height {
            let block = net.validators[1].chain().block(h).expect("read").expect("block");
            assert_ne!(
                block.header.proposer,
                Validator::proposer(0),
                "a broken block at height {h} was committed"
            );
        }
        // The honest leaders carried the transfers; each is in exactly one block.
        let included = net.included(1, height);
        let mut unique = included.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), included.len(), "a transfer was included twice");
        assert!(included.len() >= 50, "only {} transfers included", included.len());
    });
}
