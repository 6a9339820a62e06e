//! GraphQL over HTTP as clients expect it: POST and GET, content negotiation between
//! `application/graphql-response+json` and `application/json`, and the status codes of the
//! GraphQL-over-HTTP specification for malformed requests and failing documents.

use crate::helpers::{TestApp, error_code};
use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use serde_json::{Value, json};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON_UTF8: &str = "application/json; charset=utf-8";
const GRAPHQL_RESPONSE_UTF8: &str = "application/graphql-response+json; charset=utf-8";

/// A POST of `body` as `application/json`, accepting `accept`: (status, content type, JSON body).
async fn post(app: &TestApp, accept: &str, body: &str) -> (u16, String, Value) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, accept)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// A GET of `/graphql` with `params` url-encoded, accepting `accept`.
async fn get(app: &TestApp, accept: &str, params: &[(&str, &str)]) -> (u16, String, Value) {
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(params)
        .header(ACCEPT, accept)
        .send()
        .await
        .unwrap();
    read(resp).await
}

async fn read(resp: reqwest::Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, content_type, body)
}

const CREATE_PERSONA: &str = r#"mutation { createPersona(input: { slug: "via-get", name: "Via GET", kind: DEV }) { persona { slug } } }"#;

#[tokio::test]
async fn a_json_post_runs_the_query_and_answers_json() {
    let app = TestApp::spawn().await;
    let (status, content_type, body) =
        post(&app, "application/json", r#"{"query":"{ __typename }"}"#).await;
    assert_eq!((status, content_type.as_str()), (200, JSON_UTF8));
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));
}

#[tokio::test]
async fn a_post_without_accept_header_answers_json() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(r#"{"query":"query Q($slug: String!) { persona(slug: $slug) { name } }","variables":{"slug":"nobody"},"operationName":"Q"}"#)
        .send()
        .await
        .unwrap();
    let (status, content_type, body) = read(resp).await;
    assert_eq!((status, content_type.as_str()), (200, JSON_UTF8));
    assert_eq!(body, json!({ "data": { "persona": null } }));
}

#[tokio::test]
async fn a_get_with_the_query_in_the_url_runs_it_with_its_variables_and_operation_name() {
    let app = TestApp::spawn().await;
    let (status, content_type, body) =
        get(&app, "application/json", &[("query", "{ __typename }")]).await;
    assert_eq!((status, content_type.as_str()), (200, JSON_UTF8));
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));

    let (status, _, body) = get(
        &app,
        "application/json",
        &[
            (
                "query",
                "query A { __typename } query B($slug: String!) { persona(slug: $slug) { name } }",
            ),
            ("operationName", "B"),
            ("variables", r#"{"slug":"nobody"}"#),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "data": { "persona": null } }));
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_with_405_and_allow_post_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", CREATE_PERSONA)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()[ALLOW], "POST");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "METHOD_NOT_ALLOWED"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("POST"),
        "{body:#}"
    );

    // Also when the mutation is picked by operationName out of a document that starts with a query.
    let doc = format!(
        "query First {{ __typename }} {}",
        CREATE_PERSONA.replacen("mutation", "mutation Second", 1)
    );
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", doc.as_str()), ("operationName", "Second")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()[ALLOW], "POST");

    let read = app
        .data(r#"{ persona(slug: "via-get") { slug } }"#, json!({}))
        .await;
    assert_eq!(read, json!({ "persona": null }));
}

#[tokio::test]
async fn the_same_mutation_over_post_runs() {
    let app = TestApp::spawn().await;
    let body = json!({ "query": CREATE_PERSONA }).to_string();
    let (status, _, body) = post(&app, GRAPHQL_RESPONSE, &body).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "data": { "createPersona": { "persona": { "slug": "via-get" } } } })
    );
}

