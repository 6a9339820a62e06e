//! `persona-graph generate`: a deterministic synthetic catalog of a chosen size, for benchmarks
//! and scale tests, written in batches within one transaction.
//!
//! The same options give the same rows, ids and timestamps included, on SQLite and PostgreSQL:
//! every section draws from its own ChaCha8 stream of the seed, so a larger catalog begins with
//! the rows of a smaller one, and journeys, teams and people do not depend on the number of
//! personas.

mod build;
mod words;

use build::build;

use crate::error::AppError;
use chrono::{DateTime, TimeZone, Utc};
use clap::Args;
use entity::enums::PersonaKind;
use entity::{external_link, journey, person, persona, product, team};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, Iterable, PaginatorTrait,
};
use std::time::{Duration, Instant};

/// The size and shape of a synthetic catalog (`persona-graph generate --help`).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct GenerateOptions {
    /// Number of personas; their kinds cycle through DEV, BUYER and ADMIN.
    #[arg(long, env = "GENERATE_PERSONAS", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub personas: u32,
    /// Example job titles (roles) per persona.
    #[arg(long, env = "GENERATE_ROLES_PER_PERSONA", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=50))]
    pub roles_per_persona: u32,
    /// Journeys per persona kind; the first of each kind has 10 stages, the others 8 to 10.
    #[arg(long, env = "GENERATE_JOURNEYS_PER_KIND", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub journeys_per_kind: u32,
    /// Number of teams; each has 3 to 8 members, and each stage 2 to 4 owning teams.
    #[arg(long, env = "GENERATE_TEAMS", default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub teams: u32,
    /// Seed of the random generator: the same options give the same data.
    #[arg(long, env = "GENERATE_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Clear the catalog tables first instead of refusing a database that holds a catalog.
    #[arg(long, env = "GENERATE_REPLACE")]
    pub replace: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            personas: 1000,
            roles_per_persona: 5,
            journeys_per_kind: 2,
            teams: 50,
            seed: 1,
            replace: false,
        }
    }
}

/// What a generation wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GenerateReport {
    /// Persona rows.
    pub personas: usize,
    /// Role rows.
    pub roles: usize,
    /// Journey rows.
    pub journeys: usize,
    /// Journey stage rows.
    pub stages: usize,
    /// Team rows.
    pub teams: usize,
    /// Person rows.
    pub people: usize,
    /// Team membership rows.
    pub memberships: usize,
    /// Stage ownership rows.
    pub ownerships: usize,
    /// Stages left without an ACCOUNTABLE owner, so `ownershipGaps` has answers.
    pub gaps: usize,
    /// How long it took, clearing and writing.
    pub elapsed: Duration,
}

/// Why a generation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The database already holds catalog rows and `replace` was not asked for.
    #[error(
        "the database already holds a catalog ({personas} personas, {journeys} journeys, \
         {teams} teams); pass --replace to clear it first"
    )]
    NotEmpty {
        /// Personas found.
        personas: u64,
        /// Journeys found.
        journeys: u64,
        /// Teams found.
        teams: u64,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// A generated value broke a rule of the catalog (a defect of the generator).
    #[error("generated an invalid value: {0}")]
    Invalid(#[from] AppError),
}

/// The `created_at` and `updated_at` of every generated row, fixed so that reruns match.
pub fn timestamp() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The slug of the `i`-th persona (from 1).
pub fn persona_slug(i: u32) -> String {
    format!("persona-{i}")
}

/// The slug of the `j`-th journey (from 1) of a persona kind, e.g. `dev-journey-1`.
pub fn journey_slug(kind: PersonaKind, j: u32) -> String {
    format!("{}-journey-{j}", kind.as_str().to_ascii_lowercase())
}

/// The slug of the `t`-th team (from 1).
pub fn team_slug(t: u32) -> String {
    format!("team-{t}")
}

/// Fills a migrated database with the synthetic catalog `opts` describes, in one transaction,
/// then refreshes the planner's statistics.
/// Refuses a database that holds catalog rows unless `opts.replace`, which clears them first.
pub async fn run(
    db: &DatabaseConnection,
    opts: &GenerateOptions,
) -> Result<GenerateReport, GenerateError> {
    let started = Instant::now();
    let catalog = build(opts)?;
    let txn = crate::db::begin_write(db).await?;
    if opts.replace {
        clear(&txn).await?;
    } else {
        let personas = persona::Entity::find().count(&txn).await?;
        let journeys = journey::Entity::find().count(&txn).await?;
        let teams = team::Entity::find().count(&txn).await?;
        let others = person::Entity::find().count(&txn).await?
            + product::Entity::find().count(&txn).await?
            + external_link::Entity::find().count(&txn).await?;
        if personas + journeys + teams + others > 0 {
            return Err(GenerateError::NotEmpty {
                personas,
                journeys,
                teams,
            });
        }
    }
    let mut report = GenerateReport {
        personas: catalog.personas.len(),
        roles: catalog.roles.len(),
        journeys: catalog.journeys.len(),
        stages: catalog.stages.len(),
        teams: catalog.teams.len(),
        people: catalog.people.len(),
        memberships: catalog.memberships.len(),
        ownerships: catalog.ownerships.len(),
        gaps: catalog.gaps,
        elapsed: Duration::ZERO,
    };
    insert(&txn, catalog.personas).await?;
    insert(&txn, catalog.roles).await?;
    insert(&txn, catalog.teams).await?;
    insert(&txn, catalog.people).await?;
    insert(&txn, catalog.memberships).await?;
    insert(&txn, catalog.journeys).await?;
    insert(&txn, catalog.stages).await?;
    insert(&txn, catalog.ownerships).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Explicit ids leave the serial sequences behind; later inserts through the API
        // must continue after the generated rows.
        for table in TABLES {
            txn.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            ))
            .await?;
        }
    }
    txn.commit().await?;
    // The planner's statistics still describe the empty tables (autovacuum gets to them only
    // later): a bulk load is followed by ANALYZE, as PostgreSQL's manual advises, so that the
    // first reads are planned for the rows that are there.
    db.execute_unprepared("ANALYZE").await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The catalog tables, children before parents.
const TABLES: [&str; 14] = [
    "external_link",
    "team_persona_alignment",
    "stage_ownership",
    "team_membership",
    "journey_persona",
    "journey_stage",
    "journey",
    "persona_product_relevance",
    "persona_link",
    "role",
    "persona",
    "product",
    "person",
    "team",
];

/// Deletes every catalog row (not the record of seed loads).
async fn clear(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    for table in TABLES {
        txn.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    Ok(())
}

/// Bound parameters per statement, below `SQLite`'s limit (32,766) and `PostgreSQL`'s (65,535).
const MAX_PARAMS: usize = 30_000;

/// Inserts `rows` in multi-row statements of at most [`MAX_PARAMS`] parameters.
async fn insert<M, A>(txn: &impl ConnectionTrait, rows: Vec<M>) -> Result<(), DbErr>
where
    M: IntoActiveModel<A>,
    A: ActiveModelTrait + Send,
{
    let columns = <<A::Entity as EntityTrait>::Column as Iterable>::iter().count();
    let chunk = (MAX_PARAMS / columns.max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows
            .by_ref()
            .take(chunk)
            .map(|m| m.into_active_model().reset_all())
            .collect();
        A::Entity::insert_many(batch)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
