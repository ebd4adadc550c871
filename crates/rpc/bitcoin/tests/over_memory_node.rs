//! The Bitcoin methods over an in-memory node (no server, no process): coins locked to an
//! address are its UTXOs, their funding transaction is found by txid, a spend that does not
//! satisfy the script is refused by `nvm_testBitcoinTransaction` and `nvm_sendBitcoinTransaction`
//! with nothing changed.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
    absolute::LockTime, consensus::encode::serialize_hex, transaction::Version,
};
use nvm_node::MemoryNode;
use nvm_node_api::TxSubmitter;
use nvm_rpc::NodeContext;
use nvm_rpc::testing::{call, error_code};
use nvm_vm_bvm::{BvmOp, UNITS_PER_SAT};
use serde_json::json;
use std::str::FromStr;

/// BIP-173's P2WPKH example address.
const ADDRESS: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";

#[tokio::test(flavor = "multi_thread")]
async fn locked_coins_are_utxos_and_an_unsigned_spend_is_refused() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let ctx = NodeContext::new(node.api());
    let rpc = nvm_rpc::rpc_module(ctx, &[nvm_rpc_bitcoin::register]);
    let script = nvm_vm_bvm::script_of(ADDRESS).unwrap();
    assert_eq!(call(&rpc, "nvm_getUtxos", json!([ADDRESS])).await, json!([]));

    let lock = BvmOp::Lock { script_pubkey: script.clone(), amount: 50_000 * UNITS_PER_SAT };
    node.submit(vec![nvm_vms::dev::dev_envelope(0, lock.encode())])
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(node.seal(100, 1_000).unwrap().included, 1);
    // The block's time (1 s) joined the window time locks take their median over: the BVM's
    // hook ran as the block closed.
    let snapshot = node.chain.snapshot().unwrap();
    let mut view = nvm_state_api::TxOverlay::new(&snapshot);
    assert_eq!(nvm_vm_bvm::utxo::recent_times(&mut view).unwrap().last(), Some(&1));

    let utxos = call(&rpc, "nvm_getUtxos", json!([ADDRESS])).await;
    assert_eq!(utxos.as_array().unwrap().len(), 1, "{utxos}");
    let coin = &utxos[0];
    assert_eq!((coin["value"].clone(), coin["height"].clone()), (json!(50_000), json!(1)));
    assert_eq!(coin["scriptPubKey"], json!(hex_of(&script)));
    // The same coins by script hex, and their funding transaction by txid.
    assert_eq!(call(&rpc, "nvm_getUtxos", json!([hex_of(&script)])).await, utxos);
    let txid = coin["txid"].as_str().unwrap().to_string();
    let funding = call(&rpc, "nvm_getBitcoinTransaction", json!([txid])).await;
    assert_eq!(funding["funding"], json!(true));
    let holder = call(&rpc, "nvm_getScriptHolder", json!([ADDRESS])).await;
    assert_eq!(holder["linked"], json!(false));

    // A spend with no witness does not satisfy P2WPKH: refused, the coin still unspent.
    let spend = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: Txid::from_str(&txid).unwrap(), vout: 0 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: Amount::from_sat(40_000), script_pubkey: script.into() }],
    };
    let verdict = call(&rpc, "nvm_testBitcoinTransaction", json!([serialize_hex(&spend)])).await;
    assert_eq!(verdict["allowed"], json!(false), "{verdict}");
    // Core's reason: a P2WPKH spend needs two witness items, it has none.
    let reason = verdict["reject-reason"].as_str().unwrap();
    assert_eq!(reason, "input 0: SCRIPT_ERR_WITNESS_PROGRAM_MISMATCH", "{verdict}");
    let refused = error_code(&rpc, "nvm_sendBitcoinTransaction", json!([serialize_hex(&spend)]));
    assert_eq!(refused.await, nvm_rpc::codes::BAD_SIGNATURE);
    assert_eq!(error_code(&rpc, "nvm_sendBitcoinTransaction", json!(["zz"])).await, -32602);
    assert_eq!(node.pending_count(), 0);
    assert_eq!(call(&rpc, "nvm_getUtxos", json!([ADDRESS])).await, utxos);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
