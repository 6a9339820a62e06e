//! `persona-graph generate`: a deterministic synthetic catalog of a chosen size, for benchmarks
//! and scale tests, written in batches within one transaction.
//!
//! The same options give the same rows, ids and timestamps included, on SQLite and PostgreSQL:
//! every section draws from its own ChaCha8 stream of the seed, so a larger catalog begins with
//! the rows of a smaller one, and journeys, teams and people do not depend on the number of
//! personas.

use crate::domain::types::{Email, LongText, Name, Position, ShortText, Slug, TextList, text_of};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, TimeZone, Utc};
use clap::Args;
use entity::enums::{
    Department, MembershipRole, PainIntensity, PersonaKind, Provenance, Responsibility, Status,
    ValuePropScope,
};
use entity::{
    external_link, journey, journey_stage, person, persona, product, role, stage_ownership, team,
    team_membership,
};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
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

/// Fills a migrated database with the synthetic catalog `opts` describes, in one transaction.
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

/// The rows of a synthetic catalog, before they are written.
#[derive(Debug, Default)]
struct Catalog {
    personas: Vec<persona::Model>,
    roles: Vec<role::Model>,
    teams: Vec<team::Model>,
    people: Vec<person::Model>,
    memberships: Vec<team_membership::Model>,
    journeys: Vec<journey::Model>,
    stages: Vec<journey_stage::Model>,
    ownerships: Vec<stage_ownership::Model>,
    gaps: usize,
}

/// A random stream for one section of the catalog.
struct Draw(ChaCha8Rng);

impl Draw {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self(rng)
    }

    /// A number in `lo..=hi`. The modulo bias is irrelevant for synthetic data, and using
    /// only the raw stream keeps the data independent of any distribution code.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        let span = (hi - lo + 1) as u64;
        lo + (self.0.next_u64() % span) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() - 1)]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.range(0, 99) < percent
    }

    /// `n` distinct indexes of `0..len` (a partial Fisher-Yates shuffle), in drawn order.
    fn distinct(&mut self, n: usize, len: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..len).collect();
        let n = n.min(len);
        for i in 0..n {
            let j = self.range(i, len - 1);
            all.swap(i, j);
        }
        all.truncate(n);
        all
    }

    /// 2 to `most` distinct sentences from `pool`.
    fn phrases(&mut self, pool: &[&str], most: usize) -> Vec<String> {
        let n = self.range(2, most);
        self.distinct(n, pool.len())
            .into_iter()
            .map(|i| pool[i].to_owned())
            .collect()
    }
}

const KINDS: [PersonaKind; 3] = [PersonaKind::Dev, PersonaKind::Buyer, PersonaKind::Admin];

const STREAM_PERSONAS: u64 = 1;
const STREAM_TEAMS: u64 = 2;
const STREAM_PEOPLE: u64 = 3;
const STREAM_JOURNEYS: u64 = 4;

/// Builds every row in memory: ids from 1 in each table, in generation order. Every value
/// goes through the domain's validated types, so a generated catalog obeys the same rules as
/// one built through the API.
fn build(opts: &GenerateOptions) -> AppResult<Catalog> {
    let now = timestamp();
    let mut c = Catalog::default();
    personas(opts, now, &mut c)?;
    teams_and_people(opts, now, &mut c)?;
    journeys(opts, now, &mut c)?;
    Ok(c)
}

fn slug(v: String) -> AppResult<String> {
    Slug::parse("slug", &v).map(String::from)
}

fn name(v: String) -> AppResult<String> {
    Name::parse("name", &v).map(String::from)
}

fn text(v: String) -> AppResult<Option<String>> {
    ShortText::parse_optional("text", Some(&v)).map(text_of)
}

fn long_text(v: String) -> AppResult<Option<String>> {
    LongText::parse_optional("description", Some(&v)).map(text_of)
}

fn list(v: Vec<String>) -> AppResult<serde_json::Value> {
    TextList::parse("list", &v).map(|l| l.to_json())
}

