//! The catalog as code: the whole catalog as a YAML file (`handbook-catalog.yaml` is one, the
//! seed embedded in the binary), exported from the database, planned against it and applied.
//!
//! - [`export`] reads the catalog in the file's shape, by natural keys and in a fixed order.
//! - [`plan_yaml`] compares a file with the database record by record (`+` create, `~` update,
//!   `-` delete with prune, `=` kept) without changing anything.
//! - [`apply_yaml`] makes the same plan inside one change and runs each step's domain command,
//!   so a file gets exactly the mutations' validation, invariants and history; it refuses a
//!   stale plan (`expect_version`) and writes nothing when there is nothing to do.
//! - [`seed_yaml_with`] is the seed's apply: by default only what the database lacks is created
//!   and every other difference is listed and left, so a rerun never undoes an editor's change.
//!
//! Every problem of a file (syntax with line and column, unknown keys, unknown references,
//! duplicates, values the domain refuses) is reported at once, before anything is written.

mod apply;
pub mod export;
pub mod model;
pub mod plan;
mod valid;

pub use valid::check;

use crate::domain::audit::Actor;
use crate::domain::catalog_load::{self, RecordCatalogLoad};
use crate::domain::change::Writer;
use crate::error::AppError;
use model::Catalog;
use plan::{Action, Plan};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, PaginatorTrait};
use sha2::{Digest, Sha256};
use std::fmt;

/// The catalog file as shipped in the binary.
pub const CATALOG_YAML: &str = include_str!("handbook-catalog.yaml");

/// The largest catalog file read, in bytes; a larger one is refused before it is parsed.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// The actor name of changes applied from a catalog file (`persona-graph apply`).
pub const FILE_ACTOR: &str = "catalog-file";

/// How a seed load treats what editors changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedOptions {
    /// Set the fields where the database differs from the file back to the file's values (the
    /// history keeps what they were). Off: report them and leave them.
    pub overwrite: bool,
}

/// What a load found in the catalog and what it wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Personas in the catalog.
    pub personas: usize,
    /// Products in the catalog.
    pub products: usize,
    /// Persona roles (example job titles) in the catalog.
    pub roles: usize,
    /// Persona-to-persona links in the catalog.
    pub persona_links: usize,
    /// Persona-product relevance judgements in the catalog.
    pub relevances: usize,
    /// Teams in the catalog.
    pub teams: usize,
    /// People in the catalog.
    pub people: usize,
    /// Team memberships in the catalog.
    pub memberships: usize,
    /// Team-persona alignments in the catalog.
    pub alignments: usize,
    /// Journeys in the catalog.
    pub journeys: usize,
    /// Journey stages in the catalog.
    pub stages: usize,
    /// Stage ownership (RACI) rows in the catalog.
    pub ownerships: usize,
    /// External links in the catalog.
    pub external_links: usize,
    /// Records this load created.
    pub inserted: usize,
    /// Records this load overwrote (0 unless [`SeedOptions::overwrite`]).
    pub updated: usize,
    /// Where the database differs from the file, record by record and field by field.
    pub differences: Vec<Difference>,
}

/// One field of one record where the database and the file disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The record, e.g. `persona dev`, `ownership dev-journey/adopt/devex-marketing`.
    pub record: String,
    /// The field, e.g. `summary`, `responsibility`.
    pub field: String,
    /// The database's value, as JSON.
    pub database: String,
    /// The file's value, as JSON.
    pub file: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} is {} in the database, {} in the file",
            self.record, self.field, self.database, self.file
        )
    }
}

/// Why a load, plan or apply wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file is not a catalog (YAML syntax, an unknown key, a wrong type), or too large.
    #[error("the catalog file cannot be read: {0}")]
    Unreadable(String),
    /// The file's values or references break the catalog's rules; every problem is listed.
    #[error("the catalog file is invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The catalog changed since the plan was made (`--expect-version`).
    #[error(
        "stale plan: the plan was made at catalog version {expected}, and the catalog is now at version {actual}; plan again"
    )]
    Stale {
        /// The version the plan was made at.
        expected: i64,
        /// The version now.
        actual: i64,
    },
    /// A command refused a record (a rule that needs the database), or the database failed.
    #[error("the catalog file is invalid: {record}: {error}")]
    Refused {
        /// The record being written.
        record: String,
        /// What refused it.
        error: AppError,
    },
}

impl SeedError {
    /// The stable error code of the refusal, as the API reports it.
    pub fn code(&self) -> &'static str {
        match self {
            SeedError::Unreadable(_) | SeedError::Invalid(_) => "BAD_USER_INPUT",
            SeedError::Stale { .. } => "CONFLICT",
            SeedError::Refused { error, .. } => error.code(),
        }
    }

    /// Every problem, one per line.
    pub fn problems(&self) -> Vec<String> {
        match self {
            SeedError::Invalid(p) => p.clone(),
            other => vec![other.to_string()],
        }
    }
}

