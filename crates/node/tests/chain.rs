//! A follower re-executes a proposer's blocks: identical blocks commit to identical roots;
//! tampered ones are refused and change nothing.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use nvm_executor::VerifiedTx;
use nvm_node::{Chain, ChainError, Genesis, HistoryWindow};
use nvm_vms::dev::dev_transfer;

fn vms() -> nvm_executor::VmRegistry {
    nvm_vms::registry().unwrap()
}
use nvm_primitives::Block;

fn transfer(nonce: u64, amount: u128) -> Vec<u8> {
    dev_transfer(nonce, [7; 32], amount)
}

fn verified(raws: Vec<Vec<u8>>) -> Vec<VerifiedTx> {
    VerifiedTx::verify_many(&vms(), raws).into_iter().map(Result::unwrap).collect()
}

fn expect_invalid(follower: &Chain, block: &Block) {
    let head = follower.head().unwrap();
    match follower.verify(block) {
        Err(ChainError::InvalidBlock(_)) => {}
        Err(other) => panic!("expected an invalid block, got {other}"),
        Ok(_) => panic!("a bad block verified"),
    }
    assert_eq!(follower.head().unwrap(), head);
}

#[test]
fn follower_agrees_and_refuses_bad_blocks() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let genesis = Genesis::dev(&vms());
    let proposer =
        Chain::open(a.path(), &genesis, [1; 32], vms(), HistoryWindow::default()).unwrap();
    let follower =
        Chain::open(b.path(), &genesis, [2; 32], vms(), HistoryWindow::default()).unwrap();
    assert_eq!(proposer.head().unwrap(), follower.head().unwrap());

    let proposed =
        proposer.propose(verified((0..20).map(|n| transfer(n, 5)).collect()), 1_000).unwrap();
    assert_eq!(proposed.receipts.len(), 20);
    let block = proposed.block.clone();
    proposer.commit(&proposed).unwrap();

    // Tampered state root.
    let mut bad = block.clone();
    bad.header.state_root[0] ^= 1;
    expect_invalid(&follower, &bad);
    // A transaction whose signature no longer verifies.
    let mut bad = block.clone();
    let last = bad.transactions.len() - 1;
    let len = bad.transactions[last].len();
    bad.transactions[last][len - 1] ^= 1;
    expect_invalid(&follower, &bad);
    // A double spend: the same nonce twice in one block.
    let mut bad = block.clone();
    bad.transactions.push(transfer(3, 9));
    expect_invalid(&follower, &bad);

    // The honest block verifies and commits to the same head.
    let rebuilt = follower.verify(&block).unwrap();
    let head = follower.commit(&rebuilt).unwrap();
    assert_eq!(head, proposer.head().unwrap());
}

#[test]
fn pipelined_blocks_are_the_blocks_a_follower_rebuilds() {
    use nvm_node::{BlockPipeline, Mempool};
    use std::sync::Arc;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let genesis = Genesis::dev(&vms());
    let proposer = Arc::new(
        Chain::open(a.path(), &genesis, [1; 32], vms(), HistoryWindow::default()).unwrap(),
    );
    let follower =
        Chain::open(b.path(), &genesis, [2; 32], vms(), HistoryWindow::default()).unwrap();
    let mempool = Arc::new(Mempool::new(1_000));
    let raws: Vec<Vec<u8>> = (0..60).map(|n| transfer(n, 1 + n as u128)).collect();
    for result in proposer.submit(&mempool, raws).unwrap() {
        result.unwrap();
    }
    let mut pipeline = BlockPipeline::new(proposer.clone(), mempool.clone());
    let mut included = 0;
    for step in 0..6 {
        // Each block is built while the previous one is still being committed.
        let report = pipeline.step(10, 1_000 + step).unwrap();
        assert_eq!(report.included, 10, "block {}", report.height);
        included += report.included;
    }
    pipeline.finish().unwrap();
    assert_eq!(included, 60);
    assert!(mempool.is_empty(), "committed transactions left in the mempool");
    let head = proposer.head().unwrap();
    assert_eq!(head.height, 6);
    for height in 1..=head.height {
        let block = proposer.block(height).unwrap().unwrap();
        let rebuilt = follower.verify(&block).unwrap();
        follower.commit(&rebuilt).unwrap();
    }
    assert_eq!(follower.head().unwrap(), head);
    for n in 0..60 {
        let hash = nvm_primitives::Transaction::decode(&transfer(n, 1 + n as u128)).unwrap().hash();
        assert!(proposer.receipt(&hash).unwrap().is_some(), "transaction {n} lost");
    }
}

