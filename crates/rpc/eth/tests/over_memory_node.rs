//! The Ethereum namespace over an in-memory node (no server, no process): a wallet-signed
//! transfer goes in through `eth_sendRawTransaction`, and after the block it is found where
//! ethers and viem look — receipt, transaction, balances, nonce, block; bad input gets
//! Ethereum's errors and changes nothing.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use jsonrpsee::RpcModule;
use nvm_node::MemoryNode;
use nvm_rpc::NodeContext;
use nvm_rpc::testing::{call, error, error_code};
use serde_json::{Value, json};

fn serve(node: &MemoryNode) -> RpcModule<NodeContext> {
    let ctx = NodeContext::new(node.api());
    nvm_rpc::rpc_module(ctx, &[nvm_rpc_eth::register])
}

fn dev_wallet() -> PrivateKeySigner {
    MnemonicBuilder::<English>::default().phrase(nvm_vm_evm::DEV_MNEMONIC).build().unwrap()
}

/// A signed EIP-1559 value transfer, as a wallet sends it (hex of the EIP-2718 bytes).
fn transfer(wallet: &PrivateKeySigner, nonce: u64, to: Address, wei: u64) -> String {
    let tx = TxEip1559 {
        chain_id: 31_337,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(wei),
        access_list: Default::default(),
        input: Default::default(),
    };
    let signature = wallet.sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
    format!("0x{}", alloy_primitives::hex::encode(raw))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wallet_transfer_is_sent_sealed_and_read_back() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = serve(&node);
    let wallet = dev_wallet();
    let from = format!("{:#x}", wallet.address());
    let to = Address::repeat_byte(0x42);
    let to_hex = format!("{to:#x}");

    assert_eq!(call(&rpc, "eth_chainId", json!([])).await, json!("0x7a69"));
    assert_eq!(call(&rpc, "eth_blockNumber", json!([])).await, json!("0x0"));
    let before = call(&rpc, "eth_getBalance", json!([from, "latest"])).await;
    assert_ne!(before, json!("0x0"), "the dev mnemonic's first account is funded");

    // Malformed bytes and a malformed address get precise codes; nothing waits.
    assert_eq!(error_code(&rpc, "eth_sendRawTransaction", json!(["0x02ff"])).await, -32001);
    assert_eq!(error_code(&rpc, "eth_getBalance", json!(["0x12", "latest"])).await, -32602);
    assert_eq!(call(&rpc, "nvm_chainInfo", json!([])).await["pendingTransactions"], json!(0));

    let raw = transfer(&wallet, 0, to, 1_000);
    let hash = call(&rpc, "eth_sendRawTransaction", json!([raw])).await;
    // Waiting: the pending nonce counts it, the transaction is found without a block.
    assert_eq!(call(&rpc, "eth_getTransactionCount", json!([from, "pending"])).await, json!("0x1"));
    assert_eq!(call(&rpc, "eth_getTransactionCount", json!([from, "latest"])).await, json!("0x0"));
    let pending = call(&rpc, "eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(pending["blockNumber"], Value::Null);
    assert_eq!(call(&rpc, "eth_getTransactionReceipt", json!([hash])).await, Value::Null);
    // The same bytes again: already known.
    assert_eq!(error_code(&rpc, "eth_sendRawTransaction", json!([raw])).await, -32008);

    assert_eq!(node.seal(100, 1_000).unwrap().included, 1);

    assert_eq!(call(&rpc, "eth_blockNumber", json!([])).await, json!("0x1"));
    let receipt = call(&rpc, "eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], json!("0x1"));
    assert_eq!(receipt["blockNumber"], json!("0x1"));
    assert_eq!(receipt["from"], json!(from));
    assert_eq!(receipt["to"], json!(to_hex));
    assert_eq!(receipt["gasUsed"], json!("0x5208"));
    let mined = call(&rpc, "eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(mined["blockHash"], receipt["blockHash"]);
    assert_eq!(mined["value"], json!("0x3e8"));
    assert_eq!(call(&rpc, "eth_getBalance", json!([to_hex, "latest"])).await, json!("0x3e8"));
    assert_eq!(call(&rpc, "eth_getTransactionCount", json!([from, "latest"])).await, json!("0x1"));
    let block = call(&rpc, "eth_getBlockByNumber", json!(["0x1", false])).await;
    assert_eq!(block["hash"], receipt["blockHash"]);
    assert_eq!(block["transactions"], json!([hash]));
    let by_hash = call(&rpc, "eth_getBlockByHash", json!([block["hash"], false])).await;
    assert_eq!(by_hash["number"], json!("0x1"));
    // The block before still reads as it was.
    assert_eq!(call(&rpc, "eth_getBalance", json!([to_hex, "0x0"])).await, json!("0x0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn fee_history_past_the_head_is_refused_not_overflowed() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = serve(&node);
    let history = call(&rpc, "eth_feeHistory", json!(["0x4", "latest", [50]])).await;
    assert_eq!(history["oldestBlock"], json!("0x0"), "{history}");
    for newest in ["0xffffffffffffffff", "0x5"] {
        assert_eq!(error_code(&rpc, "eth_feeHistory", json!(["0x4", newest])).await, -32602);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn get_logs_past_ten_thousand_results_is_refused_by_name() {
    use nvm_node_api::{ChainReader, TxSubmitter};
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = serve(&node);
    let wallet = dev_wallet();
    // A deployment whose init code emits 10,001 empty LOG0s in a loop, then stops.
    let init =
        alloy_primitives::hex::decode("6127115b60006000a060019003806003570 0".replace(' ', ""))
            .unwrap();
    let tx = TxEip1559 {
        chain_id: 31_337,
        nonce: 0,
        gas_limit: 6_000_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Create,
        value: U256::ZERO,
        access_list: Default::default(),
        input: init.into(),
    };
    let signature = wallet.sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
    node.submit(vec![nvm_vm_evm::tag_ethereum(&raw)]).unwrap().pop().unwrap().unwrap();
    let head = node.head().unwrap();
    assert_eq!(node.seal(10, head.timestamp_ms + 1_000).unwrap().included, 1);
    let everything = json!([{ "fromBlock": "0x1", "toBlock": "0x1" }]);
    assert_eq!(error_code(&rpc, "eth_getLogs", everything).await, -32000);
    // A narrower filter is served.
    let none = json!([{ "fromBlock": "0x1", "toBlock": "0x1", "address": format!("{:#x}", Address::repeat_byte(1)) }]);
    assert_eq!(call(&rpc, "eth_getLogs", none).await, json!([]));
}

/// A simulated call runs within the node's time budget: a loop that gas alone would let run to
/// the 2²⁴ cap is aborted with geth's words once the budget is spent, `eth_estimateGas`'s whole
/// search included; within the budget the same loop ends out of gas.
#[tokio::test(flavor = "multi_thread")]
async fn a_simulated_call_is_aborted_past_the_time_budget() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let within = |call_timeout| {
        let limits = nvm_rpc::RpcLimits { call_timeout, ..Default::default() };
        let ctx = NodeContext { limits, ..NodeContext::new(node.api()) };
        nvm_rpc::rpc_module(ctx, &[nvm_rpc_eth::register])
    };
    // Init code that loops forever: JUMPDEST PUSH1 0 JUMP.
    let forever = json!([{ "data": "0x5b600056" }]);
    let spent = within(std::time::Duration::ZERO);
    for method in ["eth_call", "eth_estimateGas"] {
        let e = nvm_rpc::testing::error(&spent, method, forever.clone()).await;
        assert_eq!(e.code(), -32000, "{method}: {e:?}");
        assert!(e.message().starts_with("execution aborted (timeout = "), "{method}: {e:?}");
    }
    let ample = within(std::time::Duration::from_secs(600));
    let e = nvm_rpc::testing::error(&ample, "eth_call", forever).await;
    assert!(e.message().contains("OutOfGas"), "{e:?}");
}

/// A simulated call gets at most the node's gas cap for calls, whatever gas it asks for: init
/// code returning the gas left (GAS PUSH0 MSTORE PUSH1 32 PUSH0 RETURN) sees less than the cap.
#[tokio::test(flavor = "multi_thread")]
async fn a_simulated_call_gets_at_most_the_gas_cap() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let cap = 100_000u64;
    let limits = nvm_rpc::RpcLimits { call_gas_cap: cap, ..Default::default() };
    let rpc = nvm_rpc::rpc_module(
        NodeContext { limits, ..NodeContext::new(node.api()) },
        &[nvm_rpc_eth::register],
    );
    let gas_left = |answer: Value| {
        u64::from_str_radix(answer.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    for asked in [json!(null), json!("0x1000000")] {
        let request = json!([{ "data": "0x5a5f5260205ff3", "gas": asked }]);
        let left = gas_left(call(&rpc, "eth_call", request).await);
        assert!(left > 0 && left < cap - 53_000, "{asked}: {left} gas left of a {cap} cap");
    }
    let unbounded = serve(&node);
    let left =
        gas_left(call(&unbounded, "eth_call", json!([{ "data": "0x5a5f5260205ff3" }])).await);
    assert!(left > cap, "the default cap is 2^24: {left}");
}

/// An EIP-1559 `transfer(to, amount)` on the native token's ERC-20 view (its block encoding in
/// hex): a `Transfer` log.
fn view_transfer(wallet: &PrivateKeySigner, nonce: u64, to: Address, amount: u64) -> String {
    let view = Address::from(nvm_ledger::erc20_view_address(&nvm_ledger::NATIVE_MINT));
    let mut input = alloy_primitives::hex::decode("a9059cbb").unwrap();
    input.extend_from_slice(&[0; 12]);
    input.extend_from_slice(to.as_slice());
    input.extend_from_slice(&U256::from(amount).to_be_bytes::<32>());
    let tx = TxEip1559 {
        chain_id: 31_337,
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(view),
        value: U256::ZERO,
        access_list: Default::default(),
        input: input.into(),
    };
    let signature = wallet.sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
    format!("0x{}", alloy_primitives::hex::encode(raw))
}

/// Polling filters as ethers uses them over HTTP: a block filter reports each new block's hash
/// once, a pending filter each admitted transaction, a log filter the matching logs of new blocks
/// (and all of its range through `eth_getFilterLogs`); an uninstalled or unknown filter is an
/// error that says so.
#[tokio::test(flavor = "multi_thread")]
async fn polling_filters_report_what_arrived_since_the_last_poll() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = serve(&node);
    let wallet = dev_wallet();
    let view =
        format!("{:#x}", Address::from(nvm_ledger::erc20_view_address(&nvm_ledger::NATIVE_MINT)));
    let blocks = call(&rpc, "eth_newBlockFilter", json!([])).await;
    let pending = call(&rpc, "eth_newPendingTransactionFilter", json!([])).await;
    let logs = call(&rpc, "eth_newFilter", json!([{ "address": view }])).await;
    let other = call(
        &rpc,
        "eth_newFilter",
        json!([{ "address": format!("{:#x}", Address::repeat_byte(3)) }]),
    )
    .await;
    assert_ne!(blocks, pending);
    let changes = |id: &Value| call(&rpc, "eth_getFilterChanges", json!([id]));
    assert_eq!(changes(&blocks).await, json!([]));

    let hash = call(
        &rpc,
        "eth_sendRawTransaction",
        json!([view_transfer(&wallet, 0, Address::repeat_byte(7), 5)]),
    )
    .await;
    assert_eq!(changes(&pending).await, json!([hash]));
    assert_eq!(changes(&pending).await, json!([]), "reported once");
    node.seal(100, 1_000).unwrap();

    let block = call(&rpc, "eth_getBlockByNumber", json!(["0x1", false])).await;
    assert_eq!(changes(&blocks).await, json!([block["hash"]]));
    assert_eq!(changes(&blocks).await, json!([]), "reported once");
    let found = changes(&logs).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["transactionHash"], hash);
    assert_eq!(found[0]["address"], json!(view));
    assert_eq!(changes(&logs).await, json!([]), "reported once");
    assert_eq!(changes(&other).await, json!([]), "another address's filter");
    let all = call(&rpc, "eth_getFilterLogs", json!([logs])).await;
    assert_eq!(all, found);

    assert_eq!(call(&rpc, "eth_uninstallFilter", json!([logs])).await, json!(true));
    assert_eq!(call(&rpc, "eth_uninstallFilter", json!([logs])).await, json!(false));
    let gone = nvm_rpc::testing::error(&rpc, "eth_getFilterChanges", json!([logs])).await;
    assert_eq!((gone.code(), gone.message()), (-32000, "filter not found"));
    let unknown = nvm_rpc::testing::error(&rpc, "eth_getFilterChanges", json!(["0x1234"])).await;
    assert_eq!(unknown.message(), "filter not found");
}

/// Reads Ethereum tools make of blocks, as anvil answers them: a block's receipts (by number,
/// hash or EIP-1898 object), its transactions by index, no uncles, `web3_sha3`, the pool's
/// status; `eth_getProof` refused with a pointer to n-VM's own proofs.
#[tokio::test(flavor = "multi_thread")]
async fn block_reads_answer_as_anvil_does() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = serve(&node);
    let hash = call(
        &rpc,
        "eth_sendRawTransaction",
        json!([transfer(&dev_wallet(), 0, Address::repeat_byte(9), 3)]),
    )
    .await;
    assert_eq!(
        call(&rpc, "txpool_status", json!([])).await,
        json!({ "pending": "0x1", "queued": "0x0" })
    );
    node.seal(100, 1_000).unwrap();
    let block = call(&rpc, "eth_getBlockByNumber", json!(["0x1", false])).await;
    let receipt = call(&rpc, "eth_getTransactionReceipt", json!([hash])).await;
    for named in [
        json!("0x1"),
        json!("latest"),
        block["hash"].clone(),
        json!({ "blockHash": block["hash"] }),
    ] {
        assert_eq!(
            call(&rpc, "eth_getBlockReceipts", json!([named])).await,
            json!([receipt]),
            "{named}"
        );
    }
    assert_eq!(call(&rpc, "eth_getBlockReceipts", json!(["0x9"])).await, Value::Null);
    let tx = call(&rpc, "eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(
        call(&rpc, "eth_getTransactionByBlockNumberAndIndex", json!(["0x1", "0x0"])).await,
        tx
    );
    assert_eq!(
        call(&rpc, "eth_getTransactionByBlockHashAndIndex", json!([block["hash"], "0x0"])).await,
        tx
    );
    assert_eq!(
        call(&rpc, "eth_getTransactionByBlockNumberAndIndex", json!(["0x1", "0x1"])).await,
        Value::Null
    );
    assert_eq!(call(&rpc, "eth_getUncleCountByBlockNumber", json!(["0x1"])).await, json!("0x0"));
    assert_eq!(call(&rpc, "eth_getUncleCountByBlockNumber", json!(["0x9"])).await, Value::Null);
    assert_eq!(
        call(&rpc, "eth_getUncleByBlockHashAndIndex", json!([block["hash"], "0x0"])).await,
        Value::Null
    );
    assert_eq!(call(&rpc, "txpool_status", json!([])).await["pending"], json!("0x0"));
    assert_eq!(
        call(&rpc, "web3_sha3", json!(["0x68656c6c6f20776f726c64"])).await,
        json!("0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad")
    );
    let proof = nvm_rpc::testing::error(
        &rpc,
        "eth_getProof",
        json!([format!("{:#x}", Address::repeat_byte(9)), [], "latest"]),
    )
    .await;
    assert_eq!(proof.code(), -32601);
    assert!(proof.message().contains("nvm_getProof"), "{proof:?}");
}

/// State at an older block reads as it was then — by number, by EIP-1898 hash or number object —
/// while the node keeps it (128 blocks by default); past the head is geth's "header not found",
/// beyond the history an error naming the blocks kept. Nothing about the head changes.
#[tokio::test(flavor = "multi_thread")]
async fn state_at_older_blocks_reads_as_it_was_within_the_history() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = serve(&node);
    let wallet = dev_wallet();
    let to = format!("{:#x}", Address::repeat_byte(0x43));
    let mut balances = vec![call(&rpc, "eth_getBalance", json!([to, "latest"])).await];
    let mut hashes =
        vec![call(&rpc, "eth_getBlockByNumber", json!(["0x0", false])).await["hash"].clone()];
    for nonce in 0..3u64 {
        call(
            &rpc,
            "eth_sendRawTransaction",
            json!([transfer(&wallet, nonce, Address::repeat_byte(0x43), 1_000 + nonce)]),
        )
        .await;
        assert_eq!(node.seal(100, 1_000 * (nonce + 1)).unwrap().included, 1);
        balances.push(call(&rpc, "eth_getBalance", json!([to, "latest"])).await);
        let height = format!("{:#x}", nonce + 1);
        hashes
            .push(call(&rpc, "eth_getBlockByNumber", json!([height, false])).await["hash"].clone());
    }
    assert_eq!(balances[3], json!(format!("{:#x}", 1_000 + 1_001 + 1_002)));
    for (height, balance) in balances.iter().enumerate() {
        let number = format!("{height:#x}");
        assert_eq!(
            &call(&rpc, "eth_getBalance", json!([to, number])).await,
            balance,
            "block {height}"
        );
        let by_hash = json!({ "blockHash": hashes[height] });
        assert_eq!(&call(&rpc, "eth_getBalance", json!([to, by_hash])).await, balance);
        let by_number = json!({ "blockNumber": number });
        assert_eq!(&call(&rpc, "eth_getBalance", json!([to, by_number])).await, balance);
        let from = format!("{:#x}", wallet.address());
        let nonce = call(&rpc, "eth_getTransactionCount", json!([from, number])).await;
        assert_eq!(nonce, json!(format!("{height:#x}")));
    }
    // A call runs in the block it names: its NUMBER opcode (0x43) returns that block's height.
    // (Creation code that returns NUMBER as 32 bytes: a call without `to` answers with it.)
    let number = json!({ "data": "0x4360005260206000f3" });
    for height in [1u64, 2] {
        let at = call(&rpc, "eth_call", json!([number, format!("{height:#x}")])).await;
        assert_eq!(at, json!(format!("0x{height:064x}")));
    }
    let past = error(&rpc, "eth_getBalance", json!([to, "0x9"])).await;
    assert_eq!((past.code(), past.message()), (-32000, "header not found"));
    let unknown = json!({ "blockHash": format!("0x{}", "ab".repeat(32)) });
    assert_eq!(
        error(&rpc, "eth_getBalance", json!([to, unknown])).await.message(),
        "header for hash not found"
    );
    let both = json!({ "blockHash": hashes[0], "blockNumber": "0x0" });
    assert_eq!(error_code(&rpc, "eth_getBalance", json!([to, both])).await, -32602);
    // 128 blocks later, only blocks 3..=131 are kept: an older one's answer says so.
    for i in 0..128u64 {
        node.seal(100, 10_000 + i).unwrap();
    }
    let gone = error(&rpc, "eth_getBalance", json!([to, "0x0"])).await;
    assert_eq!(gone.code(), -32000);
    assert!(
        gone.message().contains("not kept") && gone.message().contains("3..=131"),
        "{}",
        gone.message()
    );
    assert_eq!(&call(&rpc, "eth_getBalance", json!([to, "0x3"])).await, &balances[3]);
}

/// anvil's dev methods are a dev chain's: a node without a dev authority (a network's
/// validator) refuses each by name, and nothing is sent.
#[tokio::test(flavor = "multi_thread")]
async fn dev_methods_are_refused_without_a_dev_authority() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = serve(&node);
    let someone = format!("{:#x}", Address::repeat_byte(0x44));
    for (method, params) in [
        ("anvil_setBalance", json!([someone, "0x1"])),
        ("hardhat_setCode", json!([someone, "0x00"])),
        ("evm_snapshot", json!([])),
        ("evm_revert", json!(["0x1"])),
        ("evm_mine", json!([])),
    ] {
        let refused = error(&rpc, method, params).await;
        assert_eq!(refused.code(), -32601, "{method}");
        assert!(refused.message().contains("dev chain only"), "{}", refused.message());
    }
    assert_eq!(call(&rpc, "nvm_chainInfo", json!([])).await["pendingTransactions"], json!(0));
}

/// geth's `txpool_content`: what waits, by sender and nonce, as `eth_getTransactionByHash` shows
/// it; gone once a block includes it.
#[tokio::test(flavor = "multi_thread")]
async fn txpool_content_lists_what_waits_by_sender_and_nonce() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let rpc = serve(&node);
    let wallet = dev_wallet();
    let mut hashes = Vec::new();
    for nonce in 0..2 {
        let raw = transfer(&wallet, nonce, Address::repeat_byte(0x45), 5);
        hashes.push(call(&rpc, "eth_sendRawTransaction", json!([raw])).await);
    }
    let content = call(&rpc, "txpool_content", json!([])).await;
    let from = format!("{:#x}", wallet.address());
    let mine = content["pending"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(address, _)| address.to_lowercase() == from)
        .map(|(_, txs)| txs.clone())
        .expect("the sender is listed");
    assert_eq!(mine["0"]["hash"], hashes[0]);
    assert_eq!(mine["1"]["hash"], hashes[1]);
    assert_eq!(mine["1"]["nonce"], json!("0x1"));
    assert_eq!(content["queued"], json!({}));
    node.seal(100, 1_000).unwrap();
    assert_eq!(call(&rpc, "txpool_content", json!([])).await["pending"], json!({}));
}

/// A trace records at most the node's response size in bytes and runs at most its call time:
/// tracing a loop through the whole gas cap stops early instead of filling memory.
#[tokio::test(flavor = "multi_thread")]
async fn a_trace_is_bounded_by_the_response_size_and_the_call_time() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let limits = nvm_rpc::RpcLimits { max_response_bytes: 200_000, ..Default::default() };
    let ctx = NodeContext { limits, ..NodeContext::new(node.api()) };
    let rpc = nvm_rpc::rpc_module(ctx, &[nvm_rpc_eth::register]);
    // JUMPDEST PUSH1 0 JUMP for 2^24 gas: millions of steps, each recorded with its stack.
    let forever = json!({ "data": "0x5b600056", "gas": "0x1000000" });
    let started = std::time::Instant::now();
    let traced = call(&rpc, "debug_traceCall", json!([forever, "latest", {}])).await;
    let steps = traced["structLogs"].as_array().map_or(0, Vec::len);
    assert!(steps > 0 && steps < 100_000, "{steps} steps recorded");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
    let zero = nvm_rpc::RpcLimits { call_timeout: std::time::Duration::ZERO, ..Default::default() };
    let spent = nvm_rpc::rpc_module(
        NodeContext { limits: zero, ..NodeContext::new(node.api()) },
        &[nvm_rpc_eth::register],
    );
    let e = error(&spent, "debug_traceCall", json!([forever, "latest", {}])).await;
    assert!(e.message().starts_with("execution aborted (timeout = "), "{e:?}");
}
