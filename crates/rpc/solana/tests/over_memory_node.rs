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

    // The block that holds it, as solana-test-validator shows blocks.
    let block = call(&rpc, "getBlock", json!([2, { "encoding": "json" }])).await;
    assert_eq!(block["transactions"][0]["transaction"], found["transaction"]);
    assert_eq!(block["transactions"][0]["meta"], found["meta"]);
    assert_eq!(
        (block["parentSlot"].clone(), block["blockTime"].clone()),
        (json!(1), found["blockTime"].clone())
    );
    let parent = call(&rpc, "getBlock", json!([1, { "transactionDetails": "signatures" }])).await;
    assert_eq!(block["previousBlockhash"], parent["blockhash"]);
    assert_eq!(parent["signatures"], json!([airdrop]));
    assert_eq!(error_code(&rpc, "getBlock", json!([9])).await, codes::BLOCK_NOT_AVAILABLE);
    assert_eq!(call(&rpc, "getBlocks", json!([0])).await, json!([0, 1, 2]));
    assert_eq!(call(&rpc, "getBlocksWithLimit", json!([1, 5])).await, json!([1, 2]));
    assert_eq!(call(&rpc, "getBlockTime", json!([2])).await, found["blockTime"]);
    let supply = call(&rpc, "getSupply", json!([])).await["value"].clone();
    assert!(
        supply["total"].as_u64().unwrap() > 2 * SOL && supply["total"] == supply["circulating"]
    );

    // Each account's transactions, newest first.
    let history = |address: String, options: Value| {
        let rpc = &rpc;
        async move {
            let found = call(rpc, "getSignaturesForAddress", json!([address, options])).await;
            found.as_array().unwrap().iter().map(|e| e["signature"].clone()).collect::<Vec<_>>()
        }
    };
    let (a, b) = (alice.pubkey().to_string(), bob.pubkey().to_string());
    assert_eq!(history(a.clone(), json!({})).await, [signature.clone(), airdrop.clone()]);
    assert_eq!(history(b, json!({})).await, vec![signature.clone()]);
    assert_eq!(history(a.clone(), json!({ "limit": 1 })).await, vec![signature.clone()]);
    assert_eq!(history(a.clone(), json!({ "before": signature })).await, vec![airdrop.clone()]);
    assert_eq!(history(a.clone(), json!({ "until": airdrop })).await, vec![signature.clone()]);
    let entry = call(&rpc, "getSignaturesForAddress", json!([a, { "limit": 1 }])).await;
    assert_eq!(entry[0]["slot"], json!(2));
    assert_eq!(entry[0]["err"], Value::Null);
    assert_eq!(entry[0]["blockTime"], found["blockTime"]);
    let too_many = json!([a, { "limit": 1001 }]);
    assert_eq!(error_code(&rpc, "getSignaturesForAddress", too_many).await, codes::INVALID_PARAMS);

    // The fee of a message: per signature, plus its priority fee; none once its blockhash is stale.
    let message = |instructions: &[solana_instruction::Instruction], hash| {
        let message =
            solana_transaction::Transaction::new_with_payer(instructions, Some(&alice.pubkey()))
                .message;
        let mut message = message;
        message.recent_blockhash = hash;
        base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&message).unwrap())
    };
    let pay = solana_system_interface::instruction::transfer(&alice.pubkey(), &bob.pubkey(), 1);
    let fresh = solana_hash::Hash::new_from_array(blockhash);
    let fee = |m| call(&rpc, "getFeeForMessage", json!([m]));
    assert_eq!(fee(message(std::slice::from_ref(&pay), fresh)).await["value"], json!(5_000));
    let price = solana_instruction::Instruction::new_with_bytes(
        solana_sdk_ids::compute_budget::ID,
        &[[3u8].as_slice(), &1_000_000u64.to_le_bytes()].concat(),
        vec![],
    );
    let priced = fee(message(&[price, pay.clone()], fresh)).await["value"].as_u64().unwrap();
    assert!(priced > 5_000, "a priority fee: {priced}");
    assert_eq!(
        fee(message(&[pay], solana_hash::Hash::new_from_array([9; 32]))).await["value"],
        Value::Null
    );
}