/// A signed EIP-1559 transaction of the dev mnemonic's first account (its block encoding):
/// a value transfer to `0x0909…`, or with `create`, a deployment of empty runtime code.
fn eth_tx(nonce: u64, gas_limit: u64, create: bool) -> Vec<u8> {
    eth_tx_priced(nonce, gas_limit, create, 10_000_000_000)
}

/// [`eth_tx`] with a fee cap of `max_fee_per_gas` (and no tip).
fn eth_tx_priced(nonce: u64, gas_limit: u64, create: bool, max_fee_per_gas: u128) -> Vec<u8> {
    use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_primitives::{Address, TxKind, U256};
    use alloy_signer::SignerSync;
    use alloy_signer_local::{MnemonicBuilder, coins_bip39::English};
    let wallet =
        MnemonicBuilder::<English>::default().phrase(nvm_vm_evm::DEV_MNEMONIC).build().unwrap();
    let tx = TxEip1559 {
        chain_id: nvm_node::DEV_CHAIN_ID,
        nonce,
        gas_limit,
        max_fee_per_gas,
        max_priority_fee_per_gas: max_fee_per_gas.min(1_000_000_000),
        to: if create { TxKind::Create } else { TxKind::Call(Address::repeat_byte(9)) },
        value: U256::from(nonce),
        access_list: Default::default(),
        // Init code returning empty runtime code.
        input: if create { vec![0x60, 0, 0x60, 0, 0xf3].into() } else { Default::default() },
    };
    let signature = wallet.sign_hash_sync(&tx.signature_hash()).unwrap();
    nvm_vm_evm::tag_ethereum(&TxEnvelope::from(tx.into_signed(signature)).encoded_2718())
}

#[test]
fn blocks_with_ethereum_transactions_verify_on_a_follower() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let genesis = Genesis::dev(&vms());
    let proposer =
        Chain::open(a.path(), &genesis, [1; 32], vms(), HistoryWindow::default()).unwrap();
    let follower =
        Chain::open(b.path(), &genesis, [2; 32], vms(), HistoryWindow::default()).unwrap();
    // Four value transfers and a contract creation.
    let raws: Vec<Vec<u8>> = (0..5u64).map(|nonce| eth_tx(nonce, 100_000, nonce == 4)).collect();
    let proposed = proposer.propose(verified(raws), 1_000).unwrap();
    assert_eq!(proposed.receipts.len(), 5);
    assert!(proposed.rejected.is_empty());
    let header = proposed.block.header.clone();
    assert_eq!(header.gas_used, proposed.receipts.iter().map(|r| r.gas_used).sum::<u64>());
    assert!(header.gas_used > 4 * 21_000);
    assert_eq!(
        header.base_fee_per_gas,
        nvm_vm_evm::next_base_fee(nvm_vm_evm::INITIAL_BASE_FEE, 0, genesis.block_gas_limit)
    );
    let block = proposed.block.clone();
    proposer.commit(&proposed).unwrap();

    // A header claiming other gas use, or another base fee, does not verify.
    let mut bad = block.clone();
    bad.header.gas_used += 1;
    expect_invalid(&follower, &bad);
    let mut bad = block.clone();
    bad.header.base_fee_per_gas += 1;
    expect_invalid(&follower, &bad);

    let rebuilt = follower.verify(&block).unwrap();
    assert_eq!(follower.commit(&rebuilt).unwrap(), proposer.head().unwrap());
}

