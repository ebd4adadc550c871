//! A follower re-executes a proposer's blocks: identical blocks commit to identical roots;
//! tampered ones are refused and change nothing.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use nvm_executor::VerifiedTx;
use nvm_identity::{VmAddress, id_com_from_credential};
use nvm_node::{Chain, ChainError, DEV_CHAIN_ID, DEV_TX_FEE, Genesis, dev_key};
use nvm_primitives::{Block, ENVELOPE_VERSION, SchemeId, TxBody};
use nvm_vm_native::NativeOp;

fn transfer(nonce: u64, amount: u128) -> Vec<u8> {
    let key = dev_key();
    let sender = id_com_from_credential(SchemeId::Ed25519, &key.public_key(), &[0; 32]);
    let op = NativeOp::Transfer { mint: [0; 32], to: VmAddress::Native([7; 32]), amount };
    let body = TxBody {
        version: ENVELOPE_VERSION,
        chain_id: DEV_CHAIN_ID,
        sender,
        nonce,
        max_fee: DEV_TX_FEE,
        context: None,
        payload: op.encode(),
    };
    key.sign_transaction(body).unwrap().encode()
}

fn verified(raws: Vec<Vec<u8>>) -> Vec<VerifiedTx> {
    VerifiedTx::verify_many(raws).into_iter().map(Result::unwrap).collect()
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
    let genesis = Genesis::dev();
    let proposer = Chain::open(a.path(), &genesis, [1; 32]).unwrap();
    let follower = Chain::open(b.path(), &genesis, [2; 32]).unwrap();
    assert_eq!(proposer.head().unwrap(), follower.head().unwrap());

    let proposed =
        proposer.propose(verified((0..20).map(|n| transfer(n, 5)).collect()), 1_000).unwrap();
    assert_eq!(proposed.receipts.len(), 20);
    let block = proposed.block.clone();
    proposer.commit(proposed).unwrap();

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
    let head = follower.commit(rebuilt).unwrap();
    assert_eq!(head, proposer.head().unwrap());
}
