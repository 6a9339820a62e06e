//! `TestApp`: a fresh migrated database and the real router on `127.0.0.1:0`, per test, with
//! an admin token that `gql` and `data` send unless told otherwise.

use entity::api_token::TokenRole;
use persona_graph::config::Settings;
use persona_graph::domain::audit::Actor;
use persona_graph::domain::change::Writer;
use persona_graph::domain::token::{CreateApiToken, TokenName, role_name};
use persona_graph::graphql::reader::StatementObserver;
use persona_graph::{app, catalog, db};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Creates a token named `name` with `role`, as the command line does; returns its secret.
pub(crate) async fn create_token(
    db: &DatabaseConnection,
    name: &str,
    role: TokenRole,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let cmd = CreateApiToken {
        name: TokenName::parse("name", name).expect("a valid token name"),
        role,
        expires_at,
    };
    Writer::new(db.clone())
        .run(&Actor::cli(), &cmd)
        .await
        .expect("create a test token")
        .secret
}

/// A running service over its own database.
pub(crate) struct TestApp {
    pub addr: std::net::SocketAddr,
    pub db: DatabaseConnection,
    /// The URL of the test's database (for running the binary against it).
    pub database_url: String,
    /// A client that sends the admin token with every request.
    pub client: reqwest::Client,
    /// A client that sends no credentials.
    pub anonymous: reqwest::Client,
    /// The secret of the admin token created at spawn, sent by `client`, `gql` and `data`.
    pub admin_token: String,
    statements: Arc<AtomicUsize>,
    /// The text of each statement counted, in order.
    texts: Arc<std::sync::Mutex<Vec<String>>>,
    /// Held for its `Drop`, which removes the test's database.
    _scratch: Scratch,
}

/// Where a test's database lives, removed when the test ends.
enum Scratch {
    /// A database on the `TEST_DATABASE_URL` server: the admin URL and the database name.
    Postgres { admin_url: String, name: String },
    /// An `SQLite` file and its WAL companions.
    Sqlite(std::path::PathBuf),
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match self {
            Scratch::Postgres { admin_url, name } => {
                // Drop runs inside the test's runtime, which cannot be blocked on; a thread
                // with its own runtime removes the database (FORCE closes the pool's sessions).
                let (url, name) = (admin_url.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    rt.block_on(async {
                        let admin = sea_orm::Database::connect(&url).await.ok()?;
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        admin.execute_unprepared(&sql).await.ok()?;
                        admin.close().await.ok()
                    })
                });
                let _ = dropped.join();
            }
            Scratch::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
        }
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("pg_test_{}_{}_{}", std::process::id(), n, nanos)
}

/// The URL of a fresh, empty database for one test, and what to remove afterwards.
async fn fresh_database_url() -> (String, Scratch) {
    let name = unique_name();
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let admin = sea_orm::Database::connect(&url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create the test database");
            admin.close().await.ok();
            let (base, _) = url
                .rsplit_once('/')
                .expect("TEST_DATABASE_URL has a database name");
            let scratch = Scratch::Postgres {
                admin_url: url.clone(),
                name: name.clone(),
            };
            (format!("{base}/{name}"), scratch)
        }
        _ => {
            let path = std::env::temp_dir().join(format!("persona-graph-{name}.db"));
            (
                format!("sqlite://{}?mode=rwc", path.display()),
                Scratch::Sqlite(path),
            )
        }
    }
}