#[tokio::test]
async fn graphql_response_json_is_honoured_and_a_document_that_fails_to_parse_or_validate_is_a_400_without_data()
 {
    let app = TestApp::spawn().await;
    let (status, content_type, body) =
        post(&app, GRAPHQL_RESPONSE, r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, GRAPHQL_RESPONSE_UTF8)
    );
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));

    for (query, code) in [
        ("{", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ] {
        let (status, content_type, body) = post(
            &app,
            GRAPHQL_RESPONSE,
            &json!({ "query": query }).to_string(),
        )
        .await;
        assert_eq!(
            (status, content_type.as_str()),
            (400, GRAPHQL_RESPONSE_UTF8),
            "{query}: {body:#}"
        );
        assert_eq!(error_code(&body), code, "{query}: {body:#}");
        // Nothing executed, so there is no `data` entry at all (not even null).
        assert!(body.get("data").is_none(), "{query}: {body:#}");

        let (status, content_type, _) = get(&app, GRAPHQL_RESPONSE, &[("query", query)]).await;
        assert_eq!(
            (status, content_type.as_str()),
            (400, GRAPHQL_RESPONSE_UTF8),
            "GET {query}"
        );
    }
}

#[tokio::test]
async fn with_plain_json_accepted_a_failing_document_answers_200_with_errors() {
    let app = TestApp::spawn().await;
    for (query, code) in [
        ("{", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ] {
        let (status, content_type, body) = post(
            &app,
            "application/json",
            &json!({ "query": query }).to_string(),
        )
        .await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, JSON_UTF8),
            "{query}: {body:#}"
        );
        assert_eq!(error_code(&body), code, "{query}: {body:#}");
        assert!(body.get("data").is_none(), "{query}: {body:#}");
    }
}

#[tokio::test]
async fn the_preferred_media_type_wins_when_the_client_accepts_both() {
    let app = TestApp::spawn().await;
    let query = r#"{"query":"{ __typename }"}"#;
    let (_, content_type, _) = post(
        &app,
        "application/json;q=0.5, application/graphql-response+json",
        query,
    )
    .await;
    assert_eq!(content_type, GRAPHQL_RESPONSE_UTF8);
    let (_, content_type, _) = post(
        &app,
        "application/graphql-response+json;q=0.2, application/json",
        query,
    )
    .await;
    assert_eq!(content_type, JSON_UTF8);
    let (_, content_type, _) = post(&app, "*/*", query).await;
    assert_eq!(content_type, JSON_UTF8);
}

