//! The GraphQL schema: Query and Mutation merged from one segment per domain object.

pub mod enums;
pub mod external_link;
pub mod http;
pub mod id;
pub mod journey;
pub mod loaders;
pub mod node;
pub mod ownership;
pub mod pagination;
pub mod persona;
pub mod product;
pub mod team;
pub mod validate;

use crate::error::{AppError, AppResult};
use async_graphql::dataloader::Loader;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Context, EmptySubscription, MergedObject, ResultExt, Schema, SchemaBuilder, ServerError,
    ServerResult, ValidationResult, Variables,
};
use loaders::Loaders;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use std::sync::Arc;

/// Reading the catalog: personas, journeys and their stages, teams, and who owns each stage.
#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    persona::PersonaQuery,
    journey::JourneyQuery,
    team::TeamQuery,
    ownership::OwnershipQuery,
    product::ProductQuery,
);

/// Changing the catalog. Each mutation runs in one transaction and changes nothing when it fails.
#[derive(MergedObject, Default)]
pub struct Mutation(
    persona::PersonaMutation,
    journey::JourneyMutation,
    team::TeamMutation,
    ownership::OwnershipMutation,
    product::ProductMutation,
    external_link::ExternalLinkMutation,
);

/// The schema type served at `/graphql`.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema without runtime data: enough to print the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription).extension(ErrorCodes)
}

/// The schema bound to a database.
pub fn build_schema(db: DatabaseConnection) -> AppSchema {
    schema_builder().data(db).finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// The database of the request.
pub fn db<'a>(ctx: &Context<'a>) -> AppResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|e| AppError::internal(e.message))
}

/// The DataLoader of the request.
pub fn loader<'a>(ctx: &Context<'a>) -> AppResult<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|e| AppError::internal(e.message))
}

/// The rows related by `key` (a relation's loader key), each wrapped as a GraphQL object.
pub async fn related<K, M, N>(
    ctx: &Context<'_>,
    key: K,
    wrap: fn(M) -> N,
) -> async_graphql::Result<Vec<N>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    loaders::CatalogLoader: Loader<K, Value = Vec<M>, Error = AppError>,
{
    let rows = loader(ctx).extend()?.load_one(key).await.extend()?;
    Ok(rows.unwrap_or_default().into_iter().map(wrap).collect())
}

/// The row `key` refers to, wrapped as a GraphQL object; null when it does not exist.
pub async fn referenced<K, M, N>(
    ctx: &Context<'_>,
    key: K,
    wrap: fn(M) -> N,
) -> async_graphql::Result<Option<N>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    loaders::CatalogLoader: Loader<K, Value = M, Error = AppError>,
{
    Ok(loader(ctx)
        .extend()?
        .load_one(key)
        .await
        .extend()?
        .map(wrap))
}

/// Starts a write transaction (see [`crate::db::begin_write`]).
pub async fn begin_write(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    Ok(crate::db::begin_write(db).await?)
}

/// Gives every error that async-graphql itself raises a stable `extensions.code`.
struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

fn tag(mut err: ServerError, code: &str) -> ServerError {
    let ext = err.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        ext.set("code", code);
    }
    err
}

/// Errors about a value the client sent (a bad enum value, a wrong type) are user input errors.
fn input_code(message: &str) -> &'static str {
    if message.starts_with("Invalid value for argument")
        || message.starts_with("Failed to parse")
        || message.contains("Variable \"")
    {
        "BAD_USER_INPUT"
    } else {
        "GRAPHQL_VALIDATION_FAILED"
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(
        &self,
        ctx: &ExtensionContext<'_>,
        next: async_graphql::extensions::NextRequest<'_>,
    ) -> async_graphql::Response {
        let mut resp = next.run(ctx).await;
        resp.errors = std::mem::take(&mut resp.errors)
            .into_iter()
            .map(|e| {
                let code = input_code(&e.message);
                tag(e, code)
            })
            .collect();
        resp
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| tag(e, "GRAPHQL_PARSE_FAILED"))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errs| {
            errs.into_iter()
                .map(|e| {
                    let code = input_code(&e.message);
                    tag(e, code)
                })
                .collect()
        })
    }
}
