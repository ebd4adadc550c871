//! Blocks and the ledger's totals as solana-test-validator serves them: `getBlock`, `getBlocks`,
//! `getBlocksWithLimit`, `getBlockTime`, `getFirstAvailableBlock`, `minimumLedgerSlot`,
//! `getSupply`, `getFeeForMessage`, `getRecentPrioritizationFees`. A slot is a block height and
//! no slot is skipped; a block lists its Solana transactions (the other VMs' are no Solana
//! transactions, and carry no Solana signature).

use crate::{
    SolanaContext,
    params::{
        SolResult, arg, base58, codes, config, decode_wire, error_with, internal, invalid_params,
        values, with_context,
    },
    transactions::{committed_receipt, transaction_entry, wallet_transactions},
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use nvm_primitives::Block;
use serde_json::{Value, json};

/// Most slots one `getBlocks` / `getBlocksWithLimit` call lists (Agave's limit).
const MAX_BLOCKS_RANGE: u64 = 500_000;
/// How many recent slots `getRecentPrioritizationFees` reports (Agave's cache).
const PRIORITIZATION_FEE_SLOTS: u64 = 150;

fn slot_arg(values: &[Value], index: usize, name: &str) -> Result<u64, ErrorObjectOwned> {
    arg(values, index, name)?
        .as_u64()
        .ok_or_else(|| invalid_params(format!("Invalid params: {name} must be a slot number")))
}

/// The committed block at `slot`, or Agave's "not available" error.
fn block_at(ctx: &SolanaContext, slot: u64) -> Result<Block, ErrorObjectOwned> {
    ctx.node.block(slot).map_err(internal)?.ok_or_else(|| {
        error_with(
            codes::BLOCK_NOT_AVAILABLE,
            format!("Block not available for slot {slot}"),
            Value::Null,
        )
    })
}

pub(super) fn get_block(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let slot = slot_arg(&values, 0, "slot")?;
    let config = match values.get(1) {
        Some(Value::String(encoding)) => json!({ "encoding": encoding }),
        _ => config(&values, 1)?,
    };
    block_json(ctx, slot, &config, None).map(|(block, _)| block)
}

/// The block at `slot` as `getBlock` shows it under `config` (`blockSubscribe` sends the same).
/// The block at `slot` as `getBlock` shows it under `config`, its Solana transactions those that
/// name `mentions` when given (`blockSubscribe`'s filter), with how many there are.
pub(super) fn block_json(
    ctx: &SolanaContext,
    slot: u64,
    config: &Value,
    mentions: Option<[u8; 32]>,
) -> Result<(Value, usize), ErrorObjectOwned> {
    let block = block_at(ctx, slot)?;
    let header = &block.header;
    let mut shown = json!({
        "blockhash": base58(&header.hash()),
        "previousBlockhash": base58(&header.parent_hash),
        "parentSlot": slot.saturating_sub(1),
        "blockHeight": slot,
        "blockTime": header.timestamp_ms / 1000,
    });
    let details = config.get("transactionDetails").and_then(Value::as_str).unwrap_or("full");
    let transactions: Vec<_> = wallet_transactions(&block)
        .filter(|(_, tx, _)| {
            mentions
                .is_none_or(|m| tx.message.static_account_keys().iter().any(|k| k.to_bytes() == m))
        })
        .collect();
    let count = transactions.len();
    match details {
        "full" => {
            let mut shown_txs = Vec::new();
            for (wire, tx, signature) in transactions {
                let receipt = committed_receipt(ctx, &signature)?;
                shown_txs.push(transaction_entry(&receipt, wire, &tx, config)?);
            }
            shown["transactions"] = Value::Array(shown_txs);
        }
        "signatures" => {
            let signatures = transactions.iter().map(|(_, _, s)| Value::String(base58(s)));
            shown["signatures"] = Value::Array(signatures.collect());
        }
        "none" => {}
        other => {
            return Err(invalid_params(format!(
                "Invalid params: transactionDetails {other:?} (full, signatures or none)"
            )));
        }
    }
    if config.get("rewards").and_then(Value::as_bool) != Some(false) {
        shown["rewards"] = json!([]);
    }
    Ok((shown, count))
}

/// Slots `start..=end` that hold a committed block (every slot up to the head does).
fn slots(ctx: &SolanaContext, start: u64, end: u64) -> SolResult {
    if end.saturating_sub(start) >= MAX_BLOCKS_RANGE {
        return Err(invalid_params(format!("Slot range too large; max {MAX_BLOCKS_RANGE}")));
    }
    let head = ctx.node.head().map_err(internal)?.height;
    Ok(Value::Array((start..=end.min(head)).map(|s| json!(s)).collect()))
}

pub(super) fn get_blocks(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let start = slot_arg(&values, 0, "start slot")?;
    let end = match values.get(1) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| invalid_params("Invalid end slot"))?,
        _ => ctx.node.head().map_err(internal)?.height,
    };
    slots(ctx, start, end)
}

