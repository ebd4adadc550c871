//! Ethereum transactions over JSON-RPC: sending, lookup, receipts, logs and fee history, in the
//! shapes `alloy-rpc-types-eth` gives them (the ones ethers, web3.py and MetaMask read).

use crate::{SERVER_ERROR, block_height, quantity};
use alloy_consensus::{
    Eip658Value, Receipt as ConsensusReceipt, ReceiptEnvelope, ReceiptWithBloom, Transaction as _,
    TxType,
    transaction::{Recovered, TransactionInfo},
};
use alloy_eips::Typed2718;
use alloy_primitives::{Address, B256, Bytes, LogData, U256, logs_bloom};
use alloy_rpc_types_eth::{
    BlockNumberOrTag, FeeHistory, Filter, FilterBlockOption, Log as RpcLog, Transaction as RpcTx,
    TransactionReceipt,
};
use jsonrpsee::{
    RpcModule,
    types::{ErrorObjectOwned, Params},
};
use nvm_identity::{VmAddress, legacy_id_com};
use nvm_primitives::{Block, BlockHeader, Log, Receipt, Transaction, TxStatus};
use nvm_rpc::{
    NodeContext, RpcResult, add, admission, hex0x, internal, invalid_params, param_str, parse_hash,
    parse_hex, required,
};
use nvm_vm_evm::{ETHEREUM_TX_TAG, EthereumTx, EvmOp, erc20_address, evm_address};
use nvm_vm_native::NativeOp;
use serde_json::Value;

/// Most blocks one `eth_feeHistory` call reports.
const MAX_FEE_HISTORY: u64 = 1_024;
/// The priority fee this node suggests (what `eth_maxPriorityFeePerGas` answers): 1 gwei.
pub(crate) const SUGGESTED_TIP: u128 = 1_000_000_000;

fn json(value: impl serde::Serialize) -> RpcResult {
    serde_json::to_value(value).map_err(internal)
}

/// The Ethereum transaction inside a block transaction, if it is one.
fn ethereum_of(raw: &[u8]) -> Option<EthereumTx> {
    match raw.split_first() {
        Some((&ETHEREUM_TX_TAG, eip2718)) => EthereumTx::decode(eip2718).ok(),
        _ => None,
    }
}

/// keccak256 of an event signature: its topic 0 in the EVM.
fn event_topic(signature: &str) -> B256 {
    alloy_primitives::keccak256(signature.as_bytes())
}

/// The Ethereum addresses a native operation names, by the legacy identity each stands for: an
/// address no identity has linked is its own legacy identity, whose EVM address cannot be derived
/// from its id_com, so its events show it as the operation gave it.
fn named_evm_addresses(raw: &[u8]) -> Vec<([u8; 32], Address)> {
    let Some(op) =
        Transaction::decode(raw).ok().and_then(|t| NativeOp::decode(&t.body.payload).ok())
    else {
        return Vec::new();
    };
    let given: Vec<VmAddress> = match op {
        NativeOp::Transfer { to, .. } | NativeOp::Mint { to, .. } => vec![to],
        NativeOp::Approve { spender, .. } => vec![spender],
        NativeOp::TransferFrom { owner, to, .. } => vec![owner, to],
        NativeOp::LinkEvmAccount { address, .. } => vec![VmAddress::Evm(address)],
        _ => Vec::new(),
    };
    given.into_iter().filter_map(|a| Some((legacy_id_com(&a)?, Address::from(a.evm()?)))).collect()
}

/// An identity's EVM address as a 32-byte topic: as the operation named it, else the identity's
/// derived one (the zero id, a mint's or burn's other side, stays zero).
fn address_topic(id: &[u8; 32], named: &[([u8; 32], Address)]) -> B256 {
    if *id == [0; 32] {
        return B256::ZERO;
    }
    named
        .iter()
        .find(|(legacy, _)| legacy == id)
        .map_or_else(|| evm_address(id), |(_, a)| *a)
        .into_word()
}