#[tokio::test]
async fn a_field_error_during_execution_is_a_200_with_data_and_the_error() {
    let app = TestApp::spawn().await;
    let body = json!({ "query": r#"{ ownershipMatrix(journey: "no-such-journey") { journey { name } } }"# }).to_string();
    for accept in [GRAPHQL_RESPONSE, "application/json"] {
        let (status, _, body) = post(&app, accept, &body).await;
        assert_eq!(status, 200, "{accept}: {body:#}");
        assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
        // Execution ran: the data entry is there, null because the root field is non-null.
        assert_eq!(body.get("data"), Some(&Value::Null), "{body:#}");
        assert_eq!(body["errors"][0]["path"], json!(["ownershipMatrix"]));
    }
}

#[tokio::test]
async fn a_malformed_json_body_is_a_400() {
    let app = TestApp::spawn().await;
    for accept in [GRAPHQL_RESPONSE, "application/json"] {
        for body in [r#"{"query": "{ __typename }""#, "", "not json", "null"] {
            let (status, _, resp) = post(&app, accept, body).await;
            assert_eq!(status, 400, "{accept} {body:?}: {resp:#}");
            assert_eq!(error_code(&resp), "BAD_REQUEST", "{resp:#}");
        }
    }
}

#[tokio::test]
async fn a_request_without_a_query_is_a_400() {
    let app = TestApp::spawn().await;
    let (status, _, body) = post(&app, "application/json", r#"{"variables":{}}"#).await;
    assert_eq!(status, 400, "{body:#}");
    assert_eq!(error_code(&body), "BAD_REQUEST");
    let (status, _, body) = get(&app, "application/json", &[("operationName", "Q")]).await;
    assert_eq!(status, 400, "{body:#}");
    let (status, _, _) = get(&app, "application/json", &[]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_query_that_is_not_a_string_or_variables_that_are_not_an_object_are_a_400() {
    let app = TestApp::spawn().await;
    for body in [
        json!({ "query": 1 }),
        json!({ "query": { "q": "{ __typename }" } }),
        json!({ "query": ["{ __typename }"] }),
        json!({ "query": true }),
        json!({ "query": "{ __typename }", "variables": "{}" }),
        json!({ "query": "{ __typename }", "variables": [] }),
        json!({ "query": "{ __typename }", "variables": 7 }),
        json!({ "query": "{ __typename }", "operationName": 7 }),
        json!({ "query": "{ __typename }", "extensions": "x" }),
    ] {
        let (status, _, resp) = post(&app, "application/json", &body.to_string()).await;
        assert_eq!(status, 400, "{body}: {resp:#}");
        assert_eq!(error_code(&resp), "BAD_REQUEST", "{body}");
    }
    for variables in ["[]", "7", "\"{}\"", "{not json"] {
        let (status, _, _) = get(
            &app,
            "application/json",
            &[("query", "{ __typename }"), ("variables", variables)],
        )
        .await;
        assert_eq!(status, 400, "GET variables={variables}");
    }
}

#[tokio::test]
async fn null_variables_operation_name_and_extensions_are_allowed() {
    let app = TestApp::spawn().await;
    let body = json!({ "query": "{ __typename }", "variables": null, "operationName": null, "extensions": null });
    let (status, _, resp) = post(&app, "application/json", &body.to_string()).await;
    assert_eq!(status, 200, "{resp:#}");
    assert_eq!(resp, json!({ "data": { "__typename": "Query" } }));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_an_unsupported_media_type() {
    let app = TestApp::spawn().await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/graphql"),
        None,
    ] {
        let mut req = app
            .client
            .post(app.url("/graphql"))
            .body(r#"{"query":"{ __typename }"}"#);
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 415, "{content_type:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(error_code(&body), "BAD_REQUEST", "{body:#}");
    }
}

#[tokio::test]
async fn an_unknown_enum_value_in_variables_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let body = json!({
        "query": "query($kind: PersonaKind) { personas(filter: { kind: $kind }) { totalCount } }",
        "variables": { "kind": "ROBOT" },
    })
    .to_string();
    let (status, _, resp) = post(&app, "application/json", &body).await;
    assert_eq!(status, 200, "{resp:#}");
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp:#}");
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("kind"),
        "{resp:#}"
    );
    assert!(resp.get("data").is_none(), "{resp:#}");
    // A variable that cannot be coerced is a request error: 400 under the newer media type.
    let (status, _, resp) = post(&app, GRAPHQL_RESPONSE, &body).await;
    assert_eq!(status, 400, "{resp:#}");
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp:#}");
}

#[tokio::test]
async fn a_batch_answers_one_result_per_request_and_an_empty_batch_is_a_400() {
    let app = TestApp::spawn().await;
    let body = json!([{ "query": "{ __typename }" }, { "query": "{ noSuchField }" }]).to_string();
    let (status, _, resp) = post(&app, "application/json", &body).await;
    assert_eq!(status, 200, "{resp:#}");
    assert_eq!(resp[0], json!({ "data": { "__typename": "Query" } }));
    assert_eq!(error_code(&resp[1]), "GRAPHQL_VALIDATION_FAILED");
    let (status, _, _) = post(&app, "application/json", "[]").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn response_fields_come_in_the_order_of_the_selection_set() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"query":"{ zebra: __typename apple: __typename mango: __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.text().await.unwrap(),
        r#"{"data":{"zebra":"Query","apple":"Query","mango":"Query"}}"#
    );
}

#[tokio::test]
async fn request_parameters_the_server_does_not_know_are_ignored() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&serde_json::json!({ "query": "{ __typename }", "id": "client-side-id", "documentId": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "data": { "__typename": "Query" } })
    );
}
