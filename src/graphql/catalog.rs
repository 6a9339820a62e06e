//! The catalog as code over the API, for admins: `exportCatalog`, `planCatalog` and
//! `applyCatalog`, the same export, plan and apply as the command line's.

use super::history;
use crate::auth::RequireRole;
use crate::catalog::plan::{self as plan_mod, Plan};
use crate::catalog::{self, ApplyOptions, SeedError};
use crate::error::AppError;
use async_graphql::{Context, Enum, ErrorExtensions, Object, Result, ResultExt, SimpleObject};
use entity::api_token::TokenRole;

/// The whole catalog as a YAML file, by natural keys in a fixed order.
#[derive(SimpleObject)]
pub struct CatalogExport {
    /// The catalog version the export was taken at.
    pub catalog_version: i64,
    /// The file: `planCatalog` and `applyCatalog` take it back.
    pub yaml: String,
}

/// What a step does to its record.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CatalogAction")]
pub enum CatalogAction {
    /// Only in the file: created.
    Create,
    /// In both, with different fields: set to the file's.
    Update,
    /// Only in the catalog, with `prune`: deleted.
    Delete,
    /// Only in the catalog, without `prune`: kept.
    Keep,
}

impl From<plan_mod::Action> for CatalogAction {
    fn from(a: plan_mod::Action) -> Self {
        match a {
            plan_mod::Action::Create => Self::Create,
            plan_mod::Action::Update => Self::Update,
            plan_mod::Action::Delete => Self::Delete,
            plan_mod::Action::Keep => Self::Keep,
        }
    }
}

/// One field a step changes.
#[derive(SimpleObject)]
pub struct CatalogFieldChange {
    /// The field, as the file names it (`summary`, `responsibility`, ...).
    pub field: String,
    /// Its value in the catalog, as JSON.
    pub old: String,
    /// Its value in the file, as JSON.
    pub new: String,
}

/// One record's step of a plan.
#[derive(SimpleObject)]
pub struct CatalogPlanStep {
    /// The kind of record: `product`, `persona`, `role`, `relevance`, `persona link`, `team`,
    /// `person`, `membership`, `alignment`, `journey`, `stage`, `external link`, `ownership`.
    pub kind: String,
    /// The record's natural key (`dev`, `dev-journey/adopt`, `dev-journey/adopt/sdr`, ...).
    pub key: String,
    /// What the step does.
    pub action: CatalogAction,
    /// For an update, the fields that change.
    pub fields: Vec<CatalogFieldChange>,
}

/// What applying a catalog file does (or did).
#[derive(SimpleObject)]
pub struct CatalogPlan {
    /// The catalog version the plan was computed at; pass it as `expectVersion` to apply
    /// exactly this plan.
    pub catalog_version: i64,
    /// Whether records absent from the file are deleted.
    pub prune: bool,
    /// Records created.
    pub to_add: i32,
    /// Records updated.
    pub to_change: i32,
    /// Records deleted.
    pub to_delete: i32,
    /// Records absent from the file and kept.
    pub kept: i32,
    /// Whether the plan changes anything.
    pub has_changes: bool,
    /// The steps, in the order they run (deletions first).
    pub steps: Vec<CatalogPlanStep>,
    /// The plan as the command line prints it, ending with `Plan: N to add, N to change, N to
    /// delete.`
    pub text: String,
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<&Plan> for CatalogPlan {
    fn from(p: &Plan) -> Self {
        Self {
            catalog_version: p.catalog_version,
            prune: p.prune,
            to_add: count(p.to_add()),
            to_change: count(p.to_change()),
            to_delete: count(p.to_delete()),
            kept: count(p.kept()),
            has_changes: p.has_changes(),
            steps: p
                .steps
                .iter()
                .map(|s| CatalogPlanStep {
                    kind: s.kind.to_owned(),
                    key: s.key.clone(),
                    action: s.action.into(),
                    fields: s
                        .fields
                        .iter()
                        .map(|f| CatalogFieldChange {
                            field: f.field.clone(),
                            old: f.old.clone(),
                            new: f.new.clone(),
                        })
                        .collect(),
                })
                .collect(),
            text: p.text(),
        }
    }
}

/// A file's refusal as a GraphQL error: its code, and every problem in `extensions.problems`.
fn refusal(e: &SeedError) -> async_graphql::Error {
    if let SeedError::Refused { error, .. } = e
        && error.code() == "INTERNAL"
    {
        return error.extend();
    }
    let problems = e.problems();
    async_graphql::Error::new(e.to_string()).extend_with(|_, ext| {
        ext.set("code", e.code());
        ext.set("problems", problems.clone());
    })
}

/// Reading the catalog as a file (admins only).
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// The whole catalog as YAML, as `persona-graph export` writes it. Admins only.
    #[graphql(guard = "RequireRole(TokenRole::Admin)")]
    async fn export_catalog(&self, ctx: &Context<'_>) -> Result<CatalogExport> {
        let db = super::db(ctx).extend()?;
        let state = catalog::export::read(db)
            .await
            .map_err(|e| AppError::from(e).extend())?;
        let yaml = catalog::export::to_yaml(&state.catalog)
            .map_err(|e| AppError::internal(e.to_string()).extend())?;
        Ok(CatalogExport {
            catalog_version: state.catalog.catalog_version.unwrap_or(0),
            yaml,
        })
    }

    /// What applying a catalog file would do, changing nothing. Admins only. A file with
    /// problems answers `BAD_USER_INPUT` with every problem in `extensions.problems`.
    #[graphql(guard = "RequireRole(TokenRole::Admin)")]
    async fn plan_catalog(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The catalog file, as `exportCatalog` gives it.")] yaml: String,
        #[graphql(desc = "Also delete what the file leaves out.", default = false)] prune: bool,
    ) -> Result<CatalogPlan> {
        let db = super::db(ctx).extend()?;
        let plan = catalog::plan_yaml(db.for_transaction().await, &yaml, prune)
            .await
            .map_err(|e| refusal(&e))?;
        Ok(CatalogPlan::from(&plan))
    }
}

/// Applying a catalog file (admins only).
#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Applies a catalog file in one transaction through the same rules as every mutation,
    /// recorded in the history as the token with the file's digest, and returns what it did
    /// (nothing is written when the file matches the catalog). With `expectVersion`, refuses
    /// with `CONFLICT` (stale plan), changing nothing, when the catalog changed since. Admins
    /// only.
    #[graphql(guard = "RequireRole(TokenRole::Admin)")]
    async fn apply_catalog(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The catalog file, as `exportCatalog` gives it.")] yaml: String,
        #[graphql(desc = "Also delete what the file leaves out.", default = false)] prune: bool,
        #[graphql(desc = "The `catalogVersion` of the plan being applied.")] expect_version: Option<
            i64,
        >,
    ) -> Result<CatalogPlan> {
        let db = super::db(ctx).extend()?;
        let actor = history::actor(ctx)?;
        let options = ApplyOptions {
            prune,
            expect_version,
        };
        let plan = catalog::apply_yaml(db.for_transaction().await, &yaml, &options, &actor)
            .await
            .map_err(|e| refusal(&e))?;
        Ok(CatalogPlan::from(&plan))
    }
}
