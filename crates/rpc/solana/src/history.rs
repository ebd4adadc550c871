//! `getSignaturesForAddress`: an account's transactions, newest first, from the SVM's index of
//! signatures by account (`nvm_vm_svm::index`), each with its slot, error and block time.

use crate::{
    SolanaContext,
    accounts::Read,
    params::{SolResult, arg, base58, config, internal, invalid_params, pubkey, signature, values},
    transactions::error_value,
};
use jsonrpsee::types::Params;
use nvm_primitives::sha256;
use nvm_vm_svm::index::{SIGNATURE_PREFIX, signature_key};
use serde_json::{Value, json};

/// Most signatures one call returns (Agave's limit and default).
const MAX_SIGNATURES: usize = 1_000;

pub(super) fn get_signatures_for_address(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let address = pubkey(arg(&values, 0, "address")?, "address")?;
    let config = config(&values, 1)?;
    let limit = match config.get("limit") {
        None | Some(Value::Null) => MAX_SIGNATURES,
        Some(n) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=MAX_SIGNATURES).contains(n))
            .ok_or_else(|| invalid_params(format!("Invalid limit; max {MAX_SIGNATURES}")))?,
    };
    let named = |field: &str| config.get(field).filter(|v| !v.is_null()).map(signature).transpose();
    let (before, until) = (named("before")?, named("until")?);
    let read = Read::at_head(ctx, &config)?;
    let prefix = [SIGNATURE_PREFIX, address.as_slice()].concat();
    // After `before`: the key just past its own (keys under one address have one length).
    let from = match before {
        Some(before) => match ctx.node.receipt(&sha256(&before)).map_err(internal)? {
            Some(r) => [signature_key(&address, r.block_height, r.index), vec![0]].concat(),
            None => return Ok(json!([])),
        },
        None => prefix.clone(),
    };
    let mut found = Vec::new();
    // Signatures of one block share its time: one read of it each (a block holds thousands).
    let mut block_times: std::collections::HashMap<u64, Option<u64>> = Default::default();
    for (_, signature) in read.scan(&prefix, &from, limit)? {
        if until.is_some_and(|until| until.as_slice() == signature.as_slice()) {
            break;
        }
        let Some(receipt) = ctx.node.receipt(&sha256(&signature)).map_err(internal)? else {
            continue;
        };
        let block_time = match block_times.get(&receipt.block_height) {
            Some(time) => *time,
            None => {
                let block = ctx.node.block(receipt.block_height).map_err(internal)?;
                let time = block.map(|b| b.header.timestamp_ms / 1000);
                *block_times.entry(receipt.block_height).or_insert(time)
            }
        };
        found.push(json!({
            "signature": base58(&signature),
            "slot": receipt.block_height,
            "err": receipt.status.error().map_or(Value::Null, |reason| error_value(&reason)),
            "memo": null,
            "blockTime": block_time,
            "confirmationStatus": "finalized",
        }));
    }
    Ok(Value::Array(found))
}