/// The program's accounts, as `getProgramAccounts` lists them (addresses, sorted).
async fn program_accounts(
    rpc: &RpcModule<SolanaContext>,
    program: &nvm_vm_svm::Pubkey,
) -> Vec<String> {
    let found = call(rpc, "getProgramAccounts", json!([program.to_string()])).await;
    let mut keys: Vec<String> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["pubkey"].as_str().unwrap().to_string())
        .collect();
    keys.sort();
    keys
}

/// `getProgramAccounts` answers from the SVM's index of accounts by owner, kept as blocks commit:
/// an account a wallet transaction creates and one an identity's SVM envelope creates are both
/// listed under their program, and an account assigned to another program moves to its list.
#[tokio::test(flavor = "multi_thread")]
async fn program_accounts_are_found_by_owner_whichever_format_wrote_them() {
    use solana_system_interface::instruction::{assign, create_account, create_account_with_seed};
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = solana_module(SolanaContext::new(node.api(), Some(nvm_vm_svm::Faucet::dev())));
    let (alice, owned, moved) = (Keypair::new(), Keypair::new(), Keypair::new());
    let (program, system) = (nvm_vm_svm::Pubkey::new_unique(), nvm_vm_svm::Pubkey::default());
    call(&rpc, "requestAirdrop", json!([alice.pubkey().to_string(), 2 * SOL])).await;
    node.seal(100, 1_000).unwrap();
    assert!(program_accounts(&rpc, &program).await.is_empty());

    // A wallet transaction: one account created for the program, one for the System program
    // with data (a plain system account without data is no stored account).
    let blockhash = |latest: Value| {
        let text = latest["value"]["blockhash"].as_str().unwrap().to_string();
        solana_hash::Hash::new_from_array(
            bs58::decode(text).into_vec().unwrap().try_into().unwrap(),
        )
    };
    let latest = call(&rpc, "getLatestBlockhash", json!([])).await;
    let tx = solana_transaction::Transaction::new_signed_with_payer(
        &[
            create_account(&alice.pubkey(), &owned.pubkey(), SOL / 10, 8, &program),
            create_account(&alice.pubkey(), &moved.pubkey(), SOL / 10, 8, &system),
        ],
        Some(&alice.pubkey()),
        &[&alice, &owned, &moved],
        blockhash(latest),
    );
    let wire = base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap());
    call(&rpc, "sendTransaction", json!([wire, { "encoding": "base64" }])).await;
    assert_eq!(node.seal(100, 2_000).unwrap().included, 1);
    assert_eq!(program_accounts(&rpc, &program).await, [owned.pubkey().to_string()]);
    assert!(program_accounts(&rpc, &system).await.contains(&moved.pubkey().to_string()));

    // An SVM envelope of the dev identity: an account at an address derived from its own Solana
    // address, for the same program.
    let dev_id = nvm_vms::dev::dev_id();
    let Some(own) = nvm_identity::derive_address(&nvm_identity::SVM_FORMAT, &dev_id).svm() else {
        unreachable!()
    };
    let own = nvm_vm_svm::Pubkey::new_from_array(own);
    let seeded = nvm_vm_svm::Pubkey::create_with_seed(&own, "indexed", &program).unwrap();
    let ix = create_account_with_seed(&own, &seeded, &own, "indexed", SOL / 10, 8, &program);
    let message = solana_transaction::Transaction::new_with_payer(&[ix], Some(&own)).message;
    let payload =
        nvm_vm_svm::SvmOp::Invoke { message: bincode::serialize(&message).unwrap() }.encode();
    let body = nvm_primitives::TxBody {
        version: nvm_primitives::ENVELOPE_VERSION,
        chain_id: nvm_node::DEV_CHAIN_ID,
        sender: dev_id,
        nonce: 0,
        max_fee: nvm_node::DEV_TX_FEE,
        context: None,
        payload,
    };
    let envelope = nvm_node::dev_key().sign_transaction(body).unwrap().encode();
    node.api().submit(vec![envelope]).unwrap().pop().unwrap().unwrap();
    assert_eq!(node.seal(100, 3_000).unwrap().included, 1);
    let mut both = vec![owned.pubkey().to_string(), seeded.to_string()];
    both.sort();
    assert_eq!(program_accounts(&rpc, &program).await, both);

    // Assigned to the program, the System program's account moves to the program's list.
    let latest = call(&rpc, "getLatestBlockhash", json!([])).await;
    let tx = solana_transaction::Transaction::new_signed_with_payer(
        &[assign(&moved.pubkey(), &program)],
        Some(&alice.pubkey()),
        &[&alice, &moved],
        blockhash(latest),
    );
    let wire = base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap());
    call(&rpc, "sendTransaction", json!([wire, { "encoding": "base64" }])).await;
    assert_eq!(node.seal(100, 4_000).unwrap().included, 1);
    assert!(!program_accounts(&rpc, &system).await.contains(&moved.pubkey().to_string()));
    both.push(moved.pubkey().to_string());
    both.sort();
    assert_eq!(program_accounts(&rpc, &program).await, both);

    // Past the node's scan limit: Agave's scan error, not a list cut short.
    let within = |max_scanned_accounts| {
        solana_module(SolanaContext {
            max_scanned_accounts,
            ..SolanaContext::new(node.api(), None)
        })
    };
    let asked = json!([program.to_string()]);
    let code = error_code(&within(2), "getProgramAccounts", asked.clone()).await;
    assert_eq!(code, codes::SCAN_ERROR);
    assert_eq!(call(&within(3), "getProgramAccounts", asked).await.as_array().unwrap().len(), 3);
}

