//! Request limits: depth, complexity, aliases, root fields, page size, batches, body size,
//! timeout, the introspection switch, CORS and the rate limit. Every refusal is a GraphQL
//! error body with a stable code and a status below 500, and nothing runs.

use crate::helpers::{TestApp, error_code};
use entity::api_token::TokenRole;
use persona_graph::config::Settings;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `body` as JSON with `accept`: (status, content type, JSON body).
pub(crate) async fn post_raw(
    app: &TestApp,
    accept: &str,
    body: impl Into<String>,
) -> (u16, String, Value) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, accept)
        .body(body.into())
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// Status, content type and JSON body of a response; panics when the body is not JSON.
pub(crate) async fn read(resp: reqwest::Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {}", &text[..text.len().min(500)]));
    (status, content_type, body)
}

/// Sends `request` as raw bytes on a new connection and reads until the server closes it:
/// (status, body). For requests no HTTP client would send. A connection the server drops
/// without an answer gives status 0.
pub(crate) async fn raw_http(app: &TestApp, request: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // The server may answer and close before it has read everything (an oversized body).
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(head, body)| {
            if head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked")
            {
                dechunk(body)
            } else {
                body.to_owned()
            }
        })
        .unwrap_or_default();
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// POSTs one query and returns (status, body), accepting plain JSON.
async fn post(app: &TestApp, query: &str, variables: Value) -> (u16, Value) {
    let (status, _, body) = post_raw(
        app,
        "application/json",
        json!({ "query": query, "variables": variables }).to_string(),
    )
    .await;
    (status, body)
}

/// Asserts a refusal before execution: `code`, no `data` entry, 200 under plain JSON.
fn assert_refused(status: u16, body: &Value, code: &str) {
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(error_code(body), code, "{body:#}");
    assert!(body.get("data").is_none(), "{body:#}");
    assert!(
        !body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{body:#}"
    );
}

/// The estimated cost of `query`, as the service computes it: an app whose complexity limit
/// is 1 refuses every query that selects more than one field and says by how much.
async fn cost(app: &TestApp, query: &str, variables: Value) -> u64 {
    let (status, body) = post(app, query, variables).await;
    assert_refused(status, &body, "QUERY_TOO_COMPLEX");
    assert_eq!(body["errors"][0]["extensions"]["limit"], 1, "{body:#}");
    body["errors"][0]["extensions"]["actual"].as_u64().unwrap()
}

fn settings() -> Settings {
    Settings::default()
}

/// The query `GraphiQL` (graphql-js 16 `getIntrospectionQuery`, every option on) sends to
/// load the schema: 15 fields deep through `TypeRef`.
pub(crate) const GRAPHIQL_INTROSPECTION: &str = r"
query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name
    ofType { kind name
      ofType { kind name
        ofType { kind name
          ofType { kind name
            ofType { kind name
              ofType { kind name
                ofType { kind name
                  ofType { kind name } } } } } } } } }
}
";

/// What a product page shows: ten personas with their roles, journeys, stages, the teams
/// owning each stage and those teams' members.
pub(crate) const PERSONA_PAGE: &str = r"
query PersonaPage {
  personas(first: 10) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id slug name kind summary painPoints
        roles { title }
        journeys {
          slug name
          stages {
            key name position
            owners {
              responsibility
              dri { name }
              team { slug name members { role person { name email } } }
            }
          }
        }
      }
    }
  }
}
";

#[tokio::test]
async fn graphiqls_introspection_query_and_a_deep_persona_page_are_within_the_default_limits() {
    let app = TestApp::seeded().await;
    let (status, body) = post(&app, GRAPHIQL_INTROSPECTION, json!({})).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body:#}");
    assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 50);

    let (status, body) = post(&app, PERSONA_PAGE, json!({})).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body:#}");
    let personas = body["data"]["personas"]["edges"].as_array().unwrap();
    assert!(!personas.is_empty());
    let owners = personas
        .iter()
        .flat_map(|p| p["node"]["journeys"].as_array().unwrap())
        .flat_map(|j| j["stages"].as_array().unwrap())
        .flat_map(|s| s["owners"].as_array().unwrap())
        .count();
    assert!(owners > 0, "the seed catalog has stage owners: {body:#}");

    let strict = TestApp::spawn_with(Settings {
        max_complexity: 1,
        ..settings()
    })
    .await;
    let defaults = settings();
    for (name, query) in [
        ("GraphiQL introspection", GRAPHIQL_INTROSPECTION),
        ("persona page", PERSONA_PAGE),
    ] {
        let c = cost(&strict, query, json!({})).await;
        println!(
            "{name}: estimated cost {c} (limit {})",
            defaults.max_complexity
        );
        assert!(c * 2 <= defaults.max_complexity, "{name} costs {c}");
    }
}

