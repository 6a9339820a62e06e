//! Who may do what: API tokens (created, stored as SHA-256 hashes, verified, revoked), the caller
//! of a request, and the access rules enforced before any resolver runs.
//!
//! Rules: every field of `Mutation` needs an `editor` or `admin` token (checked once per
//! request by the HTTP handler, before execution, with [`require`]); token management and the
//! global audit log need `admin` (field guards, [`RequireRole`]); reads are open unless
//! `reads_require_token` is set (checked by the HTTP handler, which also refuses any request
//! whose token is invalid, expired or revoked).

use crate::domain::audit::{self, Actor, Event, Subject};
use crate::error::{AppError, AppResult};
use async_graphql::{Context, ErrorExtensions, Guard};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use entity::api_token::{self, TokenRole};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use sha2::{Digest, Sha256};

/// Every token starts with this, so a leaked one is recognisable (e.g. by secret scanners).
pub const TOKEN_PREFIX: &str = "pgt_";
/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token, so reads stay reads.
const LAST_USED_GRANULARITY: Duration = Duration::seconds(60);
/// Longest token name.
pub const NAME_MAX: usize = 100;

/// The lower-case name of a role, as the command line spells it.
pub fn role_name(role: TokenRole) -> &'static str {
    match role {
        TokenRole::Viewer => "viewer",
        TokenRole::Editor => "editor",
        TokenRole::Admin => "admin",
    }
}

/// A new secret: [`TOKEN_PREFIX`] and 32 bytes from the operating system's CSPRNG, base64url.
pub fn generate_secret() -> AppResult<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The stored form of a secret: lower-case hex SHA-256.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Checks a token name: 1 to 100 of `A-Z a-z 0-9 . _ -`, and not a reserved actor name.
pub fn validate_name(field: &str, name: &str) -> AppResult<String> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(AppError::bad_input(
            field,
            format!("must be 1 to {NAME_MAX} characters of A-Z, a-z, 0-9, '.', '_' and '-'"),
        ));
    }
    if name == audit::CLI_ACTOR {
        return Err(AppError::bad_input(
            field,
            format!("{name} is reserved for changes made with the command line"),
        ));
    }
    Ok(name.to_owned())
}

/// Whether `token` can be used at `now`.
pub fn is_active(token: &api_token::Model, now: DateTime<Utc>) -> bool {
    token.revoked_at.is_none() && token.expires_at.is_none_or(|e| e > now)
}

/// Creates a token for `name` with `role`, valid until `expires_at` (forever when `None`), and
/// records it in the history. Returns the row and the secret, which exists nowhere else.
pub async fn create_token(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    role: TokenRole,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<(api_token::Model, String)> {
    let name = validate_name("name", name)?;
    let now = Utc::now();
    if expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::bad_input("expiresAt", "must be in the future"));
    }
    let secret = generate_secret()?;
    let txn = crate::db::begin_write(db).await?;
    let row = api_token::ActiveModel {
        name: Set(name.clone()),
        role: Set(role),
        token_hash: Set(hash_secret(&secret)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::on_unique(e, format!("a token named {name} exists already")))?;
    audit::write(
        &txn,
        actor,
        &Event::created(
            "createApiToken",
            Subject::api_token(&row),
            audit::snapshot(&row),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok((row, secret))
}

/// Every token, oldest first.
pub async fn list_tokens(db: &DatabaseConnection) -> AppResult<Vec<api_token::Model>> {
    Ok(api_token::Entity::find()
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await?)
}

/// Which token to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRef {
    Id(i32),
    Name(String),
}

/// Revokes a token for good and records it in the history; revoking a revoked token changes
/// nothing.
pub async fn revoke_token(
    db: &DatabaseConnection,
    actor: &Actor,
    which: &TokenRef,
) -> AppResult<api_token::Model> {
    let txn = crate::db::begin_write(db).await?;
    let q = match which {
        TokenRef::Id(id) => api_token::Entity::find_by_id(*id),
        TokenRef::Name(n) => api_token::Entity::find().filter(api_token::Column::Name.eq(n)),
    };
    let current = q.one(&txn).await?.ok_or_else(|| match which {
        TokenRef::Id(id) => AppError::not_found("API token", id),
        TokenRef::Name(n) => AppError::not_found("API token", n),
    })?;
    if current.revoked_at.is_some() {
        return Ok(current);
    }
    let mut active = current.clone().into_active_model();
    active.revoked_at = Set(Some(Utc::now()));
    let row = active.update(&txn).await?;
    audit::write(
        &txn,
        actor,
        &Event::updated(
            "revokeApiToken",
            Subject::api_token(&row),
            audit::snapshot(&current),
            audit::snapshot(&row),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// A caller identified by a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i32,
    pub name: String,
    pub role: TokenRole,
}

impl Principal {
    /// The actor of the changes this caller makes.
    pub fn actor(&self) -> Actor {
        Actor {
            token_id: Some(self.token_id),
            name: self.name.clone(),
        }
    }
}

/// Who sent a request; put into every GraphQL request's data by the HTTP handler. A request
/// executed without it (directly on the schema) is anonymous.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Caller {
    /// No `Authorization` header.
    #[default]
    Anonymous,
    /// A valid token.
    Token(Principal),
}

/// Why a request's credentials were refused, or why it may not do what it asks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Missing, malformed, unknown, expired or revoked credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the role the operation needs.
    #[error("{0}")]
    Forbidden(String),
}

impl AccessError {
    /// The stable code sent in `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
        }
    }
}