/// A log in Ethereum's terms. An EVM log keeps its contract address; a ledger log of a native
/// operation (source = the mint, topics = SHA-256 event names and id_coms) shows as the ERC-20
/// event of the token's view: `Transfer`/`Approval` from its ERC-20 address, with the identities'
/// EVM addresses and the amount as a uint256 — what indexers and wallets watch for.
fn log_data(log: &Log, native: Option<&[([u8; 32], Address)]>) -> alloy_primitives::Log {
    let word = |t: &[u8; 32]| B256::from(*t);
    let Some(named) = native else {
        return alloy_primitives::Log {
            address: Address::from_slice(&log.source[12..]),
            data: LogData::new_unchecked(
                log.topics.iter().map(word).collect(),
                Bytes::from(log.data.clone()),
            ),
        };
    };
    let erc20 = match log.topics.first() {
        Some(t) if *t == nvm_vm_native::transfer_topic() => {
            Some("Transfer(address,address,uint256)")
        }
        Some(t) if *t == nvm_vm_native::approval_topic() => {
            Some("Approval(address,address,uint256)")
        }
        _ => None,
    };
    let (topics, data) =
        match (erc20, log.topics.as_slice(), <[u8; 16]>::try_from(log.data.as_slice())) {
            (Some(signature), [_, a, b], Ok(amount)) => (
                vec![event_topic(signature), address_topic(a, named), address_topic(b, named)],
                Bytes::from(U256::from(u128::from_be_bytes(amount)).to_be_bytes::<32>().to_vec()),
            ),
            _ => (log.topics.iter().map(word).collect(), Bytes::from(log.data.clone())),
        };
    alloy_primitives::Log {
        address: erc20_address(&log.source),
        data: LogData::new_unchecked(topics, data),
    }
}

/// A block with its receipts, in block order.
struct BlockWithReceipts {
    block: Block,
    hash: B256,
    receipts: Vec<Receipt>,
}

impl BlockWithReceipts {
    fn load(ctx: &NodeContext, height: u64) -> Result<Option<Self>, ErrorObjectOwned> {
        match ctx.node.block(height).map_err(internal)? {
            Some(block) => Self::of(ctx, block).map(Some),
            None => Ok(None),
        }
    }

    fn of(ctx: &NodeContext, block: Block) -> Result<Self, ErrorObjectOwned> {
        let mut receipts = Vec::with_capacity(block.transactions.len());
        for raw in &block.transactions {
            let hash = ctx
                .node
                .executor()
                .vms
                .block_tx_hash(raw)
                .ok_or_else(|| internal("undecodable block transaction"))?;
            let receipt = ctx.node.receipt(&hash).map_err(internal)?;
            receipts.push(receipt.ok_or_else(|| internal("block transaction without receipt"))?);
        }
        let hash = B256::from(block.header.hash());
        Ok(Self { block, hash, receipts })
    }

    /// Every receipt's logs in RPC form, numbered across the block.
    fn rpc_logs(&self) -> Vec<Vec<RpcLog>> {
        let mut log_index = 0;
        self.receipts
            .iter()
            .zip(&self.block.transactions)
            .map(|(r, raw)| {
                // Native operations and Solana transactions log ledger moves (ERC-20 events).
                let route = nvm_primitives::route_opcode(r.opcode);
                let native = matches!(
                    route,
                    Some(nvm_primitives::VmKind::Native | nvm_primitives::VmKind::Svm)
                );
                let named = if native { named_evm_addresses(raw) } else { Vec::new() };
                r.logs
                    .iter()
                    .map(|log| {
                        let rpc = RpcLog {
                            inner: log_data(log, native.then_some(named.as_slice())),
                            block_hash: Some(self.hash),
                            block_number: Some(self.block.header.height),
                            block_timestamp: Some(self.block.header.timestamp_ms / 1000),
                            transaction_hash: Some(B256::from(r.tx_hash)),
                            transaction_index: Some(u64::from(r.index)),
                            log_index: Some(log_index),
                            removed: false,
                        };
                        log_index += 1;
                        rpc
                    })
                    .collect()
            })
            .collect()
    }

    fn receipt(&self, index: usize) -> RpcResult {
        self.receipt_with(index, self.rpc_logs().swap_remove(index))
    }