#[tokio::test]
async fn the_cost_counts_each_field_once_and_what_a_list_selects_once_per_item_of_its_page() {
    let app = TestApp::spawn_with(Settings {
        max_complexity: 1,
        ..settings()
    })
    .await;
    let none = json!({});
    // A connection multiplies its selection by its page: 20 by default.
    assert_eq!(
        cost(&app, "{ personas { nodes { name } } }", none.clone()).await,
        1 + 20 * 2
    );
    assert_eq!(
        cost(
            &app,
            "{ personas(first: 5) { nodes { name } } }",
            none.clone()
        )
        .await,
        1 + 5 * 2
    );
    assert_eq!(
        cost(
            &app,
            "{ personas(last: 100) { totalCount nodes { name } } }",
            none.clone()
        )
        .await,
        1 + 100 * 3
    );
    // Beyond the largest page it counts as the largest page (and the resolver refuses it).
    assert_eq!(
        cost(
            &app,
            "{ teams(first: 100000) { nodes { name } } }",
            none.clone()
        )
        .await,
        1 + 100 * 2
    );
    // From a variable, or the variable's default.
    let q = "query($n: Int) { journeys(first: $n) { nodes { name } } }";
    assert_eq!(cost(&app, q, json!({ "n": 7 })).await, 1 + 7 * 2);
    assert_eq!(cost(&app, q, json!({})).await, 1 + 20 * 2);
    let q = "query($n: Int = 3) { journeys(first: $n) { nodes { name } } }";
    assert_eq!(cost(&app, q, json!({})).await, 1 + 3 * 2);
    // A plain list counts its selection five times.
    assert_eq!(
        cost(
            &app,
            r#"{ persona(slug: "x") { roles { title } } }"#,
            none.clone()
        )
        .await,
        1 + (1 + 5)
    );
    // `edges` and `nodes` are the connection's page, counted once; lists inside them are not.
    assert_eq!(
        cost(
            &app,
            "{ personas(first: 2) { edges { cursor node { roles { title } } } pageInfo { hasNextPage } } }",
            none.clone()
        )
        .await,
        1 + 2 * ((1 + 1 + (1 + (1 + 5))) + (1 + 1))
    );
    // Through fragments and inline fragments alike.
    assert_eq!(
        cost(
            &app,
            "{ ...F } fragment F on Query { personas(first: 3) { ...N } } fragment N on PersonaConnection { ... on PersonaConnection { nodes { name } } }",
            none.clone()
        )
        .await,
        1 + 3 * 2
    );
    // Nested lists multiply.
    assert_eq!(
        cost(
            &app,
            "{ journeys(first: 4) { nodes { stages { owners { team { name } } } } } }",
            none
        )
        .await,
        1 + 4 * (1 + (1 + 5 * (1 + 5 * (1 + 1))))
    );
}

#[tokio::test]
async fn a_query_over_the_complexity_limit_is_refused_and_runs_nothing() {
    let app = TestApp::seeded().await;
    let query = "{ personas(first: 100) { nodes { journeys { stages { owners { team { members { person { memberships { team { name } } } } } } } } } } }";
    for accept in ["application/json", GRAPHQL_RESPONSE] {
        let (status, content_type, body) =
            post_raw(&app, accept, json!({ "query": query }).to_string()).await;
        assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body:#}");
        assert!(body.get("data").is_none(), "{body:#}");
        let ext = &body["errors"][0]["extensions"];
        assert_eq!(ext["limit"], settings().max_complexity, "{body:#}");
        assert!(ext["actual"].as_u64().unwrap() > settings().max_complexity);
        assert!(content_type.starts_with(accept), "{content_type}");
        // A request error: 200 under plain JSON, 400 under the GraphQL media type.
        assert_eq!(status, if accept == GRAPHQL_RESPONSE { 400 } else { 200 });
    }
    // Ten personas are fine, with the same shape.
    let small = query.replace("first: 100", "first: 1");
    let (status, body) = post(&app, &small, json!({})).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body:#}");
}

