//! Parameters as Solana's JSON-RPC takes them (base58 keys, a trailing config object) and its
//! error codes.

use base64::Engine;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde_json::{Value, json};

/// Solana's JSON-RPC error codes (agave `rpc-client-types` `custom_error`).
pub mod codes {
    pub const INVALID_PARAMS: i32 = -32602;
    pub const INTERNAL: i32 = -32603;
    pub const PREFLIGHT_FAILURE: i32 = -32002;
    pub const SIGNATURE_VERIFICATION_FAILURE: i32 = -32003;
    pub const BLOCK_NOT_AVAILABLE: i32 = -32004;
    pub const UNSUPPORTED_TRANSACTION_VERSION: i32 = -32015;
    pub const MIN_CONTEXT_SLOT_NOT_REACHED: i32 = -32016;
    /// An account scan over its limit (Agave's scan error).
    pub const SCAN_ERROR: i32 = -32012;
    /// n-VM's: the mempool refused a transaction for want of room.
    pub const MEMPOOL_FULL: i32 = -32099;
}

pub type SolResult = Result<Value, ErrorObjectOwned>;

pub fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(codes::INVALID_PARAMS, message, None::<()>)
}

pub fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(codes::INTERNAL, format!("Internal error: {e}"), None::<()>)
}

pub fn error_with(code: i32, message: impl Into<String>, data: Value) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message, Some(data))
}

/// A call's positional parameters (none when omitted).
pub fn values(params: &Params<'_>) -> Result<Vec<Value>, ErrorObjectOwned> {
    if params.as_str().is_none() {
        return Ok(Vec::new());
    }
    params.parse().map_err(|e| invalid_params(format!("Invalid params: {e}")))
}

/// The parameter at `index`, which must be there.
pub fn arg<'a>(
    values: &'a [Value],
    index: usize,
    name: &str,
) -> Result<&'a Value, ErrorObjectOwned> {
    values.get(index).filter(|v| !v.is_null()).ok_or_else(|| {
        invalid_params(format!("Invalid params: missing parameter {index} ({name})"))
    })
}

pub fn string<'a>(value: &'a Value, name: &str) -> Result<&'a str, ErrorObjectOwned> {
    value.as_str().ok_or_else(|| invalid_params(format!("Invalid params: {name} must be a string")))
}

/// A base58 public key (32 bytes).
pub fn pubkey(value: &Value, name: &str) -> Result<[u8; 32], ErrorObjectOwned> {
    let text = string(value, name)?;
    let mut out = [0u8; 32];
    match bs58::decode(text).onto(&mut out) {
        Ok(32) => Ok(out),
        _ => Err(invalid_params(format!("Invalid param: {name} is not a valid public key"))),
    }
}

/// A base58 signature (64 bytes).
pub fn signature(value: &Value) -> Result<[u8; 64], ErrorObjectOwned> {
    let text = string(value, "signature")?;
    let mut out = [0u8; 64];
    match bs58::decode(text).onto(&mut out) {
        Ok(64) => Ok(out),
        _ => Err(invalid_params("Invalid param: not a valid signature")),
    }
}

pub fn base58(bytes: &[u8]) -> String {
    bs58::encode(bytes).into_string()
}

pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The config object at `index` (an empty one when omitted). Its `commitment`, when given,
/// must be one of Solana's; every level reads the committed head (blocks are final at once).
pub fn config(values: &[Value], index: usize) -> Result<Value, ErrorObjectOwned> {
    let config = match values.get(index) {
        None | Some(Value::Null) => json!({}),
        Some(object @ Value::Object(_)) => object.clone(),
        Some(other) => {
            return Err(invalid_params(format!(
                "Invalid params: expected a config object, got {other}"
            )));
        }
    };
    match config.get("commitment").and_then(Value::as_str) {
        None
        | Some("processed" | "confirmed" | "finalized" | "recent" | "single" | "max" | "root") => {
            Ok(config)
        }
        Some(other) => Err(invalid_params(format!("Invalid params: unknown commitment {other:?}"))),
    }
}

/// Refuses a read whose `minContextSlot` the node has not reached.
pub fn check_min_context_slot(config: &Value, slot: u64) -> Result<(), ErrorObjectOwned> {
    match config.get("minContextSlot").and_then(Value::as_u64) {
        Some(min) if min > slot => Err(error_with(
            codes::MIN_CONTEXT_SLOT_NOT_REACHED,
            "Minimum context slot has not been reached",
            json!({ "contextSlot": slot }),
        )),
        _ => Ok(()),
    }
}

/// Decodes transaction bytes sent as `encoding` (`base58`, Solana's default, or `base64`).
pub fn decode_wire(text: &str, encoding: Option<&str>) -> Result<Vec<u8>, ErrorObjectOwned> {
    // Base64 of the 1,232-byte packet limit, as Agave caps it before decoding.
    const MAX_BASE64: usize = 1644;
    const MAX_BASE58: usize = 1683;
    match encoding.unwrap_or("base58") {
        "base58" if text.len() <= MAX_BASE58 => bs58::decode(text)
            .into_vec()
            .map_err(|e| invalid_params(format!("invalid base58 encoding: {e}"))),
        "base64" if text.len() <= MAX_BASE64 => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| invalid_params(format!("invalid base64 encoding: {e}"))),
        "base58" | "base64" => Err(invalid_params(format!(
            "encoded solana_transaction::versioned::VersionedTransaction too large: {} bytes",
            text.len()
        ))),
        other => Err(invalid_params(format!(
            "unsupported encoding: {other}. Supported encodings: base58, base64"
        ))),
    }
}

/// `{context: {slot}, value}`: how Solana answers reads of state.
pub fn with_context(slot: u64, value: Value) -> Value {
    json!({ "context": { "apiVersion": crate::SOLANA_CORE_VERSION, "slot": slot }, "value": value })
}