    /// Every receipt of the block, in order (`eth_getBlockReceipts`).
    fn receipts(&self) -> RpcResult {
        let receipts =
            self.rpc_logs().into_iter().enumerate().map(|(i, logs)| self.receipt_with(i, logs));
        Ok(Value::Array(receipts.collect::<Result<_, _>>()?))
    }

    /// The receipt of transaction `index`, whose logs (numbered across the block) are `logs`.
    fn receipt_with(&self, index: usize, logs: Vec<RpcLog>) -> RpcResult {
        let r = &self.receipts[index];
        let raw = &self.block.transactions[index];
        let header = &self.block.header;
        let cumulative_gas_used = self.receipts[..=index].iter().map(|r| r.gas_used).sum();
        let success = r.status == TxStatus::Success;
        let facts = TxFacts::of(raw, r.sender, header.base_fee_per_gas);
        let inner = ReceiptWithBloom {
            logs_bloom: logs_bloom(logs.iter().map(|l| &l.inner)),
            receipt: ConsensusReceipt {
                status: Eip658Value::Eip658(success),
                cumulative_gas_used,
                logs,
            },
        };
        json(TransactionReceipt {
            inner: ReceiptEnvelope::from_typed(facts.tx_type, inner),
            transaction_hash: B256::from(r.tx_hash),
            transaction_index: Some(u64::from(r.index)),
            block_hash: Some(self.hash),
            block_number: Some(header.height),
            gas_used: r.gas_used,
            effective_gas_price: facts.effective_gas_price,
            blob_gas_used: None,
            blob_gas_price: None,
            from: facts.from,
            to: facts.to,
            contract_address: facts.created.filter(|_| success),
        })
    }
}

/// The bloom filter of every log in `block`, as its Ethereum header carries it.
pub(crate) fn block_logs_bloom(
    ctx: &NodeContext,
    block: &Block,
) -> Result<alloy_primitives::Bloom, ErrorObjectOwned> {
    let with = BlockWithReceipts::of(ctx, block.clone())?;
    let logs = with.rpc_logs();
    Ok(logs_bloom(logs.iter().flatten().map(|l| &l.inner)))
}

/// What a receipt says about its transaction, for Ethereum and native transactions alike.
struct TxFacts {
    tx_type: TxType,
    from: Address,
    to: Option<Address>,
    created: Option<Address>,
    effective_gas_price: u128,
}

impl TxFacts {
    fn of(raw: &[u8], sender: [u8; 32], base_fee: u64) -> Self {
        if let Some(eth) = ethereum_of(raw) {
            return Self {
                tx_type: TxType::try_from(eth.envelope().ty()).unwrap_or(TxType::Legacy),
                from: eth.signer(),
                to: eth.envelope().to(),
                created: eth.created_address(),
                effective_gas_price: eth.effective_gas_price(base_fee),
            };
        }
        // A native envelope: its EVM operation, if any, says where it went.
        let from = evm_address(&sender);
        let tx = Transaction::decode(raw).ok();
        let (from, to, created) =
            match tx.as_ref().and_then(|t| EvmOp::decode(&t.body.payload).ok()) {
                Some(EvmOp::Call { to, .. } | EvmOp::Transfer { to, .. }) => {
                    (from, Some(Address::from(to)), None)
                }
                Some(EvmOp::Create { .. }) => (from, None, tx.map(|t| from.create(t.body.nonce))),
                // An impersonated account's call: its own, at its own nonce.
                Some(EvmOp::DevCallAs { from, to, nonce, .. }) => {
                    let from = Address::from(from);
                    (from, to.map(Address::from), to.is_none().then(|| from.create(nonce)))
                }
                None => (from, None, None),
            };
        Self { tx_type: TxType::Legacy, from, to, created, effective_gas_price: 0 }
    }
}

