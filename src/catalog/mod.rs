//! The seed catalog: the handbook's personas, journeys, teams and ownership, embedded from
//! `handbook-catalog.yaml`, and its loader.
//!
//! A load writes through the domain's commands in one change, as the actor `catalog`: the file
//! gets exactly the mutations' validation, invariants and history. Every item is matched by
//! its natural key (slug, or the key of the relation). What the database lacks is created;
//! where it differs from the file, the difference is reported field by field and left alone,
//! so a rerun never undoes an editor's change, unless the load is told to overwrite. A load
//! never deletes. A rerun over an unchanged database writes nothing and bumps no version.

pub mod model;
mod seed;
mod valid;

use crate::domain::audit::Actor;
use crate::domain::catalog_load::{self, RecordCatalogLoad};
use crate::domain::change::Writer;
use crate::error::AppError;
use entity::enums::Responsibility;
use model::{Catalog, ExternalLinkEntry, Raci};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, PaginatorTrait};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The catalog file as shipped in the binary.
pub const CATALOG_YAML: &str = include_str!("handbook-catalog.yaml");

/// How a load treats what editors changed.
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
    /// Rows this load created.
    pub inserted: usize,
    /// Records this load overwrote (0 unless [`SeedOptions::overwrite`]).
    pub updated: usize,
    /// Where the database differs from the file, record by record and field by field.
    pub differences: Vec<Difference>,
}

/// One field of one record where the database and the file disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The record, e.g. `persona dev`, `ownership dev-journey/adopt devex-marketing`.
    pub record: String,
    /// The field, e.g. `summary`, `responsibility`.
    pub field: &'static str,
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

/// Why a load wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file is not a catalog (YAML syntax, an unknown key, a wrong type).
    #[error("the seed catalog cannot be read: {0}")]
    Unreadable(String),
    /// The file's values or references break the catalog's rules; every problem is listed.
    #[error("the seed catalog is invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// A command refused a record (a rule that needs the database), or the database failed.
    #[error("the seed catalog is invalid: {record}: {error}")]
    Refused {
        /// The record being written.
        record: String,
        /// What refused it.
        error: AppError,
    },
}