#[test]
fn solana_transactions_go_through_the_mempool_into_blocks() {
    use nvm_identity::{VmAddress, legacy_id_com};
    use nvm_node::{AdmissionError, BlockPipeline, Mempool};
    use solana_keypair::Keypair;
    use solana_signer::Signer;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(
        Chain::open(dir.path(), &Genesis::dev(&vms()), [1; 32], vms(), HistoryWindow::default())
            .unwrap(),
    );
    let mempool = Arc::new(Mempool::new(100));
    let mut pipeline = BlockPipeline::new(chain.clone(), mempool.clone());
    let (alice, bob) = (Keypair::new(), Keypair::new());
    let legacy = |k: &Keypair| legacy_id_com(&VmAddress::Svm(k.pubkey().to_bytes())).unwrap();
    // Alice's key has no identity: her legacy identity is funded with 5 NVM by a native transfer.
    let funding = dev_transfer(0, legacy(&alice), 5 * 10u128.pow(18));
    chain.submit(&mempool, vec![funding]).unwrap().pop().unwrap().unwrap();
    assert_eq!(pipeline.step(10, 1_000).unwrap().included, 1);
    pipeline.finish().unwrap();

    let transfer_from = |payer: &Keypair, lamports: u64, blockhash: [u8; 32]| {
        let ix = solana_system_interface::instruction::transfer(
            &payer.pubkey(),
            &bob.pubkey(),
            lamports,
        );
        let tx = solana_transaction::Transaction::new_signed_with_payer(
            &[ix],
            Some(&payer.pubkey()),
            &[payer],
            solana_hash::Hash::new_from_array(blockhash),
        );
        let versioned = solana_transaction::versioned::VersionedTransaction::from(tx);
        nvm_vm_svm::tag_solana(&bincode::serialize(&versioned).unwrap())
    };
    let solana_transfer =
        |lamports: u64, blockhash: [u8; 32]| transfer_from(&alice, lamports, blockhash);
    // Named by the head block's hash, as `getLatestBlockhash` will hand it out.
    let head = chain.head().unwrap();
    let pay = solana_transfer(1_000_000_000, head.hash);
    let hash = chain.submit(&mempool, vec![pay.clone()]).unwrap().pop().unwrap().unwrap();
    let again = chain.submit(&mempool, vec![pay.clone()]).unwrap().pop().unwrap();
    assert!(matches!(again, Err(AdmissionError::AlreadyKnown(_))));
    let stale = chain.submit(&mempool, vec![solana_transfer(1, [9; 32])]).unwrap().pop().unwrap();
    assert!(matches!(
        stale,
        Err(AdmissionError::Invalid(nvm_executor::TxError::BlockhashNotFound(_)))
    ));

    assert_eq!(pipeline.step(10, 2_000).unwrap().included, 1);
    pipeline.finish().unwrap();
    assert!(mempool.is_empty());
    let receipt = chain.receipt(&hash).unwrap().unwrap();
    assert_eq!(receipt.status, nvm_primitives::TxStatus::Success, "{:?}", receipt.vm_data);
    assert_eq!(receipt.sender, legacy(&alice));
    let replay = chain.submit(&mempool, vec![pay]).unwrap().pop().unwrap();
    assert!(matches!(
        replay,
        Err(AdmissionError::Invalid(nvm_executor::TxError::AlreadyProcessed))
    ));
    let snapshot = chain.snapshot().unwrap();
    let mut view = nvm_state_api::TxOverlay::new(&snapshot);
    let bob_units =
        nvm_ledger::Ledger::balance(&mut view, &nvm_ledger::NATIVE_MINT, &legacy(&bob)).unwrap();
    assert_eq!(bob_units, 10u128.pow(18), "1 SOL-view lamport unit is 10^9 base units");

    // Two more, one block each: the second block is built while the first is still being
    // committed, and must not propose the first's transaction again.
    let head = chain.head().unwrap();
    let (first, second) = (solana_transfer(1_000, head.hash), solana_transfer(2_000, head.hash));
    for result in chain.submit(&mempool, vec![first, second]).unwrap() {
        result.unwrap();
    }
    assert_eq!(pipeline.step(1, 3_000).unwrap().included, 1);
    let report = pipeline.step(1, 4_000).unwrap();
    assert_eq!((report.included, report.rejected), (1, 0));
    pipeline.finish().unwrap();
    assert!(mempool.is_empty());

    // A payer's pending transactions are bounded together, as a nonce-ordered sender's are:
    // Carol holds two and a half fees (5,000 lamports each), so two transfers wait and a third,
    // whose fee she could pay alone, is refused.
    let carol = Keypair::new();
    let fee_units = 5_000 * 10u128.pow(9);
    let funding = dev_transfer(1, legacy(&carol), fee_units * 5 / 2);
    chain.submit(&mempool, vec![funding]).unwrap().pop().unwrap().unwrap();
    assert_eq!(pipeline.step(10, 5_000).unwrap().included, 1);
    pipeline.finish().unwrap();
    let head = chain.head().unwrap();
    let tiny = |i: u64| transfer_from(&carol, 1 + i, head.hash);
    let results = chain.submit(&mempool, (0..3).map(tiny).collect()).unwrap();
    assert!(results[..2].iter().all(Result::is_ok), "{results:?}");
    assert!(matches!(results[2], Err(AdmissionError::InsufficientFunds { .. })), "{results:?}");
    // And counted: a pool letting a sender have two pending refuses Alice's third.
    let small = Arc::new(Mempool::new(100).with_per_sender_limit(2));
    let results =
        chain.submit(&small, (0..3).map(|i| solana_transfer(1 + i, head.hash)).collect()).unwrap();
    assert!(results[..2].iter().all(Result::is_ok), "{results:?}");
    assert!(matches!(results[2], Err(AdmissionError::SenderFull(2))), "{results:?}");
}