/// A transaction in Ethereum's JSON shape; `at` places it in a block (else it is pending).
pub(crate) fn tx_json(ctx: &NodeContext, raw: &[u8], at: Option<(&BlockHeader, u64)>) -> RpcResult {
    let info = TransactionInfo {
        hash: ctx.node.executor().vms.block_tx_hash(raw).map(B256::from),
        index: at.map(|(_, i)| i),
        block_hash: at.map(|(h, _)| B256::from(h.hash())),
        block_number: at.map(|(h, _)| h.height),
        base_fee: at.map(|(h, _)| h.base_fee_per_gas),
        block_timestamp: at.map(|(h, _)| h.timestamp_ms / 1000),
    };
    if let Some(eth) = ethereum_of(raw) {
        let recovered = Recovered::new_unchecked(eth.envelope().clone(), eth.signer());
        return json(RpcTx::from_transaction(recovered, info));
    }
    // A native envelope: the fields Ethereum tools read, from its EVM operation if it has one.
    let Ok(tx) = Transaction::decode(raw) else {
        return other_ecosystem_json(ctx, &info, raw);
    };
    let op = EvmOp::decode(&tx.body.payload).ok();
    let (mut from, mut nonce) = (evm_address(&tx.body.sender), tx.body.nonce);
    let (to, value, input, gas) = match &op {
        Some(EvmOp::Call { to, value, data, gas_limit }) => {
            (Some(Address::from(*to)), *value, data.clone(), *gas_limit)
        }
        Some(EvmOp::Create { value, init_code, gas_limit }) => {
            (None, *value, init_code.clone(), *gas_limit)
        }
        Some(EvmOp::Transfer { to, value }) => {
            (Some(Address::from(*to)), *value, Vec::new(), nvm_vm_evm::TRANSFER_GAS)
        }
        Some(EvmOp::DevCallAs { from: caller, to, value, data, gas_limit, nonce: at }) => {
            (from, nonce) = (Address::from(*caller), *at);
            (to.map(Address::from), *value, data.clone(), *gas_limit)
        }
        None => (None, 0, tx.body.payload.clone(), 0),
    };
    Ok(serde_json::json!({
        "hash": info.hash,
        "nonce": quantity(nonce),
        "blockHash": info.block_hash,
        "blockNumber": info.block_number.map(quantity),
        "transactionIndex": info.index.map(quantity),
        "from": from,
        "to": to,
        "value": quantity(value),
        "gas": quantity(gas),
        "gasPrice": "0x0",
        "input": hex0x(&input),
        "type": "0x0",
        "chainId": quantity(tx.body.chain_id),
        // Signed by an n-VM credential, not an Ethereum key: zero ECDSA fields, as chains show
        // their system transactions, so that Ethereum tools parse the object.
        "v": "0x0",
        "r": "0x0",
        "s": "0x0",
    }))
}

/// Another ecosystem's transaction (a Solana one) as Ethereum tools expect a block's transactions:
/// a system transaction (zero ECDSA fields, no gas) from its sender's EVM address, its bytes as
/// input — so that a block holding one can still be read whole (`eth_getBlockByNumber(n, true)`).
fn other_ecosystem_json(ctx: &NodeContext, info: &TransactionInfo, raw: &[u8]) -> RpcResult {
    let receipt = match info.hash {
        Some(hash) => ctx.node.receipt(&hash.0).map_err(internal)?,
        None => None,
    };
    let from = receipt.map_or(Address::ZERO, |r| evm_address(&r.sender));
    Ok(serde_json::json!({
        "hash": info.hash,
        "nonce": "0x0",
        "blockHash": info.block_hash,
        "blockNumber": info.block_number.map(quantity),
        "transactionIndex": info.index.map(quantity),
        "from": from,
        "to": null,
        "value": "0x0",
        "gas": "0x0",
        "gasPrice": "0x0",
        "input": hex0x(raw),
        "type": "0x0",
        "chainId": quantity(ctx.node.chain_id()),
        "v": "0x0",
        "r": "0x0",
        "s": "0x0",
    }))
}

fn send_raw_transaction(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let raw = parse_hex(&required(params, 0, "transaction")?)?;
    let result = ctx
        .node
        .submit(vec![nvm_vm_evm::tag_ethereum(&raw)])
        .map_err(internal)?
        .pop()
        .ok_or_else(|| internal("no admission result"))?;
    result.map(|hash| Value::String(hex0x(&hash))).map_err(admission)
}

