//! The real `nvm node --dev` on loopback: crash safety and bad input over JSON-RPC.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{Node, WAIT_WITHIN, dev_id, free_port, hex0x, process::poll, signed, transfer};
use jsonrpsee::core::ClientError;
use nvm_identity::{SecretKey, VmAddress};
use nvm_node::{DEV_CHAIN_ID, DEV_TX_FEE, dev_key};
use nvm_primitives::{SchemeId, Transaction};
use nvm_vm_native::NativeOp;
use serde_json::{Value, json};
use std::{process::Command, time::Duration};

#[test]
fn kill_9_mid_load_loses_no_committed_block() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = Node::start(dir.path(), port, 100);
    let key = dev_key();
    let mut acknowledged = Vec::new();
    // Load: 400 transfers; kill -9 while they are still arriving.
    let mut observed = None;
    for i in 0..400u64 {
        let tx = signed(
            &key,
            dev_id(),
            i,
            DEV_CHAIN_ID,
            transfer([(i % 200) as u8 + 1; 32], 1_000 + i as u128),
        );
        let hash = node.call("nvm_sendTransaction", vec![json!(hex0x(&tx.encode()))]);
        acknowledged.push(hash);
        if i == 250 {
            // Wait until something is committed, then remember what was.
            observed = Some(node.wait_for(WAIT_WITHIN, "a committed transfer", || {
                let info = node.call("nvm_chainInfo", vec![]);
                let height = info["height"].as_u64().unwrap();
                let committed: Vec<Value> = acknowledged
                    .iter()
                    .filter(|h| {
                        !node.call("nvm_getTransactionReceipt", vec![(*h).clone()]).is_null()
                    })
                    .cloned()
                    .collect();
                (!committed.is_empty()).then(|| {
                    let block = node.call("nvm_getBlock", vec![json!(height.to_string())]);
                    (height, block["stateRoot"].clone(), block["hash"].clone(), committed)
                })
            }));
        }
    }
    node.kill_9();
    let (height, state_root, block_hash, committed) = observed.unwrap();
    assert!(!committed.is_empty());

    let node = Node::start(dir.path(), port, 100);
    let info = node.call("nvm_chainInfo", vec![]);
    assert!(info["height"].as_u64().unwrap() >= height, "restart resumed below a committed block");
    // The address formats are the registered VMs' (SPEC §2's five on the node's VMs).
    let formats: Vec<(u64, &str, u64)> = info["addressFormats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_u64().unwrap(),
                f["name"].as_str().unwrap(),
                f["length"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        formats,
        [(0, "native", 32), (1, "evm", 20), (2, "svm", 32), (3, "bvm", 32), (4, "tvm", 20)]
    );
    let block = node.call("nvm_getBlock", vec![json!(height.to_string())]);
    assert_eq!(block["stateRoot"], state_root, "state root of a committed block changed");
    assert_eq!(block["hash"], block_hash);
    for hash in &committed {
        let receipt = node.call("nvm_getTransactionReceipt", vec![hash.clone()]);
        assert_eq!(receipt["status"], "success", "committed transaction {hash} lost");
    }
    // The chain keeps going after the crash: every acknowledged transaction, the ones not yet
    // committed at the kill too (the journal kept them), commits, and so does a new one.
    let tx = signed(&key, dev_id(), 400, DEV_CHAIN_ID, transfer([7; 32], 5));
    acknowledged.push(node.call("nvm_sendTransaction", vec![json!(hex0x(&tx.encode()))]));
    for hash in &acknowledged {
        node.wait_for_receipt(hash);
    }
}

/// What bad input must leave as it was: the dev identity's nonce and balance.
fn dev_state(node: &Node) -> (u64, u128) {
    let dev = hex0x(&dev_id());
    let nonce = node.call("nvm_getNonce", vec![json!(dev)]).as_u64().unwrap();
    let balance =
        node.call("nvm_getBalance", vec![json!(dev)])["balance"].as_str().unwrap().parse();
    (nonce, balance.unwrap())
}

fn height(node: &Node) -> u64 {
    node.call("nvm_chainInfo", vec![])["height"].as_u64().unwrap()
}

/// Lets three more blocks pass and checks that no block after `since` took a transaction: the
/// chain moves on, and what was refused never reaches it (each block still writes its own
/// entry of the recent-blockhash window, so the state root moves with the height).
fn empty_blocks_after(node: &Node, since: u64) {
    let now = height(node);
    node.wait_for_height(now + 3);
    for h in since + 1..=now + 3 {
        let block = node.call("nvm_getBlock", vec![json!(h.to_string())]);
        assert_eq!(block["transactions"], json!([]), "block {h} took a transaction");
    }
}

