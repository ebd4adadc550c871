//! Tron's TRC-10 opcodes end to end, in Tron transactions on a chain: a contract sends a ledger
//! token with `CALLTOKEN`, reads balances with `TOKENBALANCE`, its callee sees `CALLTOKENVALUE`
//! and `CALLTOKENID`, `ISCONTRACT` tells contracts from keys; a callee that reverts gives the
//! tokens back, a sender holding too little gets 0 and calls nothing, an id that is no TRC-10 id
//! halts. A transaction's own `call_token_value` reaches its contract (and comes back when the
//! call reverts). Every balance is the ledger's, the one the other VMs' views show.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use alloy_primitives::{Address, U256};
use common::*;
use nvm_identity::VmAddress;
use nvm_node::MemoryNode;
use nvm_node_api::{ChainReader, TxSubmitter};
use nvm_primitives::{Mint, TxStatus};
use nvm_vm_evm::EvmOp;
use nvm_vm_native::NativeOp;

/// The forwarder's runtime. Calldata: callee (word 0), amount (word 1), asset id (word 2).
/// slot0 = CALLTOKEN(gas, callee, amount, id, no input, no output); slot1 = TOKENBALANCE(id, this);
/// slot2 = ISCONTRACT(callee); slot3 = CALLTOKENVALUE; slot4 = CALLTOKENID.
const FORWARDER: &str = concat!(
    "6000600060006000",   // out size, out offset, in size, in offset
    "604035602035600035", // id, amount, callee
    "5a",                 // GAS
    "d0600055",           // CALLTOKEN → slot0
    "30604035d1600155",   // TOKENBALANCE(id, ADDRESS) → slot1
    "600035d4600255",     // ISCONTRACT(callee) → slot2
    "d2600355d3600455",   // CALLTOKENVALUE → slot3, CALLTOKENID → slot4
    "00",
);
/// The sink's runtime: slot0 = CALLTOKENVALUE, slot1 = CALLTOKENID,
/// slot2 = TOKENBALANCE(CALLTOKENID, this).
const SINK: &str = "d2600055d360015530d3d160025500";
/// The refuser's runtime: writes slot0, then reverts.
const REFUSER: &str = "d260005560006000fd";

/// Word-encoded calldata.
fn words(values: &[U256]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes::<32>()).collect()
}

fn address_word(address: &Address) -> U256 {
    U256::from_be_slice(address.as_slice())
}

struct Chain {
    node: MemoryNode,
    key: alloy_signer_local::PrivateKeySigner,
    owner: [u8; 20],
    mint: Mint,
    id: u64,
    forwarder: Address,
    sink: Address,
    refuser: Address,
}

impl Chain {
    /// The dev identity creates a token and deploys the three contracts in Tron's space; a fresh
    /// Tron key gets 1,000 TRX and 5,000 units of the token.
    fn new() -> Self {
        let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
        let key = alloy_signer_local::PrivateKeySigner::random();
        let owner = key.address().into_array();
        let dev = nvm_vms::dev::dev_id();
        let mint = nvm_vm_native::token_mint_id(&dev, 0);
        let create = NativeOp::CreateToken {
            name: "Gold".into(),
            symbol: "GLD".into(),
            decimals: 0,
            initial_supply: 1_000_000,
        };
        let pay = NativeOp::Transfer { mint, to: VmAddress::Tvm(owner), amount: 5_000 };
        let mut ops = vec![create.encode(), pay.encode()];
        for runtime in [FORWARDER, SINK, REFUSER] {
            let op = EvmOp::Create { value: 0, init_code: init_code(runtime), gas_limit: 300_000 };
            ops.push(op.encode_at(0x40));
        }
        let mut hashes = Vec::new();
        for (nonce, op) in ops.into_iter().enumerate() {
            let raw = nvm_vms::dev::dev_envelope(nonce as u64, op);
            hashes.push(node.submit(vec![raw]).unwrap().pop().unwrap().unwrap());
        }
        // 1,000 TRX: a halt pays all the energy it offered.
        for nonce in 5..15 {
            node.submit(vec![fund_100_trx(nonce, owner)]).unwrap().pop().unwrap().unwrap();
        }
        assert_eq!(node.seal(20, 1_000).unwrap().included, 15);
        let deployer = nvm_vm_tvm::TRON_SPACE.account_of(&dev);
        let at = |i: usize| nvm_vm_tvm::contract_address(&hashes[i], &deployer);
        let snapshot = node.snapshot().unwrap();
        let id = nvm_vm_tvm::asset_id(&mut nvm_state_api::TxOverlay::new(&snapshot), &mint)
            .unwrap()
            .unwrap();
        Self { node, key, owner, mint, id, forwarder: at(2), sink: at(3), refuser: at(4) }
    }

