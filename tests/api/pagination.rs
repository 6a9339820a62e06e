//! Keyset pagination over ties and in both directions, cursors bound to their ordering, and
//! text search on non-ASCII names.

use crate::helpers::{TestApp, error_code};
use serde_json::{Value, json};

const CREATE: &str =
    "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { slug } } }";
const LIST: &str = "query($o: PersonaOrder, $first: Int, $after: String, $last: Int, $before: String, $f: PersonaFilter) {
  personas(orderBy: $o, first: $first, after: $after, last: $last, before: $before, filter: $f) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { slug } } }";

fn slugs(v: &Value) -> Vec<String> {
    v["personas"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Six personas whose sort orders tie in pairs, so the ID must break every tie.
async fn tied(app: &TestApp) {
    for (slug, order) in [("a", 2), ("b", 1), ("c", 2), ("d", 1), ("e", 3), ("f", 3)] {
        app.data(
            CREATE,
            json!({ "i": { "slug": slug, "name": slug, "kind": "DEV", "sortOrder": order } }),
        )
        .await;
    }
}

/// Walks a whole list a page of `size` at a time, forwards or backwards.
async fn walk(app: &TestApp, order: Value, size: i32, forwards: bool) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let vars = if forwards {
            json!({ "o": order, "first": size, "after": cursor })
        } else {
            json!({ "o": order, "last": size, "before": cursor })
        };
        let page = app.data(LIST, vars).await;
        let mut got = slugs(&page);
        let info = &page["personas"]["pageInfo"];
        if forwards {
            seen.extend(got);
            if info["hasNextPage"] != true {
                return seen;
            }
            cursor = info["endCursor"].clone();
        } else {
            got.extend(seen);
            seen = got;
            if info["hasPreviousPage"] != true {
                return seen;
            }
            cursor = info["startCursor"].clone();
        }
    }
}

#[tokio::test]
async fn paging_through_ties_in_either_direction_and_order_visits_every_row_once() {
    let app = TestApp::spawn().await;
    tied(&app).await;
    let asc = json!({ "field": "SORT_ORDER", "direction": "ASC" });
    let desc = json!({ "field": "SORT_ORDER", "direction": "DESC" });
    // Ties break by creation (ID) in the direction of the ordering.
    let expected_asc = ["b", "d", "a", "c", "e", "f"];
    let expected_desc = ["f", "e", "c", "a", "d", "b"];
    for size in [1, 2, 4] {
        assert_eq!(
            walk(&app, asc.clone(), size, true).await,
            expected_asc,
            "ASC forwards, pages of {size}"
        );
        assert_eq!(
            walk(&app, asc.clone(), size, false).await,
            expected_asc,
            "ASC backwards, pages of {size}"
        );
        assert_eq!(
            walk(&app, desc.clone(), size, true).await,
            expected_desc,
            "DESC forwards, pages of {size}"
        );
        assert_eq!(
            walk(&app, desc.clone(), size, false).await,
            expected_desc,
            "DESC backwards, pages of {size}"
        );
    }
}

#[tokio::test]
async fn a_cursor_is_refused_by_another_ordering_of_the_list() {
    let app = TestApp::spawn().await;
    tied(&app).await;
    let by_name = app
        .data(LIST, json!({ "o": { "field": "NAME" }, "first": 2 }))
        .await;
    let cursor = by_name["personas"]["pageInfo"]["endCursor"].clone();
    for order in [
        json!({ "field": "SORT_ORDER" }),
        json!({ "field": "NAME", "direction": "DESC" }),
    ] {
        let body = app
            .gql(LIST, json!({ "o": order, "first": 2, "after": cursor }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "after");
    }
    let same = app
        .data(
            LIST,
            json!({ "o": { "field": "NAME" }, "first": 2, "after": cursor }),
        )
        .await;
    assert_eq!(slugs(&same), ["c", "d"]);
}

#[tokio::test]
async fn a_name_with_non_ascii_letters_is_found_by_its_own_spelling() {
    let app = TestApp::spawn().await;
    app.data(
        CREATE,
        json!({ "i": { "slug": "ebeniste", "name": "Ébéniste Öl", "kind": "DEV" } }),
    )
    .await;
    app.data(
        CREATE,
        json!({ "i": { "slug": "other", "name": "Other", "kind": "DEV" } }),
    )
    .await;
    for needle in ["Ébéniste", "béniste", "Öl"] {
        let found = app.data(LIST, json!({ "f": { "search": needle } })).await;
        assert_eq!(slugs(&found), ["ebeniste"], "searching {needle:?}");
    }
    let ascii = app.data(LIST, json!({ "f": { "search": "OTHER" } })).await;
    assert_eq!(slugs(&ascii), ["other"]);
}
