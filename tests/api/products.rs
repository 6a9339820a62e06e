//! Products, their relevance to personas, and external links to documents.

use crate::helpers::{TestApp, error_code};
use serde_json::{Value, json};

async fn persona(app: &TestApp) -> Value {
    app.data(
        "mutation { createPersona(input: {slug: \"dev\", name: \"Dev\", kind: DEV}) { persona { id } } }",
        json!({}),
    )
    .await["createPersona"]["persona"]["id"]
        .clone()
}

const RELEVANCE: &str =
    r#"{ persona(slug: "dev") { productRelevance { level note product { slug name } } } }"#;

#[tokio::test]
async fn product_relevance_is_set_replaced_and_removed() {
    let app = TestApp::spawn().await;
    persona(&app).await;
    app.data(
        r#"mutation { createProduct(input: {slug: "cody", name: "Cody"}) { product { slug } } }"#,
        json!({}),
    )
    .await;
    let set = "mutation($i: SetProductRelevanceInput!) { setProductRelevance(input: $i) { relevance { level } } }";
    app.data(
        set,
        json!({ "i": { "persona": "dev", "product": "cody", "level": "PRIMARY" } }),
    )
    .await;
    app.data(set, json!({ "i": { "persona": "dev", "product": "cody", "level": "LESS_RELEVANT", "note": "as buyers" } }))
        .await;
    let read = app.data(RELEVANCE, json!({})).await;
    assert_eq!(
        read["persona"]["productRelevance"],
        json!([{ "level": "LESS_RELEVANT", "note": "as buyers", "product": { "slug": "cody", "name": "Cody" } }])
    );
    let unknown = app
        .gql(
            set,
            json!({ "i": { "persona": "dev", "product": "nope", "level": "PRIMARY" } }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");
    app.data(
        r#"mutation { removeProductRelevance(input: {persona: "dev", product: "cody"}) { deletedId } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        app.data(RELEVANCE, json!({})).await["persona"]["productRelevance"],
        json!([])
    );
}

#[tokio::test]
async fn product_slugs_are_validated_and_unique() {
    let app = TestApp::spawn().await;
    let create =
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { slug } } }";
    app.data(create, json!({ "i": { "slug": "cody", "name": "Cody" } }))
        .await;
    let dup = app
        .gql(
            create,
            json!({ "i": { "slug": "cody", "name": "Cody again" } }),
        )
        .await;
    assert_eq!(error_code(&dup), "CONFLICT", "{dup}");
    let bad = app
        .gql(create, json!({ "i": { "slug": "Cody!", "name": "Cody" } }))
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad}");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "slug");
    let products = app.data("{ products { slug name } }", json!({})).await;
    assert_eq!(
        products["products"],
        json!([{ "slug": "cody", "name": "Cody" }])
    );
}

#[tokio::test]
async fn external_links_attach_to_a_subject_by_global_id() {
    let app = TestApp::spawn().await;
    let id = persona(&app).await;
    let add = "mutation($i: AddExternalLinkInput!) { addExternalLink(input: $i) { link { id label url kind access } } }";
    let added = app
        .data(add, json!({ "i": { "subject": id, "label": "Deck", "url": "https://example.com/d", "kind": "SLIDES" } }))
        .await;
    let link = &added["addExternalLink"]["link"];
    assert_eq!(link["access"], "INTERNAL");
    let read = app
        .data(
            r#"{ persona(slug: "dev") { externalLinks { label url kind } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        read["persona"]["externalLinks"],
        json!([{ "label": "Deck", "url": "https://example.com/d", "kind": "SLIDES" }])
    );

    let bad_url = app.gql(add, json!({ "i": { "subject": id, "label": "x", "url": "javascript:alert(1)", "kind": "DOC" } })).await;
    assert_eq!(error_code(&bad_url), "BAD_USER_INPUT", "{bad_url}");
    assert_eq!(bad_url["errors"][0]["extensions"]["field"], "url");
    let bad_subject = app.gql(add, json!({ "i": { "subject": "nope", "label": "x", "url": "https://e.com", "kind": "DOC" } })).await;
    assert_eq!(error_code(&bad_subject), "BAD_USER_INPUT", "{bad_subject}");

    let update = "mutation($i: UpdateExternalLinkInput!) { updateExternalLink(input: $i) { link { label access } } }";
    let updated = app
        .data(
            update,
            json!({ "i": { "id": link["id"], "label": "Deck v2", "access": "PUBLIC" } }),
        )
        .await;
    assert_eq!(
        updated["updateExternalLink"]["link"],
        json!({ "label": "Deck v2", "access": "PUBLIC" })
    );

    let remove =
        "mutation($i: RemoveExternalLinkInput!) { removeExternalLink(input: $i) { deletedId } }";
    app.data(remove, json!({ "i": { "id": link["id"] } })).await;
    let again = app.gql(remove, json!({ "i": { "id": link["id"] } })).await;
    assert_eq!(error_code(&again), "NOT_FOUND", "{again}");
    let read = app
        .data(
            r#"{ persona(slug: "dev") { externalLinks { label } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(read["persona"]["externalLinks"], json!([]));
}
