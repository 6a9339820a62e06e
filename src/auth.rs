//! Who may do what: the caller of a request (identified by its API token, verified against the
//! stored hash), and the access rules enforced before any resolver runs. Tokens themselves are
//! made and revoked by `domain::token`.
//!
//! Rules: every field of `Mutation` needs an `editor` or `admin` token (checked once per
//! request by the HTTP handler, before execution, with [`require`]); token management and the
//! global audit log need `admin` (field guards, [`RequireRole`]); reads are open unless
//! `reads_require_token` is set (checked by the HTTP handler, which also refuses any request
//! whose token is invalid, expired or revoked).

use crate::domain::audit::Actor;
use crate::domain::token::{TOKEN_PREFIX, hash_secret, role_name};
use crate::error::AppError;
use async_graphql::{Context, ErrorExtensions, Guard};
use chrono::{DateTime, Duration, Utc};
use entity::api_token::{self, TokenRole};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// `last_used_at` is written at most this often per token, so reads stay reads.
const LAST_USED_GRANULARITY: Duration = Duration::seconds(60);

/// A caller identified by a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i32,
    pub name: String,
    pub role: TokenRole,
    /// When the token stops being valid, if it does.
    pub expires_at: Option<DateTime<Utc>>,
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
    last_used: &LastUsed,
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
        last_used.note(db, token.id, now);
    }
    Ok(Caller::Token(Principal {
        token_id: token.id,
        name: token.name,
        role: token.role,
        expires_at: token.expires_at,
    }))
}

/// Notes when tokens were used, in the background: a read must not wait on (`SQLite`'s) write
/// lock for bookkeeping, and losing one such note is harmless. At most one write per token is
/// pending at a time, so a burst of requests from one token starts one writer, not one each.
#[derive(Debug, Clone, Default)]
pub struct LastUsed {
    pending: Arc<Mutex<HashSet<i32>>>,
}

impl LastUsed {
    /// Notes that token `id` was used at `now`, unless a note of it is already on its way.
    fn note(&self, db: &DatabaseConnection, id: i32, now: DateTime<Utc>) {
        let fresh = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
        if !fresh {
            return;
        }
        let (db, pending) = (db.clone(), Arc::clone(&self.pending));
        tokio::spawn(async move {
            let result = api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
                .filter(api_token::Column::Id.eq(id))
                .exec(&db)
                .await;
            pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            if let Err(e) = result {
                tracing::debug!(error = %e, token = id, "could not record when a token was used");
            }
        });
    }

    /// How many notes are on their way.
    pub fn pending(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::Actor;
    use crate::domain::change::Writer;
    use crate::domain::token::{CreateApiToken, TokenName};

    #[tokio::test(flavor = "current_thread")]
    async fn a_burst_from_one_token_starts_one_write_of_its_last_use() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let created = Writer::new(db.clone())
            .run(
                &Actor::cli(),
                &CreateApiToken {
                    name: TokenName::parse("name", "burst").unwrap(),
                    role: TokenRole::Viewer,
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        let last_used = LastUsed::default();
        let now = Utc::now();
        // On one thread nothing spawned runs before the burst ends: every note but the first
        // finds one already on its way.
        for _ in 0..100 {
            last_used.note(&db, created.token.id, now);
        }
        assert_eq!(last_used.pending(), 1);
        while last_used.pending() > 0 {
            tokio::task::yield_now().await;
        }
        let row = api_token::Entity::find_by_id(created.token.id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert!(row.last_used_at.is_some());
    }
}