#[test]
fn bad_input_gets_its_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Blocks every 100 ms: bad input must change nothing while the chain keeps going. A sender
    // may queue 1,024 transactions, as on a validator network (a dev node allows the whole pool).
    let port = free_port();
    let node = Node::start_with(dir.path(), port, 0, 100, &["--max-pending-per-sender", "1024"]);
    node.wait_for_height(1);
    let start = height(&node);
    let before = dev_state(&node);
    let key = dev_key();
    let send = |tx: Vec<u8>| node.error_code("nvm_sendTransaction", vec![json!(hex0x(&tx))]);
    let dev_tx = |nonce: u64, to: u8, amount: u128| {
        signed(&key, dev_id(), nonce, DEV_CHAIN_ID, transfer([to; 32], amount))
    };

    let good = dev_tx(0, 1, 1).encode();
    // Malformed envelopes.
    assert_eq!(send(vec![1, 2, 3]).0, -32001);
    assert_eq!(send([good.clone(), vec![0]].concat()).0, -32001, "trailing bytes");
    assert_eq!(send(vec![0u8; 70_000]).0, -32001, "oversize");
    assert_eq!(node.error_code("nvm_sendTransaction", vec![json!("0xzz")]).0, -32602);
    // Bad signature: flip one signature byte.
    let mut forged = dev_tx(0, 1, 1);
    forged.credential.signature[5] ^= 1;
    assert_eq!(send(forged.encode()).0, -32002);
    // Someone else's key claiming the dev identity.
    let mallory = SecretKey::generate(SchemeId::Ed25519);
    assert_eq!(
        send(signed(&mallory, dev_id(), 0, DEV_CHAIN_ID, transfer([1; 32], 1)).encode()).0,
        -32007
    );
    // Wrong chain id.
    assert_eq!(send(signed(&key, dev_id(), 0, 1, transfer([1; 32], 1)).encode()).0, -32006);
    // Unknown opcode, and a malformed Tron VM operation.
    let (code, message) = send(signed(&key, dev_id(), 0, DEV_CHAIN_ID, vec![0x99]).encode());
    assert_eq!(code, -32005, "{message}");
    let (code, message) = send(signed(&key, dev_id(), 0, DEV_CHAIN_ID, vec![0x40, 1, 2]).encode());
    assert_eq!(code, -32005);
    assert!(message.contains("malformed body for TVM opcode 0x40"), "{message}");
    // A malformed SVM payload (not a Solana message).
    let (code, message) = send(signed(&key, dev_id(), 0, DEV_CHAIN_ID, vec![0x20, 1, 2]).encode());
    assert_eq!(code, -32005);
    assert!(message.contains("malformed body for SVM opcode 0x20"), "{message}");
    // A malformed EVM payload.
    let (code, message) = send(signed(&key, dev_id(), 0, DEV_CHAIN_ID, vec![0x10, 1, 2]).encode());
    assert_eq!(code, -32005);
    assert!(message.contains("malformed body for EVM opcode 0x10"), "{message}");
    // Overdraft.
    let (code, message) = send(dev_tx(0, 1, u128::MAX / 2).encode());
    assert_eq!(code, -32004, "{message}");
    // An Ethereum transaction below its intrinsic gas.
    let to = alloy_primitives::Address::from([7; 20]);
    let raw = hex0x(&common::eth_tx(&common::mnemonic_signer(0), 0, to, 1, vec![], 20_000));
    let (code, message) = node.error_code("eth_sendRawTransaction", vec![json!(raw)]);
    assert_eq!(code, -32011, "{message}");
    assert!(message.contains("intrinsic gas too low"), "{message}");
    // A nonce too far ahead of the next one (0).
    let (code, message) = send(dev_tx(1_025, 1, 1).encode());
    assert_eq!(code, -32003, "{message}");
    assert!(message.contains("too far ahead") && message.contains("--max-pending-per-sender"));
    // Already known: a transaction waiting behind a nonce gap, sent again.
    let waiting = dev_tx(1, 2, 2).encode();
    node.call("nvm_sendTransaction", vec![json!(hex0x(&waiting))]);
    assert_eq!(send(waiting).0, -32008, "already known");
    empty_blocks_after(&node, start);
    assert_eq!(dev_state(&node), before, "bad input changed the state");
    assert_eq!(node.call("nvm_chainInfo", vec![])["pendingTransactions"], 1);

    // The good transaction closes the gap: both run, and only they change the state.
    let hash = node.call("nvm_sendTransaction", vec![json!(hex0x(&good))]);
    wait_for_receipt(&node, &hash);
    // (The dev identity proposes the blocks: the fees it pays come back to it.)
    assert_eq!(dev_state(&node), (2, before.1 - 3));
    // Replays: the included transaction again, and another with its nonce.
    assert_eq!(send(good).0, -32003, "replay of an included transaction");
    assert_eq!(send(dev_tx(1, 3, 1).encode()).0, -32003);

    // A batch: each envelope gets its own verdict, a bad one does not sink the others.
    let batch = node.call(
        "nvm_sendRawTransactions",
        vec![json!([hex0x(&dev_tx(2, 1, 1).encode()), hex0x(&forged.encode()), hex0x(&[1, 2, 3])])],
    );
    assert!(batch[0]["hash"].is_string(), "{batch}");
    assert_eq!(batch[1]["error"]["code"], -32002);
    assert_eq!(batch[2]["error"]["code"], -32001);
    assert_eq!(node.error_code("nvm_sendRawTransactions", vec![json!([])]).0, -32602);
    wait_for_receipt(&node, &batch[0]["hash"]);

    // A full queue: 1,024 transactions wait behind a gap at nonce 3, and the 1,025th is refused.
    let queued: Vec<Value> =
        (4..4 + 1_024).map(|n| json!(hex0x(&dev_tx(n, 4, 1).encode()))).collect();
    let results = node.call("nvm_sendRawTransactions", vec![json!(queued)]);
    assert!(results.as_array().unwrap().iter().all(|r| r["hash"].is_string()), "{results}");
    let (full, queued_at) = (dev_state(&node), height(&node));
    let (code, message) = send(dev_tx(3, 4, 1).encode());
    assert_eq!(code, -32009, "{message}");
    assert!(message.contains("--max-pending-per-sender"), "the limit's flag is named: {message}");
    empty_blocks_after(&node, queued_at);
    assert_eq!(dev_state(&node), full, "a refused transaction changed the state");
    assert_eq!(node.call("nvm_chainInfo", vec![])["pendingTransactions"], 1_024);

    // Lookups of what does not exist are null, and bad addresses are parameter errors.
    assert!(node.call("nvm_getTransactionReceipt", vec![json!(hex0x(&[9; 32]))]).is_null());
    assert!(node.call("nvm_getBlock", vec![json!("999999")]).is_null());
    assert_eq!(node.error_code("nvm_getBalance", vec![json!("0x1234")]).0, -32602);
    assert_eq!(node.error_code("nvm_getProof", vec![json!([])]).0, -32602);
    assert_eq!(node.error_code("nvm_getProof", vec![json!(["0x12"])]).0, -32602);
    let dev = hex0x(&dev_id());
    let balance_key = node.call("nvm_getBalance", vec![json!(dev)])["balanceKey"].clone();
    let proof = node.call("nvm_getProof", vec![json!([balance_key])]);
    let at = proof["height"].as_u64().unwrap().to_string();
    let block = node.call("nvm_getBlock", vec![json!(at)]);
    assert_eq!(proof["stateRoot"], block["stateRoot"], "proven against its block's root");
    assert!(proof["proofs"][0]["value"].is_string());

    // The CLI refuses what would only pay a fee or go astray, saying why, before sending.
    let rpc = format!("http://127.0.0.1:{port}");
    let state = dev_state(&node);
    common::nvm(dir.path(), &rpc, &["key", "dev", "--out", "dev.json"], &[]);
    // A key file is never overwritten unasked (a walk-through run twice says how).
    let again = common::nvm_refused(dir.path(), &rpc, &["key", "dev", "--out", "dev.json"]);
    assert!(again.contains("already exists") && again.contains("--force"), "{again}");
    common::nvm(dir.path(), &rpc, &["key", "dev", "--out", "dev.json", "--force"], &[]);
    let transfer_to = |to: &str, amount: &str| {
        common::nvm_refused(
            dir.path(),
            &rpc,
            &["transfer", "--key", "dev.json", "--to", to, "--amount", amount],
        )
    };
    let zero = transfer_to("0x000000000000000000000000000000000000dEaD", "0");
    assert!(zero.contains("--amount must be more than 0"), "{zero}");
    let tron = nvm_identity::derive_address(&nvm_identity::TVM_FORMAT, &[1; 32]).display();
    let last = if tron.ends_with('2') { '3' } else { '2' };
    let miscopied = format!("{}{last}", &tron[..tron.len() - 1]);
    let checksum = transfer_to(&miscopied, "1");
    assert!(checksum.contains("bad Tron checksum"), "{checksum}");
    // More than the dev identity holds (a billion NVM): said in the unit typed, nothing sent.
    let overdraft = transfer_to("0x000000000000000000000000000000000000dEaD", "2000000000.5");
    assert!(
        overdraft.contains("--amount 2000000000.5 NVM is more than the")
            && overdraft.contains("NVM you hold"),
        "{overdraft}"
    );
    assert_eq!(dev_state(&node).0, state.0, "a refused command sent something");
}

