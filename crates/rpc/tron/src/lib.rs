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
use std::{net::SocketAddr, sync::Arc, time::Duration};
use wallet::Failure;

pub use wallet::block_id;

/// The node the API answers from.
type Node = Arc<dyn NodeApi>;

/// Largest request body taken (a Tron transaction is at most 500 KiB; its JSON, hex, twice that).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// What the API answers from: the node, and how long a constant call may run.
#[derive(Clone)]
struct Served {
    node: Node,
    call_timeout: Duration,
}

/// The API's routes over `node`; a constant call (`triggerconstantcontract`, `estimateenergy`)
/// runs at most `call_timeout`.
pub fn router(node: Node, call_timeout: Duration) -> Router {
    Router::new()
        .route("/{service}/{method}", any(dispatch))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Served { node, call_timeout })
}

/// Serves the API on `addr` until the process ends; returns the bound address.
pub async fn start(
    addr: SocketAddr,
    node: Node,
    call_timeout: Duration,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(node, call_timeout);
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
    State(Served { node, call_timeout }): State<Served>,
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
    let answer = tokio::task::spawn_blocking(move || {
        answer(&*node, &method, &request, solidity, call_timeout)
    })
    .await;
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

fn answer(
    node: &dyn NodeApi,
    method: &str,
    request: &Value,
    solidity: bool,
    call_timeout: Duration,
) -> wallet::Answer {
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
        "triggerconstantcontract" => contracts::constant_call(node, request, false, call_timeout),
        "estimateenergy" if !solidity => {
            contracts::constant_call(node, request, true, call_timeout)
        }
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
