//! Calling an RPC module's methods in-process, as the API crates' tests do (no server, no
//! sockets): the method's JSON result, or its JSON-RPC error code.

use jsonrpsee::{RpcModule, core::server::MethodsError, types::ErrorObjectOwned};
use serde_json::Value;

/// `method` with positional `params` (a JSON array); panics with the method's name and error if
/// it fails.
pub async fn call<C: Send + Sync + 'static>(
    rpc: &RpcModule<C>,
    method: &str,
    params: Value,
) -> Value {
    let params = params.as_array().cloned().unwrap_or_default();
    match rpc.call::<_, Value>(method, params).await {
        Ok(value) => value,
        Err(e) => panic!("{method}: {e}"),
    }
}

/// The JSON-RPC error code `method` answers with; panics if it succeeds.
pub async fn error_code<C: Send + Sync + 'static>(
    rpc: &RpcModule<C>,
    method: &str,
    params: Value,
) -> i32 {
    error(rpc, method, params).await.code()
}

/// The JSON-RPC error `method` answers with; panics if it succeeds.
pub async fn error<C: Send + Sync + 'static>(
    rpc: &RpcModule<C>,
    method: &str,
    params: Value,
) -> ErrorObjectOwned {
    let params = params.as_array().cloned().unwrap_or_default();
    match rpc.call::<_, Value>(method, params).await {
        Err(MethodsError::JsonRpc(e)) => e,
        other => panic!("{method}: expected an error, got {other:?}"),
    }
}