/// Waits (at most 20 s) for the receipt of `hash`, which must be a success.
fn wait_for_receipt(node: &Node, hash: &Value) {
    let receipt = node.wait_for_receipt(hash);
    assert_eq!(receipt["status"], "success", "{receipt}");
}

#[test]
fn one_identity_seen_from_every_vm() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), free_port(), 100);
    let key = dev_key();
    let alice = SecretKey::generate(SchemeId::MlDsa44);
    let alice_id =
        nvm_identity::id_com_from_credential(SchemeId::MlDsa44, &alice.public_key(), &[3; 32]);
    let wait = |hash: Value| node.wait_for_receipt(&hash);
    // Fund alice's id_com, let her register (post-quantum key), then pay her EVM address.
    let fund = signed(&key, dev_id(), 0, DEV_CHAIN_ID, transfer(alice_id, 10 * DEV_TX_FEE));
    assert_eq!(
        wait(node.call("nvm_sendTransaction", vec![json!(hex0x(&fund.encode()))]))["status"],
        "success"
    );
    let create = NativeOp::CreateIdentity {
        scheme: SchemeId::MlDsa44 as u8,
        public_key: alice.public_key(),
        salt: [3; 32],
    };
    let create = signed(&alice, alice_id, 0, DEV_CHAIN_ID, create.encode());
    assert_eq!(
        wait(node.call("nvm_sendTransaction", vec![json!(hex0x(&create.encode()))]))["status"],
        "success"
    );
    let identity = node.call("nvm_getIdentity", vec![json!(hex0x(&alice_id))]);
    assert_eq!(identity["registered"], true);
    assert_eq!(identity["scheme"], "ml-dsa-44");
    let evm = identity["evm_display"].as_str().unwrap().to_string();
    let pay =
        NativeOp::Transfer { mint: [0; 32], to: VmAddress::parse(&evm).unwrap(), amount: 777 };
    let pay = signed(&key, dev_id(), 1, DEV_CHAIN_ID, pay.encode());
    assert_eq!(
        wait(node.call("nvm_sendTransaction", vec![json!(hex0x(&pay.encode()))]))["status"],
        "success"
    );
    let expected = (10 * DEV_TX_FEE - DEV_TX_FEE + 777).to_string();
    for field in ["evm_display", "svm_display", "tvm_display", "id_com"] {
        let address = identity[field].as_str().unwrap();
        let balance = node.call("nvm_getBalance", vec![json!(address)]);
        assert_eq!(balance["balance"], json!(expected), "balance seen from {field}");
        assert_eq!(balance["idCom"], json!(hex0x(&alice_id)));
        let again = node.call("nvm_getIdentity", vec![json!(address)]);
        assert_eq!(again["id_com"], identity["id_com"]);
    }

    // Rotate alice's credential from ML-DSA-44 to secp256k1: same id_com, same addresses.
    let next = SecretKey::generate(SchemeId::Secp256k1Ecdsa);
    let digest = nvm_identity::Registry::rotation_digest(
        DEV_CHAIN_ID,
        &alice_id,
        1,
        SchemeId::Secp256k1Ecdsa,
        &next.public_key(),
    );
    let rotate = NativeOp::RotateCredential {
        scheme: SchemeId::Secp256k1Ecdsa as u8,
        public_key: next.public_key(),
        proof: next.sign(&digest).unwrap(),
    };
    let rotate = signed(&alice, alice_id, 1, DEV_CHAIN_ID, rotate.encode());
    let receipt = wait(node.call("nvm_sendTransaction", vec![json!(hex0x(&rotate.encode()))]));
    assert_eq!(receipt["status"], "success", "{receipt}");
    let rotated = node.call("nvm_getIdentity", vec![json!(evm)]);
    assert_eq!(rotated["scheme"], "secp256k1");
    for field in ["id_com", "evm", "svm", "bvm", "tvm"] {
        assert_eq!(rotated[field], identity[field], "{field} changed on rotation");
    }
    // The old key no longer acts for alice; the new one does.
    let old = signed(&alice, alice_id, 2, DEV_CHAIN_ID, transfer([5; 32], 1));
    assert_eq!(node.error_code("nvm_sendTransaction", vec![json!(hex0x(&old.encode()))]).0, -32007);
    let new = signed(&next, alice_id, 2, DEV_CHAIN_ID, transfer([5; 32], 1));
    let receipt = wait(node.call("nvm_sendTransaction", vec![json!(hex0x(&new.encode()))]));
    assert_eq!(receipt["status"], "success");
}

