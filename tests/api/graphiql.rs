//! The `GraphiQL` page works offline: it references only assets the service itself serves.

use crate::helpers::TestApp;
use persona_graph::http::graphiql::{ASSETS_PREFIX, CDN_PREFIX, EMBEDDED, page_assets};

/// Every `src` and `href` attribute value of an HTML page.
fn referenced_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attr) {
            let after = &rest[start + attr.len()..];
            let end = after.find('"').unwrap_or(after.len());
            urls.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    urls
}

#[tokio::test]
async fn the_page_is_html_that_loads_graphiql_against_the_graphql_endpoint() {
    let app = TestApp::spawn().await;
    let resp = app.client.get(app.url("/graphiql")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let html = resp.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains("GraphiQL.createFetcher"), "{html}");
    assert!(html.contains(r#"new URL("/graphql""#), "{html}");
    // Both example tabs, with the field names the schema really has.
    assert!(
        html.contains(r#"ownershipMatrix(journey: \"buyer-journey\")"#),
        "{html}"
    );
    assert!(html.contains("stageKey"), "{html}");
    assert!(html.contains("ownershipGaps"), "{html}");
}

#[tokio::test]
async fn the_example_queries_are_valid_against_the_schema() {
    let app = TestApp::spawn().await;
    for query in [
        persona_graph::http::graphiql::OWNERSHIP_MATRIX_EXAMPLE,
        persona_graph::http::graphiql::OWNERSHIP_GAPS_EXAMPLE,
    ] {
        let body = app.gql(query, serde_json::json!({})).await;
        // On an empty catalog the matrix reports its journey as not found; what matters here is
        // that no error is a parse or validation error.
        for error in body["errors"].as_array().into_iter().flatten() {
            let code = error["extensions"]["code"].as_str().unwrap_or("<no code>");
            assert_eq!(code, "NOT_FOUND", "{query}\n{body:#}");
        }
    }
}

#[tokio::test]
async fn with_embedded_assets_the_page_references_only_its_own_assets() {
    let app = TestApp::spawn().await;
    let html = app
        .client
        .get(app.url("/graphiql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let urls = referenced_urls(&html);
    assert_eq!(urls.len(), page_assets().count(), "{urls:?}");
    if EMBEDDED {
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{html}"
        );
        for url in &urls {
            assert!(
                url.starts_with(ASSETS_PREFIX),
                "{url} is not served by the service"
            );
        }
    } else {
        // A build without npm: the page must at least pin exact versions on the CDN.
        for url in &urls {
            assert!(
                url.starts_with(CDN_PREFIX) && url.contains('@'),
                "{url} is not a pinned CDN URL"
            );
        }
    }
}

#[tokio::test]
async fn every_referenced_asset_is_served_with_its_content_type_and_a_long_cache_lifetime() {
    let app = TestApp::spawn().await;
    if !EMBEDDED {
        return;
    }
    let html = app
        .client
        .get(app.url("/graphiql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let urls = referenced_urls(&html);
    let (mut scripts, mut styles) = (0, 0);
    for url in urls {
        let resp = app.client.get(app.url(&url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
        let cache = resp.headers()["cache-control"].to_str().unwrap().to_owned();
        assert!(
            cache.contains("max-age=31536000") && cache.contains("immutable"),
            "{url}: {cache}"
        );
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "{url}");
        let body = resp.bytes().await.unwrap();
        if url.ends_with(".css") {
            styles += 1;
            assert_eq!(content_type, "text/css; charset=utf-8", "{url}");
            assert!(body.len() > 10_000, "{url}: {} bytes", body.len());
            assert!(
                String::from_utf8_lossy(&body).contains(".graphiql-container"),
                "{url}"
            );
        } else {
            scripts += 1;
            assert_eq!(content_type, "text/javascript; charset=utf-8", "{url}");
            assert!(body.len() > 5_000, "{url}: {} bytes", body.len());
        }
    }
    assert_eq!((styles, scripts), (1, 3));
}

#[tokio::test]
async fn the_scripts_are_react_react_dom_and_graphiql_in_load_order() {
    let app = TestApp::spawn().await;
    let html = app
        .client
        .get(app.url("/graphiql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let react = html.find("/react@18.").unwrap();
    let react_dom = html.find("/react-dom@18.").unwrap();
    let graphiql = html.find("/graphiql@3.").unwrap();
    let graphiql_js = html.find("graphiql.min.js").unwrap();
    assert!(graphiql < react, "the stylesheet comes first");
    assert!(react < react_dom && react_dom < graphiql_js, "{html}");
}

#[tokio::test]
async fn an_unknown_asset_is_not_found() {
    let app = TestApp::spawn().await;
    for path in [
        "/graphiql/assets/nope.js",
        "/graphiql/assets/graphiql@0.0.0/graphiql.min.js",
        "/graphiql/assets/",
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
}