/// Consensus builds on blocks before they are final: two blocks executed on top of each other
/// (and a competing fork) without a commit; the follower verifies the same run; committing
/// them in order gives identical heads, and the losing fork can no longer be built on.
#[test]
fn speculative_blocks_build_verify_and_commit_in_order() {
    use std::sync::Arc;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let genesis = Genesis::dev(&vms());
    let proposer =
        Chain::open(a.path(), &genesis, [1; 32], vms(), HistoryWindow::default()).unwrap();
    let follower =
        Chain::open(b.path(), &genesis, [2; 32], vms(), HistoryWindow::default()).unwrap();

    let first = Arc::new(
        proposer
            .propose_after(&[], verified((0..10).map(|n| transfer(n, 5)).collect()), 1_000)
            .unwrap(),
    );
    let fork = proposer.propose_after(&[], verified(vec![transfer(0, 99)]), 1_001).unwrap();
    let second = Arc::new(
        proposer
            .propose_after(
                std::slice::from_ref(&first),
                verified((10..20).map(|n| transfer(n, 5)).collect()),
                2_000,
            )
            .unwrap(),
    );
    assert_eq!(second.receipts.len(), 10, "the second block sees the first one's nonces");
    assert_ne!(fork.block.header.hash(), first.block.header.hash());

    let f1 = Arc::new(follower.verify_after(&[], &first.block).unwrap());
    let f2 = follower.verify_after(std::slice::from_ref(&f1), &second.block).unwrap();
    assert_eq!(f2.block.header, second.block.header);

    proposer.commit(&first).unwrap();
    proposer.commit(&second).unwrap();
    follower.commit(&f1).unwrap();
    follower.commit(&f2).unwrap();
    assert_eq!(proposer.head().unwrap(), follower.head().unwrap());
    assert_eq!(proposer.head().unwrap().height, 2);
    // A child of the losing fork does not extend the committed chain.
    assert!(matches!(
        proposer.propose_after(&[Arc::new(fork)], vec![], 3_000),
        Err(ChainError::InvalidBlock(_))
    ));
}