fn nested(depth: usize) -> String {
    // persona -> journeys -> personas -> journeys ...: each level one field deeper.
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

#[tokio::test]
async fn a_query_deeper_than_the_depth_limit_is_refused_with_query_too_deep() {
    let app = TestApp::spawn_with(Settings {
        max_complexity: u64::MAX,
        ..settings()
    })
    .await;
    let max = settings().max_depth;
    let (status, body) = post(&app, &nested(max), json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body.get("errors").is_none(), "{body:#}");

    let (status, body) = post(&app, &nested(max + 1), json!({})).await;
    assert_refused(status, &body, "QUERY_TOO_DEEP");
    assert_eq!(body["errors"][0]["extensions"]["limit"], max);
    assert_eq!(body["errors"][0]["extensions"]["actual"], max + 1);

    // Through fragments: the depth is where the fields end up.
    let inner = nested(max - 1).replace(r#"{ persona(slug: "dev") "#, "fragment P on Persona ");
    let inner = inner.trim_end().trim_end_matches('}').to_owned();
    let with_fragment =
        format!(r#"{{ persona(slug: "dev") {{ journeys {{ personas {{ ...P }} }} }} }} {inner}"#);
    let (status, body) = post(&app, &with_fragment, json!({})).await;
    assert_refused(status, &body, "QUERY_TOO_DEEP");

    // Absurd nesting is refused before the parser sees it, not with a parse error or a crash.
    for n in [100, 10_000, 200_000] {
        let q = format!("{}{}", "{ a ".repeat(n), "}".repeat(n));
        let (status, body) = post(&app, &q, json!({})).await;
        assert_refused(status, &body, "QUERY_TOO_DEEP");
        let v = format!(
            r#"{{ persona(slug: {}"x"{}) {{ name }} }}"#,
            "[".repeat(n),
            "]".repeat(n)
        );
        let (status, body) = post(&app, &v, json!({})).await;
        assert_refused(status, &body, "QUERY_TOO_DEEP");
    }
}

#[tokio::test]
async fn too_many_aliases_or_root_fields_are_refused() {
    let app = TestApp::spawn().await;
    let s = settings();
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: __typename")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let (status, body) = post(&app, &aliases(s.max_aliases), json!({})).await;
    assert_refused(status, &body, "TOO_MANY_ROOT_FIELDS");
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: name")).collect();
        format!(r#"{{ persona(slug: "x") {{ {} }} }}"#, fields.join(" "))
    };
    let (status, body) = post(&app, &aliases(s.max_aliases), json!({})).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body:#}");
    let (status, body) = post(&app, &aliases(s.max_aliases + 1), json!({})).await;
    assert_refused(status, &body, "TOO_MANY_ALIASES");
    assert_eq!(body["errors"][0]["extensions"]["actual"], s.max_aliases + 1);
    // Aliases inside a fragment count every time it is spread.
    let q = "{ persona(slug: \"x\") { ...A ...A } } fragment A on Persona { n1: name n2: name }";
    let tight = TestApp::spawn_with(Settings {
        max_aliases: 3,
        ..settings()
    })
    .await;
    let (status, body) = post(&tight, q, json!({})).await;
    assert_refused(status, &body, "TOO_MANY_ALIASES");

    let roots = |n: usize| {
        let fields: Vec<String> = (0..n)
            .map(|i| format!(r#"p{i}: persona(slug: "p{i}") {{ name }}"#))
            .collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let wide = TestApp::spawn_with(Settings {
        max_aliases: 1000,
        ..settings()
    })
    .await;
    let (status, body) = post(&wide, &roots(s.max_root_fields), json!({})).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body:#}");
    let (status, body) = post(&wide, &roots(s.max_root_fields + 1), json!({})).await;
    assert_refused(status, &body, "TOO_MANY_ROOT_FIELDS");
    // Root fields spread from a fragment count too.
    let fields: Vec<String> = (0..=s.max_root_fields)
        .map(|i| format!(r#"p{i}: persona(slug: "p{i}") {{ name }}"#))
        .collect();
    let q = format!("{{ ...R }} fragment R on Query {{ {} }}", fields.join(" "));
    let (status, body) = post(&wide, &q, json!({})).await;
    assert_refused(status, &body, "TOO_MANY_ROOT_FIELDS");
}

#[tokio::test]
async fn a_page_larger_than_100_is_bad_user_input_on_every_connection() {
    let app = TestApp::seeded().await;
    for list in ["personas", "journeys", "teams"] {
        for (arg, n) in [
            ("first", 101),
            ("last", 101),
            ("first", -1),
            ("last", 1_000_000),
        ] {
            let q = format!("{{ {list}({arg}: {n}) {{ nodes {{ __typename }} }} }}");
            let (status, body) = post(&app, &q, json!({})).await;
            assert_eq!(status, 200, "{q}: {body:#}");
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{q}: {body:#}");
            assert_eq!(
                body["errors"][0]["extensions"]["field"], arg,
                "{q}: {body:#}"
            );
            assert_eq!(body["data"], Value::Null, "{q}: {body:#}");
            // The same through a variable.
            let q = format!("query($n: Int) {{ {list}({arg}: $n) {{ nodes {{ __typename }} }} }}");
            let (_, body) = post(&app, &q, json!({ "n": n })).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{q}: {body:#}");
        }
        let q = format!("{{ {list}(first: 100) {{ nodes {{ __typename }} }} }}");
        let (status, body) = post(&app, &q, json!({})).await;
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "{q}: {body:#}");
    }
}

#[tokio::test]
async fn a_batch_is_costed_as_a_whole_so_batching_does_not_multiply_the_limits() {
    let app = TestApp::spawn_with(Settings {
        max_complexity: 1000,
        ..settings()
    })
    .await;
    // 1 + 100 * 2 = 201 each: five fit, six do not.
    let op = json!({ "query": "{ personas(first: 100) { nodes { name } } }" });
    let batch = |n: usize| Value::Array(vec![op.clone(); n]).to_string();
    let (status, _, body) = post_raw(&app, "application/json", batch(4)).await;
    assert_eq!(status, 200);
    for r in body.as_array().unwrap() {
        assert!(r.get("errors").is_none(), "{body:#}");
    }
    let (status, _, body) = post_raw(&app, "application/json", batch(6)).await;
    assert_eq!(status, 200);
    let results = body.as_array().unwrap();
    assert_eq!(results.len(), 6);
    for r in results {
        assert_eq!(error_code(r), "QUERY_TOO_COMPLEX", "{body:#}");
        assert!(r.get("data").is_none(), "{body:#}");
        assert_eq!(r["errors"][0]["extensions"]["actual"], 6 * 201);
    }
    // Aliases add up across the batch too.
    let aliased = json!({ "query": format!("{{ {} }}", (0..20).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" ")) });
    let (_, _, body) = post_raw(
        &app,
        "application/json",
        json!([aliased.clone(), aliased]).to_string(),
    )
    .await;
    assert_eq!(error_code(&body[0]), "TOO_MANY_ALIASES", "{body:#}");
    // One bad request of a batch does not spoil the others.
    let (_, _, body) = post_raw(
        &app,
        "application/json",
        json!([{ "query": "{ __typename }" }, { "query": nested(40) }]).to_string(),
    )
    .await;
    assert_eq!(body[0], json!({ "data": { "__typename": "Query" } }));
    assert_eq!(error_code(&body[1]), "QUERY_TOO_DEEP");
    // More than ten requests are refused outright.
    let (status, _, body) = post_raw(&app, "application/json", batch(11)).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn a_body_over_the_size_limit_is_a_413_with_a_graphql_error() {
    let app = TestApp::spawn_with(Settings {
        max_body_bytes: 10_000,
        ..settings()
    })
    .await;
    let padding = " ".repeat(20_000);
    let big = json!({ "query": format!("{{ __typename {padding} }}") }).to_string();
    for accept in ["application/json", GRAPHQL_RESPONSE] {
        let (status, content_type, body) = post_raw(&app, accept, big.clone()).await;
        assert_eq!(status, 413, "{body:#}");
        assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE", "{body:#}");
        assert!(content_type.starts_with(accept), "{content_type}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("10000"),
            "{body:#}"
        );
    }
    // Streamed without a length: refused as it arrives.
    let mut raw = String::from(
        "POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
    );
    for _ in 0..20 {
        raw.push_str(&format!("3e8\r\n{}\r\n", " ".repeat(1000)));
    }
    raw.push_str("0\r\n\r\n");
    let (status, text) = raw_http(&app, raw.as_bytes()).await;
    assert_eq!(status, 413, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
    // Just under the limit is fine.
    let fits = json!({ "query": format!("{{ __typename {} }}", " ".repeat(9_000)) }).to_string();
    let (status, _, body) = post_raw(&app, "application/json", fits).await;
    assert_eq!(status, 200, "{body:#}");
}

#[tokio::test]
async fn a_request_past_its_deadline_answers_timeout_and_a_cut_off_mutation_writes_nothing() {
    let app = TestApp::spawn_with(Settings {
        request_timeout: Duration::from_millis(400),
        ..settings()
    })
    .await;
    let is_postgres = matches!(
        sea_orm::ConnectionTrait::get_database_backend(&app.db),
        sea_orm::DbBackend::Postgres
    );
    // Another writer holds the lock the mutation needs: the whole database on SQLite, the
    // stages table on PostgreSQL (so the journey row is already written when it blocks).
    let blocker = persona_graph::db::begin_write(&app.db).await.unwrap();
    if is_postgres {
        sea_orm::ConnectionTrait::execute_unprepared(
            &blocker,
            "LOCK TABLE journey_stage IN EXCLUSIVE MODE",
        )
        .await
        .unwrap();
    }
    let create = "mutation($i: CreateJourneyInput!) { createJourney(input: $i) { journey { slug stages { key } } } }";
    let input = json!({ "i": {
        "slug": "cut-off", "name": "Cut off", "personaKind": "DEV",
        "stages": [{ "key": "one", "name": "One" }, { "key": "two", "name": "Two" }]
    }});
    let body = app.gql(create, input.clone()).await;
    assert_eq!(error_code(&body), "TIMEOUT", "{body:#}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("rolled back"),
        "{body:#}"
    );
    blocker.rollback().await.unwrap();

    // Nothing of it was kept, and the service writes normally again.
    let seen = app
        .data(r#"{ journey(slug: "cut-off") { slug } }"#, json!({}))
        .await;
    assert_eq!(seen, json!({ "journey": null }));
    let body = app.gql(create, input).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let seen = app
        .data(
            r#"{ journey(slug: "cut-off") { stages { key } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        seen,
        json!({ "journey": { "stages": [{ "key": "one" }, { "key": "two" }] } })
    );

    // The status under each media type: 200 with plain JSON, 400 with the GraphQL media type
    // (a response without data); never a 5xx.
    let blocker = persona_graph::db::begin_write(&app.db).await.unwrap();
    if is_postgres {
        sea_orm::ConnectionTrait::execute_unprepared(
            &blocker,
            "LOCK TABLE persona IN EXCLUSIVE MODE",
        )
        .await
        .unwrap();
    }
    let m = json!({ "query": r#"mutation { createPersona(input: { slug: "late", name: "Late", kind: DEV }) { persona { slug } } }"# });
    for (accept, expected) in [("application/json", 200), (GRAPHQL_RESPONSE, 400)] {
        let req = app
            .client
            .post(app.url("/graphql"))
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .bearer_auth(&app.admin_token)
            .body(m.to_string());
        let (status, _, body) = read(req.send().await.unwrap()).await;
        assert_eq!(status, expected, "{accept}: {body:#}");
        assert_eq!(error_code(&body), "TIMEOUT", "{body:#}");
    }
    blocker.rollback().await.unwrap();
    let seen = app
        .data(r#"{ persona(slug: "late") { slug } }"#, json!({}))
        .await;
    assert_eq!(seen, json!({ "persona": null }));
}

#[tokio::test]
async fn with_introspection_off_schema_queries_and_suggestions_are_refused() {
    let on = TestApp::spawn().await;
    let (_, body) = post(&on, "{ personaz { totalCount } }", json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{body:#}"
    );

    let off = TestApp::spawn_with(Settings {
        introspection: false,
        ..settings()
    })
    .await;
    for q in [
        "{ __schema { types { name } } }",
        r#"{ __type(name: "Persona") { name fields { name } } }"#,
        "query { ...I } fragment I on Query { __schema { queryType { name } } }",
        GRAPHIQL_INTROSPECTION,
    ] {
        let (status, body) = post(&off, q, json!({})).await;
        assert_refused(status, &body, "INTROSPECTION_DISABLED");
        let resp = off
            .client
            .get(off.url("/graphql"))
            .query(&[("query", q)])
            .send()
            .await
            .unwrap();
        let (status, _, body) = read(resp).await;
        assert_refused(status, &body, "INTROSPECTION_DISABLED");
    }
    // `__typename` is not introspection: clients rely on it.
    let (_, body) = post(&off, "{ __typename }", json!({})).await;
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));
    // No suggestions that would leak field names.
    let (_, body) = post(&off, "{ personaz { totalCount } }", json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    // Ordinary queries still work.
    let (_, body) = post(&off, "{ personas { totalCount } }", json!({})).await;
    assert_eq!(body, json!({ "data": { "personas": { "totalCount": 0 } } }));
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let allowed = "https://dash.example.com";
    let app = TestApp::spawn_with(Settings {
        cors_origins: vec![allowed.to_owned()],
        ..settings()
    })
    .await;
    let preflight = |origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
            .send()
    };
    let resp = preflight(allowed).await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], allowed);
    let methods = h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    for m in ["GET", "POST", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["content-type", "authorization", "accept"] {
        assert!(headers.contains(name), "{headers}");
    }
    let resp = preflight("https://evil.example.net").await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let post_from = |origin: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header("origin", origin)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
    };
    let resp = post_from("https://dash.example.com").await.unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], allowed);
    let resp = post_from("https://evil.example.net").await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    // By default no origin is allowed.
    let closed = TestApp::spawn().await;
    let resp = closed
        .client
        .post(closed.url("/graphql"))
        .header("origin", allowed)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = closed
        .client
        .request(reqwest::Method::OPTIONS, closed.url("/graphql"))
        .header("origin", allowed)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert!(resp.status().as_u16() < 500);
}

/// Sends `{ __typename }` with an optional bearer token until the first 429 (at most `max`
/// requests); returns how many succeeded before it and the 429's (Retry-After, body).
async fn until_limited(
    app: &TestApp,
    token: Option<&str>,
    max: usize,
) -> (usize, Option<(String, Value)>) {
    for i in 0..max {
        let mut req = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": "{ __typename }" }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        if resp.status() == 429 {
            let retry = resp.headers()["retry-after"].to_str().unwrap().to_owned();
            let (_, content_type, body) = read(resp).await;
            assert!(
                content_type.starts_with("application/json"),
                "{content_type}"
            );
            return (i, Some((retry, body)));
        }
        assert_eq!(resp.status(), 200, "{token:?}");
    }
    (max, None)
}

#[tokio::test]
async fn over_the_rate_limit_a_client_gets_429_with_retry_after_per_token_and_per_address() {
    let app = TestApp::spawn_with(Settings {
        rate_limit_per_second: 1,
        rate_limit_burst: 5,
        ..settings()
    })
    .await;
    let (ok, limited) = until_limited(&app, None, 100).await;
    assert!(ok >= 5, "{ok} requests before the first 429");
    let (retry, body) = limited.expect("a 429 within 100 requests at 1/s");
    let secs: u64 = retry.parse().unwrap();
    assert!(secs >= 1, "{retry}");
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body:#}");
    assert!(body.get("data").is_none());

    // A token has its own budget, whatever the address has used...
    let one = app.token(TokenRole::Viewer).await;
    let (ok, limited) = until_limited(&app, Some(&one), 100).await;
    assert!(ok >= 5 && limited.is_some(), "{ok}");
    // ...and another token another one.
    let two = app.token(TokenRole::Viewer).await;
    let (ok, limited) = until_limited(&app, Some(&two), 100).await;
    assert!(ok >= 5 && limited.is_some(), "{ok}");

    // Health, readiness and GraphiQL are not limited.
    for path in ["/health", "/ready", "/graphiql"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }

    // Inventing a token per request does not escape the address's ceiling (ten times a
    // token's budget): the limit counts before the token is even checked.
    let fresh = TestApp::spawn_with(Settings {
        rate_limit_per_second: 1,
        rate_limit_burst: 2,
        ..settings()
    })
    .await;
    let mut refused = false;
    for i in 0..200 {
        let resp = fresh
            .client
            .post(fresh.url("/graphql"))
            .bearer_auth(format!("invented-{i}"))
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            assert!(i >= 20, "refused after {i}");
            refused = true;
            break;
        }
        assert!(resp.status().as_u16() < 500, "{}", resp.status());
    }
    assert!(refused, "200 invented tokens were all served");
}

#[test]
fn every_limit_is_a_serve_flag_and_the_rate_limit_is_on_by_default_in_serve() {
    use clap::Parser;
    use persona_graph::config::{Cli, Command};
    let parse = |args: &[&str]| {
        let cli = Cli::try_parse_from(args).unwrap();
        match cli.command {
            Some(Command::Serve(s)) => s.settings(),
            _ => cli.serve.settings(),
        }
    };
    let defaults = parse(&["persona-graph"]);
    assert_eq!(defaults.rate_limit_per_second, 1000);
    assert_eq!(defaults.rate_limit_burst, 2000);
    assert!(defaults.introspection);
    assert!(defaults.cors_origins.is_empty());
    assert_eq!(defaults.max_depth, Settings::default().max_depth);
    assert_eq!(defaults.max_complexity, Settings::default().max_complexity);

    let s = parse(&[
        "persona-graph",
        "serve",
        "--max-depth",
        "9",
        "--max-complexity",
        "5000",
        "--max-aliases",
        "3",
        "--max-root-fields",
        "4",
        "--introspection",
        "false",
        "--cors-origins",
        "https://a.example.com, https://b.example.com",
        "--rate-limit-per-second",
        "0",
        "--rate-limit-burst",
        "7",
    ]);
    assert_eq!(
        (
            s.max_depth,
            s.max_complexity,
            s.max_aliases,
            s.max_root_fields
        ),
        (9, 5000, 3, 4)
    );
    assert!(!s.introspection);
    assert_eq!(
        s.cors_origins,
        vec!["https://a.example.com", "https://b.example.com"]
    );
    assert_eq!((s.rate_limit_per_second, s.rate_limit_burst), (0, 7));
}

#[tokio::test]
async fn a_request_the_limits_refuse_asks_the_database_nothing() {
    let app = TestApp::spawn_with(Settings {
        max_complexity: u64::MAX,
        ..settings()
    })
    .await;
    let too_deep = nested(settings().max_depth + 1);
    // Twice: the second finds the document in the guard's cache and is refused all the same.
    for _ in 0..2 {
        app.reset_statements();
        let body = app
            .anonymous
            .post(app.url("/graphql"))
            .json(&json!({ "query": too_deep }))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(error_code(&body), "QUERY_TOO_DEEP", "{body:#}");
        assert_eq!(app.statements(), 0, "{:?}", app.statement_texts());
    }
    // An admitted query does ask it (the cache's version, then the query).
    app.reset_statements();
    app.anonymous
        .post(app.url("/graphql"))
        .json(&json!({ "query": nested(3) }))
        .send()
        .await
        .unwrap();
    assert!(app.statements() > 0);
}
