//! The Solana JSON-RPC over an in-memory node (no server, no process): an airdrop funds a new
//! key, a transfer it signs goes in through `sendTransaction` with a blockhash from
//! `getLatestBlockhash`, and after the block balances, statuses and the transaction read back
//! as `@solana/web3.js` expects; bad input gets Solana's codes and changes nothing.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use base64::Engine;
use jsonrpsee::RpcModule;
use nvm_node::MemoryNode;
use nvm_rpc::testing::{call, error_code};
use nvm_rpc_solana::{SolanaContext, codes, solana_module};
use serde_json::{Value, json};
use solana_keypair::Keypair;
use solana_signer::Signer;

const SOL: u64 = 1_000_000_000;

async fn balance(rpc: &RpcModule<SolanaContext>, key: &Keypair) -> Value {
    call(rpc, "getBalance", json!([key.pubkey().to_string()])).await["value"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_airdrop_and_a_signed_transfer_are_sent_sealed_and_read_back() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = solana_module(SolanaContext::new(node.api(), Some(nvm_vm_svm::Faucet::dev())));
    let (alice, bob) = (Keypair::new(), Keypair::new());

    assert_eq!(call(&rpc, "getVersion", json!([])).await["solana-core"], json!("4.2.2"));
    assert_eq!(call(&rpc, "getSlot", json!([])).await, json!(0));
    assert_eq!(balance(&rpc, &alice).await, json!(0));

    let airdrop = call(&rpc, "requestAirdrop", json!([alice.pubkey().to_string(), 2 * SOL])).await;
    assert_eq!(node.seal(100, 1_000).unwrap().included, 1);
    assert_eq!(balance(&rpc, &alice).await, json!(2 * SOL));
    let statuses = call(&rpc, "getSignatureStatuses", json!([[airdrop]])).await;
    assert_eq!(statuses["value"][0]["confirmationStatus"], json!("finalized"));

    let latest = call(&rpc, "getLatestBlockhash", json!([])).await;
    let blockhash: [u8; 32] = bs58::decode(latest["value"]["blockhash"].as_str().unwrap())
        .into_vec()
        .unwrap()
        .try_into()
        .unwrap();
    let ix = solana_system_interface::instruction::transfer(&alice.pubkey(), &bob.pubkey(), SOL);
    let tx = solana_transaction::Transaction::new_signed_with_payer(
        &[ix],
        Some(&alice.pubkey()),
        &[&alice],
        solana_hash::Hash::new_from_array(blockhash),
    );
    let wire = base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap());

    // Bytes that are no transaction, and a key that is no key: Solana's invalid-params code,
    // nothing admitted.
    let garbage = json!(["AAAA", { "encoding": "base64" }]);
    assert_eq!(error_code(&rpc, "sendTransaction", garbage).await, codes::INVALID_PARAMS);
    assert_eq!(error_code(&rpc, "getBalance", json!(["not-a-key"])).await, codes::INVALID_PARAMS);

    let signature = call(&rpc, "sendTransaction", json!([wire, { "encoding": "base64" }])).await;
    assert_eq!(signature, json!(tx.signatures[0].to_string()));
    assert_eq!(node.seal(100, 2_000).unwrap().included, 1);

    assert_eq!(balance(&rpc, &bob).await, json!(SOL));
    let fee = 2 * SOL - SOL - balance(&rpc, &alice).await.as_u64().unwrap();
    assert!(fee > 0 && fee < SOL / 1000, "alice paid the transfer and a small fee: {fee}");
    let found = call(&rpc, "getTransaction", json!([signature, { "encoding": "json" }])).await;
    assert_eq!(found["slot"], json!(2));
    assert_eq!(found["meta"]["err"], Value::Null);
    assert_eq!(found["meta"]["fee"], json!(fee));
    // The receipt's Solana part (the SVM's vm_data): log lines and balances in key order.
    assert!(!found["meta"]["logMessages"].as_array().unwrap().is_empty(), "{found}");
    assert_eq!(found["meta"]["postBalances"][1], json!(SOL));
    assert_eq!(call(&rpc, "getSlot", json!([])).await, json!(2));
}