#[test]
fn sigterm_stops_cleanly_and_keeps_every_block() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut node = Node::start(dir.path(), port, 50);
    let tx = signed(&dev_key(), dev_id(), 0, DEV_CHAIN_ID, transfer([3; 32], 42));
    let hash = node.call("nvm_sendTransaction", vec![json!(hex0x(&tx.encode()))]);
    node.wait_for_receipt(&hash);
    let height = node.call("nvm_chainInfo", vec![])["height"].as_u64().unwrap();
    let pid = node.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let exited =
        poll(Duration::from_secs(10), Duration::from_millis(20), || node.child.try_wait().unwrap());
    let status =
        exited.unwrap_or_else(|| panic!("the node ignored SIGTERM for 10 s\n{}", node.log_tail()));
    assert!(status.success(), "node exited with {status}");
    drop(node);
    let node = Node::start(dir.path(), port, 50);
    assert!(node.call("nvm_chainInfo", vec![])["height"].as_u64().unwrap() >= height);
    assert_eq!(node.call("nvm_getTransactionReceipt", vec![hash])["status"], "success");
}

/// A transaction the node acknowledged is journaled: killed before any block includes it, the
/// node has it again after the restart and includes it.
#[test]
fn an_acknowledged_transaction_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // One block an hour: after block 1 nothing is included before the kill.
    let node = Node::start(dir.path(), port, 3_600_000);
    node.wait_for_height(1);
    let tx = signed(&dev_key(), dev_id(), 0, DEV_CHAIN_ID, transfer([4; 32], 77));
    let hash = node.call("nvm_sendTransaction", vec![json!(hex0x(&tx.encode()))]);
    assert_eq!(node.call("nvm_chainInfo", vec![])["pendingTransactions"], 1);
    node.kill_9();

    let node = Node::start(dir.path(), port, 50);
    // Not seen: the acknowledged transaction was lost in the crash.
    wait_for_receipt(&node, &hash);
    let balance = node.call("nvm_getBalance", vec![json!(hex0x(&[4; 32]))]);
    assert_eq!(balance["balance"], "77", "{balance}");
}

