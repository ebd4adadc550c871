//! A Solana transaction in the `json` encoding of `getTransaction`.

use crate::params::base58;
use nvm_vm_svm::{VersionedMessage, VersionedTransaction};
use serde_json::{Value, json};

pub(super) fn transaction_json(tx: &VersionedTransaction) -> Value {
    let signatures: Vec<String> = tx.signatures.iter().map(|s| base58(s.as_ref())).collect();
    json!({ "signatures": signatures, "message": message_json(&tx.message) })
}

fn message_json(message: &VersionedMessage) -> Value {
    let header = message.header();
    let instructions: Vec<Value> = message
        .instructions()
        .iter()
        .map(|ix| {
            json!({
                "programIdIndex": ix.program_id_index,
                "accounts": ix.accounts,
                "data": base58(&ix.data),
                "stackHeight": null,
            })
        })
        .collect();
    let mut out = json!({
        "accountKeys": message.static_account_keys().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "header": {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        },
        "recentBlockhash": message.recent_blockhash().to_string(),
        "instructions": instructions,
    });
    if let Some(lookups) = message.address_table_lookups() {
        out["addressTableLookups"] = Value::Array(
            lookups
                .iter()
                .map(|l| {
                    json!({
                        "accountKey": l.account_key.to_string(),
                        "writableIndexes": l.writable_indexes,
                        "readonlyIndexes": l.readonly_indexes,
                    })
                })
                .collect(),
        );
    }
    out
}
