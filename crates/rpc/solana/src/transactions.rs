//! Transactions: `sendTransaction` (with its preflight simulation), `simulateTransaction`,
//! `requestAirdrop`, `getSignatureStatuses`, `getTransaction`.

use crate::{
    SolanaContext,
    accounts::{DataEncoding, Read},
    params::{
        SolResult, arg, base58, base64, codes, config, decode_wire, error_with, internal,
        invalid_params, pubkey, signature, string, values, with_context,
    },
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use nvm_executor::AdmissionError;
use nvm_executor::{Rejection, TxError, VerifiedTx};
use nvm_primitives::{Receipt, sha256};
use nvm_vm_svm::{SolanaTx, SvmOutcome};
use nvm_vm_svm::{SvmMeta, TokenBalance};
use serde_json::{Value, json};

/// Most signatures one `getSignatureStatuses` call asks about (Solana's limit).
const MAX_SIGNATURE_STATUSES: usize = 256;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A Solana transaction error in its JSON form (`"BlockhashNotFound"`, `{"InstructionError":…}`).
pub(super) fn error_value(reason: &str) -> Value {
    serde_json::from_str(reason).unwrap_or_else(|_| Value::String(reason.to_string()))
}

/// Why admission refused a transaction, as Solana's RPC says it.
fn refusal(e: AdmissionError) -> ErrorObjectOwned {
    let preflight = |err: &str, message: &str| {
        error_with(
            codes::PREFLIGHT_FAILURE,
            format!("Transaction simulation failed: {message}"),
            json!({ "err": err, "logs": [], "accounts": null, "unitsConsumed": 0, "returnData": null }),
        )
    };
    match e {
        AdmissionError::Invalid(TxError::Rejected { kind: Rejection::Signature, .. })
        | AdmissionError::Invalid(TxError::Signature(_)) => ErrorObjectOwned::owned(
            codes::SIGNATURE_VERIFICATION_FAILURE,
            "Transaction signature verification failure",
            None::<()>,
        ),
        AdmissionError::Invalid(TxError::Rejected { message, .. }) => invalid_params(format!(
            "failed to deserialize solana_transaction::versioned::VersionedTransaction: {message}"
        )),
        AdmissionError::Invalid(TxError::BlockhashNotFound(_)) => {
            preflight("BlockhashNotFound", "Blockhash not found")
        }
        AdmissionError::Invalid(TxError::AlreadyProcessed) | AdmissionError::AlreadyKnown(_) => {
            preflight("AlreadyProcessed", "This transaction has already been processed")
        }
        AdmissionError::Invalid(TxError::InsufficientFunds { available: 0, .. })
        | AdmissionError::InsufficientFunds { available: 0, .. } => preflight(
            "AccountNotFound",
            "Attempt to debit an account but found no record of a prior credit.",
        ),
        AdmissionError::Invalid(TxError::InsufficientFunds { .. })
        | AdmissionError::InsufficientFunds { .. } => {
            preflight("InsufficientFundsForFee", "Insufficient funds for fee")
        }
        AdmissionError::Full(_) | AdmissionError::SenderFull(_) => {
            ErrorObjectOwned::owned(codes::MEMPOOL_FULL, e.to_string(), None::<()>)
        }
        other => invalid_params(other.to_string()),
    }
}

/// The simulation result Solana's RPC returns (`simulateTransaction`'s value, and the `data` of a
/// failed preflight).
fn simulation_json(outcome: &SvmOutcome, accounts: Option<Value>) -> Value {
    json!({
        "err": outcome.status.as_ref().err().map(|r| error_value(r)),
        "logs": outcome.logs,
        "accounts": accounts,
        "unitsConsumed": outcome.meta.compute_units,
        "returnData": null,
        "innerInstructions": null,
        "replacementBlockhash": null,
        "loadedAccountsDataSize": null,
        "fee": outcome.fee_lamports,
        "preBalances": outcome.meta.pre_balances,
        "postBalances": outcome.meta.post_balances,
    })
}

/// Decodes and verifies wire bytes into a block transaction.
fn verified(ctx: &SolanaContext, wire: &[u8]) -> Result<VerifiedTx, ErrorObjectOwned> {
    VerifiedTx::verify(&ctx.node.executor().vms, nvm_vm_svm::tag_solana(wire))
        .map_err(|e| refusal(AdmissionError::Invalid(e)))
}

fn solana(tx: &VerifiedTx) -> Result<&SolanaTx, ErrorObjectOwned> {
    tx.wallet::<SolanaTx>().ok_or_else(|| internal("not a Solana transaction"))
}

/// Simulates `tx` at the tip for the next block; an error is a transaction the block would
/// refuse outright.
fn simulate(
    ctx: &SolanaContext,
    tx: &SolanaTx,
    check: bool,
    inspect: &[[u8; 32]],
) -> Result<nvm_vm_svm::Simulation, ErrorObjectOwned> {
    let (next, state) = ctx.node.next_block(now_ms()).map_err(internal)?;
    let executor = ctx.node.executor();
    let svm = executor.vms.format_of::<nvm_vm_svm::SvmVm>().ok_or_else(|| {
        refusal(AdmissionError::Invalid(TxError::spec_vm_unavailable(nvm_primitives::VmKind::Svm)))
    })?;
    svm.simulate(&state, &next, tx, check, inspect).map_err(|e| refusal(AdmissionError::Invalid(e)))
}

/// Admits a verified transaction; its first signature, base58, is the answer.
fn admit(ctx: &SolanaContext, tx: VerifiedTx) -> SolResult {
    let signature = solana(&tx)?.signature();
    match ctx.node.submit_verified(tx).map_err(internal)? {
        Ok(_) => Ok(Value::String(base58(&signature))),
        Err(e) => Err(refusal(e)),
    }
}

pub(super) fn send_transaction(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let config = config(&values, 1)?;
    let wire = decode_wire(
        string(arg(&values, 0, "transaction")?, "transaction")?,
        config.get("encoding").and_then(Value::as_str),
    )?;
    let tx = verified(ctx, &wire)?;
    if config.get("skipPreflight").and_then(Value::as_bool) != Some(true) {
        let simulation = simulate(ctx, solana(&tx)?, true, &[])?;
        if let Err(reason) = &simulation.outcome.status {
            return Err(error_with(
                codes::PREFLIGHT_FAILURE,
                format!("Transaction simulation failed: {}", describe(reason)),
                simulation_json(&simulation.outcome, None),
            ));
        }
    }
    admit(ctx, tx)
}

/// A readable line for a Solana error kept in its JSON form.
fn describe(reason: &str) -> String {
    match error_value(reason) {
        Value::Object(map) if map.contains_key("InstructionError") => {
            let detail = &map["InstructionError"];
            format!("Error processing Instruction {}: {}", detail[0], detail[1])
        }
        Value::String(s) => s,
        other => other.to_string(),
    }
}

pub(super) fn simulate_transaction(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let config = config(&values, 1)?;
    let mut wire = decode_wire(
        string(arg(&values, 0, "transaction")?, "transaction")?,
        config.get("encoding").and_then(Value::as_str),
    )?;
    let sig_verify = config.get("sigVerify").and_then(Value::as_bool).unwrap_or(false);
    let replace = config.get("replaceRecentBlockhash").and_then(Value::as_bool).unwrap_or(false);
    if sig_verify && replace {
        return Err(invalid_params("sigVerify may not be used with replaceRecentBlockhash"));
    }
    let head = ctx.node.head().map_err(internal)?;
    if replace {
        wire = with_blockhash(&wire, head.hash)?;
    }
    let tx =
        if sig_verify { SolanaTx::decode(&wire) } else { SolanaTx::decode_for_simulation(&wire) }
            .map_err(|e| refusal(AdmissionError::Invalid(e.into())))?;
    let (addresses, encoding) = match config.get("accounts") {
        None | Some(Value::Null) => (Vec::new(), None),
        Some(accounts) => {
            let list =
                accounts.get("addresses").and_then(Value::as_array).cloned().unwrap_or_default();
            let addresses =
                list.iter().map(|a| pubkey(a, "address")).collect::<Result<Vec<_>, _>>()?;
            (addresses, Some(DataEncoding::of(accounts, "base64")?))
        }
    };
    let simulation = simulate(ctx, &tx, !replace, &addresses)?;
    let accounts = encoding
        .map(|encoding| {
            simulation
                .accounts
                .iter()
                .map(|a| {
                    Ok(a.as_ref().map(|a| encoding.account(a)).transpose()?.unwrap_or(Value::Null))
                })
                .collect::<Result<Vec<Value>, ErrorObjectOwned>>()
        })
        .transpose()?
        .map(Value::Array);
    let mut value = simulation_json(&simulation.outcome, accounts);
    if replace {
        value["replacementBlockhash"] = json!({ "blockhash": base58(&head.hash), "lastValidBlockHeight": head.height + nvm_vm_svm::MAX_BLOCKHASH_AGE });
    }
    Ok(with_context(head.height, value))
}

/// The same transaction naming `blockhash` as its recent blockhash (signatures no longer match).
fn with_blockhash(wire: &[u8], blockhash: [u8; 32]) -> Result<Vec<u8>, ErrorObjectOwned> {
    let mut tx: nvm_vm_svm::VersionedTransaction = bincode::deserialize(wire)
        .map_err(|e| invalid_params(format!("failed to deserialize transaction: {e}")))?;
    tx.message.set_recent_blockhash(nvm_vm_svm::Hash::new_from_array(blockhash));
    bincode::serialize(&tx).map_err(internal)
}

pub(super) fn request_airdrop(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let Some(faucet) = &ctx.faucet else {
        return Err(invalid_params("requestAirdrop is only available on dev networks"));
    };
    let values = values(params)?;
    let to = pubkey(arg(&values, 0, "pubkey")?, "pubkey")?;
    let lamports = arg(&values, 1, "lamports")?
        .as_u64()
        .filter(|&l| l > 0)
        .ok_or_else(|| invalid_params("Invalid params: lamports must be a positive integer"))?;
    let head = ctx.node.head().map_err(internal)?;
    let tx = verified(ctx, &faucet.airdrop(&to, lamports, head.hash))?;
    admit(ctx, tx)
}

/// The receipt of the transaction with this first signature, once committed.
fn receipt_of(
    ctx: &SolanaContext,
    signature: &[u8; 64],
) -> Result<Option<Receipt>, ErrorObjectOwned> {
    ctx.node.receipt(&sha256(signature)).map_err(internal)
}

fn status_json(receipt: &Receipt) -> (Value, Value) {
    match receipt.status.error() {
        None => (Value::Null, json!({ "Ok": null })),
        Some(reason) => (error_value(&reason), json!({ "Err": error_value(&reason) })),
    }
}

pub(super) fn get_signature_statuses(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let list = arg(&values, 0, "signatures")?
        .as_array()
        .ok_or_else(|| invalid_params("Invalid params: signatures must be an array"))?;
    if list.len() > MAX_SIGNATURE_STATUSES {
        return Err(invalid_params(format!(
            "Too many inputs provided; max {MAX_SIGNATURE_STATUSES}"
        )));
    }
    let read = Read::at_head(ctx, &config(&values, 1)?)?;
    let statuses = list
        .iter()
        .map(|s| {
            Ok(receipt_of(ctx, &signature(s)?)?.map_or(Value::Null, |receipt| {
                let (err, status) = status_json(&receipt);
                json!({
                    "slot": receipt.block_height,
                    "confirmations": null,
                    "err": err,
                    "status": status,
                    "confirmationStatus": "finalized",
                })
            }))
        })
        .collect::<Result<Vec<Value>, ErrorObjectOwned>>()?;
    Ok(with_context(read.slot, Value::Array(statuses)))
}

fn token_balances(balances: &[TokenBalance]) -> Value {
    Value::Array(
        balances
            .iter()
            .map(|b| {
                json!({
                    "accountIndex": b.account_index,
                    "mint": base58(&b.mint),
                    "owner": base58(&b.owner),
                    "programId": base58(&b.program_id),
                    "uiTokenAmount": crate::tokens::ui_amount(b.amount, b.decimals),
                })
            })
            .collect(),
    )
}

pub(super) fn get_transaction(ctx: &SolanaContext, params: &Params<'_>) -> SolResult {
    let values = values(params)?;
    let signature = signature(arg(&values, 0, "signature")?)?;
    let config = match values.get(1) {
        Some(Value::String(encoding)) => json!({ "encoding": encoding }),
        _ => config(&values, 1)?,
    };
    let store = &ctx.node;
    let Some(receipt) = receipt_of(ctx, &signature)? else { return Ok(Value::Null) };
    let block = store.block(receipt.block_height).map_err(internal)?.ok_or_else(|| {
        error_with(codes::BLOCK_NOT_AVAILABLE, "Block not available", Value::Null)
    })?;
    let wire = block
        .transactions
        .get(receipt.index as usize)
        .and_then(|raw| solana_wire(raw))
        .ok_or_else(|| internal("receipt does not point at a Solana transaction"))?;
    let tx = bincode::deserialize(wire).map_err(internal)?;
    let mut entry = transaction_entry(&receipt, wire, &tx, &config)?;
    entry["slot"] = json!(receipt.block_height);
    entry["blockTime"] = json!(block.header.timestamp_ms / 1000);
    Ok(entry)
}

/// The wire bytes of a block transaction that is a Solana wallet transaction.
fn solana_wire(raw: &[u8]) -> Option<&[u8]> {
    raw.split_first().filter(|(tag, _)| **tag == nvm_vm_svm::SOLANA_TX_TAG).map(|(_, wire)| wire)
}

/// A block's Solana wallet transactions, in block order: wire bytes, the transaction, and its
/// first signature (what names it and its receipt).
pub(super) fn wallet_transactions(
    block: &nvm_primitives::Block,
) -> impl Iterator<Item = (&[u8], nvm_vm_svm::VersionedTransaction, [u8; 64])> {
    block.transactions.iter().filter_map(|raw| solana_wire(raw)).filter_map(|wire| {
        let tx: nvm_vm_svm::VersionedTransaction = bincode::deserialize(wire).ok()?;
        let signature = (*tx.signatures.first()?).into();
        Some((wire, tx, signature))
    })
}

/// The receipt of a committed block's Solana transaction.
pub(super) fn committed_receipt(
    ctx: &SolanaContext,
    signature: &[u8; 64],
) -> Result<Receipt, ErrorObjectOwned> {
    receipt_of(ctx, signature)?
        .ok_or_else(|| internal("a block's Solana transaction has no receipt"))
}

/// A committed Solana transaction (`tx`, from `wire`) as `getTransaction` and `getBlock` show
/// it: `version`, `transaction` in the asked encoding, and `meta` from its receipt.
pub(super) fn transaction_entry(
    receipt: &Receipt,
    wire: &[u8],
    tx: &nvm_vm_svm::VersionedTransaction,
    config: &Value,
) -> SolResult {
    let version = match tx.version() {
        nvm_vm_svm::TransactionVersion::Legacy(_) => json!("legacy"),
        nvm_vm_svm::TransactionVersion::Number(n) => {
            let supported = config.get("maxSupportedTransactionVersion").and_then(Value::as_u64);
            if supported.is_none_or(|max| u64::from(n) > max) {
                return Err(error_with(
                    codes::UNSUPPORTED_TRANSACTION_VERSION,
                    format!(
                        "Transaction version ({n}) is not supported by the requesting client. Please try the request again with the following configuration parameter: \"maxSupportedTransactionVersion\": {n}"
                    ),
                    Value::Null,
                ));
            }
            json!(n)
        }
    };
    let transaction = match config.get("encoding").and_then(Value::as_str).unwrap_or("json") {
        "json" | "jsonParsed" => crate::message::transaction_json(tx),
        "base64" => json!([base64(wire), "base64"]),
        "base58" => json!([base58(wire), "base58"]),
        other => {
            return Err(invalid_params(format!("Invalid params: unsupported encoding {other:?}")));
        }
    };
    let svm = SvmMeta::decode(&receipt.vm_data).map_err(internal)?;
    let (err, status) = status_json(receipt);
    let fee = u64::try_from(receipt.fee_paid / nvm_vm_svm::UNITS_PER_LAMPORT).unwrap_or(u64::MAX);
    Ok(json!({
        "version": version,
        "transaction": transaction,
        "meta": {
            "err": err,
            "status": status,
            "fee": fee,
            "preBalances": svm.pre_balances,
            "postBalances": svm.post_balances,
            "innerInstructions": [],
            "logMessages": svm.log_messages,
            "preTokenBalances": token_balances(&svm.pre_token_balances),
            "postTokenBalances": token_balances(&svm.post_token_balances),
            "rewards": [],
            "loadedAddresses": { "writable": [], "readonly": [] },
            "computeUnitsConsumed": svm.compute_units,
        },
    }))
}
