//! The answer past the connection limit: jsonrpsee refuses a connection over its limit with HTTP
//! 429 and a plain-text body, which JSON-RPC clients fail to parse ("Unexpected token T"). This
//! HTTP middleware keeps the 429 (load balancers and retrying clients go by it) and gives it a
//! JSON-RPC error body a client can read: code [`CODE`], a message naming the limit. The request
//! itself is not read (the server refused it unread), so the error's `id` is `null`, as JSON-RPC
//! prescribes when the id cannot be known.

use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

/// The JSON-RPC error code of a request refused for the connection limit (in the server-error
/// range, clear of Ethereum's, Solana's and n-VM's own codes).
pub const CODE: i32 = -32097;

/// HTTP status jsonrpsee refuses an over-limit connection with.
const TOO_MANY_REQUESTS: u16 = 429;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Wraps a server's HTTP service in [`JsonRefusal`].
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonRefusalLayer;

impl<S> tower::Layer<S> for JsonRefusalLayer {
    type Service = JsonRefusal<S>;

    fn layer(&self, inner: S) -> JsonRefusal<S> {
        JsonRefusal { inner }
    }
}

/// An HTTP service whose 429 answers carry a JSON-RPC error.
#[derive(Clone, Debug)]
pub struct JsonRefusal<S> {
    inner: S,
}

/// The body of the refusal.
pub fn refusal_body() -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "error": {
            "code": CODE,
            "message": "too many connections: the server is at its connection limit \
                        (--rpc-max-connections); try again later",
        },
        "id": null,
    })
    .to_string()
}

impl<S> tower::Service<HttpRequest> for JsonRefusal<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            if response.status().as_u16() != TOO_MANY_REQUESTS {
                return Ok(response);
            }
            let refusal = HttpResponse::builder()
                .status(TOO_MANY_REQUESTS)
                .header("content-type", "application/json; charset=utf-8")
                .body(HttpBody::from(refusal_body()))?;
            Ok(refusal)
        })
    }
}