fn id(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn personas(opts: &GenerateOptions, now: DateTime<Utc>, c: &mut Catalog) -> AppResult<()> {
    let mut d = Draw::new(opts.seed, STREAM_PERSONAS);
    let roles = opts.roles_per_persona as usize;
    for i in 1..=opts.personas {
        let kind = KINDS[(i as usize - 1) % KINDS.len()];
        let (titles, trait_words) = match kind {
            PersonaKind::Dev => (DEV_TITLES, DEV_TRAITS),
            PersonaKind::Buyer => (BUYER_TITLES, BUYER_TRAITS),
            PersonaKind::Admin => (ADMIN_TITLES, ADMIN_TRAITS),
        };
        let title = d.pick(titles);
        let flavour = d.pick(trait_words);
        let persona_id = id(c.personas.len() + 1);
        c.personas.push(persona::Model {
            id: persona_id,
            slug: slug(persona_slug(i))?,
            name: name(format!("{flavour} {title} {i}"))?,
            kind,
            status: Status::Active,
            summary: text(format!("{title} who {}.", d.pick(GOALS)))?,
            description: long_text(format!(
                "Synthetic persona {i} for load tests. {} {}",
                d.pick(CONTEXTS),
                d.pick(CONTEXTS)
            ))?,
            pain_points: list(d.phrases(PAINS, 4))?,
            motivations: list(d.phrases(MOTIVATIONS, 3))?,
            pain_intensity: d.chance(80).then(|| {
                *d.pick(&[
                    PainIntensity::Low,
                    PainIntensity::Moderate,
                    PainIntensity::High,
                    PainIntensity::VeryHigh,
                ])
            }),
            pain_intensity_note: None,
            value_prop_scope: d
                .chance(70)
                .then(|| *d.pick(&[ValuePropScope::Narrow, ValuePropScope::Broad])),
            sort_order: id(i as usize),
            provenance: Provenance::Illustrative,
            source_url: None,
            version: 1,
            created_at: now,
            updated_at: now,
        });
        let pool = ROLE_TITLES.len();
        for (k, pick) in d.distinct(roles, pool).into_iter().enumerate() {
            c.roles.push(role::Model {
                id: id(c.roles.len() + 1),
                persona_id,
                title: name(ROLE_TITLES[pick].to_owned())?,
                sort_order: id(k + 1),
                created_at: now,
                updated_at: now,
            });
        }
        // More roles than distinct titles: numbered titles stay unique per persona.
        for k in pool..roles {
            c.roles.push(role::Model {
                id: id(c.roles.len() + 1),
                persona_id,
                title: name(format!("{} {}", ROLE_TITLES[k % pool], k / pool + 1))?,
                sort_order: id(k + 1),
                created_at: now,
                updated_at: now,
            });
        }
    }
    Ok(())
}

fn teams_and_people(opts: &GenerateOptions, now: DateTime<Utc>, c: &mut Catalog) -> AppResult<()> {
    let mut d = Draw::new(opts.seed, STREAM_TEAMS);
    let departments: Vec<Department> = Department::iter().collect();
    for t in 1..=opts.teams {
        let department = departments[(t as usize - 1) % departments.len()];
        c.teams.push(team::Model {
            id: id(t as usize),
            slug: slug(team_slug(t))?,
            name: name(format!(
                "{} {} {t}",
                d.pick(TEAM_WORDS),
                department_name(department)
            ))?,
            department,
            description: long_text(format!("Synthetic team {t}: {}.", d.pick(TEAM_FOCUS)))?,
            version: 1,
            created_at: now,
            updated_at: now,
        });
    }
    // A pool of five people per team; each team draws 3 to 8 of them, so some people are in
    // several teams and some in none.
    let mut p = Draw::new(opts.seed, STREAM_PEOPLE);
    let pool = opts.teams as usize * 5;
    for k in 1..=pool {
        let first = p.pick(FIRST_NAMES);
        let last = p.pick(LAST_NAMES);
        c.people.push(person::Model {
            id: id(k),
            slug: slug(format!("person-{k}"))?,
            name: name(format!("{first} {last}"))?,
            email: Email::parse_optional(
                "email",
                p.chance(90)
                    .then(|| format!("person-{k}@example.com"))
                    .as_deref(),
            )?
            .map(String::from),
            created_at: now,
            updated_at: now,
        });
    }
    for t in 0..opts.teams as usize {
        let size = p.range(3, 8);
        for (n, person) in p.distinct(size, pool).into_iter().enumerate() {
            c.memberships.push(team_membership::Model {
                id: id(c.memberships.len() + 1),
                team_id: id(t + 1),
                person_id: id(person + 1),
                role: if n == 0 {
                    MembershipRole::Lead
                } else {
                    MembershipRole::Member
                },
                created_at: now,
                updated_at: now,
            });
        }
    }
    Ok(())
}

fn journeys(opts: &GenerateOptions, now: DateTime<Utc>, c: &mut Catalog) -> AppResult<()> {
    let mut d = Draw::new(opts.seed, STREAM_JOURNEYS);
    // Members of each team, lead first, for the DRIs.
    let mut members: Vec<Vec<i32>> = vec![Vec::new(); opts.teams as usize];
    for m in &c.memberships {
        members[(m.team_id - 1) as usize].push(m.person_id);
    }
    for kind in KINDS {
        for j in 1..=opts.journeys_per_kind {
            let journey_id = id(c.journeys.len() + 1);
            let label = match kind {
                PersonaKind::Dev => "Developer",
                PersonaKind::Buyer => "Buyer",
                PersonaKind::Admin => "Admin",
            };
            c.journeys.push(journey::Model {
                id: journey_id,
                slug: slug(journey_slug(kind, j))?,
                name: name(format!("{label} journey {j}"))?,
                description: long_text(format!(
                    "Synthetic journey {j} of the {} persona kind.",
                    kind.as_str()
                ))?,
                persona_kind: kind,
                status: Status::Active,
                provenance: Provenance::Illustrative,
                version: 1,
                created_at: now,
                updated_at: now,
            });
            // The first journey of each kind has 10 stages: the dashboard benchmark's matrix.
            let count = if j == 1 { 10 } else { d.range(8, 10) };
            let mut keys = d.distinct(count, STAGES.len());
            keys.sort_unstable();
            for (pos, k) in keys.into_iter().enumerate() {
                let (key, name) = STAGES[k];
                let stage_id = id(c.stages.len() + 1);
                c.stages.push(journey_stage::Model {
                    id: stage_id,
                    journey_id,
                    key: slug(key.to_owned())?,
                    name: self::name(name.to_owned())?,
                    position: Position::of_index(pos).get(),
                    goal: text(format!("The persona {}.", d.pick(GOALS)))?,
                    entry_criteria: text(format!("Entered when {}.", d.pick(SIGNALS)))?,
                    exit_criteria: text(format!("Left when {}.", d.pick(SIGNALS)))?,
                    created_at: now,
                    updated_at: now,
                });
                owners(&mut d, &members, stage_id, now, c);
            }
        }
    }
    Ok(())
}

/// 2 to 4 owning teams of a stage: the first ACCOUNTABLE (its lead as DRI), except for every
/// eighth stage, which is left without one so that `ownershipGaps` has answers.
fn owners(d: &mut Draw, members: &[Vec<i32>], stage_id: i32, now: DateTime<Utc>, c: &mut Catalog) {
    let gap = c.stages.len() % 8 == 5;
    if gap {
        c.gaps += 1;
    }
    let n = d.range(2, 4);
    for (k, t) in d.distinct(n, members.len()).into_iter().enumerate() {
        let responsibility = if k == 0 && !gap {
            Responsibility::Accountable
        } else {
            *d.pick(&[
                Responsibility::Responsible,
                Responsibility::Consulted,
                Responsibility::Informed,
            ])
        };
        let dri = match responsibility {
            Responsibility::Accountable => members[t].first().copied(),
            Responsibility::Responsible if d.chance(50) => Some(*d.pick(&members[t])),
            _ => None,
        };
        c.ownerships.push(stage_ownership::Model {
            id: id(c.ownerships.len() + 1),
            stage_id,
            team_id: id(t + 1),
            person_id: dri,
            responsibility,
            note: d
                .chance(20)
                .then(|| format!("Synthetic ownership note {}.", c.ownerships.len() + 1)),
            created_at: now,
            updated_at: now,
        });
    }
}

fn department_name(d: Department) -> &'static str {
    match d {
        Department::Product => "Product",
        Department::Engineering => "Engineering",
        Department::Design => "Design",
        Department::Marketing => "Marketing",
        Department::Sales => "Sales",
        Department::TechnicalSuccess => "Technical Success",
        Department::DataAnalytics => "Data & Analytics",
        Department::Leadership => "Leadership",
        Department::Other => "Operations",
    }
}

