//! The Tron HTTP API over an in-memory node (no server, no process): a transfer the node builds
//! (`createtransaction`), signed as TronWeb signs (the txID bytes, r ‖ s ‖ v+27), broadcast and
//! found by id in its block; each bad request answered as java-tron answers it, nothing changed.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use alloy_primitives::B256;
use alloy_signer::SignerSync;
use alloy_signer_local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use axum::{body::Body, http::Request};
use http_body_util::BodyExt;
use nvm_node::MemoryNode;
use nvm_node_api::{ChainReader, TxSubmitter};
use nvm_rpc_tron::json::{base58_address, hex_address};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

async fn post(app: &axum::Router, path: &str, body: Value) -> Value {
    let request = Request::post(path).body(Body::from(body.to_string())).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

fn dev_key() -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase(nvm_vm_evm::DEV_MNEMONIC)
        .index(0)
        .unwrap()
        .build()
        .unwrap()
}

/// TronWeb's `trx.sign`: the txID's bytes signed, r ‖ s ‖ v (27 or 28), hex.
fn sign(key: &PrivateKeySigner, tx: &Value) -> Value {
    let txid: [u8; 32] = hex::decode(tx["txID"].as_str().unwrap()).unwrap().try_into().unwrap();
    let signature = key.sign_hash_sync(&B256::from(txid)).unwrap().as_bytes();
    let mut signed = tx.clone();
    signed["signature"] = json!([hex::encode(signature)]);
    signed
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_built_here_signed_as_tronweb_signs_is_broadcast_and_found() {
    let node = Arc::new(MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap());
    let app = nvm_rpc_tron::router(node.api(), std::time::Duration::from_secs(5));
    let key = dev_key();
    let owner = key.address().into_array();
    let to = [0x77; 20];

    let account =
        post(&app, "/walletsolidity/getaccount", json!({ "address": hex_address(&owner) })).await;
    assert_eq!(account["balance"], json!(10_000_000_000u64), "{account}");
    // An address nobody holds anything at is no account, as java-tron answers.
    assert_eq!(
        post(&app, "/wallet/getaccount", json!({ "address": base58_address(&to) })).await,
        json!({})
    );

    let tx = post(
        &app,
        "/wallet/createtransaction",
        json!({ "owner_address": hex_address(&owner), "to_address": base58_address(&to), "amount": 2_500 }),
    )
    .await;
    let head = node.head().unwrap();
    assert_eq!(tx["raw_data"]["ref_block_hash"], json!(hex::encode(&head.hash[8..16])), "{tx}");
    let signed = sign(&key, &tx);
    let sent = post(&app, "/wallet/broadcasttransaction", signed.clone()).await;
    assert_eq!(sent, json!({ "result": true, "txid": tx["txID"] }));
    // Pending: the full node shows it, the solidity node not yet.
    let by_id = json!({ "value": tx["txID"] });
    assert_eq!(post(&app, "/wallet/gettransactionbyid", by_id.clone()).await["txID"], tx["txID"]);
    assert_eq!(post(&app, "/walletsolidity/gettransactionbyid", by_id.clone()).await, json!({}));
    assert_eq!(post(&app, "/wallet/gettransactioninfobyid", by_id.clone()).await, json!({}));

    assert_eq!(node.seal(100, head.timestamp_ms + 1_000).unwrap().included, 1);
    let found = post(&app, "/walletsolidity/gettransactionbyid", by_id.clone()).await;
    assert_eq!(found["ret"], json!([{ "contractRet": "SUCCESS" }]));
    assert_eq!(found["raw_data_hex"], tx["raw_data_hex"]);
    let info = post(&app, "/walletsolidity/gettransactioninfobyid", by_id.clone()).await;
    assert_eq!(info["blockNumber"], json!(head.height + 1));
    let fee = info["fee"].as_u64().unwrap();
    let block = post(&app, "/wallet/getblockbynum", json!({ "num": head.height + 1 })).await;
    assert_eq!(block["transactions"][0]["txID"], tx["txID"]);
    assert_eq!(
        post(&app, "/wallet/getblock", json!({ "id_or_num": block["blockID"] })).await,
        block
    );
    assert_eq!(post(&app, "/wallet/getnowblock", json!({})).await, block);
    let paid = post(&app, "/wallet/getaccount", json!({ "address": hex_address(&to) })).await;
    assert_eq!(paid["balance"], json!(2_500));
    let left = post(&app, "/wallet/getaccount", json!({ "address": hex_address(&owner) })).await;
    assert_eq!(left["balance"], json!(10_000_000_000u64 - 2_500 - fee));

    // Refused, each by name, with nothing admitted: the same transaction again; a signature of
    // another key; bytes that are no transaction; a request that names no address.
    let again = post(&app, "/wallet/broadcasttransaction", signed.clone()).await;
    assert_ne!(again["result"], json!(true), "{again}");
    let mut forged = signed.clone();
    forged["signature"] = sign(&PrivateKeySigner::random(), &tx)["signature"].clone();
    let refused = post(&app, "/wallet/broadcasttransaction", forged).await;
    assert_eq!(refused["code"], json!("SIGERROR"), "{refused}");
    let reason =
        String::from_utf8(hex::decode(refused["message"].as_str().unwrap()).unwrap()).unwrap();
    assert!(reason.contains("signature"), "{reason}");
    let garbage = post(&app, "/wallet/broadcasthex", json!({ "transaction": "0a02ff" })).await;
    assert!(garbage["Error"].is_string() || garbage["code"].is_string(), "{garbage}");
    let nameless = post(&app, "/wallet/getaccount", json!({ "address": "T-not-an-address" })).await;
    assert!(nameless["Error"].as_str().unwrap().contains("not a Tron address"), "{nameless}");
    let unknown = post(&app, "/wallet/freezebalancev2", json!({})).await;
    assert!(unknown["Error"].as_str().unwrap().contains("no method"), "{unknown}");
    // Contract methods over an address with no contract: nothing to show or call.
    let nowhere = json!({ "value": hex_address(&to) });
    assert_eq!(post(&app, "/wallet/getcontract", nowhere).await, json!({}));
    let call = json!({
        "owner_address": hex_address(&owner),
        "contract_address": hex_address(&to),
        "function_selector": "balanceOf(address)",
        "parameter": "",
    });
    let refused = post(&app, "/wallet/triggerconstantcontract", call.clone()).await;
    assert_eq!(refused["result"]["code"], json!("CONTRACT_VALIDATE_ERROR"), "{refused}");
    let refused = post(&app, "/wallet/triggersmartcontract", call).await;
    assert_eq!(refused["result"]["code"], json!("CONTRACT_VALIDATE_ERROR"), "{refused}");
    assert_eq!(node.pending_count(), 0);
}

/// A 32-byte ABI word of `value`.
fn word(value: u64) -> String {
    format!("{value:064x}")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_ledger_token_is_a_trc20_that_tron_calls_read_and_move() {
    use nvm_ledger::{Ledger, erc20_view_address};
    use nvm_vm_native::NativeOp;
    let node = Arc::new(MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap());
    let app = nvm_rpc_tron::router(node.api(), std::time::Duration::from_secs(5));
    let key = dev_key();
    let owner = key.address().into_array();
    let to = [0x66; 20];
    // The dev identity creates a token and sends 5,000 units of it to the dev key's Tron address.
    let create = NativeOp::CreateToken {
        name: "Gold".into(),
        symbol: "GLD".into(),
        decimals: 6,
        initial_supply: 10_000,
    };
    let mint = nvm_vm_native::token_mint_id(&nvm_vms::dev::dev_id(), 0);
    let send = NativeOp::Transfer { mint, to: nvm_identity::VmAddress::Tvm(owner), amount: 5_000 };
    for (nonce, op) in [create, send].into_iter().enumerate() {
        let raw = nvm_vms::dev::dev_envelope(nonce as u64, op.encode());
        node.submit(vec![raw]).unwrap().pop().unwrap().unwrap();
    }
    let head = node.head().unwrap();
    assert_eq!(node.seal(100, head.timestamp_ms + 1_000).unwrap().included, 2);
    let view = erc20_view_address(&mint);

    // Shown as a contract with the TRC-20 ABI, read as one.
    let contract = post(&app, "/wallet/getcontract", json!({ "value": hex_address(&view) })).await;
    assert_eq!(contract["name"], json!("Gold"), "{contract}");
    let entries = contract["abi"]["entrys"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["name"] == "transfer" && e["type"] == "Function"));
    let balance_of = |who: [u8; 20]| {
        json!({
            "owner_address": hex_address(&owner),
            "contract_address": hex_address(&view),
            "function_selector": "balanceOf(address)",
            "parameter": format!("{:0>64}", hex::encode(who)),
        })
    };
    let read = post(&app, "/wallet/triggerconstantcontract", balance_of(owner)).await;
    assert_eq!(read["constant_result"], json!([word(5_000)]), "{read}");

    // A TRC-20 transfer built by the node, signed as TronWeb signs, moves the ledger balance.
    let transfer = json!({
        "owner_address": hex_address(&owner),
        "contract_address": hex_address(&view),
        "function_selector": "transfer(address,uint256)",
        "parameter": format!("{:0>64}{}", hex::encode(to), word(1_200)),
        "fee_limit": 10_000_000,
        "call_value": 0,
    });
    let built = post(&app, "/wallet/triggersmartcontract", transfer).await;
    assert_eq!(built["result"]["result"], json!(true), "{built}");
    let tx = &built["transaction"];
    assert_eq!(tx["raw_data"]["fee_limit"], json!(10_000_000));
    let sent = post(&app, "/wallet/broadcasttransaction", sign(&key, tx)).await;
    assert_eq!(sent["result"], json!(true), "{sent}");
    let head = node.head().unwrap();
    assert_eq!(node.seal(100, head.timestamp_ms + 1_000).unwrap().included, 1);
    let info = post(&app, "/wallet/gettransactioninfobyid", json!({ "value": tx["txID"] })).await;
    assert_eq!(info["contractResult"], json!([word(1)]), "{info}");
    let read = post(&app, "/wallet/triggerconstantcontract", balance_of(to)).await;
    assert_eq!(read["constant_result"], json!([word(1_200)]));
    // The ledger's own balance of the payee's identity, the one every VM sees.
    let snapshot = node.snapshot().unwrap();
    let mut state = nvm_state_api::TxOverlay::new(&*snapshot);
    let payee =
        nvm_identity::Registry::resolve(&mut state, &nvm_identity::VmAddress::Tvm(to)).unwrap();
    assert_eq!(Ledger::balance(&mut state, &mint, &payee).unwrap(), 1_200);

    // The same token as a TRC-10 asset: described by id, listed, held in `assetV2`.
    let id = nvm_vm_tvm::asset_id(&mut state, &mint).unwrap().unwrap().to_string();
    let asset = post(&app, "/wallet/getassetissuebyid", json!({ "value": id })).await;
    assert_eq!(asset["name"], json!(hex::encode("Gold")), "{asset}");
    assert_eq!(asset["abbr"], json!(hex::encode("GLD")));
    assert_eq!((&asset["total_supply"], &asset["precision"]), (&json!(10_000), &json!(6)));
    assert_eq!(asset["id"], json!(id));
    let list = post(&app, "/wallet/getassetissuelist", json!({})).await;
    assert_eq!(list["assetIssue"], json!([asset]));
    let none = post(&app, "/wallet/getassetissuebyid", json!({ "value": "1000000" })).await;
    assert_eq!(none, json!({}));
    let held = |who: [u8; 20]| {
        let app = app.clone();
        async move {
            let account = post(&app, "/wallet/getaccount", json!({ "address": hex_address(&who) }));
            account.await["assetV2"].clone()
        }
    };
    assert_eq!(held(to).await, json!([{ "key": id, "value": 1_200 }]));
    // A TRC-10 transfer built by the node (asset_name: the id's digits as hex), signed, sent.
    let transfer = json!({
        "owner_address": hex_address(&owner),
        "to_address": hex_address(&to),
        "asset_name": hex::encode(&id),
        "amount": 300,
    });
    let tx = post(&app, "/wallet/transferasset", transfer.clone()).await;
    assert_eq!(tx["raw_data"]["contract"][0]["type"], json!("TransferAssetContract"), "{tx}");
    let sent = post(&app, "/wallet/broadcasttransaction", sign(&key, &tx)).await;
    assert_eq!(sent["result"], json!(true), "{sent}");
    let head = node.head().unwrap();
    assert_eq!(node.seal(100, head.timestamp_ms + 1_000).unwrap().included, 1);
    assert_eq!(held(to).await, json!([{ "key": id, "value": 1_500 }]));
    assert_eq!(held(owner).await, json!([{ "key": id, "value": 3_500 }]));
    // An asset that does not exist, or an amount of nothing, is refused as java-tron words it.
    let mut unknown = transfer.clone();
    unknown["asset_name"] = json!(hex::encode("1000099"));
    let refused = post(&app, "/wallet/transferasset", unknown).await;
    assert_eq!(refused["Error"], json!("No asset !"));
    let mut nothing = transfer;
    nothing["amount"] = json!(0);
    let refused = post(&app, "/wallet/transferasset", nothing).await;
    assert_eq!(refused["Error"], json!("Amount must be greater than 0."));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_built_here_lands_where_its_json_says_with_its_abi() {
    let node = Arc::new(MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap());
    let app = nvm_rpc_tron::router(node.api(), std::time::Duration::from_secs(5));
    let key = dev_key();
    let owner = key.address().into_array();
    // Init code that deploys the one-byte runtime STOP; the ABI as solc writes it.
    let abi = json!([
        { "inputs": [{ "name": "to", "type": "address" }], "name": "ping", "outputs": [],
          "stateMutability": "nonpayable", "type": "function" },
        { "anonymous": false, "inputs": [{ "indexed": true, "name": "who", "type": "address" }],
          "name": "Pinged", "type": "event" },
    ]);
    let request = json!({
        "owner_address": hex_address(&owner),
        "abi": abi.to_string(),
        "bytecode": "600180600b6000396000f300",
        "fee_limit": 100_000_000,
        "consume_user_resource_percent": 100,
        "origin_energy_limit": 10_000_000,
        "name": "Pinger",
    });
    let tx = post(&app, "/wallet/deploycontract", request.clone()).await;
    assert_eq!(tx["raw_data"]["contract"][0]["type"], json!("CreateSmartContract"), "{tx}");
    assert_eq!(tx["raw_data"]["fee_limit"], json!(100_000_000));
    let sent = post(&app, "/wallet/broadcasttransaction", sign(&key, &tx)).await;
    assert_eq!(sent["result"], json!(true), "{sent}");
    let head = node.head().unwrap();
    assert_eq!(node.seal(100, head.timestamp_ms + 1_000).unwrap().included, 1);
    let info = post(&app, "/wallet/gettransactioninfobyid", json!({ "value": tx["txID"] })).await;
    assert_eq!(info["contract_address"], tx["contract_address"], "{info}");
    let contract =
        post(&app, "/wallet/getcontract", json!({ "value": tx["contract_address"] })).await;
    assert_eq!(contract["bytecode"], json!("00"), "{contract}");
    assert_eq!(contract["name"], json!("Pinger"));
    let entries = &contract["abi"]["entrys"];
    assert_eq!(entries[0]["name"], json!("ping"));
    assert_eq!(entries[0]["type"], json!("Function"));
    assert_eq!(entries[0]["stateMutability"], json!("Nonpayable"));
    assert_eq!(entries[1]["type"], json!("Event"));
    assert_eq!(entries[1]["inputs"][0]["indexed"], json!(true));

    // Refused as java-tron would: an ABI entry of no known type, no code.
    let mut bad = request.clone();
    bad["abi"] = json!([{ "name": "x", "type": "method" }]);
    let refused = post(&app, "/wallet/deploycontract", bad).await;
    assert!(refused["Error"].as_str().unwrap().contains("unknown type"), "{refused}");
    let mut empty = request;
    empty["bytecode"] = json!("");
    let refused = post(&app, "/wallet/deploycontract", empty).await;
    assert!(refused["Error"].as_str().unwrap().contains("bytecode"), "{refused}");
}
