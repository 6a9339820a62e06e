//! Who may do what: every mutation refused to anonymous callers and viewers (and nothing
//! changes), editors write, admin-only fields refuse editors, bad tokens answer 401, reads
//! open or closed by the setting, tokens managed from the command line and the API and stored
//! only as hashes.

use crate::helpers::{TestApp, digest, error_code};
use entity::api_token::{self, TokenRole};
use persona_graph::config::Settings;
use persona_graph::domain::token::hash_secret;
use persona_graph::graphql;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
use serde_json::{Map, Value, json};
use std::process::Command;

const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// The schema's types and mutation fields, by introspection of the schema the code builds.
async fn introspect() -> Value {
    let query = format!(
        "{{ __schema {{ mutationType {{ fields {{ name args {{ name type {{ ...T }} }} }} }} \
         types {{ name kind inputFields {{ name type {{ ...T }} }} enumValues {{ name }} }} }} }} {TYPE_REF}"
    );
    let resp = graphql::schema_builder().finish().execute(query).await;
    assert!(resp.errors.is_empty(), "{:?}", resp.errors);
    resp.data.into_json().unwrap()["__schema"].clone()
}

/// A type reference written as GraphQL (`[Foo!]!`).
fn type_string(t: &Value) -> String {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", type_string(&t["ofType"])),
        "LIST" => format!("[{}]", type_string(&t["ofType"])),
        _ => t["name"].as_str().unwrap().to_owned(),
    }
}

/// A value of type `t` that passes GraphQL's own type checks (required fields only).
fn sample(schema: &Value, t: &Value) -> Value {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" => sample(schema, &t["ofType"]),
        "LIST" => json!([]),
        _ => {
            let name = t["name"].as_str().unwrap();
            let def = schema["types"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["name"] == name)
                .unwrap();
            match def["kind"].as_str().unwrap() {
                "ENUM" => def["enumValues"][0]["name"].clone(),
                "INPUT_OBJECT" => {
                    let mut obj = Map::new();
                    for f in def["inputFields"].as_array().unwrap() {
                        if f["type"]["kind"] == "NON_NULL" {
                            obj.insert(
                                f["name"].as_str().unwrap().to_owned(),
                                sample(schema, &f["type"]),
                            );
                        }
                    }
                    Value::Object(obj)
                }
                _ => match name {
                    "Int" => json!(1),
                    "Float" => json!(1.5),
                    "Boolean" => json!(true),
                    "DateTime" => json!("2099-01-01T00:00:00Z"),
                    _ => json!("sample"),
                },
            }
        }
    }
}

/// One call of every mutation in the schema: (name, document, variables).
async fn every_mutation() -> Vec<(String, String, Value)> {
    let schema = introspect().await;
    let fields = schema["mutationType"]["fields"].as_array().unwrap().clone();
    assert!(fields.len() >= 40, "{} mutations", fields.len());
    fields
        .iter()
        .map(|f| {
            let name = f["name"].as_str().unwrap().to_owned();
            let mut defs = Vec::new();
            let mut args = Vec::new();
            let mut vars = Map::new();
            for a in f["args"].as_array().unwrap() {
                let arg = a["name"].as_str().unwrap();
                defs.push(format!("${arg}: {}", type_string(&a["type"])));
                args.push(format!("{arg}: ${arg}"));
                vars.insert(arg.to_owned(), sample(&schema, &a["type"]));
            }
            let doc = format!(
                "mutation({}) {{ {name}({}) {{ __typename }} }}",
                defs.join(", "),
                args.join(", ")
            );
            (name, doc, Value::Object(vars))
        })
        .collect()
}

const ADMIN_ONLY_MUTATIONS: &[&str] = &["createApiToken", "revokeApiToken", "applyCatalog"];