impl From<AppError> for SeedError {
    fn from(error: AppError) -> Self {
        Self::Refused {
            record: "the catalog".to_owned(),
            error,
        }
    }
}

impl From<DbErr> for SeedError {
    fn from(e: DbErr) -> Self {
        AppError::from(e).into()
    }
}

/// True when the catalog was never loaded into this database and it holds no personas,
/// journeys or teams. Once loaded, editors may delete what they like: a restart does not
/// bring it back.
pub async fn is_empty(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(entity::catalog_seed::Entity::find().count(db).await? == 0
        && entity::persona::Entity::find().count(db).await? == 0
        && entity::journey::Entity::find().count(db).await? == 0
        && entity::team::Entity::find().count(db).await? == 0)
}

/// Loads the shipped catalog, leaving editors' changes alone.
pub async fn seed(db: &DatabaseConnection) -> Result<SeedReport, SeedError> {
    seed_with(db, &SeedOptions::default()).await
}

/// Loads the shipped catalog with `options`.
pub async fn seed_with(
    db: &DatabaseConnection,
    options: &SeedOptions,
) -> Result<SeedReport, SeedError> {
    seed_yaml_with(db, CATALOG_YAML, options).await
}

/// Loads a catalog in the format of `handbook-catalog.yaml`, leaving editors' changes alone.
pub async fn seed_yaml(db: &DatabaseConnection, text: &str) -> Result<SeedReport, SeedError> {
    seed_yaml_with(db, text, &SeedOptions::default()).await
}

/// The seed's apply: the plan of `text` without pruning, of which only the creations run
/// (every update is listed as a difference), or with `overwrite` the updates too. One change,
/// as the actor `catalog`: an invalid file, a refused record or a failed write changes nothing.
pub async fn seed_yaml_with(
    db: &DatabaseConnection,
    text: &str,
    options: &SeedOptions,
) -> Result<SeedReport, SeedError> {
    let catalog = parse(text)?;
    check(&catalog)?;
    let mode = if options.overwrite {
        Mode::Apply
    } else {
        Mode::AddOnly
    };
    let (plan, _) = run(db, &catalog, mode, false, None, &Actor::catalog(), true).await?;
    let mut report = SeedReport::default();
    for s in &plan.steps {
        match s.action {
            Action::Create => report.inserted += 1,
            Action::Update if options.overwrite => report.updated += 1,
            _ => {}
        }
        if s.action == Action::Update {
            for f in &s.fields {
                report.differences.push(Difference {
                    record: format!("{} {}", s.kind, s.key),
                    field: f.field.clone(),
                    database: f.old.clone(),
                    file: f.new.clone(),
                });
            }
        }
    }
    count(&catalog, &mut report);
    Ok(report)
}

/// What a plan or apply was asked to do.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Delete the records the file leaves out.
    pub prune: bool,
    /// Refuse, changing nothing, unless the catalog is still at this version.
    pub expect_version: Option<i64>,
}

/// The whole catalog as `export` writes it.
pub async fn export(db: &DatabaseConnection) -> Result<String, SeedError> {
    let state = export::read(db).await?;
    export::to_yaml(&state.catalog).map_err(|e| SeedError::Unreadable(e.to_string()))
}

/// What applying `text` would do, without doing it.
pub async fn plan_yaml(
    db: &DatabaseConnection,
    text: &str,
    prune: bool,
) -> Result<Plan, SeedError> {
    let catalog = parse(text)?;
    check(&catalog)?;
    let state = export::read(db).await?;
    plan::plan(&state, &catalog, false, prune).map_err(SeedError::Invalid)
}

/// Applies `text` in one change made by `actor` (its name gains the file's digest), through
/// the domain's commands: the plan it ran (nothing is written when it has no changes).
pub async fn apply_yaml(
    db: &DatabaseConnection,
    text: &str,
    options: &ApplyOptions,
    actor: &Actor,
) -> Result<Plan, SeedError> {
    let catalog = parse(text)?;
    check(&catalog)?;
    let tag = format!("{FILE_ACTOR}@sha256:{}", digest(text));
    let actor = Actor {
        token_id: actor.token_id,
        name: if actor.name == FILE_ACTOR {
            tag
        } else {
            format!("{} via {tag}", actor.name)
        },
    };
    let (plan, _) = run(
        db,
        &catalog,
        Mode::Apply,
        options.prune,
        options.expect_version,
        &actor,
        false,
    )
    .await?;
    Ok(plan)
}

/// The actor of a file applied from the command line.
pub fn file_actor() -> Actor {
    Actor {
        token_id: None,
        name: FILE_ACTOR.to_owned(),
    }
}

/// The first 16 hex digits of the SHA-256 of `text`: names a file in the history.
pub fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..16].to_owned()
}

/// Which steps of a plan an apply runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every step.
    Apply,
    /// Only creations; the rest is reported (the seed's default).
    AddOnly,
}

impl Mode {
    fn add_only(self) -> bool {
        self == Mode::AddOnly
    }
}

