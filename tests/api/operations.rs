//! What operators and people get besides the API: `/metrics` (scraped with a Prometheus
//! parser), request ids, the access log (on the real binary, in JSON), the landing page, the
//! dashboard page and the SDL.

use crate::helpers::TestApp;
use persona_graph::config::Settings;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// The samples of a scrape, parsed as Prometheus parses them.
async fn scrape(app: &TestApp, token: Option<&str>) -> prometheus_parse::Scrape {
    let mut req = reqwest::Client::new().get(app.url("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let text = resp.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).expect("a Prometheus exposition")
}

fn value(s: &prometheus_parse::Sample) -> f64 {
    match s.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        _ => f64::NAN,
    }
}

/// The value of the sample `metric` whose labels include `labels`.
fn sample(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map_or_else(|| panic!("no {metric} {labels:?} in the scrape"), value)
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_outcome_and_report_the_pool_and_catalog() {
    let app = TestApp::seeded().await;
    app.data(
        "query OpsProbe { personas(first: 1) { nodes { slug } } }",
        json!({}),
    )
    .await;
    let bad = app
        .gql("query OpsBadProbe { persona(slug: 5) { slug } }", json!({}))
        .await;
    assert!(bad.get("errors").is_some());
    let s = scrape(&app, None).await;
    let ok = [
        ("route", "graphql"),
        ("operation", "OpsProbe"),
        ("outcome", "ok"),
    ];
    assert!(sample(&s, "persona_graph_http_requests_total", &ok) >= 1.0);
    let failed = [("operation", "OpsBadProbe"), ("outcome", "BAD_USER_INPUT")];
    assert!(sample(&s, "persona_graph_http_requests_total", &failed) >= 1.0);
    assert!(
        sample(
            &s,
            "persona_graph_graphql_errors_total",
            &[("code", "BAD_USER_INPUT")]
        ) >= 1.0
    );
    assert!(
        sample(
            &s,
            "persona_graph_http_request_duration_seconds_count",
            &[("operation", "OpsProbe")]
        ) >= 1.0
    );
    assert!(sample(&s, "persona_graph_db_statements_per_request_count", &[]) >= 1.0);
    assert!(sample(&s, "persona_graph_db_pool_max_connections", &[]) >= 1.0);
    assert!(
        sample(
            &s,
            "persona_graph_db_pool_connections",
            &[("state", "idle")]
        ) >= 0.0
    );
    // The seed's writes moved the catalog version on.
    assert!(sample(&s, "persona_graph_catalog_version", &[]) >= 1.0);
    for metric in [
        "persona_graph_response_cache_hits_total",
        "persona_graph_response_cache_misses_total",
        "persona_graph_response_cache_bytes",
        "persona_graph_rate_limited_total",
        "persona_graph_subscriptions_open",
        "persona_graph_subscription_events_total",
        "persona_graph_db_pool_acquire_timeouts_total",
        "persona_graph_db_pool_waits_total",
        "persona_graph_change_feed_listening",
    ] {
        assert!(
            s.samples.iter().any(|x| x.metric == metric),
            "no {metric} in the scrape"
        );
    }
}

#[tokio::test]
async fn operation_names_cannot_grow_the_label_set_without_bound() {
    let app = TestApp::spawn().await;
    for n in 0..persona_graph::metrics::MAX_OPERATIONS + 20 {
        let q = format!("query Flood{n} {{ __typename }}");
        app.data(&q, json!({})).await;
    }
    app.data("{ __typename }", json!({})).await;
    let s = scrape(&app, None).await;
    let names: std::collections::HashSet<&str> = s
        .samples
        .iter()
        .filter(|x| x.metric == "persona_graph_http_requests_total")
        .filter_map(|x| x.labels.get("operation"))
        .collect();
    assert!(
        names.len() <= persona_graph::metrics::MAX_OPERATIONS + 2,
        "{} operation labels",
        names.len()
    );
    assert!(names.contains("other"), "later names are grouped as other");
    assert!(names.contains("anonymous"));
}

#[tokio::test]
async fn metrics_can_require_a_token_or_move_off_the_main_address() {
    let app = TestApp::spawn_with(Settings {
        metrics_token: Some("scrape-secret".to_owned()),
        ..Settings::default()
    })
    .await;
    let client = reqwest::Client::new();
    let refused = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let wrong = client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secre")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    scrape(&app, Some("scrape-secret")).await;

    let elsewhere = TestApp::spawn_with(Settings {
        metrics_on_main: false,
        ..Settings::default()
    })
    .await;
    let resp = client.get(elsewhere.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn a_request_id_is_kept_when_given_and_made_when_not() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let body = json!({ "query": "{ __typename }" });
    let given = client
        .post(app.url("/graphql"))
        .header("x-request-id", "trace-abc.123")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-abc.123");
    for sent in [None, Some("not ok; has spaces")] {
        let mut req = client.post(app.url("/graphql")).json(&body);
        if let Some(id) = sent {
            req = req.header("x-request-id", id);
        }
        let resp = req.send().await.unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 24, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
}

#[tokio::test]
async fn the_landing_page_links_the_dashboard_graphiql_and_the_sdl() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let landing = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(landing.status(), 200);
    let html = landing.text().await.unwrap();
    for link in [
        "href=\"/dashboard\"",
        "href=\"/graphiql\"",
        "href=\"/schema.graphql\"",
    ] {
        assert!(html.contains(link), "{link} missing");
    }
    let sdl = client
        .get(app.url("/schema.graphql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(sdl.trim(), committed.trim());
    let page = client
        .get(app.url("/dashboard"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The page loads its client from this server (or, in a build without npm, from the
    // pinned version on a CDN), never an unpinned one.
    assert!(
        page.contains("graphql-ws@6.4.2/umd/graphql-ws.min.js"),
        "{page}"
    );
    assert!(page.contains("/dashboard/app.js"));
    let script = client
        .get(app.url("/dashboard/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

/// One access-log line per request, in JSON, on the real binary; `/metrics` on its own
/// address.
#[test]
fn the_access_log_has_one_json_line_per_request_without_the_token() {
    let path = std::env::temp_dir().join(format!("persona-graph-ops-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let bin = env!("CARGO_BIN_EXE_persona-graph");
    let out = Command::new(bin)
        .args([
            "token",
            "create",
            "--name",
            "ops-viewer",
            "--role",
            "viewer",
        ])
        .args(["--database-url", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut child = Killed(
        Command::new(bin)
            .args(["serve", "--bind", "127.0.0.1:0", "--seed", "never"])
            .args(["--database-url", &url])
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("METRICS_BIND", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let mut wait_for = |needles: &[&str]| -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_mins(1);
        let mut found: Vec<Option<Value>> = vec![None; needles.len()];
        while found.iter().any(Option::is_none) {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    log.push(line.clone());
                    for (i, needle) in needles.iter().enumerate() {
                        if found[i].is_none() && line.contains(needle) {
                            found[i] = Some(serde_json::from_str(&line).expect("a JSON log line"));
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("no {needles:?} in the log:\n{}", log.join("\n"))
                }
            }
        }
        found.into_iter().flatten().collect()
    };
    let address = |line: &Value| -> String {
        let message = line["fields"]["message"].as_str().unwrap();
        let rest = message.split("http://").nth(1).unwrap();
        rest.split('/').next().unwrap().to_owned()
    };
    let started = wait_for(&["metrics at http://", "listening on http://"]);
    let (metrics_at, main_at) = (address(&started[0]), address(&started[1]));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let status = rt.block_on(async {
        client
            .post(format!("http://{main_at}/graphql"))
            .bearer_auth(&token)
            .header("x-request-id", "log-probe-1")
            .json(&json!({ "query": "query LogProbe { __typename }", "operationName": "LogProbe" }))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    let line = wait_for(&["log-probe-1"]).remove(0);
    let f = &line["fields"];
    assert_eq!(f["method"], "POST");
    assert_eq!(f["path"], "/graphql");
    assert_eq!(f["status"], 200);
    assert_eq!(f["operation"], "LogProbe");
    assert_eq!(f["outcome"], "ok");
    assert_eq!(f["token"], "ops-viewer");
    assert!(f["duration_ms"].as_f64().is_some(), "{line}");
    assert_eq!(line["level"], "INFO");
    let text = line.to_string();
    assert!(!text.contains(&token), "the token leaked: {text}");
    // `/metrics` answers on its own address, not on the main one.
    let (main, own) = rt.block_on(async {
        let main = client
            .get(format!("http://{main_at}/metrics"))
            .send()
            .await
            .unwrap()
            .status();
        let own = client
            .get(format!("http://{metrics_at}/metrics"))
            .send()
            .await
            .unwrap()
            .status();
        (main, own)
    });
    assert_eq!(main, 404);
    assert_eq!(own, 200);
    drop(child);
    let _ = std::fs::remove_file(&path);
}

/// A child process, killed when dropped (also when a test fails half-way).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