impl ErrorExtensions for AccessError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string())
            .extend_with(|_, ext| ext.set("code", self.code()))
    }
}

/// What refused credentials cost: an access error, or a database failure while checking them.
#[derive(Debug, Clone)]
pub enum AuthFailure {
    Access(AccessError),
    Internal(AppError),
}

/// The bearer token of an `Authorization` header value.
fn bearer(header: &[u8]) -> Result<&str, AccessError> {
    let malformed = || {
        AccessError::Unauthenticated("the Authorization header must be `Bearer <token>`".to_owned())
    };
    let text = std::str::from_utf8(header).map_err(|_| malformed())?.trim();
    let (scheme, token) = text.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(malformed());
    }
    Ok(token)
}

/// Identifies the caller of a request from its `Authorization` header (`None` when absent).
/// A present header must carry a valid token: anything else is refused, never ignored.
pub async fn authenticate(
    db: &DatabaseConnection,
    header: Option<&[u8]>,
) -> Result<Caller, AuthFailure> {
    let Some(header) = header else {
        return Ok(Caller::Anonymous);
    };
    let secret = bearer(header).map_err(AuthFailure::Access)?;
    let unknown = || {
        AuthFailure::Access(AccessError::Unauthenticated(
            "the bearer token is not valid".to_owned(),
        ))
    };
    // The secret's shape is checked before the database is asked about it.
    if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
        return Err(unknown());
    }
    let token = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_secret(secret)))
        .one(db)
        .await
        .map_err(|e| AuthFailure::Internal(AppError::from(e)))?
        .ok_or_else(unknown)?;
    let now = Utc::now();
    if token.revoked_at.is_some() {
        return Err(AuthFailure::Access(AccessError::Unauthenticated(format!(
            "the bearer token {} has been revoked",
            token.name
        ))));
    }
    if token.expires_at.is_some_and(|e| e <= now) {
        return Err(AuthFailure::Access(AccessError::Unauthenticated(format!(
            "the bearer token {} has expired",
            token.name
        ))));
    }
    if token
        .last_used_at
        .is_none_or(|t| now - t >= LAST_USED_GRANULARITY)
    {
        touch_last_used(db.clone(), token.id, now);
    }
    Ok(Caller::Token(Principal {
        token_id: token.id,
        name: token.name,
        role: token.role,
    }))
}

/// Notes when a token was used, in the background: a read must not wait on (SQLite's) write
/// lock for bookkeeping, and losing one such note is harmless.
fn touch_last_used(db: DatabaseConnection, id: i32, now: DateTime<Utc>) {
    tokio::spawn(async move {
        let result = api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
            .filter(api_token::Column::Id.eq(id))
            .exec(&db)
            .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, token = id, "could not record when a token was used");
        }
    });
}

/// Checks that `caller` has at least `role`.
pub fn require(caller: Option<&Caller>, role: TokenRole) -> Result<&Principal, AccessError> {
    let needs = match role {
        TokenRole::Viewer => "a bearer token",
        TokenRole::Editor => "a bearer token with the editor or admin role",
        TokenRole::Admin => "a bearer token with the admin role",
    };
    match caller {
        Some(Caller::Token(p)) if p.role >= role => Ok(p),
        Some(Caller::Token(p)) => Err(AccessError::Forbidden(format!(
            "token {} has the {} role; this needs {needs}",
            p.name,
            role_name(p.role)
        ))),
        _ => Err(AccessError::Unauthenticated(format!("this needs {needs}"))),
    }
}