/// Blocks fill by the gas their transactions use, as Ethereum's do: transfers whose gas limits
/// add up past the block gas limit, but whose use fits, go into one block, which a follower
/// verifies; a transaction that no longer fits the gas left waits for the next block; and a
/// proposal whose transactions use more gas than the limit is refused.
#[test]
fn a_block_fills_by_gas_used_and_a_follower_refuses_one_over_the_limit() {
    use nvm_node::{BlockPipeline, Mempool};
    use std::sync::Arc;
    const TRANSFER_GAS: u64 = 21_000;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // 218,000: eight transfers' use leaves room for a ninth's gas limit of 50,000.
    let genesis = Genesis { block_gas_limit: 8 * TRANSFER_GAS + 50_000, ..Genesis::dev(&vms()) };
    let proposer = Arc::new(
        Chain::open(a.path(), &genesis, [1; 32], vms(), HistoryWindow::default()).unwrap(),
    );
    let follower =
        Chain::open(b.path(), &genesis, [2; 32], vms(), HistoryWindow::default()).unwrap();
    let mempool = Arc::new(Mempool::new(1_000));
    let mut pipeline = BlockPipeline::new(proposer.clone(), mempool.clone());

    // Nine transfers of gas limit 50,000: 450,000 reserved, 189,000 used — one block.
    let raws: Vec<Vec<u8>> = (0..9).map(|nonce| eth_tx(nonce, 50_000, false)).collect();
    for result in proposer.submit(&mempool, raws).unwrap() {
        result.unwrap();
    }
    let report = pipeline.step(100, 1_000).unwrap();
    assert_eq!(report.included, 9, "the block took only what the gas limits add up to");
    // Eleven more of gas limit 21,000: ten fit the next block (210,000), the eleventh waits for
    // the one after.
    let raws: Vec<Vec<u8>> = (9..20).map(|nonce| eth_tx(nonce, TRANSFER_GAS, false)).collect();
    for result in proposer.submit(&mempool, raws.clone()).unwrap() {
        result.unwrap();
    }
    assert_eq!(pipeline.step(100, 1_001).unwrap().included, 10);
    assert_eq!(pipeline.step(100, 1_002).unwrap().included, 1, "the one left out waited");
    pipeline.finish().unwrap();
    assert!(mempool.is_empty());

    for height in 1..=3 {
        let block = proposer.block(height).unwrap().unwrap();
        assert!(block.header.gas_used <= genesis.block_gas_limit);
        if height == 2 {
            // The same block with the eleventh transfer too: its use passes the limit.
            let mut over = block.clone();
            over.transactions.push(raws[10].clone());
            over.header.tx_root =
                nvm_primitives::tx_root(over.transactions.iter().map(Vec::as_slice));
            match follower.verify(&over) {
                Err(ChainError::InvalidBlock(reason)) => {
                    assert!(reason.contains("gas"), "{reason}")
                }
                Err(other) => panic!("expected an invalid block, got {other}"),
                Ok(_) => panic!("a block over the gas limit verified"),
            }
            // A header claiming more gas than the limit is refused before anything runs.
            let mut claimed = block.clone();
            claimed.header.gas_used = genesis.block_gas_limit + 1;
            expect_invalid(&follower, &claimed);
        }
        let rebuilt = follower.verify(&block).unwrap();
        follower.commit(&rebuilt).unwrap();
    }
    assert_eq!(proposer.block(1).unwrap().unwrap().header.gas_used, 9 * TRANSFER_GAS);
    assert_eq!(follower.head().unwrap(), proposer.head().unwrap());
}

#[test]
fn a_journaled_transaction_priced_below_the_base_fee_waits_for_it_to_fall() {
    use nvm_node_api::{ChainReader, TxSubmitter};
    let node = nvm_node::MemoryNode::dev(vms()).unwrap();
    let base_fee = node.next_base_fee().unwrap();
    // A fee cap half the base fee: a wallet's submission is refused, as anvil refuses it.
    let cheap = eth_tx_priced(0, 21_000, false, u128::from(base_fee / 2));
    let refused = node.submit(vec![cheap.clone()]).unwrap().pop().unwrap();
    assert!(refused.is_err(), "{refused:?}");
    // Journaled before a restart (when it was affordable), it waits in the pool instead of being
    // dropped, and stays journaled.
    assert_eq!(node.chain.readmit(&node.mempool, vec![cheap.clone()]).unwrap(), (1, 1));
    assert_eq!(node.pending_count(), 1);
    let hash = node.executor().vms.block_tx_hash(&cheap).unwrap();
    // Empty blocks lower the base fee (by 1/8 each) until it fits; until then it is skipped.
    let mut included_at = None;
    for block in 1..=10u64 {
        let fits = node.next_base_fee().unwrap() <= base_fee / 2;
        node.seal(10, block * 1_000).unwrap();
        if node.receipt(&hash).unwrap().is_some() {
            assert!(fits, "included while the base fee was above its cap");
            included_at = Some(block);
            break;
        }
    }
    assert!(included_at.is_some_and(|b| b > 1), "{included_at:?}");
}

