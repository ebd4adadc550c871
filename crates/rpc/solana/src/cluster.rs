//! The chain as Solana clients see it: version, health, slots (= block heights), epochs and
//! recent blockhashes (= block hashes).

use crate::{
    SOLANA_CORE_VERSION, SolanaContext,
    params::{
        SolResult, arg, base58, check_min_context_slot, config, internal, invalid_params, string,
        values, with_context,
    },
};
use jsonrpsee::types::Params;
use serde_json::{Value, json};

/// Slots per epoch (Solana's default schedule, without warm-up).
const SLOTS_PER_EPOCH: u64 = 432_000;

/// The head slot, refusing a `minContextSlot` above it.
fn head_slot(
    ctx: &SolanaContext,
    params: &Params<'_>,
) -> Result<u64, jsonrpsee::types::ErrorObjectOwned> {
    let values = values(params)?;
    let head = ctx.node.head().map_err(internal)?;
    check_min_context_slot(&config(&values, 0)?, head.height)?;
    Ok(head.height)
}

pub(super) fn get_version(_: &SolanaContext, _: &Params<'_>) -> SolResult {
    Ok(json!({ "solana-core": SOLANA_CORE_VERSION, "feature-set": 0 }))
}

pub(super) fn get_health(_: &SolanaContext, _: &Params<'_>) -> SolResult {
    Ok(json!("ok"))
}

pub(super) fn get_genesis_hash(ctx: &SolanaContext, _: &Params<'_>) -> SolResult {
    let genesis =
        ctx.node.block(0).map_err(internal)?.ok_or_else(|| internal("no genesis block"))?;
    Ok(json!(base58(&genesis.header.hash())))
}

pub(super) fn get_slot(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    Ok(json!(head_slot(ctx, params)?))
}

pub(super) fn get_epoch_info(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let slot = head_slot(ctx, params)?;
    Ok(json!({
        "absoluteSlot": slot,
        "blockHeight": slot,
        "epoch": slot / SLOTS_PER_EPOCH,
        "slotIndex": slot % SLOTS_PER_EPOCH,
        "slotsInEpoch": SLOTS_PER_EPOCH,
    }))
}

pub(super) fn get_epoch_schedule(_: &SolanaContext, _: &Params<'_>) -> SolResult {
    Ok(json!({
        "firstNormalEpoch": 0,
        "firstNormalSlot": 0,
        "leaderScheduleSlotOffset": SLOTS_PER_EPOCH,
        "slotsPerEpoch": SLOTS_PER_EPOCH,
        "warmup": false,
    }))
}

pub(super) fn get_latest_blockhash(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let head = ctx.node.head().map_err(internal)?;
    check_min_context_slot(&config(&values, 0)?, head.height)?;
    Ok(with_context(
        head.height,
        json!({
            "blockhash": base58(&head.hash),
            "lastValidBlockHeight": head.height + nvm_vm_svm::MAX_BLOCKHASH_AGE,
        }),
    ))
}

pub(super) fn is_blockhash_valid(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let text = string(arg(&values, 0, "blockhash")?, "blockhash")?;
    let mut hash = [0u8; 32];
    if bs58::decode(text).onto(&mut hash).ok() != Some(32) {
        return Err(invalid_params("Invalid param: not a valid blockhash"));
    }
    let head = ctx.node.head().map_err(internal)?;
    let snapshot = ctx.node.snapshot().map_err(internal)?;
    // A transaction naming it must still fit in the next block.
    let valid = nvm_vm_svm::is_recent_blockhash(
        &mut nvm_state_api::TxOverlay::new(&snapshot),
        &hash,
        &head.hash,
        head.height + 1,
    )
    .map_err(internal)?;
    Ok(with_context(head.height, Value::Bool(valid)))
}