#[tokio::test]
async fn every_mutation_refuses_anonymous_callers_and_viewers_and_changes_nothing() {
    let app = TestApp::seeded().await;
    let viewer = app.token(TokenRole::Viewer).await;
    let before = digest(&app.db).await;
    for (name, doc, vars) in every_mutation().await {
        for (who, token, code) in [
            ("anonymous", None, "UNAUTHENTICATED"),
            ("viewer", Some(viewer.as_str()), "FORBIDDEN"),
        ] {
            let resp = app.post_as(token, &doc, vars.clone()).await;
            assert_eq!(resp.status(), 200, "{name} as {who}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(error_code(&body), code, "{name} as {who}: {body:#}");
            assert_eq!(body["errors"][0]["path"], json!([name]), "{body:#}");
            assert_eq!(body["data"], Value::Null, "{name} as {who}: {body:#}");
        }
    }
    assert_eq!(
        digest(&app.db).await,
        before,
        "a refused mutation changed the database"
    );
}

#[tokio::test]
async fn every_mutation_lets_editors_past_the_access_check_except_admin_only_ones() {
    let app = TestApp::seeded().await;
    let editor = app.token(TokenRole::Editor).await;
    for (name, doc, vars) in every_mutation().await {
        let body = app.gql_as(Some(&editor), &doc, vars.clone()).await;
        let code = body
            .get("errors")
            .map(|_| error_code(&body).to_owned())
            .unwrap_or_default();
        if ADMIN_ONLY_MUTATIONS.contains(&name.as_str()) {
            assert_eq!(code, "FORBIDDEN", "{name}: {body:#}");
        } else {
            assert!(
                code != "FORBIDDEN" && code != "UNAUTHENTICATED",
                "{name}: {body:#}"
            );
        }
        // An admin passes every check.
        let body = app.gql_as(Some(&app.admin_token), &doc, vars).await;
        let code = body
            .get("errors")
            .map(|_| error_code(&body).to_owned())
            .unwrap_or_default();
        assert!(
            code != "FORBIDDEN" && code != "UNAUTHENTICATED",
            "{name} as admin: {body:#}"
        );
    }
}

#[tokio::test]
async fn an_editor_writes_and_a_viewer_reads_what_was_written() {
    let app = TestApp::spawn().await;
    let editor = app.token(TokenRole::Editor).await;
    let viewer = app.token(TokenRole::Viewer).await;
    let created = app
        .data_as(
            Some(&editor),
            r#"mutation { createPersona(input: { slug: "ops", name: "Ops", kind: BUYER }) { persona { slug } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(created["createPersona"]["persona"]["slug"], "ops");
    for token in [Some(viewer.as_str()), None] {
        let read = app
            .data_as(token, r#"{ persona(slug: "ops") { name } }"#, json!({}))
            .await;
        assert_eq!(read["persona"]["name"], "Ops");
    }
}

#[tokio::test]
async fn a_batch_runs_a_viewers_query_and_refuses_its_mutation() {
    let app = TestApp::spawn().await;
    let viewer = app.token(TokenRole::Viewer).await;
    let body: Value = app
        .anonymous
        .post(app.url("/graphql"))
        .bearer_auth(&viewer)
        .json(&json!([
            { "query": "{ personas { totalCount } }" },
            { "query": r#"mutation { createPersona(input: { slug: "b", name: "B", kind: DEV }) { persona { slug } } }"# },
        ]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body[0]["data"]["personas"]["totalCount"], 0, "{body:#}");
    assert_eq!(error_code(&body[1]), "FORBIDDEN", "{body:#}");
    let count = app.data("{ personas { totalCount } }", json!({})).await;
    assert_eq!(count["personas"]["totalCount"], 0);
}

const ADMIN_ONLY_QUERIES: &[&str] = &[
    "{ apiTokens { nodes { name } } }",
    "{ auditLog { nodes { action } } }",
];

#[tokio::test]
async fn token_management_and_the_audit_log_are_for_admins_only() {
    let app = TestApp::spawn().await;
    let editor = app.token(TokenRole::Editor).await;
    let viewer = app.token(TokenRole::Viewer).await;
    for query in ADMIN_ONLY_QUERIES {
        let anon = app.gql_as(None, query, json!({})).await;
        assert_eq!(error_code(&anon), "UNAUTHENTICATED", "{query}: {anon:#}");
        for token in [&editor, &viewer] {
            let body = app.gql_as(Some(token), query, json!({})).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{query}: {body:#}");
        }
        app.data(query, json!({})).await;
    }
}

/// Sends `{ __typename }` with `Authorization: <header>`: (status, WWW-Authenticate, body).
async fn with_header(app: &TestApp, header: &str) -> (u16, String, Value) {
    let resp = app
        .anonymous
        .post(app.url("/graphql"))
        .header("authorization", header)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge, resp.json().await.unwrap())
}

#[tokio::test]
async fn unknown_malformed_expired_and_revoked_tokens_are_refused_with_401_even_for_reads() {
    let app = TestApp::spawn().await;
    let expired = app.token(TokenRole::Viewer).await;
    let row = api_token::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.token_hash == hash_secret(&expired))
        .unwrap();
    let mut active = row.into_active_model();
    active.expires_at = Set(Some(chrono::Utc::now() - chrono::Duration::hours(1)));
    active.update(&app.db).await.unwrap();
    let revoked = app.token(TokenRole::Editor).await;
    let name = app
        .data_as(Some(&revoked), "{ currentToken { name } }", json!({}))
        .await["currentToken"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    app.data(
        "mutation($n: String) { revokeApiToken(input: { name: $n }) { token { active revokedAt } } }",
        json!({ "n": name }),
    )
    .await;

    let cases = [
        (format!("Bearer {expired}"), "has expired"),
        (format!("Bearer {revoked}"), "has been revoked"),
        ("Bearer pgt_not-a-real-token".to_owned(), "not valid"),
        ("Bearer something-else".to_owned(), "not valid"),
        ("Basic dXNlcjpwYXNz".to_owned(), "Bearer <token>"),
        ("Bearer".to_owned(), "Bearer <token>"),
    ];
    for (header, says) in cases {
        let (status, challenge, body) = with_header(&app, &header).await;
        assert_eq!(status, 401, "{header}: {body:#}");
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{header}: {body:#}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{header}: {message}");
        assert!(body.get("data").is_none(), "{body:#}");
    }
    // The revoked editor token cannot write either, and GET is refused the same way.
    let write = app
        .post_as(
            Some(&revoked),
            r#"mutation { createTeam(input: { slug: "t", name: "T", department: OTHER }) { team { slug } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(write.status(), 401);
    let get = app
        .anonymous
        .get(app.url("/graphql?query=%7B__typename%7D"))
        .bearer_auth(&expired)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 401);
    let teams = app.data("{ teams { totalCount } }", json!({})).await;
    assert_eq!(teams["teams"]["totalCount"], 0);
}

#[tokio::test]
async fn reads_are_open_by_default() {
    let app = TestApp::spawn().await;
    let body = app
        .gql_as(None, "{ personas { totalCount } }", json!({}))
        .await;
    assert_eq!(body["data"]["personas"]["totalCount"], 0, "{body:#}");
    let current = app
        .gql_as(None, "{ currentToken { name } }", json!({}))
        .await;
    assert_eq!(current["data"]["currentToken"], Value::Null, "{current:#}");
}

#[tokio::test]
async fn reads_require_a_token_when_the_setting_says_so() {
    let app = TestApp::spawn_with(Settings {
        reads_require_token: true,
        ..Settings::default()
    })
    .await;
    let resp = app
        .post_as(None, "{ personas { totalCount } }", json!({}))
        .await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body:#}");
    let get = app
        .anonymous
        .get(app.url("/graphql?query=%7B__typename%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 401);

    let viewer = app.token(TokenRole::Viewer).await;
    let read = app
        .data_as(
            Some(&viewer),
            "{ personas { totalCount } currentToken { role } }",
            json!({}),
        )
        .await;
    assert_eq!(read["personas"]["totalCount"], 0);
    assert_eq!(read["currentToken"]["role"], "VIEWER");
    // Writes still need an editor.
    let write = app
        .gql_as(
            Some(&viewer),
            r#"mutation { createProduct(input: { slug: "p", name: "P" }) { product { slug } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&write), "FORBIDDEN", "{write:#}");
}

#[tokio::test]
async fn admins_create_list_and_revoke_tokens_through_the_api_and_see_the_secret_once() {
    let app = TestApp::spawn().await;
    let created = app
        .data(
            r#"mutation { createApiToken(input: { name: "dashboards", role: VIEWER, expiresAt: "2099-01-01T00:00:00Z" }) {
                 secret token { id name role active expiresAt revokedAt } } }"#,
            json!({}),
        )
        .await;
    let secret = created["createApiToken"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("pgt_") && secret.len() >= 40, "{secret}");
    let token = &created["createApiToken"]["token"];
    assert_eq!(
        (&token["name"], &token["role"], &token["active"]),
        (&json!("dashboards"), &json!("VIEWER"), &json!(true))
    );
    let me = app
        .data_as(Some(&secret), "{ currentToken { name role } }", json!({}))
        .await;
    assert_eq!(
        me["currentToken"],
        json!({ "name": "dashboards", "role": "VIEWER" })
    );

    let listed = app
        .data("{ apiTokens { nodes { name role active } } }", json!({}))
        .await;
    let names: Vec<&str> = listed["apiTokens"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["test-admin", "dashboards"]);
    assert!(!listed.to_string().contains(&secret));

    let duplicate = app
        .gql(
            r#"mutation { createApiToken(input: { name: "dashboards", role: EDITOR }) { secret } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&duplicate), "CONFLICT", "{duplicate:#}");
    for bad in [
        r#"mutation { createApiToken(input: { name: "no spaces", role: EDITOR }) { secret } }"#,
        r#"mutation { createApiToken(input: { name: "cli", role: EDITOR }) { secret } }"#,
        r#"mutation { createApiToken(input: { name: "old", role: EDITOR, expiresAt: "2001-01-01T00:00:00Z" }) { secret } }"#,
    ] {
        let body = app.gql(bad, json!({})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{bad}: {body:#}");
    }

    let revoked = app
        .data(
            "mutation($id: ID) { revokeApiToken(input: { id: $id }) { token { active revokedAt } } }",
            json!({ "id": token["id"] }),
        )
        .await;
    assert_eq!(revoked["revokeApiToken"]["token"]["active"], false);
    let refused = app
        .post_as(Some(&secret), "{ __typename }", json!({}))
        .await;
    assert_eq!(refused.status(), 401);
    let unknown = app
        .gql(
            r#"mutation { revokeApiToken(input: { name: "nobody" }) { token { name } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown:#}");
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes_and_never_exposed() {
    let app = TestApp::spawn().await;
    let secret = app
        .data(
            r#"mutation { createApiToken(input: { name: "hashed", role: EDITOR }) { secret } }"#,
            json!({}),
        )
        .await["createApiToken"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let rows = api_token::Entity::find().all(&app.db).await.unwrap();
    let row = rows.iter().find(|t| t.name == "hashed").unwrap();
    assert_eq!(row.token_hash, hash_secret(&secret));
    assert_eq!(row.token_hash.len(), 64);
    // No column of any token row holds a secret.
    for t in &rows {
        let all = format!("{t:?}");
        assert!(
            !all.contains(&secret) && !all.contains(&app.admin_token),
            "{all}"
        );
    }
    // The history of the token's creation holds neither the secret nor its hash.
    let log = app
        .data(
            r"{ auditLog(filter: { subjectType: API_TOKEN }) { nodes { action subjectKey before after } } }",
            json!({}),
        )
        .await;
    let text = log.to_string();
    assert!(text.contains("hashed"), "{text}");
    assert!(
        !text.contains(&secret) && !text.contains(&row.token_hash),
        "{text}"
    );
    // The API has no field that could carry a hash or a stored secret.
    let fields = graphql::schema_builder()
        .finish()
        .execute(r#"{ __type(name: "ApiToken") { fields { name } } }"#)
        .await
        .data
        .into_json()
        .unwrap();
    let names = fields["__type"]["fields"].to_string().to_lowercase();
    assert!(
        !names.contains("hash") && !names.contains("secret"),
        "{names}"
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_persona-graph"))
}

/// Runs `persona-graph token ARGS` against the test's database: (success, stdout, stderr).
fn token_cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = bin()
        .arg("token")
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn the_command_line_creates_lists_and_revokes_tokens() {
    let app = TestApp::spawn().await;
    let (ok, stdout, stderr) = token_cli(
        &app,
        &[
            "create",
            "--name",
            "dashboards",
            "--role",
            "viewer",
            "--expires-in-days",
            "30",
        ],
    );
    assert!(ok, "{stderr}");
    // Only the token, on its own line, on standard output; the note on standard error.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let secret = lines[0];
    assert!(secret.starts_with("pgt_"), "{secret}");
    assert!(
        stderr.contains("dashboards") && stderr.contains("only this once"),
        "{stderr}"
    );

    let me = app
        .data_as(
            Some(secret),
            "{ currentToken { name role expiresAt } }",
            json!({}),
        )
        .await;
    assert_eq!(me["currentToken"]["role"], "VIEWER");
    assert!(me["currentToken"]["expiresAt"].is_string());

    let (ok, list, _) = token_cli(&app, &["list"]);
    assert!(ok);
    let line = list.lines().find(|l| l.contains("dashboards")).unwrap();
    assert!(line.contains("viewer") && line.contains("active"), "{line}");
    let hash = hash_secret(secret);
    assert!(!list.contains(secret) && !list.contains(&hash), "{list}");

    let (ok, _, stderr) = token_cli(&app, &["create", "--name", "dashboards", "--role", "admin"]);
    assert!(!ok, "a second token with the same name was created");
    assert!(stderr.contains("exists already"), "{stderr}");
    let (ok, _, _) = token_cli(&app, &["create", "--name", "x", "--role", "root"]);
    assert!(!ok, "an unknown role was accepted");

    let (ok, _, stderr) = token_cli(&app, &["revoke", "--name", "dashboards"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("revoked token dashboards"), "{stderr}");
    let (_, list, _) = token_cli(&app, &["list"]);
    let line = list.lines().find(|l| l.contains("dashboards")).unwrap();
    assert!(line.contains("revoked"), "{line}");
    let refused = app.post_as(Some(secret), "{ __typename }", json!({})).await;
    assert_eq!(refused.status(), 401);

    // By ID too; an unknown one fails.
    let (_, editor, _) = token_cli(&app, &["create", "--name", "ed", "--role", "editor"]);
    let id = api_token::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "ed")
        .unwrap()
        .id;
    let (ok, _, _) = token_cli(&app, &["revoke", "--id", &id.to_string()]);
    assert!(ok);
    let refused = app
        .post_as(Some(editor.trim()), "{ __typename }", json!({}))
        .await;
    assert_eq!(refused.status(), 401);
    let (ok, _, _) = token_cli(&app, &["revoke", "--id", "9999"]);
    assert!(!ok);
    let (ok, _, _) = token_cli(&app, &["revoke"]);
    assert!(!ok, "revoke without a token was accepted");

    // The command line is the actor of what it did.
    let log = app
        .data(
            r#"{ auditLog(filter: { actor: "cli", subjectType: API_TOKEN }) { nodes { action subjectKey } } }"#,
            json!({}),
        )
        .await;
    let actions: Vec<(String, String)> = log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["action"].as_str().unwrap().to_owned(),
                n["subjectKey"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("createApiToken".into(), "dashboards".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("revokeApiToken".into(), "dashboards".into())),
        "{actions:?}"
    );
}

#[tokio::test]
async fn each_token_is_its_own_current_token_even_when_reads_are_answered_from_the_cache() {
    let app = TestApp::spawn().await;
    let one = app.token(TokenRole::Viewer).await;
    let two = app.token(TokenRole::Viewer).await;
    let name = |token: String| {
        let app = &app;
        async move {
            app.data_as(Some(&token), "{ currentToken { name } }", json!({}))
                .await["currentToken"]["name"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = name(one.clone()).await;
    let second = name(two.clone()).await;
    assert_ne!(first, second);
    for _ in 0..2 {
        assert_eq!(name(one.clone()).await, first);
        assert_eq!(name(two.clone()).await, second);
    }
}
