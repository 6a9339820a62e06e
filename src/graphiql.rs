//! The GraphiQL page at `/graphiql`.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

/// Routes of the GraphiQL page and its assets.
pub fn router() -> Router {
    Router::new().route("/graphiql", get(page))
}

async fn page() -> Html<String> {
    Html(async_graphql::http::GraphiQLSource::build().endpoint("/graphql").finish())
}