/// A whole-chain replay: a mixed workload built by one node over many blocks — native
/// transfers, Ethereum transfers and deployments, Solana transfers and account creations — is
/// re-executed from genesis by a node that never saw it, which reaches the same state root (and
/// the same header) at every height.
#[test]
fn a_fresh_node_replays_a_mixed_chain_to_the_same_state_root_at_every_height() {
    use nvm_identity::{VmAddress, legacy_id_com};
    use solana_keypair::Keypair;
    use solana_signer::Signer;
    const BLOCKS: u64 = 12;
    let genesis = Genesis::dev(&vms());
    let proposer = Chain::in_memory(&genesis, [1; 32], vms()).unwrap();
    let (alice, bob) = (Keypair::new(), Keypair::new());
    let alice_id = legacy_id_com(&VmAddress::Svm(alice.pubkey().to_bytes())).unwrap();
    let solana = |instructions: &[_], signers: &[&Keypair], hash: [u8; 32]| {
        let tx = solana_transaction::Transaction::new_signed_with_payer(
            instructions,
            Some(&alice.pubkey()),
            signers,
            solana_hash::Hash::new_from_array(hash),
        );
        let versioned = solana_transaction::versioned::VersionedTransaction::from(tx);
        nvm_vm_svm::tag_solana(&bincode::serialize(&versioned).unwrap())
    };
    let mut blocks = Vec::new();
    for height in 1..=BLOCKS {
        let head = proposer.head().unwrap();
        // The dev identity's two native transfers of the block: nonces 2h-2 and 2h-1.
        let mut raws = vec![if height == 1 {
            dev_transfer(0, alice_id, 5 * 10u128.pow(18))
        } else {
            transfer(2 * height - 2, u128::from(height))
        }];
        raws.push(eth_tx(height - 1, 100_000, height % 3 == 0));
        if height > 1 {
            let pay = solana_system_interface::instruction::transfer(
                &alice.pubkey(),
                &bob.pubkey(),
                1_000_000 + height,
            );
            raws.push(solana(&[pay], &[&alice], head.hash));
        }
        if height % 4 == 0 {
            let account = Keypair::new();
            let create = solana_system_interface::instruction::create_account(
                &alice.pubkey(),
                &account.pubkey(),
                10_000_000,
                16,
                &nvm_vm_svm::Pubkey::new_unique(),
            );
            raws.push(solana(&[create], &[&alice, &account], head.hash));
        }
        raws.push(transfer(2 * height - 1, 1));
        let proposed = proposer.propose(verified(raws), 1_000 * height).unwrap();
        assert!(proposed.rejected.is_empty(), "block {height}: {:?}", proposed.rejected);
        assert!(
            proposed.receipts.iter().all(|r| r.status == nvm_primitives::TxStatus::Success),
            "block {height}: {:?}",
            proposed.receipts
        );
        blocks.push(proposed.block.clone());
        proposer.commit(&proposed).unwrap();
    }

    let follower = Chain::in_memory(&genesis, [2; 32], vms()).unwrap();
    for block in &blocks {
        let rebuilt = follower.verify(block).unwrap();
        let head = follower.commit(&rebuilt).unwrap();
        assert_eq!(head.state_root, block.header.state_root, "height {}", block.header.height);
        assert_eq!(head.hash, block.header.hash());
    }
    assert_eq!(follower.head().unwrap(), proposer.head().unwrap());
}

/// State written directly (`DevWriteState`, behind anvil's dev methods) and calls run as another
/// account (`DevCallAs`, behind impersonation) only by the dev authority of a chain whose genesis
/// names one: from the same dev key on a chain that names none (a network, `--dev-accounts`
/// included) each fails in its block and changes nothing but its fee.
#[test]
fn only_a_dev_chains_dev_authority_writes_state_or_acts_as_others() {
    use nvm_node_api::{ChainReader, TxSubmitter};
    use nvm_state_api::StateReader;
    let key = [0x5A; 32];
    let op = nvm_vm_native::NativeOp::DevWriteState {
        writes: vec![(key, Some(vec![7]))],
        balances: vec![],
    };
    let with_authority =
        Genesis { dev_authority: Some(nvm_node::dev_id()), ..Genesis::dev(&vms()) };
    for (genesis, allowed) in [(Genesis::dev(&vms()), false), (with_authority, true)] {
        let node = nvm_node::MemoryNode::new(&genesis, vms()).unwrap();
        // A funded account whose key the dev authority does not hold sends 5 wei, impersonated.
        let funded = nvm_vm_evm::mnemonic_addresses(nvm_vm_evm::DEV_MNEMONIC, 1).unwrap()[0];
        let to = [0x77; 20];
        let impersonated = nvm_vm_evm::EvmOp::DevCallAs {
            from: funded,
            to: Some(to),
            value: 5,
            data: vec![],
            gas_limit: 100_000,
            nonce: 0,
        };
        let raws = vec![
            nvm_vms::dev::dev_envelope(0, op.encode()),
            nvm_vms::dev::dev_envelope(1, impersonated.encode()),
        ];
        let hashes: Vec<_> = node.submit(raws).unwrap().into_iter().map(|r| r.unwrap()).collect();
        node.seal(10, 1_000).unwrap();
        let snapshot = node.snapshot().unwrap();
        let written = snapshot.get(&key).unwrap();
        let received = {
            let mut view = nvm_state_api::TxOverlay::new(&snapshot);
            let id = nvm_identity::Registry::resolve(&mut view, &nvm_identity::VmAddress::Evm(to))
                .unwrap();
            nvm_ledger::Ledger::balance(&mut view, &nvm_ledger::NATIVE_MINT, &id).unwrap()
        };
        for hash in &hashes {
            let receipt = node.receipt(hash).unwrap().expect("included either way");
            if allowed {
                assert_eq!(receipt.status, nvm_primitives::TxStatus::Success);
            } else {
                assert!(
                    matches!(&receipt.status, nvm_primitives::TxStatus::Failed { reason } if reason.contains("dev authority")),
                    "{:?}",
                    receipt.status
                );
            }
        }
        if allowed {
            assert_eq!((written, received), (Some(vec![7]), 5));
        } else {
            assert_eq!((written, received), (None, 0), "a refused dev operation changes nothing");
        }
    }
}