/// Plans `catalog` inside one change and runs the steps `mode` allows; commits only when
/// something changed (or, for the seed, to note that the catalog was loaded).
async fn run(
    db: &DatabaseConnection,
    catalog: &Catalog,
    mode: Mode,
    prune: bool,
    expect_version: Option<i64>,
    actor: &Actor,
    note_load: bool,
) -> Result<(Plan, bool), SeedError> {
    let writer = Writer::new(db.clone());
    let mut change = writer.begin(actor).await?;
    catalog_load::serialise(&change).await?;
    let state = export::read(change.db()).await?;
    let version = state.catalog.catalog_version.unwrap_or(0);
    if let Some(expected) = expect_version
        && expected != version
    {
        return Err(SeedError::Stale {
            expected,
            actual: version,
        });
    }
    let mut plan =
        plan::plan(&state, catalog, mode.add_only(), prune).map_err(SeedError::Invalid)?;
    if mode.add_only() {
        for s in &mut plan.steps {
            if s.action != Action::Create {
                s.op = None;
            }
        }
    }
    let runs = plan
        .steps
        .iter()
        .any(|s| s.op.is_some() && s.action != Action::Keep);
    if !runs && (!note_load || loaded_before(change.db()).await?) {
        // Nothing to write: the transaction ends with nothing in it.
        drop(change);
        return Ok((plan, false));
    }
    apply::run(&mut change, &plan)
        .await
        .map_err(|(record, error)| SeedError::Refused { record, error })?;
    let (inserted, updated) = (plan.to_add(), plan.to_change());
    change
        .apply(&RecordCatalogLoad { inserted, updated })
        .await?;
    writer.commit(change).await?;
    Ok((plan, true))
}

async fn loaded_before(db: &sea_orm::DatabaseTransaction) -> Result<bool, DbErr> {
    Ok(entity::catalog_seed::Entity::find().count(db).await? > 0)
}

/// What `persona-graph seed` prints: a line per difference, then one of totals.
pub fn summary(report: &SeedReport, options: &SeedOptions) -> String {
    let mut out = String::from(if options.overwrite {
        "Seed: the plan of the embedded catalog file, applied without deleting anything.\n"
    } else {
        "Seed: the plan of the embedded catalog file, of which only what the database lacks is created; nothing is deleted and what editors changed is left.\n"
    });
    for d in &report.differences {
        out.push_str(&format!("~ {d}\n"));
    }
    let kept = if options.overwrite {
        "set to the file's values"
    } else {
        "kept; --overwrite sets them to the file's values"
    };
    out.push_str(&format!(
        "Seed: {} created, {} overwritten, {} fields differ from the file ({kept}).\n",
        report.inserted,
        report.updated,
        report.differences.len()
    ));
    out
}

/// Parses a catalog file: syntax errors and unknown keys name their line and column.
pub fn parse(text: &str) -> Result<Catalog, SeedError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(SeedError::Unreadable(format!(
            "the file is {} bytes; the limit is {MAX_FILE_BYTES}",
            text.len()
        )));
    }
    let catalog: Catalog =
        serde_yaml_ng::from_str(text).map_err(|e| SeedError::Unreadable(e.to_string()))?;
    // An empty or truncated file would plan the deletion of everything with --prune.
    if catalog.products.is_empty()
        && catalog.personas.is_empty()
        && catalog.teams.is_empty()
        && catalog.people.is_empty()
        && catalog.journeys.is_empty()
    {
        return Err(SeedError::Unreadable(
            "the file holds no catalog: no products, personas, teams, people or journeys"
                .to_owned(),
        ));
    }
    Ok(catalog)
}

/// The catalog's own counts, by kind of record.
fn count(c: &Catalog, r: &mut SeedReport) {
    r.products = c.products.len();
    r.personas = c.personas.len();
    r.roles = c.personas.iter().map(|p| p.roles.len()).sum();
    r.relevances = c.personas.iter().map(|p| p.product_relevance.len()).sum();
    r.persona_links = c.persona_links.len();
    r.teams = c.teams.len();
    r.people = c.people.len();
    r.memberships = c.people.iter().map(|p| p.teams().len()).sum();
    r.alignments = c.alignments.len();
    r.journeys = c.journeys.len();
    r.stages = c.journeys.iter().map(|j| j.stages.len()).sum();
    r.ownerships = c
        .ownership
        .values()
        .flat_map(|stages| stages.values())
        .map(|raci| valid::letters(raci).len())
        .sum();
    r.external_links = c
        .personas
        .iter()
        .map(|p| p.external_links.len())
        .sum::<usize>()
        + c.teams
            .iter()
            .map(|t| t.external_links.len())
            .sum::<usize>()
        + c.journeys
            .iter()
            .map(|j| {
                j.external_links.len()
                    + j.stages
                        .iter()
                        .map(|s| s.external_links.len())
                        .sum::<usize>()
            })
            .sum::<usize>();
}
