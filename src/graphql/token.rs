//! API tokens over GraphQL: the `ApiToken` object, `currentToken`, and the admins' `apiTokens`,
//! `createApiToken` and `revokeApiToken`, which hand their commands to `domain::token`. A secret
//! is shown once, when it is created; hashes are never exposed.

use super::pagination::{self, Conn, Ordering, PageArgs, SortValue};
use super::{apply, db, id};
use crate::auth::{Caller, RequireRole};
use crate::domain::token::{self as domain, TokenName, TokenRef};
use crate::error::{AppError, AppResult};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};
use entity::api_token::{self, TokenRole};
use sea_orm::EntityTrait;

/// What a token may do.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ApiTokenRole {
    /// Reads the catalog (needed only when the service requires a token for reads).
    Viewer,
    /// Reads and changes the catalog.
    Editor,
    /// Everything, plus managing tokens and reading the global audit log.
    Admin,
}

impl From<TokenRole> for ApiTokenRole {
    fn from(r: TokenRole) -> Self {
        match r {
            TokenRole::Viewer => Self::Viewer,
            TokenRole::Editor => Self::Editor,
            TokenRole::Admin => Self::Admin,
        }
    }
}

impl From<ApiTokenRole> for TokenRole {
    fn from(r: ApiTokenRole) -> Self {
        match r {
            ApiTokenRole::Viewer => Self::Viewer,
            ApiTokenRole::Editor => Self::Editor,
            ApiTokenRole::Admin => Self::Admin,
        }
    }
}

/// An API token, without its secret.
pub struct ApiToken(pub api_token::Model);

/// An API token, without its secret.
#[Object]
impl ApiToken {
    /// Global ID.
    async fn id(&self) -> ID {
        id::encode("ApiToken", self.0.id)
    }
    /// Unique name; names the actor in the change history.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the token may do.
    async fn role(&self) -> ApiTokenRole {
        self.0.role.into()
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it expires; null when it never does.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// When it was revoked; null while it is not.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// When it was last used, to the minute; null when never.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// Whether it is accepted now: neither revoked nor expired.
    async fn active(&self) -> bool {
        domain::is_active(&self.0, Utc::now())
    }
}

/// Token queries.
#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// The token this request was sent with; null without one.
    async fn current_token(&self, ctx: &Context<'_>) -> Result<Option<ApiToken>> {
        let Some(Caller::Token(p)) = ctx.data_opt::<Caller>() else {
            return Ok(None);
        };
        let row = api_token::Entity::find_by_id(p.token_id)
            .one(db(ctx).extend()?)
            .await
            .map_err(AppError::from)
            .extend()?;
        Ok(row.map(ApiToken))
    }

    /// Every API token, oldest first, a page at a time. Admins only.
    #[graphql(guard = "RequireRole(TokenRole::Admin)")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many tokens (at most 100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Tokens after this cursor.")] after: Option<String>,
    ) -> Result<Conn<ApiToken>> {
        let ordering = Ordering {
            column: api_token::Column::Id,
            id_column: api_token::Column::Id,
            descending: false,
            key: |m: &api_token::Model| SortValue::Int(m.id.into()),
        };
        let args = PageArgs {
            after,
            first,
            ..PageArgs::default()
        };
        pagination::paginate(
            db(ctx).extend()?,
            api_token::Entity::find(),
            ordering,
            args,
            ApiToken,
        )
        .await
        .extend()
    }
}

/// Input of `createApiToken`.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// Unique name: 1 to 100 of A-Z, a-z, 0-9, '.', '_' and '-'.
    pub name: String,
    /// What the token may do.
    pub role: ApiTokenRole,
    /// When it expires (in the future); never when left out.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Result of `createApiToken`.
#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    /// The new token.
    pub token: ApiToken,
    /// The secret to send as `Authorization: Bearer <secret>`. Shown only here, only once: the
    /// service keeps just its hash.
    pub secret: String,
}

/// Input of `revokeApiToken`: the token's ID or its name.
#[derive(InputObject)]
pub struct RevokeApiTokenInput {
    /// The token's global ID.
    pub id: Option<ID>,
    /// The token's name.
    pub name: Option<String>,
}

/// Result of `revokeApiToken`.
#[derive(SimpleObject)]
pub struct RevokeApiTokenPayload {
    /// The token, revoked.
    pub token: ApiToken,
}

impl CreateApiTokenInput {
    fn command(self) -> AppResult<domain::CreateApiToken> {
        Ok(domain::CreateApiToken {
            name: TokenName::parse("name", &self.name)?,
            role: self.role.into(),
            expires_at: self.expires_at,
        })
    }
}

impl RevokeApiTokenInput {
    fn command(self) -> AppResult<domain::RevokeApiToken> {
        let which = match (&self.id, self.name) {
            (Some(gid), None) => TokenRef::Id(id::decode_as(gid, "ApiToken", "id")?),
            (None, Some(name)) => TokenRef::Name(name),
            _ => return Err(AppError::bad_input("id", "give either id or name")),
        };
        Ok(domain::RevokeApiToken { which })
    }
}

/// Token mutations (admins only).
#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Creates an API token and returns its secret, once. Admins only.
    #[graphql(guard = "RequireRole(TokenRole::Admin)")]
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token's name, role and expiry.")] input: CreateApiTokenInput,
    ) -> Result<CreateApiTokenPayload> {
        let created = apply(ctx, input.command()).await?;
        Ok(CreateApiTokenPayload {
            token: ApiToken(created.token),
            secret: created.secret,
        })
    }

    /// Revokes an API token for good; requests with it are refused from then on. Revoking a
    /// revoked token changes nothing. Admins only.
    #[graphql(guard = "RequireRole(TokenRole::Admin)")]
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token to revoke: its ID or its name.")] input: RevokeApiTokenInput,
    ) -> Result<RevokeApiTokenPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(RevokeApiTokenPayload {
            token: ApiToken(row),
        })
    }
}