    /// A Tron call of `contract` by the key, sending `tokens` of the asset, in a block of its own.
    fn call(&self, contract: &Address, data: Vec<u8>, tokens: i64) -> TxStatus {
        let id = if tokens > 0 { self.id as i64 } else { 0 };
        let raw = self.signed_call(contract, data, id, tokens);
        let hash = self.node.submit(vec![raw]).unwrap().pop().unwrap().unwrap();
        let head = self.node.head().unwrap();
        assert_eq!(self.node.seal(10, head.timestamp_ms + 1_000).unwrap().included, 1);
        self.node.receipt(&hash).unwrap().unwrap().status
    }

    fn signed_call(&self, contract: &Address, data: Vec<u8>, id: i64, tokens: i64) -> Vec<u8> {
        let head = self.node.head().unwrap();
        let call = trigger_with_token(self.owner, contract.into_array(), data, id, tokens);
        let later = head.timestamp_ms as i64 + 60_000;
        signed_with_fee_limit(&self.key, call, (head.height, head.hash), later, 100_000_000)
    }

    /// The forwarder's calldata: send `amount` of `id` to `callee`.
    fn forward(&self, callee: &Address, amount: u64, id: u64) -> Vec<u8> {
        words(&[address_word(callee), U256::from(amount), U256::from(id)])
    }

    fn held(&self, holder: [u8; 20]) -> u128 {
        token_balance(self.node.handle(), &self.mint, VmAddress::Tvm(holder))
    }

    fn slots(&self, contract: &Address, count: u64) -> Vec<U256> {
        (0..count).map(|i| slot(&self.node, contract, i)).collect()
    }
}

fn u(values: &[u64]) -> Vec<U256> {
    values.iter().map(|v| U256::from(*v)).collect()
}

#[test]
fn calltoken_moves_trc10_inside_the_callees_frame() {
    let chain = Chain::new();
    let (forwarder, sink, id) = (chain.forwarder, chain.sink, chain.id);

    // The key sends the forwarder 2,000 with the transaction; it forwards 1,200 to the sink.
    let status = chain.call(&forwarder, chain.forward(&sink, 1_200, id), 2_000);
    assert_eq!(status, TxStatus::Success);
    assert_eq!(chain.slots(&forwarder, 5), u(&[1, 800, 1, 2_000, id]));
    assert_eq!(chain.slots(&sink, 3), u(&[1_200, id, 1_200]));
    assert_eq!(chain.held(chain.owner), 3_000);
    assert_eq!(chain.held(forwarder.into_array()), 800);
    assert_eq!(chain.held(sink.into_array()), 1_200);

    // A callee that reverts gives the tokens back: CALLTOKEN pushes 0, nothing moved. The
    // forwarder's frame was sent nothing this time: CALLTOKENVALUE and CALLTOKENID are 0.
    let status = chain.call(&forwarder, chain.forward(&chain.refuser, 500, id), 0);
    assert_eq!(status, TxStatus::Success);
    assert_eq!(chain.slots(&forwarder, 5), u(&[0, 800, 1, 0, 0]));
    assert_eq!(chain.held(chain.refuser.into_array()), 0);
    assert_eq!(slot(&chain.node, &chain.refuser, 0), U256::ZERO);

    // More than the forwarder holds: 0, no call (the sink's slots stay as they were).
    let status = chain.call(&forwarder, chain.forward(&sink, 10_000, id), 0);
    assert_eq!(status, TxStatus::Success);
    assert_eq!(chain.slots(&forwarder, 2), u(&[0, 800]));
    assert_eq!(chain.slots(&sink, 3), u(&[1_200, id, 1_200]));

    // To a key, not a contract: the tokens arrive, ISCONTRACT says 0.
    let key = Address::repeat_byte(0x5a);
    assert_eq!(chain.call(&forwarder, chain.forward(&key, 300, id), 0), TxStatus::Success);
    assert_eq!(chain.slots(&forwarder, 3), u(&[1, 500, 0]));
    assert_eq!(chain.held(key.into_array()), 300);

    // A plain call of the sink: its frame was sent no token, CALLTOKENID is 0 and its
    // TOKENBALANCE of asset 0 halts.
    // (TOKENBALANCE of id 0 halts; the sink reads it only with an id.)
    assert!(matches!(chain.call(&sink, vec![], 0), TxStatus::Halted { .. }));
}