/// What `evm_revert` writes back: every key and balance the blocks since the snapshot changed is
/// as it was (the balances set through the ledger, so the native supply stays the sum of the
/// balances and the holders index agrees with the state), but not what the chain keeps as
/// blocks close — the block's meta and the BLOCKHASH window follow the real blocks.
#[test]
fn a_restore_puts_back_what_blocks_changed_but_not_what_the_chain_keeps() {
    use nvm_ledger::{Ledger, NATIVE_MINT, holders};
    use nvm_node_api::{ChainReader, TxSubmitter};
    use nvm_state_api::{StateReader, TxOverlay};
    use nvm_vms::dev::dev_envelope;
    let genesis = Genesis { dev_authority: Some(nvm_node::dev_id()), ..Genesis::dev(&vms()) };
    let node = nvm_node::MemoryNode::new(&genesis, vms()).unwrap();
    node.seal(10, 1_000).unwrap();
    let at = node.head().unwrap().height;
    let then = node.snapshot().unwrap();
    let funded = nvm_vm_evm::mnemonic_addresses(nvm_vm_evm::DEV_MNEMONIC, 1).unwrap()[0];
    let funded_id = nvm_identity::Registry::resolve(
        &mut TxOverlay::new(&then),
        &nvm_identity::VmAddress::Evm(funded),
    )
    .unwrap();
    let key = [0x5A; 32];
    let changes = [
        transfer(0, 500),
        dev_envelope(
            1,
            nvm_vm_native::NativeOp::DevWriteState {
                writes: vec![(key, Some(vec![7]))],
                balances: vec![(NATIVE_MINT, [8; 32], 1_000)],
            }
            .encode(),
        ),
        dev_envelope(
            2,
            nvm_vm_evm::EvmOp::DevCallAs {
                from: funded,
                to: Some([0x77; 20]),
                value: 5,
                data: vec![],
                gas_limit: 100_000,
                nonce: 0,
            }
            .encode(),
        ),
    ];
    for (n, raw) in changes.into_iter().enumerate() {
        node.submit(vec![raw]).unwrap().pop().unwrap().unwrap();
        node.seal(10, 2_000 + 1_000 * n as u64).unwrap();
    }
    let balance = |state: &dyn StateReader, id: &[u8; 32]| {
        Ledger::balance(&mut TxOverlay::new(state), &NATIVE_MINT, id).unwrap()
    };
    assert_eq!(balance(&node.snapshot().unwrap(), &[8; 32]), 1_000);

    let restore = node.api().restore_of(at).unwrap();
    assert!(!restore.balances.is_empty() && !restore.writes.is_empty());
    let op = nvm_vm_native::NativeOp::DevWriteState {
        writes: restore.writes,
        balances: restore.balances,
    };
    node.submit(vec![dev_envelope(3, op.encode())]).unwrap().pop().unwrap().unwrap();
    node.seal(10, 9_000).unwrap();
    let now = node.snapshot().unwrap();
    let head = node.head().unwrap();

    // The users' state is back: the raw key, every balance but the proposer's (which got the
    // restore's own fee), the impersonated account's nonce.
    assert_eq!(now.get(&key).unwrap(), None);
    for id in [[7; 32], [8; 32], funded_id, nvm_node::dev_id()] {
        assert_eq!(balance(&now, &id), balance(&then, &id));
    }
    let nonce = |state: &dyn StateReader, id| {
        nvm_identity::Registry::nonce(&mut TxOverlay::new(state), id).unwrap()
    };
    assert_eq!(nonce(&now, &funded_id), nonce(&then, &funded_id));
    assert_eq!(nonce(&now, &nvm_node::dev_id()), 4, "the authority's own nonce goes on");

    // The supply is the sum of the balances, each as the holders index has it.
    let mut holders_total = 0u128;
    let prefix = holders::rank_prefix(&NATIVE_MINT);
    for (entry, _) in now.scan_index(&prefix, &prefix, 10_000).unwrap() {
        let (_, ranked, holder) = holders::ranked(&entry).unwrap();
        assert_eq!(balance(&now, &holder), ranked, "the index has the state's balance");
        holders_total += ranked;
    }
    let supply = Ledger::token(&mut TxOverlay::new(&now), &NATIVE_MINT).unwrap().unwrap().supply;
    assert_eq!(supply, holders_total);

    // The chain's own keys follow the real blocks.
    let meta: nvm_node::BlockMeta =
        borsh::from_slice(&now.get(&nvm_node::block_meta_key()).unwrap().unwrap()).unwrap();
    assert_eq!(meta.height, head.height);
    for height in at..head.height {
        let hash = node.block(height).unwrap().unwrap().header.hash();
        assert_eq!(now.get(&nvm_vm_api::block_hash_key(height)).unwrap(), Some(hash.to_vec()));
    }
}