#[test]
fn evm_contracts_run_on_the_node() {
    use nvm_vm_evm::EvmOp;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), free_port(), 50);
    let key = dev_key();
    let wait = |tx: Transaction| {
        let hash = node.call("nvm_sendTransaction", vec![json!(hex0x(&tx.encode()))]);
        node.wait_for_receipt(&hash)
    };
    // A contract that returns and logs block.number (NUMBER, MSTORE, LOG0, RETURN), deployed by
    // init code that copies its 15-byte runtime from offset 11.
    let runtime = "4360005260206000a060206000f3";
    let init = hex::decode(format!("600e80600b6000396000f3{runtime}")).unwrap();
    let deploy = EvmOp::Create { value: 0, init_code: init, gas_limit: 200_000 };
    let receipt = wait(signed(&key, dev_id(), 0, DEV_CHAIN_ID, deploy.encode()));
    assert_eq!(receipt["status"], "success", "{receipt}");
    let deployer = nvm_vm_evm::evm_address(&dev_id());
    let contract = deployer.create(0);
    let call =
        EvmOp::Call { to: contract.into_array(), value: 0, data: vec![], gas_limit: 100_000 };
    let receipt = wait(signed(&key, dev_id(), 1, DEV_CHAIN_ID, call.encode()));
    assert_eq!(receipt["status"], "success", "{receipt}");
    let logged = receipt["logs"][0]["data"].as_str().unwrap();
    let number =
        u64::from_str_radix(logged.trim_start_matches("0x").trim_start_matches('0'), 16).unwrap();
    assert_eq!(number, receipt["blockHeight"].as_u64().unwrap(), "NUMBER is the block's height");
    // Value sent through the EVM to an address is that address's ledger balance.
    let to = [0x77; 20];
    let receipt = wait(signed(
        &key,
        dev_id(),
        2,
        DEV_CHAIN_ID,
        EvmOp::Transfer { to, value: 12_345 }.encode(),
    ));
    assert_eq!(receipt["status"], "success");
    let balance = node.call("nvm_getBalance", vec![json!(hex0x(&to))]);
    assert_eq!(balance["balance"], "12345");

    // The Ethereum namespace answers from the same state.
    assert_eq!(node.call("eth_chainId", vec![]), json!(format!("{DEV_CHAIN_ID:#x}")));
    assert_eq!(node.call("net_version", vec![]), json!(DEV_CHAIN_ID.to_string()));
    // A single validator: its p2p layer is connected to no one.
    assert_eq!(node.call("net_peerCount", vec![]), json!("0x0"));
    assert_eq!(node.call("eth_accounts", vec![]), json!([]));
    assert_eq!(node.call("eth_syncing", vec![]), json!(false));
    assert_eq!(
        node.call("eth_getBalance", vec![json!(hex0x(&to)), json!("latest")]),
        json!("0x3039")
    );
    // The standard dev mnemonic's first account is funded, as on anvil.
    let anvil0 = json!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    let expected = format!("{:#x}", 10_000u128 * 10u128.pow(18));
    assert_eq!(node.call("eth_getBalance", vec![anvil0, json!("latest")]), json!(expected));
    let nonce =
        node.call("eth_getTransactionCount", vec![json!(deployer.to_string()), json!("latest")]);
    assert_eq!(nonce, json!("0x3"));
    let code = node.call("eth_getCode", vec![json!(contract.to_string()), json!("latest")]);
    assert_eq!(code, json!(format!("0x{runtime}")));
    let slot = node
        .call("eth_getStorageAt", vec![json!(contract.to_string()), json!("0x0"), json!("latest")]);
    assert_eq!(slot, json!(hex0x(&[0; 32])));
    let call_object = json!({ "from": deployer.to_string(), "to": contract.to_string() });
    let returned = node.call("eth_call", vec![call_object.clone(), json!("latest")]);
    let number =
        u64::from_str_radix(returned.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!(number >= receipt["blockHeight"].as_u64().unwrap(), "eth_call runs at the head");
    let gas = node.call("eth_estimateGas", vec![call_object]);
    let gas = u64::from_str_radix(gas.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!((21_000..100_000).contains(&gas), "estimate {gas}");
    let head = node.call("eth_getBlockByNumber", vec![json!("latest"), json!(false)]);
    assert!(head["hash"].is_string() && head["number"].is_string(), "{head}");
    assert!(node.call("eth_getBlockByNumber", vec![json!("0xffffff"), json!(false)]).is_null());
    // The genesis state is kept (128 blocks by default): nothing had been sent to `to` then.
    assert_eq!(node.call("eth_getBalance", vec![json!(hex0x(&to)), json!("0x0")]), json!("0x0"));
    let (code, message) =
        node.error_code("eth_getBalance", vec![json!(hex0x(&to)), json!("0xffffff")]);
    assert_eq!((code, message.as_str()), (-32000, "header not found"));

    // A contract that reverts with data 0xab: eth_call answers like geth (code 3 + data).
    let reverting = hex::decode("600a80600b6000396000f360ab60005360016000fd").unwrap();
    let deploy = EvmOp::Create { value: 0, init_code: reverting, gas_limit: 200_000 };
    assert_eq!(wait(signed(&key, dev_id(), 3, DEV_CHAIN_ID, deploy.encode()))["status"], "success");
    let call_object = json!({ "to": deployer.create(3).to_string(), "data": "0x" });
    let error = match node.try_call("eth_call", vec![call_object, json!("latest")]) {
        Err(ClientError::Call(error)) => error,
        other => panic!("expected a revert, got {other:?}"),
    };
    assert_eq!(error.code(), 3);
    assert_eq!(error.message(), "execution reverted");
    assert_eq!(error.data().map(|d| d.get()), Some("\"0xab\""));
}

/// A dev node takes what anvil takes: 10,000 transactions from one sender, sent in JSON-RPC
/// batches before any block includes them, are all acknowledged and all included (a validator
/// would refuse past 1,024 pending; `--max-pending-per-sender`).
#[test]
fn ten_thousand_pending_from_one_sender_are_all_included() {
    const COUNT: u64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), free_port(), 200);
    let signer = common::mnemonic_signer(3);
    let to = alloy_primitives::Address::from([8; 20]);
    let raws: Vec<Value> = (0..COUNT)
        .map(|nonce| json!(hex0x(&common::eth_tx(&signer, nonce, to, 1, vec![], 21_000))))
        .collect();
    for chunk in raws.chunks(1_000) {
        let calls = chunk.iter().map(|raw| ("eth_sendRawTransaction", vec![raw.clone()])).collect();
        for (i, result) in node.batch(calls).into_iter().enumerate() {
            assert!(result.is_ok(), "transaction {i} of a batch refused: {result:?}");
        }
    }
    let from = json!(signer.address().to_string());
    node.wait_for(Duration::from_secs(60), "all 10,000 transactions included", || {
        let count = node.call("eth_getTransactionCount", vec![from.clone(), json!("latest")]);
        (u64::from_str_radix(count.as_str()?.trim_start_matches("0x"), 16).ok()? == COUNT)
            .then_some(())
    });
    let balance = node.call("eth_getBalance", vec![json!(to.to_string()), json!("latest")]);
    assert_eq!(balance, json!(format!("{COUNT:#x}")), "each transfer moved its wei once");
}