pub(super) fn get_blocks_with_limit(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let start = slot_arg(&values, 0, "start slot")?;
    let limit = slot_arg(&values, 1, "limit")?;
    if limit == 0 {
        return Ok(json!([]));
    }
    slots(ctx, start, start.saturating_add(limit - 1))
}

pub(super) fn get_block_time(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let slot = slot_arg(&values(params)?, 0, "slot")?;
    Ok(json!(block_at(ctx, slot)?.header.timestamp_ms / 1000))
}

/// The native token's supply in lamports: all of it circulates (n-VM has no stake accounts).
pub(super) fn get_supply(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let read = crate::accounts::Read::at_head(ctx, &config(&values(params)?, 0)?)?;
    let token = nvm_ledger::Ledger::token(&mut read.view(), &nvm_ledger::NATIVE_MINT)
        .map_err(internal)?
        .ok_or_else(|| internal("no native token"))?;
    let lamports = u64::try_from(token.supply / nvm_vm_svm::UNITS_PER_LAMPORT).unwrap_or(u64::MAX);
    Ok(with_context(
        read.slot,
        json!({
            "total": lamports,
            "circulating": lamports,
            "nonCirculating": 0,
            "nonCirculatingAccounts": [],
        }),
    ))
}

/// What a message would pay in fees (signatures and priority fee), or `null` if its blockhash
/// is no longer valid.
pub(super) fn get_fee_for_message(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let text = arg(&values, 0, "message")?
        .as_str()
        .ok_or_else(|| invalid_params("Invalid params: the message is a base64 string"))?;
    let bytes = decode_wire(text, Some("base64"))?;
    let message: nvm_vm_svm::VersionedMessage = bincode::deserialize(&bytes)
        .map_err(|e| invalid_params(format!("Invalid params: not a Solana message: {e}")))?;
    let read = crate::accounts::Read::at_head(ctx, &config(&values, 1)?)?;
    let head = ctx.node.head().map_err(internal)?;
    let valid = nvm_vm_svm::is_recent_blockhash(
        &mut read.view(),
        &message.recent_blockhash().to_bytes(),
        &head.hash,
        head.height + 1,
    )
    .map_err(internal)?;
    if !valid {
        return Ok(with_context(read.slot, Value::Null));
    }
    let tx = nvm_vm_svm::SolanaTx::of_message(message)
        .map_err(|e| invalid_params(format!("Invalid params: {e}")))?;
    let svm = ctx
        .node
        .executor()
        .vms
        .format_of::<nvm_vm_svm::SvmVm>()
        .ok_or_else(|| internal("this node runs no SVM"))?;
    let fee = svm.fee(&tx).map_err(|e| invalid_params(format!("Invalid params: {e}")))?;
    Ok(with_context(read.slot, json!(fee)))
}

/// Recent slots' prioritization fees: the least paid in each (zero: the node's blocks take any
/// transaction that fits, whatever its priority fee).
pub(super) fn get_recent_prioritization_fees(ctx: &SolanaContext, _: &Params<'_>) -> SolResult {
    let head = ctx.node.head().map_err(internal)?.height;
    let from = head.saturating_sub(PRIORITIZATION_FEE_SLOTS - 1).max(1);
    Ok(Value::Array(
        (from..=head).map(|slot| json!({ "slot": slot, "prioritizationFee": 0 })).collect(),
    ))
}