#[test]
fn bad_token_ids_halt_and_reverted_transactions_keep_their_tokens() {
    let chain = Chain::new();
    let (forwarder, id) = (chain.forwarder, chain.id);
    // An id that is no TRC-10 id halts the frame; nothing moves.
    let status = chain.call(&forwarder, chain.forward(&chain.sink, 1, 1_000_000), 0);
    assert!(matches!(status, TxStatus::Halted { .. }), "{status:?}");
    assert_eq!(chain.slots(&forwarder, 5), u(&[0, 0, 0, 0, 0]));
    // A transaction sending tokens to a contract that reverts: the key keeps them.
    let status = chain.call(&chain.refuser, vec![], 700);
    assert!(matches!(status, TxStatus::Reverted { .. }), "{status:?}");
    assert_eq!(chain.held(chain.owner), 5_000);
    assert_eq!(chain.held(chain.refuser.into_array()), 0);

    // Refused at admission, nothing kept: more than the key holds, an id below the first asset's,
    // an amount of no asset.
    for (raw, reason) in [
        (chain.signed_call(&forwarder, vec![], id as i64, 5_001), "balance is not sufficient"),
        (chain.signed_call(&forwarder, vec![], 7, 1), "token_id must be > 1000000"),
        (chain.signed_call(&forwarder, vec![], 0, 1), "without a token_id"),
    ] {
        let err = refusal(&chain.node, raw).to_string();
        assert!(err.contains(reason), "{err} (expected {reason:?})");
    }
    assert_eq!(chain.node.pending_count(), 0);
}

#[test]
fn a_deployment_sends_its_tokens_to_the_contract_it_creates() {
    let chain = Chain::new();
    let head = chain.node.head().unwrap();
    let (reference, later) = ((head.height, head.hash), head.timestamp_ms as i64 + 60_000);
    let deploy = |init: &str, tokens: i64| {
        let bytecode = hex::decode(init).unwrap();
        let contract = deployment(chain.owner, bytecode, chain.id as i64, tokens);
        signed_with_fee_limit(&chain.key, contract, reference, later, 100_000_000)
    };
    // Init code: slot0 = CALLTOKENVALUE, slot1 = TOKENBALANCE(CALLTOKENID, this); runtime STOP.
    let keeps = deploy("d2600055 30d3d1600155 60016000f3".replace(' ', "").as_str(), 400);
    // Init code that reverts after reading its value.
    let refuses = deploy("d260005560006000fd", 700);
    let hashes: Vec<_> = [keeps, refuses]
        .into_iter()
        .map(|raw| chain.node.submit(vec![raw]).unwrap().pop().unwrap().unwrap())
        .collect();
    assert_eq!(chain.node.seal(10, head.timestamp_ms + 1_000).unwrap().included, 2);
    let receipts: Vec<_> =
        hashes.iter().map(|h| chain.node.receipt(h).unwrap().unwrap().status).collect();
    assert_eq!(receipts[0], TxStatus::Success);
    assert!(matches!(receipts[1], TxStatus::Reverted { .. }), "{:?}", receipts[1]);
    let created = nvm_vm_tvm::contract_address(&hashes[0], &Address::from(chain.owner));
    assert_eq!(chain.slots(&created, 2), u(&[400, 400]));
    assert_eq!(chain.held(created.into_array()), 400);
    // The reverted deployment's 700 stayed with the key.
    assert_eq!(chain.held(chain.owner), 4_600);
}