#[test]
fn a_tron_key_is_linked_from_the_command_line() {
    use alloy_signer::SignerSync;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _node = Node::start(dir.path(), port, 100);
    let rpc = format!("http://127.0.0.1:{port}");
    common::nvm(dir.path(), &rpc, &["key", "dev", "--out", "dev.json"], &[]);
    // A key file is never overwritten unasked (a walk-through run twice says how).
    let again = common::nvm_refused(dir.path(), &rpc, &["key", "dev", "--out", "dev.json"]);
    assert!(again.contains("already exists") && again.contains("--force"), "{again}");
    common::nvm(dir.path(), &rpc, &["key", "dev", "--out", "dev.json", "--force"], &[]);
    let tron_key = alloy_signer_local::PrivateKeySigner::random();
    let tron = VmAddress::Tvm(tron_key.address().into_array()).display();
    let message = Command::new(env!("CARGO_BIN_EXE_nvm"))
        .current_dir(dir.path())
        .env("NVM_RPC", &rpc)
        .args(["identity", "link-message", "--tron", "--key", "dev.json"])
        .output()
        .unwrap();
    let message = String::from_utf8(message.stdout).unwrap().trim().to_string();
    assert!(message.contains("link this Tron account"), "{message}");
    // TronWeb's signMessageV2 (TIP-191) of it.
    let prefixed = [
        &b"\x19TRON Signed Message:\n"[..],
        message.len().to_string().as_bytes(),
        message.as_bytes(),
    ]
    .concat();
    let digest = alloy_primitives::keccak256(prefixed);
    let signature = hex0x(&tron_key.sign_hash_sync(&digest).unwrap().as_bytes());
    // A signature of something else is refused before anything is sent.
    let wrong = hex0x(&tron_key.sign_hash_sync(&alloy_primitives::B256::ZERO).unwrap().as_bytes());
    let refused = Command::new(env!("CARGO_BIN_EXE_nvm"))
        .current_dir(dir.path())
        .env("NVM_RPC", &rpc)
        .args([
            "identity",
            "link-tron",
            "--key",
            "dev.json",
            "--address",
            &tron,
            "--signature",
            &wrong,
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("was made by"), "{refused:?}");
    let linked = common::nvm(
        dir.path(),
        &rpc,
        &[
            "identity",
            "link-tron",
            "--key",
            "dev.json",
            "--address",
            &tron,
            "--signature",
            &signature,
        ],
        &[],
    );
    assert_eq!(linked["status"], json!("success"), "{linked}");
    let shown = common::nvm(dir.path(), &rpc, &["identity", "show", &tron], &[]);
    assert_eq!(shown["id_com"], json!(hex0x(&dev_id())), "{shown}");
    // A transaction that fails in its block (the native token has no mint authority) is said to
    // have failed once — reason, block and the fee it paid — and the command exits non-zero.
    let dev = hex0x(&dev_id());
    let failed = common::nvm_refused(
        dir.path(),
        &rpc,
        &["token", "mint", "--key", "dev.json", "--token", "native", "--to", &dev, "--amount", "1"],
    );
    assert!(failed.contains("failed in block") && failed.contains("paid its fee"), "{failed}");
    assert_eq!(failed.matches("failed").count(), 1, "said once: {failed}");
    // The block's log line counts it.
    let log = std::fs::read_to_string(dir.path().join("node.log")).unwrap();
    assert!(
        log.lines().any(|l| l.contains("finalized block committed") && l.contains("failed=1")),
        "{log}"
    );
}

/// POSTs `body` to the node's JSON-RPC over plain HTTP/1.0 and returns the answer's JSON body.
fn post_json(port: u16, body: &str) -> Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (_, json) = answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {answer}"))
}