const DEV_TITLES: &[&str] = &[
    "Backend Developer",
    "Frontend Developer",
    "Platform Engineer",
    "Site Reliability Engineer",
    "Mobile Developer",
    "Data Engineer",
    "Full-Stack Developer",
    "Security Engineer",
];
const DEV_TRAITS: &[&str] = &[
    "Pragmatic",
    "Curious",
    "Busy",
    "Senior",
    "Junior",
    "Open-Source",
];
const BUYER_TITLES: &[&str] = &[
    "Engineering Manager",
    "VP of Engineering",
    "CTO",
    "Director of Platform",
    "Head of Developer Experience",
    "Procurement Lead",
];
const BUYER_TRAITS: &[&str] = &[
    "Budget-Minded",
    "Strategic",
    "Enterprise",
    "Mid-Market",
    "Startup",
];
const ADMIN_TITLES: &[&str] = &[
    "Systems Administrator",
    "IT Administrator",
    "DevOps Administrator",
    "Security Administrator",
    "Tooling Owner",
];
const ADMIN_TRAITS: &[&str] = &["Careful", "Overloaded", "Compliance-Focused", "Hands-On"];
const ROLE_TITLES: &[&str] = &[
    "Software Engineer",
    "Senior Software Engineer",
    "Staff Engineer",
    "Principal Engineer",
    "Engineering Manager",
    "Director of Engineering",
    "VP of Engineering",
    "CTO",
    "Platform Engineer",
    "DevOps Engineer",
    "Site Reliability Engineer",
    "Security Engineer",
    "Data Engineer",
    "Frontend Engineer",
    "Backend Engineer",
    "Mobile Engineer",
    "QA Engineer",
    "Technical Lead",
    "Architect",
    "IT Administrator",
    "Systems Administrator",
    "Procurement Manager",
    "Head of Developer Experience",
    "Developer Advocate",
];
const GOALS: &[&str] = &[
    "wants to find code faster",
    "needs to understand a large codebase",
    "ships changes across many repositories",
    "keeps the tooling secure and compliant",
    "justifies the budget for developer tools",
    "onboards new engineers quickly",
    "reduces time spent on code review",
    "standardises how teams search and navigate code",
];
const CONTEXTS: &[&str] = &[
    "Works in a company of several hundred engineers.",
    "Answers to a platform team that owns the developer tools.",
    "Evaluates tools with a small pilot group first.",
    "Prefers self-serve trials over sales calls.",
    "Needs single sign-on and audit logs before any rollout.",
    "Has a monorepo and hundreds of smaller repositories.",
    "Measures success by lead time and incident count.",
];
const PAINS: &[&str] = &[
    "Searching code across repositories is slow",
    "Onboarding takes weeks",
    "Large-scale changes are risky",
    "Nobody knows who owns a service",
    "Security reviews block releases",
    "Tool sprawl costs too much",
    "Context switching between tools",
    "Outdated documentation",
];
const MOTIVATIONS: &[&str] = &[
    "Ship faster",
    "Fewer incidents",
    "Happier engineers",
    "Lower cost per engineer",
    "Consistent code quality",
    "Better visibility into the codebase",
];
const TEAM_WORDS: &[&str] = &[
    "Core",
    "Growth",
    "Platform",
    "Field",
    "Enterprise",
    "Self-Serve",
    "Insights",
    "Launch",
];
const TEAM_FOCUS: &[&str] = &[
    "owns the product experience for this segment",
    "runs campaigns and content",
    "closes and expands accounts",
    "helps customers adopt the product",
    "measures the funnel",
    "builds the integrations",
];
const STAGES: &[(&str, &str)] = &[
    ("discover", "Discover"),
    ("learn", "Learn"),
    ("evaluate", "Evaluate"),
    ("trial", "Trial"),
    ("pilot", "Pilot"),
    ("purchase", "Purchase"),
    ("onboard", "Onboard"),
    ("adopt", "Adopt"),
    ("integrate", "Integrate"),
    ("expand", "Expand"),
    ("renew", "Renew"),
    ("advocate", "Advocate"),
];
const SIGNALS: &[&str] = &[
    "the persona visits the site",
    "a trial starts",
    "a second team joins",
    "the contract is signed",
    "weekly usage passes a threshold",
    "the persona invites colleagues",
    "a support ticket is resolved",
];
const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Barbara",
    "Ken",
    "Margaret",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Guido",
    "Katherine",
    "Bjarne",
    "Hedy",
    "Tim",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Rossum",
    "Johnson",
    "Stroustrup",
    "Lamarr",
    "Berners-Lee",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> GenerateOptions {
        GenerateOptions {
            personas: 30,
            ..GenerateOptions::default()
        }
    }

    #[test]
    fn the_same_options_build_the_same_rows() {
        let (a, b) = (build(&small()).unwrap(), build(&small()).unwrap());
        assert_eq!(a.personas, b.personas);
        assert_eq!(a.roles, b.roles);
        assert_eq!(a.ownerships, b.ownerships);
        assert_eq!(a.memberships, b.memberships);
    }

    #[test]
    fn a_larger_catalog_keeps_the_journeys_teams_and_first_personas_of_a_smaller_one() {
        let big = build(&GenerateOptions {
            personas: 300,
            ..small()
        })
        .unwrap();
        let little = build(&small()).unwrap();
        assert_eq!(little.personas[..], big.personas[..30]);
        assert_eq!(little.stages, big.stages);
        assert_eq!(little.ownerships, big.ownerships);
        assert_eq!(little.people, big.people);
    }

    #[test]
    fn every_stage_has_at_most_one_accountable_owner_and_some_have_none() {
        let c = build(&small()).unwrap();
        let mut accountable = std::collections::HashMap::new();
        for o in &c.ownerships {
            if o.responsibility == Responsibility::Accountable {
                *accountable.entry(o.stage_id).or_insert(0) += 1;
            }
        }
        assert!(accountable.values().all(|&n| n == 1));
        assert_eq!(c.stages.len() - accountable.len(), c.gaps);
        assert!(c.gaps > 0);
    }

    #[test]
    fn dris_are_members_of_their_team() {
        let c = build(&small()).unwrap();
        for o in &c.ownerships {
            if let Some(p) = o.person_id {
                assert!(
                    c.memberships
                        .iter()
                        .any(|m| m.team_id == o.team_id && m.person_id == p)
                );
            }
        }
    }
}