impl TestApp {
    /// An empty, migrated catalog.
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(Settings::default()).await
    }

    /// An empty, migrated catalog, served with `settings`.
    pub(crate) async fn spawn_with(settings: Settings) -> Self {
        let (url, scratch) = fresh_database_url().await;
        Self::spawn_on(url, scratch, settings, 5).await
    }

    /// An empty, migrated catalog, served with `settings` over a pool that leaves
    /// `connections` to requests (on PostgreSQL the change listener keeps one more).
    pub(crate) async fn spawn_pooled(settings: Settings, connections: u32) -> Self {
        let (url, scratch) = fresh_database_url().await;
        let listener = u32::from(url.starts_with("postgres"));
        Self::spawn_on(url, scratch, settings, connections + listener).await
    }

    /// Serves the fresh database `url` with `settings` over a pool of `pool` connections.
    async fn spawn_on(url: String, scratch: Scratch, settings: Settings, pool: u32) -> Self {
        let mut conn = db::connect(&url, pool)
            .await
            .expect("connect to the test database");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        let texts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = texts.clone();
        // Checking a request's token (and noting when it was used) is not part of what a
        // query costs the catalog, which is what the tests count.
        // The same callback sees the pool's statements and those of a query request's held
        // connection.
        let observer: StatementObserver = Arc::new(move |info| {
            persona_graph::metrics::statement_ran();
            let sql = &info.statement.sql;
            if !sql.contains("api_token") && !sql.contains("/* change feed */") {
                counter.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut log) = log.lock() {
                    log.push(info.statement.sql.clone());
                }
            }
        });
        let callback = observer.clone();
        conn.set_metric_callback(move |info| callback(info));
        // Migrations take a lock on a connection of their own beside the one they work on.
        let migrator = db::connect(&url, 2)
            .await
            .expect("connect to the test database");
        db::migrate(&migrator)
            .await
            .expect("migrate the test database");
        migrator.close().await.expect("close the migrating pool");
        let admin_token = create_token(&conn, "test-admin", TokenRole::Admin, None).await;
        let state =
            app::AppState::with_settings(conn.clone(), settings).with_statement_observer(observer);
        let router = app::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(app::serve(listener, router, std::future::pending()));
        Self {
            addr,
            database_url: url,
            db: conn,
            client: admin_client(&admin_token),
            anonymous: reqwest::Client::new(),
            admin_token,
            statements,
            texts,
            _scratch: scratch,
        }
    }

    /// The seed catalog, loaded.
    pub(crate) async fn seeded() -> Self {
        let app = Self::spawn().await;
        catalog::seed(&app.db).await.expect("load the seed catalog");
        app
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a GraphQL request with the admin token and returns the JSON body.
    pub(crate) async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(Some(&self.admin_token), query, variables).await
    }

    /// POSTs a GraphQL request with `token` (none when `None`) and returns the JSON body.
    pub(crate) async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.post_as(token, query, variables)
            .await
            .json()
            .await
            .expect("a JSON body")
    }

    /// POSTs a GraphQL request with `token` (none when `None`) and returns the HTTP response.
    pub(crate) async fn post_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> reqwest::Response {
        let mut req = self
            .anonymous
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("send the request")
    }

    /// POSTs a GraphQL request with `token` that must succeed and returns its `data`.
    pub(crate) async fn data_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let body = self.gql_as(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// A new token with `role` (named after it and a counter), as its secret.
    pub(crate) async fn token(&self, role: TokenRole) -> String {
        self.token_with(role, None).await
    }

    /// A new token with `role` that expires at `expires_at`, as its secret.
    pub(crate) async fn token_with(
        &self,
        role: TokenRole,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> String {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("test-{}-{n}", role_name(role));
        create_token(&self.db, &name, role, expires_at).await
    }

    /// POSTs a GraphQL request that must succeed and returns its `data`.
    pub(crate) async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// The SQL statements run since the last reset.
    pub(crate) fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    /// The texts of the SQL statements run since the last reset, in order.
    pub(crate) fn statement_texts(&self) -> Vec<String> {
        self.texts.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Starts counting statements from zero.
    pub(crate) fn reset_statements(&self) {
        self.statements.store(0, Ordering::SeqCst);
        if let Ok(mut texts) = self.texts.lock() {
            texts.clear();
        }
    }
}

/// A client whose every request carries `Authorization: Bearer <token>`.
fn admin_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .expect("a token is a valid header value");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("build the HTTP client")
}

/// The `extensions.code` of the first error of a response.
pub(crate) fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}

/// Every row of every catalog table, the history and the tokens (without `last_used_at`, which
/// a request may note in the background), as one string: equal digests mean nothing changed.
pub(crate) async fn digest(db: &DatabaseConnection) -> String {
    use entity::*;
    use sea_orm::{EntityTrait, QueryOrder};
    macro_rules! rows {
        ($($m:ident),+ $(,)?) => {{
            let mut out = String::new();
            $(
                let rows = $m::Entity::find()
                    .order_by_asc($m::Column::Id)
                    .all(db)
                    .await
                    .expect("read a table");
                out.push_str(stringify!($m));
                out.push_str(&serde_json::to_string(&rows).expect("rows as JSON"));
                out.push('\n');
            )+
            out
        }};
    }
    let mut out = rows!(
        persona,
        role,
        persona_link,
        product,
        persona_product_relevance,
        journey,
        journey_persona,
        journey_stage,
        team,
        person,
        team_membership,
        stage_ownership,
        team_persona_alignment,
        external_link,
    );
    let events = audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Id)
        .all(db)
        .await
        .expect("read the history");
    for e in events {
        out.push_str(&format!(
            "event {} {} {} {:?} {}\n",
            e.id, e.action, e.actor_name, e.before, e.subject_id
        ));
    }
    let tokens = api_token::Entity::find()
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await
        .expect("read the tokens");
    for t in tokens {
        out.push_str(&format!(
            "token {} {} {:?} {:?} {:?}\n",
            t.id, t.name, t.role, t.expires_at, t.revoked_at
        ));
    }
    out
}