/// A dev chain's impersonated call that reverts is in its block and still takes its caller's
/// nonce, as an Ethereum transaction does (`eth_sendTransaction` from an impersonated account
/// then picks the next one).
#[test]
fn a_reverted_impersonated_call_takes_its_callers_nonce() {
    use nvm_node_api::{ChainReader, TxSubmitter};
    use nvm_state_api::TxOverlay;
    let genesis = Genesis { dev_authority: Some(nvm_node::dev_id()), ..Genesis::dev(&vms()) };
    let node = nvm_node::MemoryNode::new(&genesis, vms()).unwrap();
    let funded = nvm_vm_evm::mnemonic_addresses(nvm_vm_evm::DEV_MNEMONIC, 1).unwrap()[0];
    // Init code that reverts: PUSH1 0 PUSH1 0 REVERT.
    let reverting = nvm_vm_evm::EvmOp::DevCallAs {
        from: funded,
        to: None,
        value: 0,
        data: vec![0x60, 0x00, 0x60, 0x00, 0xfd],
        gas_limit: 100_000,
        nonce: 0,
    };
    let hash = node
        .submit(vec![nvm_vms::dev::dev_envelope(0, reverting.encode())])
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    node.seal(10, 1_000).unwrap();
    let receipt = node.receipt(&hash).unwrap().expect("included");
    assert!(matches!(receipt.status, nvm_primitives::TxStatus::Reverted { .. }), "{receipt:?}");
    let snapshot = node.snapshot().unwrap();
    let mut view = TxOverlay::new(&snapshot);
    let id =
        nvm_identity::Registry::resolve(&mut view, &nvm_identity::VmAddress::Evm(funded)).unwrap();
    assert_eq!(nvm_identity::Registry::nonce(&mut view, &id).unwrap(), 1);
}

/// A dev chain's moved clock (`evm_increaseTime`, `evm_setNextBlockTimestamp`) survives a
/// restart: the reopened node stamps its blocks as far ahead as before.
#[test]
fn a_moved_clock_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = Genesis::dev(&vms());
    let open = || Chain::open(dir.path(), &genesis, [1; 32], vms(), HistoryWindow::default());
    let now = 5_000_000;
    {
        let chain = open().unwrap();
        assert_eq!(chain.stamp(now), now);
        assert_eq!(chain.advance_clock(3_600_000, now).unwrap(), 3_600_000);
    }
    assert_eq!(open().unwrap().stamp(now), now + 3_600_000);
    {
        let chain = open().unwrap();
        chain.set_next_timestamp(now + 86_400_000, now).unwrap();
    }
    assert_eq!(open().unwrap().stamp(now + 1), now + 86_400_001);
}