/// The actor of a change requested through the API. Mutations are only reached with an editor
/// or admin token (the HTTP handler refuses the others); a caller without one is refused here
/// all the same, so a mutation run some other way cannot go unattributed.
pub fn actor(ctx: &Context<'_>) -> Result<Actor, AccessError> {
    require(ctx.data_opt::<Caller>(), TokenRole::Editor).map(Principal::actor)
}

/// A field guard: the caller needs at least this role.
pub struct RequireRole(pub TokenRole);

impl Guard for RequireRole {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        require(ctx.data_opt::<Caller>(), self.0)
            .map(|_| ())
            .map_err(|e| e.extend())
    }
}

/// `persona-graph token ...`: manage API tokens from the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// The token commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, once, on standard output (only the token, on its own line).
    Create {
        /// A unique name for the token; it names the actor in the change history.
        #[arg(long)]
        name: String,
        /// What the token may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Days until the token expires; it never expires when omitted.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in_days: Option<u32>,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token for good, by name or ID.
    Revoke {
        /// The token's name.
        #[arg(long, required_unless_present = "id", conflicts_with = "id")]
        name: Option<String>,
        /// The token's ID (as `token list` shows it).
        #[arg(long)]
        id: Option<i32>,
    },
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Reads the catalog (useful when reads require a token).
    Viewer,
    /// Reads and changes the catalog.
    Editor,
    /// Everything, plus managing tokens and reading the global audit log.
    Admin,
}

impl From<RoleArg> for TokenRole {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => Self::Viewer,
            RoleArg::Editor => Self::Editor,
            RoleArg::Admin => Self::Admin,
        }
    }
}

/// What a token command prints: `stdout` for scripts, `stderr` for people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    pub stdout: String,
    pub stderr: String,
}

fn format_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// Runs a token command against `db`, as the command-line actor.
pub async fn run_command(db: &DatabaseConnection, cmd: &TokenCommand) -> AppResult<CommandOutput> {
    let actor = Actor::cli();
    match cmd {
        TokenCommand::Create {
            name,
            role,
            expires_in_days,
        } => {
            let expires_at = expires_in_days.map(|d| Utc::now() + Duration::days(d.into()));
            let (row, secret) = create_token(db, &actor, name, (*role).into(), expires_at).await?;
            let until = match row.expires_at {
                Some(t) => format!("until {}", format_time(Some(t))),
                None => "without expiry".to_owned(),
            };
            Ok(CommandOutput {
                stdout: format!("{secret}\n"),
                stderr: format!(
                    "created token {} (id {}, role {}, {until}); it is shown only this once, \
                     send it as `Authorization: Bearer <token>`\n",
                    row.name,
                    row.id,
                    role_name(row.role)
                ),
            })
        }
        TokenCommand::List => {
            let now = Utc::now();
            let mut out = format!(
                "{:<6} {:<24} {:<7} {:<8} {:<20} {:<20} {:<20}\n",
                "ID", "NAME", "ROLE", "STATUS", "CREATED", "EXPIRES", "LAST USED"
            );
            for t in list_tokens(db).await? {
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else if !is_active(&t, now) {
                    "expired"
                } else {
                    "active"
                };
                out.push_str(&format!(
                    "{:<6} {:<24} {:<7} {:<8} {:<20} {:<20} {:<20}\n",
                    t.id,
                    t.name,
                    role_name(t.role),
                    status,
                    format_time(Some(t.created_at)),
                    format_time(t.expires_at),
                    format_time(t.last_used_at)
                ));
            }
            Ok(CommandOutput {
                stdout: out,
                stderr: String::new(),
            })
        }
        TokenCommand::Revoke { name, id } => {
            let which = match (id, name) {
                (Some(id), _) => TokenRef::Id(*id),
                (None, Some(n)) => TokenRef::Name(n.clone()),
                (None, None) => return Err(AppError::bad_input("name", "name a token or its id")),
            };
            let row = revoke_token(db, &actor, &which).await?;
            Ok(CommandOutput {
                stdout: String::new(),
                stderr: format!(
                    "revoked token {} (id {}) at {}\n",
                    row.name,
                    row.id,
                    format_time(row.revoked_at)
                ),
            })
        }
    }
}
