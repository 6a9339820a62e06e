//! Cursors are input: whatever a client puts in `after` or `before` (random bytes, random
//! JSON, a real cursor's shape with hostile values), every list and ordering answers data or
//! `BAD_USER_INPUT`, never `INTERNAL`, on either database.

use crate::helpers::TestApp;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde_json::{Value, json};

/// The lists with cursors, each a query taking `$c`, in every ordering they have.
fn queries() -> Vec<String> {
    let mut out = Vec::new();
    for (list, fields) in [
        ("personas", &["SORT_ORDER", "NAME", "SLUG"][..]),
        ("teams", &["NAME", "SLUG"][..]),
        ("journeys", &["NAME", "SLUG"][..]),
    ] {
        for field in fields {
            for direction in ["ASC", "DESC"] {
                for (page, arg) in [("first", "after"), ("last", "before")] {
                    out.push(format!(
                        "query($c: String) {{ {list}({page}: 2, {arg}: $c, orderBy: {{ field: {field}, direction: {direction} }}) {{ nodes {{ slug }} }} }}"
                    ));
                }
            }
        }
    }
    for (page, arg) in [("first", "after"), ("last", "before")] {
        out.push(format!(
            "query($c: String) {{ teams(first: 3) {{ nodes {{ membersConnection({page}: 2, {arg}: $c) {{ nodes {{ id }} }} }} }} }}"
        ));
    }
    out.push(
        "query($c: String) { personas(first: 3) { nodes { history(first: 2, after: $c) { nodes { action } } } } }"
            .to_owned(),
    );
    out
}

/// A text with what a hostile client would try: NUL and other control characters, quotes,
/// SQL, wildcards, astral characters, and now and then a very long run.
fn hostile_text(rng: &mut ChaCha8Rng) -> String {
    const PIECES: &[&str] = &[
        "\u{0}",
        "\u{1}",
        "\u{7f}",
        "\n",
        "'",
        "\"",
        "\\",
        "%",
        "_",
        "' OR 1=1 --",
        "🦀",
        "\u{202e}",
        "dev",
        "a",
        "Ω",
        "\u{fffd}",
    ];
    let n = (rng.next_u32() % 8) as usize;
    let mut s: String = (0..n)
        .map(|_| PIECES[(rng.next_u32() as usize) % PIECES.len()])
        .collect();
    if rng.next_u32().is_multiple_of(10) {
        s.push_str(&"x".repeat(20_000));
    }
    s
}

fn cursors(rng: &mut ChaCha8Rng) -> Vec<String> {
    let orderings = [
        "name:asc",
        "name:desc",
        "slug:asc",
        "slug:desc",
        "sort_order:asc",
        "sort_order:desc",
        "id:asc",
        "id:desc",
        "nope",
    ];
    let mut out = vec![String::new(), "!!!".to_owned(), "%00".to_owned()];
    for _ in 0..40 {
        // Random bytes.
        let mut bytes = vec![0u8; (rng.next_u32() % 64) as usize];
        rng.fill_bytes(&mut bytes);
        out.push(URL_SAFE_NO_PAD.encode(&bytes));
        // A cursor's shape, with hostile values.
        let o = orderings[(rng.next_u32() as usize) % orderings.len()];
        let v: Value = match rng.next_u32() % 5 {
            0 => json!(hostile_text(rng)),
            1 => json!(i64::from(rng.next_u32()) - i64::from(u32::MAX / 2)),
            2 => json!(i64::MAX),
            3 => json!(1.5),
            _ => json!([hostile_text(rng)]),
        };
        let id: Value = match rng.next_u32() % 3 {
            0 => json!(rng.next_u32() % 50),
            1 => json!(-1),
            _ => json!(hostile_text(rng)),
        };
        out.push(URL_SAFE_NO_PAD.encode(json!({ "o": o, "v": v, "id": id }).to_string()));
        // Random JSON of another shape.
        out.push(URL_SAFE_NO_PAD.encode(json!({ "o": hostile_text(rng) }).to_string()));
    }
    out
}

#[tokio::test]
async fn no_cursor_of_any_list_or_ordering_gets_internal() {
    let app = TestApp::seeded().await;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cursors = cursors(&mut rng);
    let mut refused = 0;
    for query in queries() {
        for c in &cursors {
            let resp = app.post_as(None, &query, json!({ "c": c })).await;
            let status = resp.status();
            let body: Value = resp.json().await.unwrap();
            assert!(
                status.is_success() || status.is_client_error(),
                "{status} {query} {c}: {body}"
            );
            for e in body["errors"].as_array().into_iter().flatten() {
                let code = e["extensions"]["code"].as_str().unwrap_or("");
                assert_ne!(code, "INTERNAL", "{query} with {c}: {body}");
                assert_eq!(code, "BAD_USER_INPUT", "{query} with {c}: {body}");
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "the corpus reached the cursor checks");
}

#[tokio::test]
async fn a_cursor_whose_sort_value_holds_a_nul_is_bad_input() {
    let app = TestApp::seeded().await;
    for (list, field, o) in [
        ("personas", "NAME", "name:asc"),
        ("teams", "NAME", "name:asc"),
        ("journeys", "SLUG", "slug:asc"),
    ] {
        let c = URL_SAFE_NO_PAD.encode(json!({ "o": o, "v": "a\u{0}b", "id": 1 }).to_string());
        let body = app
            .gql(
                &format!(
                    "query($c: String) {{ {list}(last: 2, before: $c, orderBy: {{ field: {field} }}) {{ nodes {{ slug }} }} }}"
                ),
                json!({ "c": c }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{list}: {body}"
        );
    }
}