/// `blockSubscribe("all")` sends each new block as `getBlock` shows it under the subscription's
/// config; `{mentionsAccountOrProgram}` only the blocks with a Solana transaction naming the
/// account, showing those; a malformed filter is refused.
#[tokio::test(flavor = "multi_thread")]
async fn block_subscriptions_send_each_new_block() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = solana_module(SolanaContext::new(node.api(), Some(nvm_vm_svm::Faucet::dev())));
    let config = json!({ "transactionDetails": "signatures" });
    let mut blocks =
        rpc.subscribe_unbounded("blockSubscribe", (json!("all"), config.clone())).await.unwrap();
    let refused = rpc
        .subscribe_unbounded("blockSubscribe", [json!({ "mentionsAccountOrProgram": "x" })])
        .await;
    assert!(refused.is_err(), "a malformed account is refused");
    let (first, second) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let mentions = json!({ "mentionsAccountOrProgram": second.to_string() });
    let mut mentioning =
        rpc.subscribe_unbounded("blockSubscribe", (mentions, config.clone())).await.unwrap();
    let airdrop = call(&rpc, "requestAirdrop", json!([first.to_string(), SOL])).await;
    node.seal(100, 1_000).unwrap();
    let within = std::time::Duration::from_secs(10);
    let (note, _) =
        tokio::time::timeout(within, blocks.next::<Value>()).await.unwrap().unwrap().unwrap();
    assert_eq!(note["context"]["slot"], json!(1));
    assert_eq!(note["value"]["slot"], json!(1));
    assert_eq!(note["value"]["block"]["signatures"], json!([airdrop]));
    let shown = call(&rpc, "getBlock", json!([1, config])).await;
    assert_eq!(note["value"]["block"], shown);
    // Block 1 named only `first`: the mentions subscription's first note is block 2's, where
    // an airdrop to `second` is beside one to `first`, and shows that one alone.
    call(&rpc, "requestAirdrop", json!([first.to_string(), SOL])).await;
    let to_second = call(&rpc, "requestAirdrop", json!([second.to_string(), SOL])).await;
    node.seal(100, 2_000).unwrap();
    let (note, _) =
        tokio::time::timeout(within, mentioning.next::<Value>()).await.unwrap().unwrap().unwrap();
    assert_eq!(note["context"]["slot"], json!(2));
    assert_eq!(note["value"]["block"]["signatures"], json!([to_second]));
    // Three transactions committed so far (genesis holds none).
    assert_eq!(call(&rpc, "getTransactionCount", json!([])).await, json!(3));
}