/// A batch of `count` `eth_chainId` calls.
fn chain_id_batch(count: usize) -> String {
    let calls: Vec<Value> = (0..count)
        .map(|id| json!({ "jsonrpc": "2.0", "id": id, "method": "eth_chainId", "params": [] }))
        .collect();
    Value::Array(calls).to_string()
}

#[test]
fn a_batch_past_the_limit_gets_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The default limit is 1,000 calls; this node is given 50.
    let _node = Node::start_with(dir.path(), port, 0, 200, &["--rpc-max-batch", "50"]);
    let served = post_json(port, &chain_id_batch(50));
    assert_eq!(served.as_array().map(Vec::len), Some(50), "{served}");
    // A batch's calls run together; their answers come back in the batch's order.
    let ids: Vec<Value> = served.as_array().unwrap().iter().map(|a| a["id"].clone()).collect();
    assert_eq!(ids, (0..50).map(|id| json!(id)).collect::<Vec<_>>());
    let refused = post_json(port, &chain_id_batch(51));
    assert_eq!(refused["error"]["code"], json!(-32010), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("batch request was too large"));
    // An answer past the response limit is refused by name too.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _node = Node::start_with(dir.path(), port, 0, 200, &["--rpc-max-response-bytes", "1000"]);
    let refused = post_json(port, &chain_id_batch(40));
    assert_eq!(refused["error"]["code"], json!(-32011), "{refused}");
}

