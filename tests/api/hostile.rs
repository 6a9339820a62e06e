//! A corpus of hostile requests, sent while ordinary traffic runs: each is answered with a
//! clear error (a stable `extensions.code`, a status below 500), the service stays up, the
//! ordinary traffic is all served, and the catalog is unchanged but for what the SQL-looking
//! strings deliberately created, which is stored and returned verbatim.

use crate::helpers::{TestApp, error_code};
use crate::limits::{GRAPHIQL_INTROSPECTION, PERSONA_PAGE, raw_http, read};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How a corpus request is sent.
enum Send {
    /// POST `/graphql` with this content type (none when `None`) and body.
    Post(Option<&'static str>, Vec<u8>),
    /// GET `/graphql?` + this query string, as is.
    Get(String),
    /// Another method on `/graphql`.
    Method(&'static str),
    /// These bytes on a fresh connection.
    Raw(Vec<u8>),
}

/// One hostile request and the answer it must get.
struct Case {
    name: String,
    send: Send,
    status: u16,
    code: &'static str,
}

fn case(name: impl Into<String>, send: Send, status: u16, code: &'static str) -> Case {
    Case {
        name: name.into(),
        send,
        status,
        code,
    }
}

fn json_post(body: impl Into<Vec<u8>>) -> Send {
    Send::Post(Some("application/json"), body.into())
}

fn query(q: impl Into<String>) -> Send {
    json_post(json!({ "query": q.into() }).to_string())
}

fn query_with(q: &str, variables: Value) -> Send {
    json_post(json!({ "query": q, "variables": variables }).to_string())
}

/// `n` levels of `persona -> journeys -> personas -> ...`.
fn nested(depth: usize) -> String {
    let mut q = String::from("slug");
    for i in 0..depth.saturating_sub(2) {
        q = if i % 2 == 0 {
            format!("journeys {{ {q} }}")
        } else {
            format!("personas {{ {q} }}")
        };
    }
    format!(r#"{{ persona(slug: "dev") {{ {q} }} }}"#)
}

/// Fragments on `on` that each spread the one before twice: `F{n}` expands to 2^n `leaf`s.
fn fan_out(n: usize, on: &str, leaf: &str) -> String {
    let mut doc = format!("fragment F0 on {on} {{ {leaf} }}\n");
    for i in 1..=n {
        doc.push_str(&format!(
            "fragment F{i} on {on} {{ ...F{} ...F{} }}\n",
            i - 1,
            i - 1
        ));
    }
    doc
}

fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();

    // Malformed JSON and bodies that are not a GraphQL request.
    for (i, body) in [
        "{",
        r#"{"query": }"#,
        r#"{"query":"{ __typename }"}}"#,
        r#"{"query":"{ __typename }""#,
        "[",
        "nul",
        r#""{ __typename }""#,
        "123",
        "true",
        "{}",
        r#"{"variables":{}}"#,
        r#"{"query":null}"#,
        r#"{"query":"{ __typename }","variables":{"a": }}"#,
        r#"{"query":"{ __typename }","variables":"{}"}"#,
        "\u{feff}{\"query\":\"{ __typename }\"}",
    ]
    .into_iter()
    .enumerate()
    {
        cases.push(case(
            format!("malformed JSON #{i}: {body}"),
            json_post(body),
            400,
            "BAD_REQUEST",
        ));
    }
    let deep_json = format!(
        r#"{{"query":"{{ __typename }}","variables":{{"a":{}1{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    cases.push(case(
        "JSON nested 100000 deep",
        json_post(deep_json),
        413,
        "TOO_MANY_VALUES",
    ));
    cases.push(case("an empty body", json_post(""), 400, "BAD_REQUEST"));

    // Wrong content types.
    for ct in [
        Some("text/plain"),
        Some("application/xml"),
        Some("multipart/form-data; boundary=x"),
        Some("application/x-www-form-urlencoded"),
        Some("application/graphql"),
        Some("application/jsonx"),
        Some("json"),
        None,
    ] {
        cases.push(case(
            format!("content type {ct:?}"),
            Send::Post(ct, br#"{"query":"{ __typename }"}"#.to_vec()),
            415,
            "BAD_REQUEST",
        ));
    }

    // Sizes: a body over the limit (1 MiB by default) is refused before it is read.
    let huge = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(1_500_000)) });
    cases.push(case(
        "a 1.5 MB body",
        json_post(huge.to_string()),
        413,
        "PAYLOAD_TOO_LARGE",
    ));
    let streamed = {
        let mut raw = String::from(
            "POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        );
        for _ in 0..1200 {
            raw.push_str(&format!("3e8\r\n{}\r\n", "x".repeat(1000)));
        }
        raw.push_str("0\r\n\r\n");
        raw.into_bytes()
    };
    cases.push(case(
        "a 1.2 MB chunked body",
        Send::Raw(streamed),
        413,
        "PAYLOAD_TOO_LARGE",
    ));

    // Invalid UTF-8, NUL bytes, lone surrogates.
    cases.push(case(
        "invalid UTF-8 in the body",
        json_post(b"{\"query\":\"{ __typename \xff\xfe }\"}".to_vec()),
        400,
        "BAD_REQUEST",
    ));
    cases.push(case(
        "invalid UTF-8 in a variable",
        json_post(
            b"{\"query\":\"query($s: String!) { persona(slug: $s) { name } }\",\"variables\":{\"s\":\"\xc3\x28\"}}"
                .to_vec(),
        ),
        400,
        "BAD_REQUEST",
    ));
    cases.push(case(
        "a lone surrogate",
        json_post(r#"{"query":"{ persona(slug: \"\ud800\") { name } }"}"#),
        400,
        "BAD_REQUEST",
    ));
    cases.push(case(
        "a NUL byte in the document",
        query("{ __typename \u{0} }"),
        200,
        "GRAPHQL_PARSE_FAILED",
    ));
    cases.push(case(
        "a NUL escape in a string argument",
        query(r#"{ persona(slug: "dev\u0000") { name } }"#),
        200,
        "BAD_USER_INPUT",
    ));
    cases.push(case(
        "a NUL in a variable",
        query_with(
            "query($s: String!) { persona(slug: $s) { name } }",
            json!({ "s": "dev\u{0}" }),
        ),
        200,
        "BAD_USER_INPUT",
    ));
    cases.push(case(
        "a NUL deep inside an input variable",
        query_with(
            "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { slug } } }",
            json!({ "i": { "slug": "nul-persona", "name": "Nul", "kind": "DEV", "painPoints": ["ok", "bad\u{0}"] } }),
        ),
        200,
        "BAD_USER_INPUT",
    ));
    cases.push(case(
        "a NUL in a GET query",
        Send::Get("query=%7B%20__typename%20%00%20%7D".into()),
        200,
        "GRAPHQL_PARSE_FAILED",
    ));
    cases.push(case(
        "invalid UTF-8 in a GET query",
        Send::Get("query=%7B%20persona(slug%3A%20%22%FF%FE%22)%20%7B%20name%20%7D%20%7D".into()),
        200,
        "",
    ));

    // Deep nesting.
    cases.push(case(
        "fields 40 deep",
        query(nested(40)),
        200,
        "QUERY_TOO_DEEP",
    ));
    for n in [1_000, 100_000] {
        cases.push(case(
            format!("selections {n} deep"),
            query(format!("{}{}", "{ a ".repeat(n), "}".repeat(n))),
            200,
            "QUERY_TOO_DEEP",
        ));
        cases.push(case(
            format!("{n} unclosed braces"),
            query("{ a ".repeat(n)),
            200,
            "QUERY_TOO_DEEP",
        ));
        cases.push(case(
            format!("a list value {n} deep"),
            query(format!(
                "{{ personas(filter: {{ search: {}\"x\"{} }}) {{ totalCount }} }}",
                "[".repeat(n),
                "]".repeat(n)
            )),
            200,
            "QUERY_TOO_DEEP",
        ));
        cases.push(case(
            format!("an object value {} deep", n / 10),
            query(format!(
                "{{ personas(filter: {}{}) {{ totalCount }} }}",
                "{ search: ".repeat(n / 10),
                "}".repeat(n / 10)
            )),
            200,
            "QUERY_TOO_DEEP",
        ));
    }
    cases.push(case(
        "introspection types within types",
        query("{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"),
        200,
        "QUERY_TOO_DEEP",
    ));
    cases.push(case(
        "introspection through arguments' types",
        query(
            r#"{ __type(name: "Mutation") { fields { args { type { inputFields { type { inputFields { name } } } } } } } }"#,
        ),
        200,
        "QUERY_TOO_DEEP",
    ));

    // Alias bombs and width.
    let aliases: Vec<String> = (0..5000).map(|i| format!("a{i}: __typename")).collect();
    cases.push(case(
        "5000 aliases",
        query(format!("{{ {} }}", aliases.join(" "))),
        200,
        "TOO_MANY_ALIASES",
    ));
    let expensive: Vec<String> = (0..200)
        .map(|i| {
            format!("p{i}: personas(first: 100) {{ nodes {{ journeys {{ stages {{ name }} }} }} }}")
        })
        .collect();
    cases.push(case(
        "200 aliased 100-item pages",
        query(format!("{{ {} }}", expensive.join(" "))),
        200,
        "TOO_MANY_ALIASES",
    ));
    let inner: Vec<String> = (0..5000).map(|i| format!("n{i}: name")).collect();
    cases.push(case(
        "5000 aliases inside a field",
        query(format!(
            r#"{{ persona(slug: "dev") {{ {} }} }}"#,
            inner.join(" ")
        )),
        200,
        "TOO_MANY_ALIASES",
    ));
    cases.push(case(
        "the same root field 20000 times",
        query(format!("{{ {} }}", "__typename ".repeat(20_000))),
        200,
        "TOO_MANY_ROOT_FIELDS",
    ));
    cases.push(case(
        "the same field 20000 times",
        query(format!(
            r#"{{ persona(slug: "dev") {{ {} }} }}"#,
            "name ".repeat(20_000)
        )),
        200,
        "QUERY_TOO_COMPLEX",
    ));
    cases.push(case(
        "a 100-item page of deep lists",
        query("{ personas(first: 100) { nodes { journeys { stages { owners { team { members { person { memberships { team { name } } } } } } } } } } }"),
        200,
        "QUERY_TOO_COMPLEX",
    ));

    // Fragments: cycles and fan-out.
    for (name, doc) in [
        (
            "a fragment spreading itself",
            "{ ...A } fragment A on Query { __typename ...A }",
        ),
        (
            "two fragments spreading each other",
            "{ ...A } fragment A on Query { ...B } fragment B on Query { __typename ...A }",
        ),
        (
            "a three-fragment cycle inside a field",
            r#"{ persona(slug: "dev") { ...A } } fragment A on Persona { name ...B } fragment B on Persona { ...C } fragment C on Persona { slug ...A }"#,
        ),
        (
            "a cycle in an unused fragment",
            "{ __typename } fragment A on Query { ...B } fragment B on Query { ...A }",
        ),
    ] {
        cases.push(case(name, query(doc), 200, "GRAPHQL_VALIDATION_FAILED"));
    }
    cases.push(case(
        "fragments fanning out to 2^25 fields",
        query(format!(
            "{{ persona(slug: \"dev\") {{ ...F25 }} }}\n{}",
            fan_out(25, "Persona", "name")
        )),
        200,
        "QUERY_TOO_COMPLEX",
    ));
    cases.push(case(
        "fan-out in an operation that is not selected",
        json_post(
            json!({
                "query": format!("query Small {{ __typename }}\nquery Big {{ persona(slug: \"dev\") {{ ...F25 }} }}\n{}", fan_out(25, "Persona", "name")),
                "operationName": "Small",
            })
            .to_string(),
        ),
        200,
        "QUERY_TOO_COMPLEX",
    ));
    cases.push(case(
        "fan-out in an unused fragment",
        query(format!(
            "{{ __typename }}\n{}",
            fan_out(25, "Persona", "name")
        )),
        200,
        "QUERY_TOO_COMPLEX",
    ));
    let mut chain = String::from("{ ...C0 }\n");
    for i in 0..1000 {
        chain.push_str(&format!(
            "fragment C{i} on Query {{ __typename ...C{} }}\n",
            i + 1
        ));
    }
    chain.push_str("fragment C1000 on Query { __typename }\n");
    cases.push(case(
        "a chain of 1000 fragments",
        query(chain),
        200,
        "QUERY_TOO_DEEP",
    ));

    // Directive floods.
    cases.push(case(
        "1000 @skip on one field",
        query(format!(
            "{{ __typename {} }}",
            "@skip(if: false) ".repeat(1000)
        )),
        200,
        "TOO_MANY_DIRECTIVES",
    ));
    cases.push(case(
        "50 unknown directives",
        query(format!("{{ __typename {} }}", "@whatever ".repeat(50))),
        200,
        "TOO_MANY_DIRECTIVES",
    ));
    cases.push(case(
        "directives on the operation",
        query(format!(
            "query Q {} {{ __typename }}",
            "@skip(if: true) ".repeat(100)
        )),
        200,
        "TOO_MANY_DIRECTIVES",
    ));
    cases.push(case(
        "directives on a fragment spread",
        query(format!(
            "{{ ...F {} }} fragment F on Query {{ __typename }}",
            "@include(if: true) ".repeat(100)
        )),
        200,
        "TOO_MANY_DIRECTIVES",
    ));

    // Batches.
    let hundred = Value::Array(vec![json!({ "query": "{ __typename }" }); 100]);
    cases.push(case(
        "a batch of 100",
        json_post(hundred.to_string()),
        400,
        "BAD_REQUEST",
    ));
    cases.push(case(
        "a nested batch",
        json_post(
            json!([[{ "query": "{ __typename }" }], { "query": "{ __typename }" }]).to_string(),
        ),
        400,
        "BAD_REQUEST",
    ));
    cases.push(case("an empty batch", json_post("[]"), 400, "BAD_REQUEST"));
    let costly = json!({ "query": "{ personas(first: 100) { nodes { journeys { stages { owners { team { name } } } } } } }" });
    cases.push(case(
        "a batch of ten costly queries",
        json_post(Value::Array(vec![costly; 10]).to_string()),
        200,
        "QUERY_TOO_COMPLEX",
    ));
    let deep_batch: Vec<Value> = (0..10).map(|_| json!({ "query": nested(40) })).collect();
    cases.push(case(
        "a batch of deep queries",
        json_post(Value::Array(deep_batch).to_string()),
        200,
        "QUERY_TOO_DEEP",
    ));

    // Overlong values.
    let long = "x".repeat(900_000);
    for (name, q, vars) in [
        (
            "a 900 kB persona name",
            "mutation($v: String!) { createPersona(input: { slug: \"long-name\", name: $v, kind: DEV }) { persona { slug } } }",
            json!({ "v": long }),
        ),
        (
            "a 900 kB description",
            "mutation($v: String!) { createTeam(input: { slug: \"long-team\", name: \"Long\", department: OTHER, description: $v }) { team { slug } } }",
            json!({ "v": long }),
        ),
        (
            "a 900 kB slug",
            "mutation($v: String!) { createPerson(input: { slug: $v, name: \"Long\" }) { person { slug } } }",
            json!({ "v": long }),
        ),
        (
            "a 900 kB stage goal",
            "mutation($v: String!) { createJourney(input: { slug: \"long-journey\", name: \"Long\", personaKind: DEV, stages: [{ key: \"one\", name: \"One\", goal: $v }] }) { journey { slug } } }",
            json!({ "v": long }),
        ),
        (
            "5000 pain points",
            "mutation($v: [String!]!) { createPersona(input: { slug: \"many-pains\", name: \"Many\", kind: DEV, painPoints: $v }) { persona { slug } } }",
            json!({ "v": vec!["pain"; 5_000] }),
        ),
        (
            "a 900 kB search",
            "query($v: String!) { personas(filter: { search: $v }) { totalCount } }",
            json!({ "v": long }),
        ),
        (
            "a 900 kB cursor",
            "query($v: String!) { personas(after: $v) { totalCount } }",
            json!({ "v": long }),
        ),
    ] {
        cases.push(case(name, query_with(q, vars), 200, "BAD_USER_INPUT"));
    }
    // An ID that names nothing is not an error: `node` answers null.
    cases.push(case(
        "a 900 kB global ID",
        query_with(
            "query($v: ID!) { node(id: $v) { id } }",
            json!({ "v": long }),
        ),
        200,
        "",
    ));
    cases.push(case(
        "fragments nesting 40 deep",
        query(format!(
            "{{ ...F40 }}\n{}",
            fan_out(40, "Query", "__typename")
        )),
        200,
        "QUERY_TOO_DEEP",
    ));
    let stages: Vec<Value> = (0..1500)
        .map(|i| json!({ "key": format!("s{i}"), "name": "S" }))
        .collect();
    cases.push(case(
        "a journey with 1500 stages",
        query_with(
            "mutation($s: [NewStageInput!]!) { createJourney(input: { slug: \"many-stages\", name: \"Many\", personaKind: DEV, stages: $s }) { journey { slug } } }",
            json!({ "s": stages }),
        ),
        200,
        "BAD_USER_INPUT",
    ));
    let personas: Vec<String> = (0..20000).map(|i| format!("p{i}")).collect();
    cases.push(case(
        "a journey narrowed to 20000 personas",
        query_with(
            "mutation($p: [String!]!) { createJourney(input: { slug: \"many-personas\", name: \"Many\", personaKind: DEV, personas: $p }) { journey { slug } } }",
            json!({ "p": personas }),
        ),
        // More JSON values than a body may hold: refused before it is parsed.
        413,
        "TOO_MANY_VALUES",
    ));
    cases.push(case(
        "a page size that overflows",
        query("{ personas(first: 99999999999999999999) { totalCount } }"),
        200,
        "BAD_USER_INPUT",
    ));

    // Operation selection.
    cases.push(case(
        "an unknown operation name",
        json_post(json!({ "query": "query A { __typename }", "operationName": "B" }).to_string()),
        200,
        "GRAPHQL_VALIDATION_FAILED",
    ));
    cases.push(case(
        "two operations and no name",
        query("query A { __typename } query B { __typename }"),
        200,
        "GRAPHQL_VALIDATION_FAILED",
    ));
    cases.push(case(
        "a subscription",
        query("subscription { __typename }"),
        200,
        "GRAPHQL_VALIDATION_FAILED",
    ));

    // GET: mutations, long URLs; other methods.
    cases.push(case(
        "a mutation over GET",
        Send::Get(
            "query=mutation%20%7B%20deletePersona(input%3A%20%7B%20slug%3A%20%22dev%22%20%7D)%20%7B%20deletedId%20%7D%20%7D"
                .into(),
        ),
        405,
        "METHOD_NOT_ALLOWED",
    ));
    let long_get = |pad: usize| {
        Send::Raw(
            format!(
                "GET /graphql?query=%7B__typename%7D&pad={} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
                "x".repeat(pad)
            )
            .into_bytes(),
        )
    };
    cases.push(case("a 40 kB URL", long_get(40_000), 414, "URI_TOO_LONG"));
    // Beyond 64 KiB the HTTP layer refuses the URL itself, with an empty 414.
    cases.push(case("a 100 kB URL", long_get(100_000), 414, ""));
    // Not HTTP at all, or headers beyond what the HTTP layer reads: it answers with a bare
    // status before the service sees anything.
    cases.push(case(
        "garbage instead of a request line",
        Send::Raw(b"\x00\x01\x02 GARBAGE \xff\r\n\r\n".to_vec()),
        400,
        "",
    ));
    let many_headers: String = (0..200).map(|i| format!("x-h{i}: {i}\r\n")).collect();
    cases.push(case(
        "200 headers",
        Send::Raw(
            format!("GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nhost: localhost\r\n{many_headers}connection: close\r\n\r\n")
                .into_bytes(),
        ),
        431,
        "",
    ));
    for method in ["PUT", "DELETE", "PATCH"] {
        cases.push(case(
            format!("{method} /graphql"),
            Send::Method(method),
            405,
            "METHOD_NOT_ALLOWED",
        ));
    }
    cases
}

/// Sends one case; returns (status, body). A body that is not JSON fails the test.
async fn send(app: &TestApp, c: &Case) -> (u16, Value) {
    let url = app.url("/graphql");
    let resp = match &c.send {
        Send::Post(ct, body) => {
            let mut req = app
                .client
                .post(&url)
                .bearer_auth(&app.admin_token)
                .body(body.clone());
            if let Some(ct) = ct {
                req = req.header("content-type", *ct);
            }
            req.send().await
        }
        Send::Get(qs) => app.client.get(format!("{url}?{qs}")).send().await,
        Send::Method(m) => {
            let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
            app.client
                .request(method, &url)
                .header("content-type", "application/json")
                .body(r#"{"query":"{ __typename }"}"#)
                .send()
                .await
        }
        Send::Raw(bytes) => {
            let (status, text) = raw_http(app, bytes).await;
            if text.is_empty() {
                return (status, Value::Null);
            }
            let body = serde_json::from_str(&text).unwrap_or_else(|e| {
                let text: String = text.chars().take(300).collect();
                panic!("{}: {status} not JSON ({e}): {text}", c.name)
            });
            return (status, body);
        }
    };
    let resp = resp.unwrap_or_else(|e| {
        let e: String = e.to_string().chars().take(200).collect();
        panic!("{}: no answer: {e}", c.name)
    });
    let (status, _, body) = read(resp).await;
    (status, body)
}

/// Everything the catalog holds, read through the API in a few requests within the default
/// limits, without what the SQL-string part of the corpus created (slugs `hostile-*`).
async fn digest(app: &TestApp) -> Value {
    let personas = app
        .data(
            "{ personas(first: 100) { nodes { id slug name kind status summary description painPoints motivations painIntensity painIntensityNote valuePropScope sortOrder provenance sourceUrl version createdAt updatedAt roles { id title sortOrder } links { id kind note to { slug } } productRelevance { id level note product { slug } } alignedTeams { id level motion team { slug } } journeys { slug } externalLinks { id label url kind access } } } }",
            json!({}),
        )
        .await;
    let journeys = app
        .data(
            "{ journeys(first: 100) { nodes { id slug name description personaKind status provenance version updatedAt personas { slug } externalLinks { id label url } stages { id key name position goal entryCriteria exitCriteria owners { id responsibility note team { slug } dri { slug } } externalLinks { id label url } } } } }",
            json!({}),
        )
        .await;
    let teams = app
        .data(
            "{ teams(first: 100) { nodes { id slug name department description version updatedAt members { id role person { slug name email } } ownerships { id } alignedPersonas { id level motion persona { slug } } externalLinks { id label } } } }",
            json!({}),
        )
        .await;
    let rest = app
        .data(
            "{ products { id slug name provenance } ownershipGaps { journey { slug } stage { key } } }",
            json!({}),
        )
        .await;
    let keep = |v: &Value| {
        !v["slug"].as_str().unwrap_or("").starts_with("hostile-")
            && !v["journey"]["slug"]
                .as_str()
                .unwrap_or("")
                .starts_with("hostile-")
    };
    let filter = |list: &Value| -> Value {
        Value::Array(
            list.as_array()
                .unwrap()
                .iter()
                .filter(|v| keep(v))
                .cloned()
                .collect(),
        )
    };
    json!({
        "personas": filter(&personas["personas"]["nodes"]),
        "journeys": filter(&journeys["journeys"]["nodes"]),
        "teams": filter(&teams["teams"]["nodes"]),
        "products": filter(&rest["products"]),
        "gaps": filter(&rest["ownershipGaps"]),
    })
}

/// Ordinary reads a dashboard and a product page make, in a loop until `stop`; every one
/// must succeed. Returns how many were served.
async fn ordinary_traffic(app: Arc<TestApp>, stop: Arc<AtomicBool>, served: Arc<AtomicUsize>) {
    let queries = [
        PERSONA_PAGE,
        r#"{ ownershipMatrix(journey: "buyer-journey") { stages { key } rows { team { name } cells { stageKey responsibility } } } ownershipGaps { stage { key } } }"#,
        "{ teams(first: 50) { nodes { slug members { person { name } } } } }",
    ];
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let q = queries[i % queries.len()];
        let resp = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": q }))
            .send()
            .await
            .expect("ordinary traffic is answered");
        assert_eq!(resp.status(), 200, "ordinary query {q}");
        let body: Value = resp.json().await.expect("JSON");
        assert!(
            body.get("errors").is_none(),
            "ordinary query failed: {q}\n{body:#}"
        );
        served.fetch_add(1, Ordering::SeqCst);
        i += 1;
    }
}

/// SQL-looking strings, none with leading or trailing spaces (text inputs are trimmed).
const SQL: [&str; 12] = [
    "'; DROP TABLE persona; --",
    "\" OR 1=1 --",
    "' OR '1'='1",
    "Robert'); DROP TABLE journey;--",
    "1; DELETE FROM team WHERE 1=1",
    "' UNION SELECT token_hash FROM api_token --",
    "%' OR name LIKE '%",
    "\\'; SELECT pg_sleep(10); --",
    "$$; DROP TABLE persona; $$",
    "`; DROP TABLE persona; `",
    "/* */ SELECT * FROM persona WHERE ''='",
    "'' ; -- '' \\\\ %_",
];

fn s(i: usize) -> &'static str {
    SQL[i % SQL.len()]
}

/// Runs `query` as the admin and returns the payload of its one root field.
async fn mutate(app: &TestApp, query: &str, variables: Value) -> Value {
    let data = app.data(query, variables).await;
    let (_, payload) = data.as_object().unwrap().iter().next().unwrap();
    payload.clone()
}

/// Every text argument of the create and update mutations, with SQL-looking strings: each is
/// stored and returned as plain data, and SQL-looking lookups find nothing.
async fn sql_strings_are_plain_data(app: &TestApp) {
    let url = "https://example.com/';DROP_TABLE_persona;--?q=\"OR\"1=1";
    let p = mutate(
        app,
        "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { id name summary description painPoints motivations painIntensityNote sourceUrl roles { id title } } } }",
        json!({ "i": {
            "slug": "hostile-persona", "name": s(0), "kind": "BUYER", "summary": s(1),
            "description": s(2), "painPoints": [s(3), s(4)], "motivations": [s(5)],
            "painIntensityNote": s(6), "sourceUrl": url, "roles": [s(7)],
        }}),
    )
    .await;
    assert_eq!(
        p["persona"],
        json!({
            "id": p["persona"]["id"], "name": s(0), "summary": s(1), "description": s(2),
            "painPoints": [s(3), s(4)], "motivations": [s(5)], "painIntensityNote": s(6),
            "sourceUrl": url, "roles": [{ "id": p["persona"]["roles"][0]["id"], "title": s(7) }],
        })
    );
    let persona_id = p["persona"]["id"].clone();
    let role_id = p["persona"]["roles"][0]["id"].clone();
    let p = mutate(
        app,
        "mutation($i: UpdatePersonaInput!) { updatePersona(input: $i) { persona { name summary description painPoints motivations painIntensityNote } } }",
        json!({ "i": {
            "slug": "hostile-persona", "expectedVersion": 1, "name": s(8), "summary": s(9),
            "description": s(10), "painPoints": [s(11)], "motivations": [s(0), s(1)],
            "painIntensityNote": s(2),
        }}),
    )
    .await;
    assert_eq!(
        p["persona"],
        json!({ "name": s(8), "summary": s(9), "description": s(10), "painPoints": [s(11)], "motivations": [s(0), s(1)], "painIntensityNote": s(2) })
    );
    let r = mutate(
        app,
        "mutation($i: AddRoleInput!) { addRole(input: $i) { role { title } } }",
        json!({ "i": { "persona": "hostile-persona", "title": s(3) } }),
    )
    .await;
    assert_eq!(r["role"]["title"], s(3));
    let r = mutate(
        app,
        "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { role { title } } }",
        json!({ "i": { "id": role_id, "title": s(4) } }),
    )
    .await;
    assert_eq!(r["role"]["title"], s(4));
    mutate(
        app,
        "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { slug } } }",
        json!({ "i": { "slug": "hostile-other", "name": s(5), "kind": "BUYER" } }),
    )
    .await;
    let l = mutate(
        app,
        "mutation($i: LinkPersonasInput!) { linkPersonas(input: $i) { link { note } } }",
        json!({ "i": { "from": "hostile-persona", "to": "hostile-other", "kind": "INFLUENCES", "note": s(6) } }),
    )
    .await;
    assert_eq!(l["link"]["note"], s(6));

    let j = mutate(
        app,
        "mutation($i: CreateJourneyInput!) { createJourney(input: $i) { journey { name description stages { id name goal entryCriteria exitCriteria } } } }",
        json!({ "i": {
            "slug": "hostile-journey", "name": s(7), "description": s(8), "personaKind": "BUYER",
            "personas": ["hostile-persona", "hostile-other"],
            "stages": [{ "key": "one", "name": s(9), "goal": s(10), "entryCriteria": s(11), "exitCriteria": s(0) }],
        }}),
    )
    .await;
    let stage_id = j["journey"]["stages"][0]["id"].clone();
    assert_eq!(
        j["journey"],
        json!({ "name": s(7), "description": s(8), "stages": [{ "id": stage_id, "name": s(9), "goal": s(10), "entryCriteria": s(11), "exitCriteria": s(0) }] })
    );
    let j = mutate(
        app,
        "mutation($i: UpdateJourneyInput!) { updateJourney(input: $i) { journey { name description } } }",
        json!({ "i": { "slug": "hostile-journey", "expectedVersion": 1, "name": s(1), "description": s(2) } }),
    )
    .await;
    assert_eq!(j["journey"], json!({ "name": s(1), "description": s(2) }));
    let st = mutate(
        app,
        "mutation($i: AddStageInput!) { addStage(input: $i) { stage { name goal entryCriteria exitCriteria } } }",
        json!({ "i": { "journey": "hostile-journey", "key": "two", "name": s(3), "goal": s(4), "entryCriteria": s(5), "exitCriteria": s(6) } }),
    )
    .await;
    assert_eq!(
        st["stage"],
        json!({ "name": s(3), "goal": s(4), "entryCriteria": s(5), "exitCriteria": s(6) })
    );
    let st = mutate(
        app,
        "mutation($i: UpdateStageInput!) { updateStage(input: $i) { stage { name goal entryCriteria exitCriteria } } }",
        json!({ "i": { "id": stage_id, "name": s(7), "goal": s(8), "entryCriteria": s(9), "exitCriteria": s(10) } }),
    )
    .await;
    assert_eq!(
        st["stage"],
        json!({ "name": s(7), "goal": s(8), "entryCriteria": s(9), "exitCriteria": s(10) })
    );

    let t = mutate(
        app,
        "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { name description } } }",
        json!({ "i": { "slug": "hostile-team", "name": s(11), "department": "OTHER", "description": s(0) } }),
    )
    .await;
    assert_eq!(t["team"], json!({ "name": s(11), "description": s(0) }));
    let t = mutate(
        app,
        "mutation($i: UpdateTeamInput!) { updateTeam(input: $i) { team { name description } } }",
        json!({ "i": { "slug": "hostile-team", "expectedVersion": 1, "name": s(1), "description": s(2) } }),
    )
    .await;
    assert_eq!(t["team"], json!({ "name": s(1), "description": s(2) }));
    let email = "o'brien;--@example.com";
    let pe = mutate(
        app,
        "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { name email } } }",
        json!({ "i": { "slug": "hostile-person", "name": s(3), "email": email } }),
    )
    .await;
    assert_eq!(pe["person"], json!({ "name": s(3), "email": email }));
    let pe = mutate(
        app,
        "mutation($i: UpdatePersonInput!) { updatePerson(input: $i) { person { name } } }",
        json!({ "i": { "slug": "hostile-person", "name": s(4) } }),
    )
    .await;
    assert_eq!(pe["person"]["name"], s(4));
    mutate(
        app,
        "mutation($i: AddTeamMemberInput!) { addTeamMember(input: $i) { member { role } } }",
        json!({ "i": { "team": "hostile-team", "person": "hostile-person", "role": "LEAD" } }),
    )
    .await;
    let o = mutate(
        app,
        "mutation($i: AssignStageOwnerInput!) { assignStageOwner(input: $i) { ownership { id note } } }",
        json!({ "i": { "journey": "hostile-journey", "stage": "one", "team": "hostile-team", "responsibility": "ACCOUNTABLE", "dri": "hostile-person", "note": s(5) } }),
    )
    .await;
    assert_eq!(o["ownership"]["note"], s(5));
    let o = mutate(
        app,
        "mutation($i: ChangeStageOwnerInput!) { changeStageOwner(input: $i) { ownership { note } } }",
        json!({ "i": { "id": o["ownership"]["id"], "note": s(6) } }),
    )
    .await;
    assert_eq!(o["ownership"]["note"], s(6));

    let pr = mutate(
        app,
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { name } } }",
        json!({ "i": { "slug": "hostile-product", "name": s(7) } }),
    )
    .await;
    assert_eq!(pr["product"]["name"], s(7));
    let pr = mutate(
        app,
        "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { product { name } } }",
        json!({ "i": { "slug": "hostile-product", "name": s(8) } }),
    )
    .await;
    assert_eq!(pr["product"]["name"], s(8));
    let rel = mutate(
        app,
        "mutation($i: SetProductRelevanceInput!) { setProductRelevance(input: $i) { relevance { note } } }",
        json!({ "i": { "persona": "hostile-persona", "product": "hostile-product", "level": "PRIMARY", "note": s(9) } }),
    )
    .await;
    assert_eq!(rel["relevance"]["note"], s(9));
    let link = mutate(
        app,
        "mutation($i: AddExternalLinkInput!) { addExternalLink(input: $i) { link { id label url } } }",
        json!({ "i": { "subject": persona_id, "label": s(10), "url": url, "kind": "DOC" } }),
    )
    .await;
    assert_eq!(link["link"]["label"], s(10));
    assert_eq!(link["link"]["url"], url);
    let link = mutate(
        app,
        "mutation($i: UpdateExternalLinkInput!) { updateExternalLink(input: $i) { link { label } } }",
        json!({ "i": { "id": link["link"]["id"], "label": s(11) } }),
    )
    .await;
    assert_eq!(link["link"]["label"], s(11));

    // Read back as stored, in one request.
    let read_back = app
        .data(
            r#"{ persona(slug: "hostile-persona") { name roles { title } links { note } productRelevance { note } externalLinks { label url } } journey(slug: "hostile-journey") { name stages { name owners { note team { name } dri { name } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(read_back["persona"]["name"], s(8));
    assert_eq!(
        read_back["persona"]["roles"],
        json!([{ "title": s(4) }, { "title": s(3) }])
    );
    assert_eq!(read_back["persona"]["links"], json!([{ "note": s(6) }]));
    assert_eq!(
        read_back["persona"]["externalLinks"],
        json!([{ "label": s(11), "url": url }])
    );
    assert_eq!(
        read_back["journey"]["stages"][0]["owners"][0],
        json!({ "note": s(6), "team": { "name": s(1) }, "dri": { "name": s(4) } })
    );

    // SQL-looking lookups and searches are plain values: they find nothing, or what matches.
    for text in SQL {
        let found = app
            .data(
                "query($s: String!) { persona(slug: $s) { slug } journey(slug: $s) { slug } team(slug: $s) { slug } person(slug: $s) { slug } }",
                json!({ "s": text }),
            )
            .await;
        assert_eq!(
            found,
            json!({ "persona": null, "journey": null, "team": null, "person": null })
        );
        let found = app
            .data(
                "query($s: String!) { personas(filter: { search: $s }) { nodes { slug } } teams(filter: { search: $s }) { nodes { slug } } }",
                json!({ "s": text }),
            )
            .await;
        for list in ["personas", "teams"] {
            for node in found[list]["nodes"].as_array().unwrap() {
                assert!(
                    node["slug"].as_str().unwrap().starts_with("hostile-"),
                    "{text}: {found:#}"
                );
            }
        }
        let body = app
            .gql(
                "query($s: String!) { ownershipMatrix(journey: $s) { journey { slug } } }",
                json!({ "s": text }),
            )
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    }
    // A slug that looks like SQL is refused by the slug rule, not run.
    let body = app
        .gql(
            "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { slug } } }",
            json!({ "i": { "slug": s(0), "name": "x", "kind": "DEV" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "slug");
}

#[tokio::test]
async fn the_hostile_corpus_gets_clear_errors_while_ordinary_traffic_is_served_and_nothing_changes()
{
    let app = Arc::new(TestApp::seeded().await);
    let before = digest(&app).await;

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let traffic: Vec<_> = (0..3)
        .map(|_| tokio::spawn(ordinary_traffic(app.clone(), stop.clone(), served.clone())))
        .collect();

    let cases = corpus();
    let mut failures = Vec::new();
    for c in &cases {
        let (status, body) = send(&app, c).await;
        let first = if body.is_array() { &body[0] } else { &body };
        let code = error_code(first);
        let ok = status == c.status
            && status < 500
            && (if c.code.is_empty() {
                code == "<no code>" || code == "BAD_REQUEST"
            } else {
                code == c.code
            })
            && first["errors"][0]["message"]
                .as_str()
                .is_none_or(|m| !m.is_empty() && m.len() < 2000);
        if !ok {
            let text = body.to_string();
            failures.push(format!(
                "{}: expected {} {}, got {status} {code}: {}",
                c.name,
                c.status,
                c.code,
                &text[..text.len().min(400)]
            ));
        }
        // Still up after each one.
        let health = app.client.get(app.url("/health")).send().await.unwrap();
        assert_eq!(health.status(), 200, "after {}", c.name);
    }
    sql_strings_are_plain_data(&app).await;

    // Introspection and a page of the catalog still work as ever.
    let body = app.gql(GRAPHIQL_INTROSPECTION, json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");

    stop.store(true, Ordering::SeqCst);
    for t in traffic {
        t.await.expect("ordinary traffic never failed");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases answered wrongly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!(
        "{} hostile requests answered; {} ordinary requests served meanwhile",
        cases.len(),
        served.load(Ordering::SeqCst)
    );
    assert!(served.load(Ordering::SeqCst) > 0);
    assert_eq!(digest(&app).await, before, "the catalog changed");
}