fn get_transaction_by_hash(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let hash = parse_hash(&required(params, 0, "hash")?)?;
    if let Some(location) = ctx.node.tx_location(&hash).map_err(internal)? {
        let block = ctx.node.block(location.height).map_err(internal)?;
        let Some(raw) = block.as_ref().and_then(|b| b.transactions.get(location.index as usize))
        else {
            return Ok(Value::Null);
        };
        let header = &block.as_ref().map(|b| &b.header).ok_or_else(|| internal("no block"))?;
        return tx_json(ctx, raw, Some((header, u64::from(location.index))));
    }
    match ctx.node.pending_tx(&hash) {
        Some(pending) => tx_json(ctx, pending.raw(), None),
        None => Ok(Value::Null),
    }
}

/// The receipts of a block named by number, tag or hash (`null` for a block this node lacks).
fn get_block_receipts(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    match crate::reads::block_at(ctx, params, 0)? {
        Some(block) => BlockWithReceipts::of(ctx, block)?.receipts(),
        None => Ok(Value::Null),
    }
}

fn get_transaction_receipt(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let hash = parse_hash(&required(params, 0, "hash")?)?;
    let Some(location) = ctx.node.tx_location(&hash).map_err(internal)? else {
        return Ok(Value::Null);
    };
    match BlockWithReceipts::load(ctx, location.height)? {
        Some(block) => block.receipt(location.index as usize),
        None => Ok(Value::Null),
    }
}

/// A block number or tag in a filter: tags name the head.
fn filter_height(head: u64, tag: Option<&BlockNumberOrTag>) -> u64 {
    match tag {
        Some(BlockNumberOrTag::Number(n)) => *n,
        Some(BlockNumberOrTag::Earliest) => 0,
        _ => head,
    }
}

/// A log filter as `eth_getLogs`, `eth_newFilter` and `eth_subscribe("logs")` take it (none: all).
pub(crate) fn parse_filter(value: Option<Value>) -> Result<Filter, ErrorObjectOwned> {
    value
        .filter(|v| !v.is_null())
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| invalid_params(format!("invalid filter: {e}")))
        .map(Option::unwrap_or_default)
}

/// The heights `filter` names with `head` the latest (a block hash: its block's).
pub(crate) fn filter_range(
    ctx: &NodeContext,
    filter: &Filter,
    head: u64,
) -> Result<(u64, u64), ErrorObjectOwned> {
    match &filter.block_option {
        FilterBlockOption::Range { from_block, to_block } => {
            Ok((filter_height(head, from_block.as_ref()), filter_height(head, to_block.as_ref())))
        }
        FilterBlockOption::AtBlockHash(hash) => {
            let block = ctx.node.block_by_hash(&hash.0).map_err(internal)?;
            let Some(block) = block else {
                return Err(ErrorObjectOwned::owned(SERVER_ERROR, "unknown block", None::<()>));
            };
            Ok((block.header.height, block.header.height))
        }
    }
}

/// The logs of blocks `from..=to` (those committed) that `filter`'s addresses and topics match,
/// within the node's limits on blocks scanned and logs returned.
pub(crate) fn logs_between(
    ctx: &NodeContext,
    filter: &Filter,
    from: u64,
    to: u64,
) -> Result<Vec<RpcLog>, ErrorObjectOwned> {
    if from > to {
        return Err(invalid_params(format!("fromBlock {from} is after toBlock {to}")));
    }
    let (max_blocks, max_logs) = (ctx.limits.max_log_blocks, ctx.limits.max_logs);
    if to - from >= max_blocks {
        return Err(ErrorObjectOwned::owned(
            SERVER_ERROR,
            format!("query exceeds max block range {max_blocks}"),
            None::<()>,
        ));
    }
    let mut logs = Vec::new();
    for height in from..=to {
        let Some(block) = BlockWithReceipts::load(ctx, height)? else { break };
        let matching = block.rpc_logs().into_iter().flatten().filter(|l| filter.matches(&l.inner));
        logs.extend(matching);
        if logs.len() > max_logs {
            return Err(ErrorObjectOwned::owned(
                SERVER_ERROR,
                format!("query returned more than {max_logs} results"),
                None::<()>,
            ));
        }
    }
    Ok(logs)
}

