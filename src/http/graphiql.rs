//! The GraphiQL page at `/graphiql` and the browser assets at `/graphiql/assets/...`: GraphiQL,
//! React and React DOM for this page, and the `graphql-ws` client for the dashboard, as pinned by
//! `graphiql/package-lock.json`, embedded at build time by `build.rs`, so the pages work with no
//! internet. A build made without npm points the pages at the same pinned versions on a CDN.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::{LazyLock, Once};

/// One file the page loads: `path` is `package@version/file`, as on the npm registry and CDNs.
pub struct Asset {
    /// `package@version/file`, the part of the URL after the assets prefix.
    pub path: &'static str,
    /// The file's bytes; empty when the build could not embed them.
    pub body: &'static [u8],
}

mod generated {
    use super::Asset;
    include!(concat!(env!("OUT_DIR"), "/graphiql_assets.rs"));
}

pub use generated::{ASSETS, EMBEDDED, FALLBACK_REASON};

/// Where the page loads embedded assets from.
pub const ASSETS_PREFIX: &str = "/graphiql/assets/";
/// Where the page loads the assets from when the build could not embed them.
pub const CDN_PREFIX: &str = "https://unpkg.com/";

/// The packages the dashboard loads rather than `GraphiQL`.
const DASHBOARD_PACKAGES: &[&str] = &["graphql-ws"];

/// The package an asset path (`package@version/file`) belongs to.
fn package_of(path: &str) -> &str {
    path.split_once('@').map_or(path, |(p, _)| p)
}

/// The assets the `GraphiQL` page loads, in load order.
pub fn page_assets() -> impl Iterator<Item = &'static Asset> {
    ASSETS
        .iter()
        .filter(|a| !DASHBOARD_PACKAGES.contains(&package_of(a.path)))
}

/// Where a page loads the file `file` of package `package` from: the embedded copy, or the same
/// pinned version on a CDN when the build could not embed it.
pub fn asset_url(package: &str, file: &str) -> Option<String> {
    let asset = ASSETS
        .iter()
        .find(|a| package_of(a.path) == package && a.path.ends_with(file))?;
    let prefix = if EMBEDDED { ASSETS_PREFIX } else { CDN_PREFIX };
    Some(format!("{prefix}{}", asset.path))
}

/// The example that opens in the first tab: who owns each stage of the buyer journey.
pub const OWNERSHIP_MATRIX_EXAMPLE: &str = r#"# Who owns each stage of the buyer journey?
# Press Ctrl-Enter (or the run button) to run it; open the docs with the book icon.
query BuyerJourneyOwnership {
  ownershipMatrix(journey: "buyer-journey") {
    journey {
      name
    }
    stages {
      position
      key
      name
    }
    rows {
      team {
        name
        department
      }
      cells {
        stageKey
        responsibility
        ownership {
          dri {
            name
          }
        }
      }
    }
  }
}
"#;

/// The example of the second tab: which stages have no accountable owner yet.
pub const OWNERSHIP_GAPS_EXAMPLE: &str = r"# Which stages have no ACCOUNTABLE owner yet, across every journey?
query OwnershipGaps {
  ownershipGaps {
    journey {
      name
    }
    stage {
      position
      key
      name
    }
  }
}
";

/// Routes of the `GraphiQL` page and its assets.
pub fn router() -> Router {
    static WARN_ONCE: Once = Once::new();
    if !EMBEDDED {
        WARN_ONCE.call_once(|| {
            tracing::warn!(
                reason = FALLBACK_REASON,
                cdn = CDN_PREFIX,
                "GraphiQL assets were not embedded at build time; /graphiql loads them from a CDN and needs internet access"
            );
        });
    }
    Router::new()
        .route("/graphiql", get(page))
        .route("/graphiql/assets/{*path}", get(asset))
}

/// The page, built once: the assets never change while the process runs.
static PAGE: LazyLock<String> = LazyLock::new(render_page);

fn render_page() -> String {
    let prefix = if EMBEDDED { ASSETS_PREFIX } else { CDN_PREFIX };
    let mut styles = String::new();
    let mut scripts = String::new();
    for asset in page_assets() {
        if is_css(asset.path) {
            styles.push_str(&format!(
                "    <link rel=\"stylesheet\" href=\"{prefix}{}\">\n",
                asset.path
            ));
        } else {
            scripts.push_str(&format!(
                "    <script src=\"{prefix}{}\"></script>\n",
                asset.path
            ));
        }
    }
    let tabs = serde_json::json!([
        { "query": OWNERSHIP_MATRIX_EXAMPLE },
        { "query": OWNERSHIP_GAPS_EXAMPLE },
    ]);
    // `</` would end the inline script early; JSON allows `<\/` for the same text.
    let tabs = tabs.to_string().replace("</", "<\\/");
    PAGE_TEMPLATE
        .replace("{{styles}}", &styles)
        .replace("{{scripts}}", &scripts)
        .replace("{{tabs}}", &tabs)
}

const PAGE_TEMPLATE: &str = r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>persona-graph GraphiQL</title>
{{styles}}    <style>
      html, body, #graphiql { height: 100%; margin: 0; }
    </style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL...</div>
{{scripts}}    <script>
      (function () {
        var fetcher = GraphiQL.createFetcher({ url: new URL("/graphql", window.location.href).toString() });
        var root = ReactDOM.createRoot(document.getElementById("graphiql"));
        root.render(
          React.createElement(GraphiQL, {
            fetcher: fetcher,
            defaultTabs: {{tabs}},
            defaultEditorToolsVisibility: false,
          })
        );
      })();
    </script>
  </body>
</html>
"#;

async fn page() -> Response {
    let mut resp = (StatusCode::OK, PAGE.as_str()).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The page names versioned assets; revalidating it is what lets an upgrade show up.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn asset(Path(path): Path<String>) -> Response {
    let found = if EMBEDDED {
        ASSETS.iter().find(|a| a.path == path)
    } else {
        None
    };
    let Some(asset) = found else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let content_type = if is_css(asset.path) {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    let mut resp = (StatusCode::OK, asset.body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The version is part of the path, so a given URL's bytes never change.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Whether an asset is a stylesheet (asset paths are the build's own, lower case).
fn is_css(path: &str) -> bool {
    std::path::Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("css"))
}
