//! Tron's HTTP API over an n-VM node: the `/wallet/*` (and `/walletsolidity/*`) methods of
//! java-tron that TronWeb 6 calls, with java-tron's JSON, on its own port (8090 by default, as
//! java-tron's full node). TRX is the native token in sun (1 sun = 10¹² base units); an address
//! is the identity whose TVM address it is, or its legacy identity (SPEC §2).

mod assets;
mod contracts;
pub mod json;
mod wallet;

use axum::{
    Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use nvm_node_api::NodeApi;
use serde_json::{Value, json};
use std::{net::SocketAddr, sync::Arc};
use wallet::Failure;

pub use wallet::block_id;

/// The node the API answers from.
type Node = Arc<dyn NodeApi>;

/// Largest request body taken (a Tron transaction is at most 500 KiB; its JSON, hex, twice that).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The API's routes over `node`.
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/{service}/{method}", any(dispatch))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(node)
}

/// Serves the API on `addr` until the process ends; returns the bound address.
pub async fn start(addr: SocketAddr, node: Node) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(node);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("Tron HTTP API stopped: {e}");
        }
    });
    Ok(bound)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

/// The request: its JSON body, or — a GET's, as TronWeb sends `getcontract?value=…` — its query
/// string's `key=value` pairs (no body and no query is `{}`).
fn request_json(body: &[u8], query: Option<&str>) -> Result<Value, String> {
    if !body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_slice(body).map_err(|e| format!("request body is not JSON: {e}"));
    }
    let mut request = serde_json::Map::new();
    for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        request.insert(key.to_string(), Value::String(value.to_string()));
    }
    Ok(Value::Object(request))
}

async fn dispatch(
    State(node): State<Node>,
    Path((service, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let solidity = match service.as_str() {
        "wallet" => false,
        "walletsolidity" => true,
        _ => {
            return json_response(
                StatusCode::NOT_FOUND,
                &json!({ "Error": format!("no service /{service}") }),
            );
        }
    };
    let request = match request_json(&body, query.as_deref()) {
        Ok(request) => request,
        Err(e) => return json_response(StatusCode::OK, &json!({ "Error": e })),
    };
    // The node's reads and writes block (storage, the mempool's journal): off the async workers.
    let answer =
        tokio::task::spawn_blocking(move || answer(&*node, &method, &request, solidity)).await;
    match answer {
        Ok(Ok(value)) => json_response(StatusCode::OK, &value),
        Ok(Err(Failure::Bad(reason))) => json_response(StatusCode::OK, &json!({ "Error": reason })),
        Ok(Err(Failure::Node(e))) => {
            json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "Error": e.to_string() }))
        }
        Err(e) => {
            json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "Error": e.to_string() }))
        }
    }
}

fn answer(node: &dyn NodeApi, method: &str, request: &Value, solidity: bool) -> wallet::Answer {
    match method {
        "getnowblock" => wallet::now_block(node),
        "getblockbynum" => wallet::block_by_num(node, request),
        "getblock" | "getblockbyid" => wallet::block_by_id_or_num(node, request),
        "getaccount" => wallet::account(node, request),
        "gettransactionbyid" => wallet::transaction_by_id(node, request, solidity),
        "gettransactioninfobyid" => wallet::transaction_info(node, request),
        "getnodeinfo" => wallet::node_info(node),
        "getchainparameters" if !solidity => wallet::chain_parameters(),
        "getcontract" => contracts::get_contract(node, request),
        "triggerconstantcontract" => contracts::constant_call(node, request, false),
        "estimateenergy" if !solidity => contracts::constant_call(node, request, true),
        "triggersmartcontract" if !solidity => contracts::trigger(node, request),
        "deploycontract" if !solidity => contracts::deploy(node, request),
        "createtransaction" if !solidity => wallet::create_transaction(node, request),
        "transferasset" if !solidity => assets::transfer_asset(node, request),
        "getassetissuebyid" => assets::asset_issue_by_id(node, request),
        "getassetissuelist" => assets::asset_issue_list(node, request, false),
        "getpaginatedassetissuelist" => assets::asset_issue_list(node, request, true),
        "getaccountresource" if !solidity => wallet::account_resource(node, request),
        "broadcasttransaction" if !solidity => {
            wallet::broadcast(node, wallet::wire_of_json(request)?)
        }
        "broadcasthex" if !solidity => wallet::broadcast(node, wallet::wire_of_hex(request)?),
        other => Err(Failure::Bad(format!("no method {other} here"))),
    }
}
