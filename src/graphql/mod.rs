//! The GraphQL schema adapter: Query and Mutation merged from one segment per domain object,
//! the schema's own limits, and the request-scoped helpers resolvers share. It knows nothing of
//! HTTP: the transport runs requests against it, never the other way round.

pub mod catalog;
pub mod enums;
pub mod error;
pub mod external_link;
pub mod history;
pub mod id;
pub mod input;
pub mod joined;
pub mod journey;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod node;
pub mod ownership;
pub mod pagination;
pub mod persona;
pub mod product;
pub mod reader;
pub mod team;
pub mod token;

use crate::domain::change::{Command, Writer};
use crate::domain::feed::Feed;
use crate::error::{AppError, AppResult};
use async_graphql::dataloader::Loader;
use async_graphql::{Context, MergedObject, ResultExt, Schema, SchemaBuilder};
use futures_util::future::BoxFuture;
use loaders::Loaders;
use sea_orm::DatabaseConnection;

/// Reading the catalog: personas, journeys and their stages, teams, and who owns each stage.
#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    persona::PersonaQuery,
    journey::JourneyQuery,
    team::TeamQuery,
    ownership::OwnershipQuery,
    product::ProductQuery,
    token::TokenQuery,
    history::HistoryQuery,
    catalog::CatalogQuery,
    live::LiveQuery,
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
    token::TokenMutation,
    catalog::CatalogMutation,
);

pub use live::Subscription;

/// The schema type served at `/graphql`.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema without runtime data: enough to print the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    // No schema extensions: with one, async-graphql runs every resolved field through the
    // extension chain. Error codes and the access rule for mutations are applied by the HTTP
    // endpoint instead, where it runs each request.
    Schema::build(Query::default(), Mutation::default(), Subscription)
}

/// The schema bound to a database, with the limits and introspection switch of `settings`.
///
/// The limits here are async-graphql's own, a backstop behind the HTTP transport's guard, which
/// checks every request before it reaches the schema and counts costs more strictly.
///
/// Writes announce their commits to `feed`, which subscriptions follow.
pub fn build_schema(
    db: DatabaseConnection,
    settings: &crate::config::Settings,
    feed: &Feed,
) -> AppSchema {
    let limits = limits::Limits::from_settings(settings);
    let mut builder = schema_builder()
        .limit_depth(limits.max_depth)
        .limit_complexity(usize::try_from(limits.max_complexity).unwrap_or(usize::MAX))
        .limit_recursive_depth(limits.max_nesting())
        .limit_directives(limits::MAX_DIRECTIVES);
    if !limits.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder
        .data(Writer::new(db.clone()).with_listener(feed.listener()))
        .data(feed.clone())
        .data(std::sync::Arc::new(live::MatrixMemo::default()))
        .data(reader::Reader::pooled(db))
        .finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// What the request reads the database through: its own held connection for a query (see
/// [`reader`]), the pool otherwise.
pub fn db<'a>(ctx: &Context<'a>) -> AppResult<&'a reader::Reader> {
    ctx.data::<reader::Reader>()
        .map_err(|e| AppError::internal(e.message))
}

/// The `DataLoader` of the request.
pub fn loader<'a>(ctx: &Context<'a>) -> AppResult<&'a Loaders> {
    if let Some(loaders) = ctx.data_opt::<Loaders>() {
        return Ok(loaders);
    }
    // A subscription's: shared with the stream that advances its generation.
    ctx.data::<std::sync::Arc<Loaders>>()
        .map(|l| &**l)
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

/// One page of `parent`'s nested `list`, paginated in SQL together with the same page of its
/// siblings (one statement per relation and page, whatever the number of parents).
pub async fn child_connection<L, N>(
    ctx: &Context<'_>,
    list: L,
    parent: i32,
    args: pagination::PageArgs,
    wrap: fn(<L::Entity as sea_orm::EntityTrait>::Model) -> N,
) -> async_graphql::Result<pagination::Conn<N>>
where
    L: loaders::ChildList,
    <L::Entity as sea_orm::EntityTrait>::Model: Sync,
    N: async_graphql::OutputType,
{
    let ordering = L::ordering();
    let page = pagination::PageKey::new(args, &ordering).extend()?;
    let key = loaders::ChildPage {
        list,
        parent,
        page: page.clone(),
    };
    let rows = loader(ctx)
        .extend()?
        .load_one(key)
        .await
        .extend()?
        .unwrap_or_default();
    let count = Box::new(loaders::ChildCount { list, parent });
    Ok(pagination::child_connection(
        rows, &page, &ordering, wrap, count,
    ))
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

/// Runs the domain command `cmd` (or refuses the input it could not be built from) as the
/// request's actor, through the request's [`Writer`]: the whole of a mutation resolver.
pub async fn apply<C: Command>(
    ctx: &Context<'_>,
    cmd: AppResult<C>,
) -> async_graphql::Result<C::Output> {
    let actor = history::actor(ctx)?;
    let writer = ctx
        .data::<Writer>()
        .map_err(|e| AppError::internal(e.message))
        .extend()?;
    writer.run(&actor, &cmd.extend()?).await.extend()
}

/// Counts a nested list through the request's loader, whatever list it is: what a nested
/// connection keeps to answer `totalCount`.
pub trait CountChildren: Send + Sync {
    fn count<'a>(&'a self, loaders: &'a Loaders) -> BoxFuture<'a, AppResult<u64>>;
}