fn get_logs(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let values: Vec<Value> = params.parse().map_err(|e| invalid_params(e.to_string()))?;
    let filter = parse_filter(values.into_iter().next())?;
    let head = ctx.node.head().map_err(internal)?.height;
    let (from, to) = filter_range(ctx, &filter, head)?;
    json(logs_between(ctx, &filter, from, to)?)
}

/// The `percentiles` of the tips paid in a block, weighted by gas used (as geth computes them).
fn block_rewards(block: &BlockWithReceipts, percentiles: &[f64]) -> Vec<u128> {
    let base_fee = block.block.header.base_fee_per_gas;
    let mut tips: Vec<(u128, u64)> = block
        .block
        .transactions
        .iter()
        .zip(&block.receipts)
        .filter_map(|(raw, r)| {
            let eth = ethereum_of(raw)?;
            Some((
                eth.effective_gas_price(base_fee).saturating_sub(u128::from(base_fee)),
                r.gas_used,
            ))
        })
        .collect();
    if tips.is_empty() {
        return vec![0; percentiles.len()];
    }
    tips.sort_unstable();
    let total: u64 = tips.iter().map(|(_, gas)| gas).sum();
    percentiles
        .iter()
        .map(|p| {
            let threshold = (total as f64 * p / 100.0) as u64;
            let mut sum = 0;
            tips.iter()
                .find(|(_, gas)| {
                    sum += gas;
                    sum >= threshold
                })
                .or(tips.last())
                .map_or(0, |(tip, _)| *tip)
        })
        .collect()
}

fn fee_history(ctx: &NodeContext, params: &Params<'_>) -> RpcResult {
    let count_text = required(params, 0, "blockCount")?;
    let count = match count_text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => count_text.parse(),
    }
    .map_err(|_| invalid_params(format!("invalid block count {count_text:?}")))?
    .min(MAX_FEE_HISTORY);
    let newest = block_height(ctx, param_str(params, 1, "newestBlock", false)?)?;
    // As geth: a newest block past the head is refused (and `newest + 1` below cannot overflow).
    let head = ctx.node.head().map_err(internal)?.height;
    if newest > head {
        return Err(invalid_params(format!(
            "request beyond head block: requested {newest}, head {head}"
        )));
    }
    let values: Vec<Value> = params.parse().unwrap_or_default();
    let percentiles: Option<Vec<f64>> = values
        .get(2)
        .filter(|v| !v.is_null())
        .map(|v| serde_json::from_value(v.clone()))
        .transpose()
        .map_err(|e| invalid_params(format!("invalid reward percentiles: {e}")))?;
    let gas_limit = ctx.node.executor().config.block_gas_limit;
    let oldest = (newest + 1).saturating_sub(count);
    let mut history = FeeHistory { oldest_block: oldest, ..FeeHistory::default() };
    let mut rewards = Vec::new();
    let mut next_base_fee = None;
    for height in oldest..=newest {
        let Some(block) = BlockWithReceipts::load(ctx, height)? else { break };
        let h = &block.block.header;
        history.base_fee_per_gas.push(u128::from(h.base_fee_per_gas));
        history.gas_used_ratio.push(h.gas_used as f64 / gas_limit as f64);
        if let Some(p) = &percentiles {
            rewards.push(block_rewards(&block, p));
        }
        next_base_fee = Some(nvm_vm_evm::next_base_fee(h.base_fee_per_gas, h.gas_used, gas_limit));
    }
    if let Some(next) = next_base_fee {
        history.base_fee_per_gas.push(u128::from(next));
    }
    history.reward = percentiles.map(|_| rewards);
    json(history)
}

/// Registers the Ethereum transaction methods.
pub(crate) fn register(module: &mut RpcModule<NodeContext>) {
    add(module, "eth_sendRawTransaction", send_raw_transaction);
    add(module, "eth_getTransactionByHash", get_transaction_by_hash);
    add(module, "eth_getTransactionReceipt", get_transaction_receipt);
    add(module, "eth_getBlockReceipts", get_block_receipts);
    add(module, "eth_getLogs", get_logs);
    add(module, "eth_feeHistory", fee_history);
}
