//! The memory budget of `/graphql`: requests in flight hold what they are charged, a request
//! the budget cannot hold is refused at once (503 `OVERLOADED` with `Retry-After`) rather than
//! grown into, what could never fit is 413, and the budget comes back when requests finish.

use crate::helpers::TestApp;
use persona_graph::config::Settings;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KIB: usize = 1024;

async fn app(budget: usize, max_values: usize) -> TestApp {
    TestApp::spawn_with(Settings {
        memory_budget_bytes: budget,
        max_json_values: max_values,
        ..Settings::default()
    })
    .await
}

/// A body of `len` bytes: a query with one string variable padded to the length.
fn padded_body(len: usize) -> String {
    let head = r#"{"query":"query($p: String!) { __typename __type(name: $p) { name } }","variables":{"p":""#;
    let tail = r#""}}"#;
    format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
}

async fn post(app: &TestApp, body: String) -> (u16, Option<String>, Value) {
    let resp = app
        .anonymous
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, resp.json().await.unwrap())
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// Starts a POST that declares `len` bytes and sends only its headers, with
/// `Expect: 100-continue`: the server answers `100 Continue` once the request has been
/// admitted (charged) and its body is wanted. The connection, and the charge, stay open.
async fn held_request(app: &TestApp, len: usize) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {len}\r\nexpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            stream.read(&mut byte).await.unwrap(),
            1,
            "connection closed"
        );
        got.push(byte[0]);
    }
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 100"), "{got}");
    stream
}

#[tokio::test]
async fn a_request_the_budget_cannot_hold_is_refused_at_once_and_admitted_once_it_frees() {
    // 600 KiB for all requests: one 400 KiB body in flight leaves too little for another.
    let app = app(600 * KIB, 0).await;
    let mut first = held_request(&app, 400 * KIB).await;

    let (status, retry, body) = post(&app, padded_body(300 * KIB)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(code(&body), "OVERLOADED", "{body}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert!(body.get("data").is_none(), "{body}");
    // Small requests still fit beside the held one.
    let (status, _, body) = post(&app, padded_body(KIB)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    // The held request finishes: its charge comes back, and the large one is admitted.
    let body = padded_body(400 * KIB);
    first.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("\"Query\"") {
        let n = first.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    let (status, _, body) = post(&app, padded_body(300 * KIB)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_dropped_connection_gives_its_charge_back() {
    let app = app(600 * KIB, 0).await;
    let first = held_request(&app, 400 * KIB).await;
    let (status, _, _) = post(&app, padded_body(300 * KIB)).await;
    assert_eq!(status, 503);
    drop(first);
    // The server notices the closed connection when it reads the body; the request then ends
    // and its charge is returned, so the next large request is admitted.
    let mut admitted = false;
    for _ in 0..200 {
        let (status, _, _) = post(&app, padded_body(300 * KIB)).await;
        if status == 200 {
            admitted = true;
            break;
        }
        assert_eq!(status, 503);
        tokio::task::yield_now().await;
    }
    assert!(admitted, "the dropped request's charge never came back");
}

#[tokio::test]
async fn a_body_of_too_many_values_is_413_before_it_is_parsed() {
    let app = app(64 * 1024 * KIB, 1_000).await;
    let ids: Vec<String> = (0..5_000).map(|i| format!("p{i}")).collect();
    let body = json!({
        "query": "query($ids: [String!]!) { __typename }",
        "variables": { "ids": ids },
    })
    .to_string();
    let (status, _, body) = post(&app, body).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "TOO_MANY_VALUES", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("limit is 1000"), "{message}");
    // Over GET too, counted in the `variables` parameter.
    let vars = json!({ "ids": (0..2_000).collect::<Vec<_>>() }).to_string();
    let resp = app
        .anonymous
        .get(app.url("/graphql"))
        .query(&[
            ("query", "query($ids: [Int!]!) { __typename }"),
            ("variables", vars.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "TOO_MANY_VALUES", "{body}");
    // A long string is one value, however long.
    let (status, _, body) = post(&app, padded_body(200 * KIB)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_request_larger_than_the_whole_budget_is_413() {
    let app = app(256 * KIB, 0).await;
    let (status, retry, body) = post(&app, padded_body(300 * KIB)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE", "{body}");
    assert_eq!(retry, None);
}

#[tokio::test]
async fn concurrent_large_requests_are_shed_not_queued_in_memory() {
    // Room for about four 200 KiB requests at once; 32 arrive together.
    let app = app(900 * KIB, 0).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(held_request(&app, 200 * KIB).await);
    }
    let answers =
        futures_util::future::join_all((0..32).map(|_| post(&app, padded_body(200 * KIB)))).await;
    for (status, retry, body) in &answers {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(code(body), "OVERLOADED");
        assert_eq!(retry.as_deref(), Some("1"));
    }
}
