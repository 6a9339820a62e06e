//! The pages people open: `/`, a landing page linking the dashboard, GraphiQL and the SDL;
//! `/dashboard`, the ownership dashboard (who owns each stage of a journey, the journey's health
//! and the gaps across journeys, updated live by `ownershipMatrixUpdates`); and
//! `/schema.graphql`, the API's SDL. The dashboard's own script and styles are in this folder;
//! the one library it loads (the `graphql-ws` client) is embedded with GraphiQL's assets, so it
//! works with no internet.

use crate::http::graphiql::asset_url;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::{Arc, LazyLock};

const LANDING: &str = include_str!("landing.html");
const PAGE_TEMPLATE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("app.js");
const STYLES: &str = include_str!("app.css");

/// The dashboard page, with the `graphql-ws` script's address filled in.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let client = asset_url("graphql-ws", "graphql-ws.min.js").unwrap_or_default();
    PAGE_TEMPLATE.replace("{{graphql_ws}}", &client)
});

/// Routes of the landing page, the dashboard and the SDL (`sdl` is the schema's).
pub fn router(sdl: String) -> Router {
    let sdl: Arc<str> = sdl.into();
    Router::new()
        .route(
            "/",
            get(|| async { text(LANDING, "text/html; charset=utf-8") }),
        )
        .route(
            "/dashboard",
            get(|| async { text(PAGE.as_str(), "text/html; charset=utf-8") }),
        )
        .route(
            "/dashboard/app.js",
            get(|| async { text(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/dashboard/app.css",
            get(|| async { text(STYLES, "text/css; charset=utf-8") }),
        )
        .route(
            "/schema.graphql",
            get(move || {
                let sdl = sdl.clone();
                async move { text(sdl.to_string(), "text/plain; charset=utf-8") }
            }),
        )
}

/// `body` as `content_type`, revalidated on each load (an upgrade changes it).
fn text(body: impl IntoResponse, content_type: &'static str) -> Response {
    let mut resp = body.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}