#[test]
fn testnet_init_picks_a_chain_id_of_its_own_and_funds_only_what_it_is_told() {
    let init = |dir: &std::path::Path, more: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_nvm"));
        command.args(["testnet", "init", "--validators", "1", "--out"]).arg(dir).args(more);
        common::process::run_within(&mut command, Duration::from_secs(30)).unwrap()
    };
    let genesis = |dir: &std::path::Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("genesis.json")).unwrap()).unwrap()
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let listed = "0x1111111111111111111111111111111111111111";
    assert!(init(a.path(), &["--fund", &format!("{listed}=1000.5")]).success());
    assert!(init(b.path(), &[]).success());
    let (first, second) = (genesis(a.path()), genesis(b.path()));
    let ids = (first["chain_id"].as_u64().unwrap(), second["chain_id"].as_u64().unwrap());
    assert!(ids.0 != DEV_CHAIN_ID && ids.1 != DEV_CHAIN_ID && ids.0 != ids.1, "{ids:?}");
    assert_eq!(first["dev_accounts"], json!(false));
    assert_eq!(
        first["funded_addresses"],
        json!([{ "address": listed, "balance": "1000500000000000000000" }])
    );
    // Asked for: a chain id, the dev keys.
    let c = tempfile::tempdir().unwrap();
    assert!(init(c.path(), &["--chain-id", "777", "--dev-accounts"]).success());
    assert_eq!(
        (genesis(c.path())["chain_id"].clone(), genesis(c.path())["dev_accounts"].clone()),
        (json!(777), json!(true))
    );
    // A bad allocation is refused by name, nothing written.
    let d = tempfile::tempdir().unwrap();
    let refused = init(d.path(), &["--fund", "0x12=5"]);
    assert!(!refused.success());
    assert!(refused.stderr.contains("--fund"), "{}", refused.stderr);
    assert!(!d.path().join("genesis.json").exists());
}

#[test]
fn a_node_that_cannot_commit_exits_saying_why_and_a_restart_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // A test build fails committing block 4 when told to (NVM_FAULT_COMMIT_AT).
    let log = std::fs::File::create(dir.path().join("failing.log")).unwrap();
    let mut failing = Command::new(env!("CARGO_BIN_EXE_nvm"))
        .args(["node", "--dev", "--data-dir"])
        .arg(dir.path().join("chain"))
        .args(["--rpc-addr", &format!("127.0.0.1:{port}"), "--solana-rpc-addr", "127.0.0.1:0"])
        .args(["--tron-http-addr", "127.0.0.1:0", "--block-time-ms", "100"])
        .env("NVM_FAULT_COMMIT_AT", "4")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let status =
        poll(Duration::from_secs(60), Duration::from_millis(50), || failing.try_wait().unwrap());
    let Some(status) = status else {
        failing.kill().unwrap();
        panic!("the node kept running with a block it could not commit");
    };
    assert!(!status.success(), "it exits non-zero");
    let said = std::fs::read_to_string(dir.path().join("failing.log")).unwrap();
    assert!(said.contains("cannot commit finalized block 4"), "{said}");
    // Restarted (without the fault), it resumes from its committed head and goes on.
    let node = Node::start(&dir.path().join("chain"), port, 100);
    node.wait_for_height(6);
}

/// A second node on a data directory or a port the first holds stops at once, naming what is
/// taken, before it opens or prints anything else.
#[test]
fn a_data_directory_or_port_in_use_is_reported_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = Node::start(dir.path(), port, 200);
    node.wait_for_height(1);
    let rpc = format!("http://127.0.0.1:{port}");
    let data_dir = dir.path().display().to_string();
    let free = format!("127.0.0.1:{}", free_port());
    let any = "127.0.0.1:0";
    let same_dir = common::nvm_refused(
        dir.path(),
        &rpc,
        &[
            "node",
            "--dev",
            "--data-dir",
            &data_dir,
            "--rpc-addr",
            &free,
            "--solana-rpc-addr",
            any,
            "--tron-http-addr",
            any,
        ],
    );
    assert!(same_dir.contains(&data_dir) && same_dir.contains("in use"), "{same_dir}");
    let other = tempfile::tempdir().unwrap();
    let taken = format!("127.0.0.1:{port}");
    let same_port = common::nvm_refused(
        dir.path(),
        &rpc,
        &[
            "node",
            "--dev",
            "--data-dir",
            &other.path().display().to_string(),
            "--rpc-addr",
            &taken,
            "--solana-rpc-addr",
            any,
            "--tron-http-addr",
            any,
        ],
    );
    assert!(same_port.contains(&taken) && same_port.contains("--rpc-addr"), "{same_port}");
    assert!(!same_port.contains("listening on"), "the banner was printed first: {same_port}");
    assert!(std::fs::read_dir(other.path()).unwrap().next().is_none(), "it wrote a data directory");
    drop(node);
}
