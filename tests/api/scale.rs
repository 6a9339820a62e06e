//! The benchmark's query shapes run a number of SQL statements fixed by their depth, whatever
//! the size of the catalog: a page of 10 personas, the ownership dashboards and a lookup by
//! slug.

use crate::helpers::TestApp;
use persona_graph::generate::{self, GenerateOptions};
use serde_json::{Value, json};

const DEEP_READ: &str = include_str!("../../benches/queries/deep_read.graphql");
const MATRIX: &str = include_str!("../../benches/queries/ownership_matrix.graphql");
const GAPS: &str = include_str!("../../benches/queries/ownership_gaps.graphql");
const LOOKUP: &str = include_str!("../../benches/queries/light_lookup.graphql");

/// The statements each shape ran, and its data, on a generated catalog of `personas`.
async fn costs(personas: u32) -> Vec<(&'static str, usize, Value)> {
    let app = TestApp::spawn().await;
    let options = GenerateOptions {
        personas,
        ..GenerateOptions::default()
    };
    generate::run(&app.db, &options).await.unwrap();
    let mut out = Vec::new();
    for (name, query) in [
        ("deep read", DEEP_READ),
        ("ownership matrix", MATRIX),
        ("ownership gaps", GAPS),
        ("light lookup", LOOKUP),
    ] {
        app.reset_statements();
        let data = app.data(query, json!({})).await;
        out.push((name, app.statements(), data));
    }
    out
}

#[tokio::test]
async fn benchmark_shapes_stay_within_their_statement_bound_at_every_catalog_size() {
    let small = costs(60).await;
    let large = costs(600).await;
    for ((name, _, small_data), (_, _, large_data)) in small.iter().zip(&large) {
        // The dashboards and the first page do not depend on personas beyond the first ten.
        assert_eq!(small_data, large_data, "{name}: same data at both sizes");
    }
    let bound = |name: &str| match name {
        // personas page, roles, journeys by kind, journey narrowing, stages, owners (with
        // their teams and DRIs), memberships (with their people).
        "deep read" => 7,
        // stages with their journey, owners with their teams and DRIs.
        "ownership matrix" => 2,
        // stages without an ACCOUNTABLE owner, with their journeys.
        "ownership gaps" => 1,
        // the persona joined with its roles.
        _ => 1,
    };
    // At both sizes within the bound of the shape's depth. (Two batches of the same key type,
    // such as DRIs and member people, may share a statement when their keys arrive together,
    // so a count can be one lower than the bound, at either size.)
    for (personas, costs) in [(60, &small), (600, &large)] {
        for (name, n, _) in costs {
            assert!(
                *n <= bound(name),
                "{name}: {n} statements at {personas} personas, more than {}",
                bound(name)
            );
        }
    }
    let deep = &small[0].2["personas"]["nodes"];
    assert_eq!(deep.as_array().map(Vec::len), Some(10));
    let members = deep[0]["journeys"][0]["stages"][0]["owners"][0]["team"]["members"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(members >= 3, "the deep read reaches team members: {deep:#}");
}

/// The statements of a request, as text, for `personas` personas on a page.
async fn texts_for(app: &TestApp, personas: usize) -> Vec<String> {
    app.reset_statements();
    let data = app
        .data(
            "query($n: Int!) { personas(first: $n) { nodes {
                roles { title } journeys { stages { owners { team { members { person { name } } } } } }
            } } }",
            json!({ "n": personas }),
        )
        .await;
    assert_eq!(
        data["personas"]["nodes"].as_array().map(Vec::len),
        Some(personas)
    );
    // Batches of one level run concurrently, so their statements finish in either order.
    let mut texts = app.statement_texts();
    texts.sort();
    texts
}

#[tokio::test]
async fn a_loader_statement_has_the_same_text_whatever_the_number_of_keys() {
    let app = TestApp::spawn().await;
    let options = GenerateOptions {
        personas: 40,
        ..GenerateOptions::default()
    };
    generate::run(&app.db, &options).await.unwrap();
    // 3, 11 and 29 personas ask for different numbers of roles, teams, members and people:
    // the statements keep their text (so each connection prepares each one once), and only
    // the bound values differ.
    let runs = [
        texts_for(&app, 3).await,
        texts_for(&app, 11).await,
        texts_for(&app, 29).await,
    ];
    assert!(runs[0].len() >= 7, "{:#?}", runs[0]);
    assert_eq!(runs[0], runs[1], "3 and 11 personas");
    assert_eq!(runs[0], runs[2], "3 and 29 personas");
    for text in &runs[0] {
        // The journeys of persona kinds are the one list left: of at most three kinds.
        if text.contains("\"persona_kind\" IN") {
            continue;
        }
        assert!(
            !text.contains("IN (?") && !text.contains("IN ($"),
            "a list of placeholders: {text}"
        );
    }
}