impl From<AppError> for SeedError {
    fn from(error: AppError) -> Self {
        Self::Refused {
            record: "the catalog".to_owned(),
            error,
        }
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

/// Loads a catalog: parses and checks it whole first, then writes it in one change, so an
/// invalid file, a refused record or a failed write changes nothing.
pub async fn seed_yaml_with(
    db: &DatabaseConnection,
    text: &str,
    options: &SeedOptions,
) -> Result<SeedReport, SeedError> {
    let catalog = parse(text)?;
    check(&catalog)?;
    let writer = Writer::new(db.clone());
    let mut change = writer.begin(&Actor::catalog()).await?;
    catalog_load::serialise(&change).await?;
    let mut report = seed::Seeder::new(&mut change, options.overwrite)
        .run(&catalog)
        .await?;
    change
        .apply(&RecordCatalogLoad {
            inserted: report.inserted,
            updated: report.updated,
        })
        .await?;
    writer.commit(change).await?;
    count(&catalog, &mut report);
    Ok(report)
}

/// What `persona-graph seed` prints: a line per difference, then one of totals.
pub fn summary(report: &SeedReport, options: &SeedOptions) -> String {
    let mut out = String::new();
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

/// Parses a catalog file.
pub fn parse(text: &str) -> Result<Catalog, SeedError> {
    serde_yaml_ng::from_str(text).map_err(|e| SeedError::Unreadable(e.to_string()))
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
    r.memberships = c.people.iter().filter(|p| p.team.is_some()).count();
    r.alignments = c.alignments.len();
    r.journeys = c.journeys.len();
    r.stages = c.journeys.iter().map(|j| j.stages.len()).sum();
    r.ownerships = c
        .ownership
        .values()
        .flat_map(|stages| stages.values())
        .map(|raci| letters(raci).len())
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

/// Checks the references of a catalog: every team, persona, product, person, journey and
/// stage it names must be defined in it, keys must not repeat, and each DRI must be a member
/// of the accountable team. Reports every problem at once.
pub fn check(c: &Catalog) -> Result<(), SeedError> {
    let mut p = Problems(valid::problems(c));
    let products = p.defined("product", c.products.iter().map(|x| x.slug.as_str()));
    let personas = p.defined("persona", c.personas.iter().map(|x| x.slug.as_str()));
    let teams = p.defined("team", c.teams.iter().map(|x| x.slug.as_str()));
    let people = p.defined("person", c.people.iter().map(|x| x.slug.as_str()));
    p.defined("journey", c.journeys.iter().map(|x| x.slug.as_str()));

    for x in &c.personas {
        let place = format!("persona {}", x.slug);
        for r in &x.product_relevance {
            p.known(&products, "product", &r.product, &place);
        }
        p.once("role", x.roles.iter().map(|r| r.to_lowercase()), &place);
        p.once(
            "product",
            x.product_relevance.iter().map(|r| r.product.clone()),
            &place,
        );
        p.once("link url", urls(&x.external_links), &place);
    }
    for l in &c.persona_links {
        let place = format!("persona link {} -> {}", l.from, l.to);
        p.known(&personas, "persona", &l.from, &place);
        p.known(&personas, "persona", &l.to, &place);
        if l.from == l.to {
            p.0.push(format!("{place}: a persona cannot link to itself"));
        }
    }
    p.once(
        "link",
        c.persona_links
            .iter()
            .map(|l| format!("{} -> {} ({})", l.from, l.to, l.kind.as_str())),
        "personaLinks",
    );
    for t in &c.teams {
        p.once(
            "link url",
            urls(&t.external_links),
            &format!("team {}", t.slug),
        );
    }
    for x in &c.people {
        if let Some(t) = &x.team {
            p.known(&teams, "team", t, &format!("person {}", x.slug));
        }
    }
    for a in &c.alignments {
        let place = format!("alignment {} / {}", a.team, a.persona);
        p.known(&teams, "team", &a.team, &place);
        p.known(&personas, "persona", &a.persona, &place);
    }
    p.once(
        "alignment",
        c.alignments
            .iter()
            .map(|a| format!("{} / {}", a.team, a.persona)),
        "alignments",
    );
    for j in &c.journeys {
        let place = format!("journey {}", j.slug);
        for x in &j.personas {
            p.known(&personas, "persona", x, &place);
        }
        p.once("stage", j.stages.iter().map(|s| s.key.clone()), &place);
        p.once("link url", urls(&j.external_links), &place);
        for s in &j.stages {
            p.once(
                "link url",
                urls(&s.external_links),
                &format!("stage {}/{}", j.slug, s.key),
            );
        }
    }

    let stages: HashMap<&str, HashSet<&str>> = c
        .journeys
        .iter()
        .map(|j| {
            (
                j.slug.as_str(),
                j.stages.iter().map(|s| s.key.as_str()).collect(),
            )
        })
        .collect();
    let member_of: HashSet<(&str, &str)> = c
        .people
        .iter()
        .filter_map(|x| Some((x.slug.as_str(), x.team.as_deref()?)))
        .collect();
    for (journey, by_stage) in &c.ownership {
        let Some(keys) = stages.get(journey.as_str()) else {
            p.0.push(format!("ownership: unknown journey `{journey}`"));
            continue;
        };
        for (key, raci) in by_stage {
            let place = format!("ownership {journey}/{key}");
            p.known(keys, "stage", key, &place);
            for (team, _) in letters(raci) {
                p.known(&teams, "team", team, &place);
            }
            p.once(
                "team",
                letters(raci).into_iter().map(|(t, _)| t.to_owned()),
                &place,
            );
            if let Some(dri) = &raci.dri {
                p.known(&people, "person", dri, &place);
                match &raci.accountable {
                    None => p.0.push(format!(
                        "{place}: dri `{dri}` needs an accountable team (A)"
                    )),
                    Some(a)
                        if people.contains(dri.as_str())
                            && !member_of.contains(&(dri.as_str(), a.as_str())) =>
                    {
                        p.0.push(format!(
                            "{place}: dri `{dri}` is not a member of the accountable team `{a}`"
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
    }

    if p.0.is_empty() {
        Ok(())
    } else {
        Err(SeedError::Invalid(p.0))
    }
}

/// The problems found in a catalog, in the order found.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    /// The set of slugs a catalog defines, noting any defined twice.
    fn defined<'a>(
        &mut self,
        what: &str,
        slugs: impl Iterator<Item = &'a str>,
    ) -> HashSet<&'a str> {
        let mut set = HashSet::new();
        for s in slugs {
            if !set.insert(s) {
                self.0
                    .push(format!("{what} `{s}` is defined more than once"));
            }
        }
        set
    }

    /// Notes a reference to something the catalog does not define.
    fn known(&mut self, set: &HashSet<&str>, what: &str, slug: &str, place: &str) {
        if !set.contains(slug) {
            self.0.push(format!("{place}: unknown {what} `{slug}`"));
        }
    }

    /// Notes keys that repeat.
    fn once(&mut self, what: &str, keys: impl IntoIterator<Item = String>, place: &str) {
        let mut seen = HashSet::new();
        for k in keys {
            if seen.contains(&k) {
                self.0
                    .push(format!("{place}: {what} `{k}` appears more than once"));
            }
            seen.insert(k);
        }
    }
}

fn urls(links: &[ExternalLinkEntry]) -> Vec<String> {
    links.iter().map(|l| l.url.clone()).collect()
}

/// The (team, responsibility) pairs of a stage, the ACCOUNTABLE one last: writing it after
/// the others lets a rerun move the accountability between catalog teams without ever
/// holding two ACCOUNTABLE rows (the partial unique index checks every statement).
pub(crate) fn letters(raci: &Raci) -> Vec<(&str, Responsibility)> {
    let mut out: Vec<(&str, Responsibility)> = Vec::new();
    out.extend(
        raci.responsible
            .iter()
            .map(|t| (t.as_str(), Responsibility::Responsible)),
    );
    out.extend(
        raci.consulted
            .iter()
            .map(|t| (t.as_str(), Responsibility::Consulted)),
    );
    out.extend(
        raci.informed
            .iter()
            .map(|t| (t.as_str(), Responsibility::Informed)),
    );
    out.extend(
        raci.accountable
            .iter()
            .map(|t| (t.as_str(), Responsibility::Accountable)),
    );
    out
}
