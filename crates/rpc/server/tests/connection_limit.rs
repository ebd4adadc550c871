//! Past the connection limit a client gets a JSON-RPC error it can read (HTTP 429, JSON body),
//! never a plain-text page — over a real server on 127.0.0.1, with raw HTTP so nothing is hidden.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use nvm_node::MemoryNode;
use nvm_rpc::{NodeContext, RpcLimits};
use serde_json::Value;
use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

/// One JSON-RPC call over its own HTTP/1.1 connection: the status line and the JSON body.
fn post(addr: SocketAddr, body: &str) -> (String, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, rest) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    let json = &rest[rest.find('{').unwrap()..=rest.rfind('}').unwrap()];
    (head.lines().next().unwrap().to_string(), serde_json::from_str(json).unwrap())
}

/// Opens a WebSocket connection (the handshake only): it holds a connection slot while open.
fn websocket(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    stream
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_connection_limit_the_answer_is_a_json_rpc_error() {
    let node = MemoryNode::dev(nvm_vms::registry().unwrap()).unwrap();
    let limits = RpcLimits { max_connections: 1, ..Default::default() };
    let ctx = NodeContext { limits, ..NodeContext::new(node.api()) };
    let (addr, _server) = nvm_rpc::start("127.0.0.1:0".parse().unwrap(), ctx, &[]).await.unwrap();
    tokio::task::spawn_blocking(move || {
        let ask = r#"{"jsonrpc":"2.0","id":7,"method":"nvm_chainInfo","params":[]}"#;
        let (status, alone) = post(addr, ask);
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert_eq!(alone["id"], 7);
        assert!(alone["result"]["chainId"].is_u64(), "{alone}");

        let held = websocket(addr);
        let (status, refused) = post(addr, ask);
        assert!(status.starts_with("HTTP/1.1 429"), "{status}");
        assert_eq!(refused["jsonrpc"], "2.0");
        assert_eq!(refused["error"]["code"], nvm_rpc::connection_limit::CODE);
        assert!(refused["error"]["message"].as_str().unwrap().contains("too many connections"));
        assert_eq!(refused["id"], Value::Null);

        // The slot comes back once the WebSocket closes.
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, again) = post(addr, ask);
            if status.starts_with("HTTP/1.1 200") {
                assert_eq!(again["id"], 7);
                break;
            }
            assert!(Instant::now() < deadline, "the slot never came back: {again}");
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
}
