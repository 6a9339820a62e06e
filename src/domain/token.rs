//! API tokens: their names, their secrets (made here, shown once, stored only as a hash), and
//! the commands that create and revoke them. A token's history never holds its secret or its
//! hash (the row's snapshot skips the hash column).

use super::audit::{self, Subject};
use super::change::{Change, Command};
use crate::error::{AppError, AppResult};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entity::api_token::{self, TokenRole};
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use sha2::{Digest, Sha256};
use std::fmt;

/// Every token starts with this, so a leaked one is recognisable (e.g. by secret scanners).
pub const TOKEN_PREFIX: &str = "pgt_";
/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;
/// Longest token name.
pub const NAME_MAX: usize = 100;

/// The lower-case name of a role, as the command line and refusals spell it.
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

/// Whether `token` can be used at `now`: neither revoked nor expired.
pub fn is_active(token: &api_token::Model, now: DateTime<Utc>) -> bool {
    token.revoked_at.is_none() && token.expires_at.is_none_or(|e| e > now)
}

/// A token's name: 1 to [`NAME_MAX`] of `A-Z a-z 0-9 . _ -`, and not the command line's actor
/// name (the history could not tell the two apart).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenName(String);

impl TokenName {
    /// Parses `value` as the token name of `field`.
    pub fn parse(field: &str, value: &str) -> AppResult<Self> {
        let ok = !value.is_empty()
            && value.len() <= NAME_MAX
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(AppError::bad_input(
                field,
                format!("must be 1 to {NAME_MAX} characters of A-Z, a-z, 0-9, '.', '_' and '-'"),
            ));
        }
        if value == audit::CLI_ACTOR {
            return Err(AppError::bad_input(
                field,
                format!("{value} is reserved for changes made with the command line"),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The validated name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which token to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRef {
    /// By row ID.
    Id(i32),
    /// By name.
    Name(String),
}

/// Creates a token; its secret is made by the command and returned once.
#[derive(Debug, Clone)]
pub struct CreateApiToken {
    /// Unique name; it names the actor of the token's changes in the history.
    pub name: TokenName,
    /// What the token may do.
    pub role: TokenRole,
    /// When it expires (must be after the change); never when `None`.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A token just created, with the secret that exists nowhere else.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    /// The stored row (holding only the secret's hash).
    pub token: api_token::Model,
    /// The secret to send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Revokes a token for good; revoking a revoked token changes nothing.
#[derive(Debug, Clone)]
pub struct RevokeApiToken {
    /// The token.
    pub which: TokenRef,
}

impl Command for CreateApiToken {
    type Output = CreatedToken;

    async fn apply(&self, change: &mut Change) -> AppResult<CreatedToken> {
        let now = change.now();
        if self.expires_at.is_some_and(|e| e <= now) {
            return Err(AppError::bad_input("expiresAt", "must be in the future"));
        }
        // Made per attempt: a retried change makes a new one, and only the committed one is
        // ever shown.
        let secret = generate_secret()?;
        let name = self.name.as_str();
        let row = api_token::ActiveModel {
            name: Set(name.to_owned()),
            role: Set(self.role),
            token_hash: Set(hash_secret(&secret)),
            created_at: Set(now),
            expires_at: Set(self.expires_at),
            revoked_at: Set(None),
            last_used_at: Set(None),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| AppError::on_unique(e, format!("a token named {name} exists already")))?;
        change
            .created("createApiToken", Subject::api_token(&row), &row)
            .await?;
        Ok(CreatedToken { token: row, secret })
    }
}

impl Command for RevokeApiToken {
    type Output = api_token::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<api_token::Model> {
        let q = match &self.which {
            TokenRef::Id(id) => api_token::Entity::find_by_id(*id),
            TokenRef::Name(n) => api_token::Entity::find().filter(api_token::Column::Name.eq(n)),
        };
        // Locked, so two concurrent revocations record one revocation.
        let current = q
            .lock(LockType::NoKeyUpdate)
            .one(change.db())
            .await?
            .ok_or_else(|| match &self.which {
                TokenRef::Id(id) => AppError::not_found("API token", id),
                TokenRef::Name(n) => AppError::not_found("API token", n),
            })?;
        if current.revoked_at.is_some() {
            return Ok(current);
        }
        let mut active = current.clone().into_active_model();
        active.revoked_at = Set(Some(change.now()));
        let row = active.update(change.db()).await?;
        change
            .updated("revokeApiToken", Subject::api_token(&row), &current, &row)
            .await?;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::{editor, writer};
    use chrono::Duration;
    use entity::audit_event;

    fn create(name: &str) -> CreateApiToken {
        CreateApiToken {
            name: TokenName::parse("name", name).unwrap(),
            role: TokenRole::Editor,
            expires_at: None,
        }
    }

    fn rule<T: fmt::Debug>(r: AppResult<T>) -> String {
        match r {
            Err(AppError::BadInput { field, rule }) => format!("{field}: {rule}"),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn names_are_plain_and_never_the_command_lines() {
        assert_eq!(
            TokenName::parse("name", "ci.bot_2-a").unwrap().as_str(),
            "ci.bot_2-a"
        );
        for bad in ["", "no spaces", "é", &"x".repeat(101)] {
            assert!(rule(TokenName::parse("name", bad)).starts_with("name: must be 1 to 100"));
        }
        assert_eq!(
            rule(TokenName::parse("name", "cli")),
            "name: cli is reserved for changes made with the command line"
        );
    }

    #[test]
    fn secrets_are_prefixed_random_and_stored_as_their_hash() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() >= 40, "{a}");
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a).len(), 64);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }

    #[tokio::test]
    async fn a_token_is_created_once_and_its_history_holds_no_secret() {
        let w = writer().await;
        let created = w.run(&editor(), &create("bot")).await.unwrap();
        assert_eq!(created.token.token_hash, hash_secret(&created.secret));
        assert!(is_active(&created.token, Utc::now()));
        let err = w.run(&editor(), &create("bot")).await.unwrap_err();
        assert_eq!(err.to_string(), "a token named bot exists already");
        let events = audit_event::Entity::find().all(w.db()).await.unwrap();
        assert_eq!(events.len(), 1, "the refused duplicate wrote nothing");
        assert_eq!(events[0].action, "createApiToken");
        assert_eq!(events[0].subject_key.as_deref(), Some("bot"));
        let text = format!("{:?}", events[0]);
        assert!(!text.contains(&created.secret) && !text.contains(&created.token.token_hash));
    }

    #[tokio::test]
    async fn an_expiry_in_the_past_is_refused_and_writes_nothing() {
        let w = writer().await;
        let mut cmd = create("old");
        cmd.expires_at = Some(Utc::now() - Duration::days(1));
        assert_eq!(
            rule(w.run(&editor(), &cmd).await),
            "expiresAt: must be in the future"
        );
        assert!(
            api_token::Entity::find()
                .all(w.db())
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            audit_event::Entity::find()
                .all(w.db())
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn revoking_is_recorded_once_and_unknown_tokens_are_not_found() {
        let w = writer().await;
        let created = w.run(&editor(), &create("bot")).await.unwrap();
        let by_name = RevokeApiToken {
            which: TokenRef::Name("bot".into()),
        };
        let revoked = w.run(&editor(), &by_name).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        assert!(!is_active(&revoked, Utc::now()));
        let again = RevokeApiToken {
            which: TokenRef::Id(created.token.id),
        };
        assert_eq!(w.run(&editor(), &again).await.unwrap(), revoked);
        let events = audit_event::Entity::find().all(w.db()).await.unwrap();
        assert_eq!(
            events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["createApiToken", "revokeApiToken"]
        );
        for which in [TokenRef::Id(99), TokenRef::Name("nobody".into())] {
            let err = w.run(&editor(), &RevokeApiToken { which }).await;
            assert!(matches!(err, Err(AppError::NotFound { .. })), "{err:?}");
        }
    }
}
