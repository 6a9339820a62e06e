//! The seed catalog: the handbook's personas, journeys, teams and ownership, embedded from
//! `handbook-catalog.yaml` and loaded idempotently in one transaction.
//!
//! Every catalog item is matched by its natural key (slug, or the key of the relation) and
//! written only when a catalog field differs from the database, so a rerun over an unchanged
//! database writes nothing and bumps no version. A rerun after editors changed things restores
//! the fields the file gives for catalog items and never deletes rows editors added; optional
//! fields the file leaves out are set on insert and left alone afterwards.

pub mod model;
mod valid;

use chrono::{DateTime, Utc};
use entity::enums::{MembershipRole, Provenance, Responsibility, Status, SubjectType};
use entity::{
    external_link, journey, journey_persona, journey_stage, person, persona, persona_link,
    persona_product_relevance, product, role, stage_ownership, team, team_membership,
    team_persona_alignment,
};
use model::{Catalog, ExternalLinkEntry, Raci};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel, Iterable, ModelTrait, PaginatorTrait,
    PrimaryKeyToColumn, QueryFilter, QueryOrder,
};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The catalog file as shipped in the binary.
pub const CATALOG_YAML: &str = include_str!("handbook-catalog.yaml");

/// What a seed run found in the catalog and what it wrote.
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
    /// Rows this run inserted.
    pub inserted: usize,
    /// Rows this run changed (0 when the database already matched the catalog).
    pub updated: usize,
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

/// Loads the seed catalog (upsert by natural key; safe to rerun).
pub async fn seed(db: &DatabaseConnection) -> Result<SeedReport, DbErr> {
    seed_yaml(db, CATALOG_YAML).await
}

/// Loads a catalog in the format of `handbook-catalog.yaml`: parses and validates it first,
/// then writes it in one transaction, so an invalid file or a failed write changes nothing.
pub async fn seed_yaml(db: &DatabaseConnection, text: &str) -> Result<SeedReport, DbErr> {
    let catalog = parse(text)?;
    check(&catalog)?;
    let txn = begin(db).await?;
    let report = Seeder {
        txn: &txn,
        now: Utc::now(),
        report: SeedReport::default(),
    }
    .run(&catalog)
    .await?;
    entity::catalog_seed::ActiveModel {
        inserted: sea_orm::ActiveValue::Set(i32::try_from(report.inserted).unwrap_or(i32::MAX)),
        updated: sea_orm::ActiveValue::Set(i32::try_from(report.updated).unwrap_or(i32::MAX)),
        loaded_at: sea_orm::ActiveValue::Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(report)
}

/// Parses a catalog file.
pub fn parse(text: &str) -> Result<Catalog, DbErr> {
    serde_yaml_ng::from_str(text)
        .map_err(|e| DbErr::Custom(format!("the seed catalog cannot be read: {e}")))
}

/// Checks the references of a catalog: every team, persona, product, person, journey and
/// stage it names must be defined in it, keys must not repeat, and each DRI must be a member
/// of the accountable team. Reports every problem at once.
pub fn check(c: &Catalog) -> Result<(), DbErr> {
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
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
    }

    if p.0.is_empty() {
        Ok(())
    } else {
        Err(DbErr::Custom(format!(
            "the seed catalog is invalid: {}",
            p.0.join("; ")
        )))
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
fn letters(raci: &Raci) -> Vec<(&str, Responsibility)> {
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

/// A write transaction that also serialises concurrent seeds on PostgreSQL.
async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Replicas started with `--seed` at the same moment would otherwise both insert the
        // same slugs; the second waits here and then finds everything in place.
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7308604759866453057)")
            .await?;
    }
    Ok(txn)
}

type ModelOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;

/// Indexes rows by a key.
fn index<M, K: std::hash::Hash + Eq>(rows: Vec<M>, key: impl Fn(&M) -> K) -> HashMap<K, M> {
    rows.into_iter().map(|m| (key(&m), m)).collect()
}

fn json_list(items: &[String]) -> serde_json::Value {
    serde_json::Value::Array(
        items
            .iter()
            .cloned()
            .map(serde_json::Value::String)
            .collect(),
    )
}

/// One seed run inside its transaction.
struct Seeder<'a> {
    txn: &'a DatabaseTransaction,
    now: DateTime<Utc>,
    report: SeedReport,
}

/// Slug -> ID of the catalog items written so far (stages: `journey/key`).
type Ids = HashMap<String, i32>;

/// The ID of a slug `check` has already found in the catalog.
fn id(ids: &Ids, slug: &str) -> Result<i32, DbErr> {
    ids.get(slug)
        .copied()
        .ok_or_else(|| DbErr::Custom(format!("the seed catalog is invalid: unknown `{slug}`")))
}

fn stage_key(journey: &str, key: &str) -> String {
    format!("{journey}/{key}")
}

impl Seeder<'_> {
    /// Inserts `desired` when there is no `current` row, or writes the columns that differ
    /// from it after `touch` (timestamps, version); writes nothing when they are equal.
    /// Answers the row as stored and whether it was written.
    async fn put<A>(
        &mut self,
        current: Option<&ModelOf<A>>,
        mut desired: ModelOf<A>,
        touch: impl FnOnce(&mut ModelOf<A>),
    ) -> Result<(ModelOf<A>, bool), DbErr>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        ModelOf<A>: IntoActiveModel<A> + PartialEq,
    {
        match current {
            Some(current) if *current == desired => Ok((desired, false)),
            Some(current) => {
                touch(&mut desired);
                let mut am = current.clone().into_active_model();
                for col in <A::Entity as EntityTrait>::Column::iter() {
                    let value = desired.get(col);
                    if current.get(col) != value {
                        am.try_set(col, value)?;
                    }
                }
                let row = am.update(self.txn).await?;
                self.report.updated += 1;
                Ok((row, true))
            }
            None => {
                let mut am = desired.into_active_model().reset_all();
                for key in <A::Entity as EntityTrait>::PrimaryKey::iter() {
                    am.not_set(key.into_column());
                }
                let row = am.insert(self.txn).await?;
                self.report.inserted += 1;
                Ok((row, true))
            }
        }
    }

    async fn run(mut self, c: &Catalog) -> Result<SeedReport, DbErr> {
        let products = self.products(c).await?;
        let personas = self.personas(c, &products).await?;
        self.persona_links(c, &personas).await?;
        let teams = self.teams(c).await?;
        let people = self.people(c, &teams).await?;
        self.alignments(c, &teams, &personas).await?;
        let stages = self.journeys(c, &personas).await?;
        self.ownership(c, &stages, &teams, &people).await?;
        Ok(self.report)
    }

    async fn products(&mut self, c: &Catalog) -> Result<Ids, DbErr> {
        let now = self.now;
        let slugs = c.products.iter().map(|p| p.slug.clone());
        let existing = product::Entity::find()
            .filter(product::Column::Slug.is_in(slugs))
            .all(self.txn)
            .await?;
        let existing = index(existing, |m| m.slug.clone());
        let mut ids = Ids::new();
        for p in &c.products {
            let current = existing.get(&p.slug);
            let mut d = current.cloned().unwrap_or_else(|| product::Model {
                id: 0,
                slug: p.slug.clone(),
                name: String::new(),
                provenance: Provenance::Illustrative,
                created_at: now,
                updated_at: now,
            });
            d.name = p.name.clone();
            d.provenance = p.provenance.unwrap_or(Provenance::Illustrative);
            let (row, _) = self
                .put::<product::ActiveModel>(current, d, |m| m.updated_at = now)
                .await?;
            ids.insert(p.slug.clone(), row.id);
        }
        self.report.products = c.products.len();
        Ok(ids)
    }

    /// Personas with their roles, product relevance and external links.
    async fn personas(&mut self, c: &Catalog, products: &Ids) -> Result<Ids, DbErr> {
        let now = self.now;
        let slugs = c.personas.iter().map(|p| p.slug.clone());
        let existing = persona::Entity::find()
            .filter(persona::Column::Slug.is_in(slugs))
            .all(self.txn)
            .await?;
        let existing = index(existing, |m| m.slug.clone());
        let mut ids = Ids::new();
        for p in &c.personas {
            let current = existing.get(&p.slug);
            let mut d = current.cloned().unwrap_or_else(|| persona::Model {
                id: 0,
                slug: p.slug.clone(),
                name: String::new(),
                kind: p.kind,
                status: Status::Active,
                summary: None,
                description: None,
                pain_points: json_list(&[]),
                motivations: json_list(&[]),
                pain_intensity: None,
                pain_intensity_note: None,
                value_prop_scope: None,
                sort_order: 0,
                provenance: Provenance::Illustrative,
                source_url: None,
                version: 1,
                created_at: now,
                updated_at: now,
            });
            d.name = p.name.clone();
            d.kind = p.kind;
            d.provenance = p.provenance.unwrap_or(Provenance::Illustrative);
            if let Some(v) = p.status {
                d.status = v;
            }
            if let Some(v) = p.sort_order {
                d.sort_order = v;
            }
            if let Some(v) = &p.summary {
                d.summary = Some(v.clone());
            }
            if let Some(v) = &p.description {
                d.description = Some(v.clone());
            }
            if let Some(v) = &p.pain_points {
                d.pain_points = json_list(v);
            }
            if let Some(v) = &p.motivations {
                d.motivations = json_list(v);
            }
            if let Some(v) = p.pain_intensity {
                d.pain_intensity = Some(v);
            }
            if let Some(v) = &p.pain_intensity_note {
                d.pain_intensity_note = Some(v.clone());
            }
            if let Some(v) = p.value_prop_scope {
                d.value_prop_scope = Some(v);
            }
            if let Some(v) = &p.source_url {
                d.source_url = Some(v.clone());
            }
            let (row, _) = self
                .put::<persona::ActiveModel>(current, d, |m| {
                    m.version += 1;
                    m.updated_at = now;
                })
                .await?;
            ids.insert(p.slug.clone(), row.id);
        }
        self.report.personas = c.personas.len();

        let persona_ids = ids.values().copied().collect::<Vec<_>>();
        let roles = role::Entity::find()
            .filter(role::Column::PersonaId.is_in(persona_ids.clone()))
            .all(self.txn)
            .await?;
        let roles = index(roles, |m| (m.persona_id, m.title.to_lowercase()));
        let relevances = persona_product_relevance::Entity::find()
            .filter(persona_product_relevance::Column::PersonaId.is_in(persona_ids))
            .all(self.txn)
            .await?;
        let relevances = index(relevances, |m| (m.persona_id, m.product_id));
        for p in &c.personas {
            let persona_id = id(&ids, &p.slug)?;
            let provenance = p.provenance.unwrap_or(Provenance::Illustrative);
            for (i, title) in p.roles.iter().enumerate() {
                let current = roles.get(&(persona_id, title.to_lowercase()));
                let mut d = current.cloned().unwrap_or_else(|| role::Model {
                    id: 0,
                    persona_id,
                    title: String::new(),
                    sort_order: 0,
                    created_at: now,
                    updated_at: now,
                });
                d.title = title.clone();
                d.sort_order = i as i32 + 1;
                self.put::<role::ActiveModel>(current, d, |m| m.updated_at = now)
                    .await?;
            }
            for r in &p.product_relevance {
                let product_id = id(products, &r.product)?;
                let current = relevances.get(&(persona_id, product_id));
                let mut d = current
                    .cloned()
                    .unwrap_or(persona_product_relevance::Model {
                        id: 0,
                        persona_id,
                        product_id,
                        level: r.level,
                        note: None,
                        provenance,
                        created_at: now,
                        updated_at: now,
                    });
                d.level = r.level;
                d.provenance = r.provenance.unwrap_or(provenance);
                if let Some(v) = &r.note {
                    d.note = Some(v.clone());
                }
                self.put::<persona_product_relevance::ActiveModel>(current, d, |m| {
                    m.updated_at = now
                })
                .await?;
            }
            self.report.roles += p.roles.len();
            self.report.relevances += p.product_relevance.len();
            self.external_links(SubjectType::Persona, persona_id, &p.external_links)
                .await?;
        }
        Ok(ids)
    }

    async fn persona_links(&mut self, c: &Catalog, personas: &Ids) -> Result<(), DbErr> {
        let now = self.now;
        let from = c
            .persona_links
            .iter()
            .filter_map(|l| personas.get(&l.from).copied());
        let existing = persona_link::Entity::find()
            .filter(persona_link::Column::FromPersonaId.is_in(from))
            .all(self.txn)
            .await?;
        let existing = index(existing, |m| (m.from_persona_id, m.to_persona_id, m.kind));
        let provenance: HashMap<&str, Provenance> = c
            .personas
            .iter()
            .map(|p| {
                (
                    p.slug.as_str(),
                    p.provenance.unwrap_or(Provenance::Illustrative),
                )
            })
            .collect();
        for l in &c.persona_links {
            let (from, to) = (id(personas, &l.from)?, id(personas, &l.to)?);
            let current = existing.get(&(from, to, l.kind));
            let mut d = current.cloned().unwrap_or(persona_link::Model {
                id: 0,
                from_persona_id: from,
                to_persona_id: to,
                kind: l.kind,
                note: None,
                provenance: Provenance::Illustrative,
                created_at: now,
                updated_at: now,
            });
            d.provenance = l
                .provenance
                .or_else(|| provenance.get(l.from.as_str()).copied())
                .unwrap_or(Provenance::Illustrative);
            if let Some(v) = &l.note {
                d.note = Some(v.clone());
            }
            self.put::<persona_link::ActiveModel>(current, d, |m| m.updated_at = now)
                .await?;
        }
        self.report.persona_links = c.persona_links.len();
        Ok(())
    }

    async fn teams(&mut self, c: &Catalog) -> Result<Ids, DbErr> {
        let now = self.now;
        let slugs = c.teams.iter().map(|t| t.slug.clone());
        let existing = team::Entity::find()
            .filter(team::Column::Slug.is_in(slugs))
            .all(self.txn)
            .await?;
        let existing = index(existing, |m| m.slug.clone());
        let mut ids = Ids::new();
        for t in &c.teams {
            let current = existing.get(&t.slug);
            let mut d = current.cloned().unwrap_or_else(|| team::Model {
                id: 0,
                slug: t.slug.clone(),
                name: String::new(),
                department: t.department,
                description: None,
                version: 1,
                created_at: now,
                updated_at: now,
            });
            d.name = t.name.clone();
            d.department = t.department;
            if let Some(v) = &t.description {
                d.description = Some(v.clone());
            }
            let (row, _) = self
                .put::<team::ActiveModel>(current, d, |m| {
                    m.version += 1;
                    m.updated_at = now;
                })
                .await?;
            ids.insert(t.slug.clone(), row.id);
            self.external_links(SubjectType::Team, row.id, &t.external_links)
                .await?;
        }
        self.report.teams = c.teams.len();
        Ok(ids)
    }

    /// People and their team memberships.
    async fn people(&mut self, c: &Catalog, teams: &Ids) -> Result<Ids, DbErr> {
        let now = self.now;
        let slugs = c.people.iter().map(|p| p.slug.clone());
        let existing = person::Entity::find()
            .filter(person::Column::Slug.is_in(slugs))
            .all(self.txn)
            .await?;
        let existing = index(existing, |m| m.slug.clone());
        let mut ids = Ids::new();
        for p in &c.people {
            let current = existing.get(&p.slug);
            let mut d = current.cloned().unwrap_or_else(|| person::Model {
                id: 0,
                slug: p.slug.clone(),
                name: String::new(),
                email: None,
                created_at: now,
                updated_at: now,
            });
            d.name = p.name.clone();
            if let Some(v) = &p.email {
                d.email = Some(v.clone());
            }
            let (row, _) = self
                .put::<person::ActiveModel>(current, d, |m| m.updated_at = now)
                .await?;
            ids.insert(p.slug.clone(), row.id);
        }
        self.report.people = c.people.len();

        let memberships = team_membership::Entity::find()
            .filter(team_membership::Column::PersonId.is_in(ids.values().copied()))
            .all(self.txn)
            .await?;
        let memberships = index(memberships, |m| (m.team_id, m.person_id));
        for p in &c.people {
            let Some(team) = &p.team else { continue };
            let (team_id, person_id) = (id(teams, team)?, id(&ids, &p.slug)?);
            let current = memberships.get(&(team_id, person_id));
            let mut d = current.cloned().unwrap_or(team_membership::Model {
                id: 0,
                team_id,
                person_id,
                role: MembershipRole::Member,
                created_at: now,
                updated_at: now,
            });
            if let Some(v) = p.role {
                d.role = v;
            }
            self.put::<team_membership::ActiveModel>(current, d, |m| m.updated_at = now)
                .await?;
            self.report.memberships += 1;
        }
        Ok(ids)
    }

    async fn alignments(&mut self, c: &Catalog, teams: &Ids, personas: &Ids) -> Result<(), DbErr> {
        let now = self.now;
        let existing = team_persona_alignment::Entity::find()
            .filter(team_persona_alignment::Column::TeamId.is_in(teams.values().copied()))
            .all(self.txn)
            .await?;
        let existing = index(existing, |m| (m.team_id, m.persona_id));
        let provenance: HashMap<&str, Provenance> = c
            .personas
            .iter()
            .map(|p| {
                (
                    p.slug.as_str(),
                    p.provenance.unwrap_or(Provenance::Illustrative),
                )
            })
            .collect();
        for a in &c.alignments {
            let (team_id, persona_id) = (id(teams, &a.team)?, id(personas, &a.persona)?);
            let current = existing.get(&(team_id, persona_id));
            let mut d = current.cloned().unwrap_or(team_persona_alignment::Model {
                id: 0,
                team_id,
                persona_id,
                level: a.level,
                motion: None,
                provenance: Provenance::Illustrative,
                created_at: now,
                updated_at: now,
            });
            d.level = a.level;
            d.provenance = a
                .provenance
                .or_else(|| provenance.get(a.persona.as_str()).copied())
                .unwrap_or(Provenance::Illustrative);
            if let Some(v) = a.motion {
                d.motion = Some(v);
            }
            self.put::<team_persona_alignment::ActiveModel>(current, d, |m| m.updated_at = now)
                .await?;
        }
        self.report.alignments = c.alignments.len();
        Ok(())
    }

    /// Journeys, their narrowing, stages and external links. Answers the stage IDs by
    /// `journey/key`.
    async fn journeys(&mut self, c: &Catalog, personas: &Ids) -> Result<Ids, DbErr> {
        let now = self.now;
        let slugs = c.journeys.iter().map(|j| j.slug.clone());
        let existing = journey::Entity::find()
            .filter(journey::Column::Slug.is_in(slugs))
            .all(self.txn)
            .await?;
        let existing = index(existing, |m| m.slug.clone());
        let mut stage_ids = Ids::new();
        for j in &c.journeys {
            let current = existing.get(&j.slug);
            let mut d = current.cloned().unwrap_or_else(|| journey::Model {
                id: 0,
                slug: j.slug.clone(),
                name: String::new(),
                description: None,
                persona_kind: j.persona_kind,
                status: Status::Active,
                provenance: Provenance::Illustrative,
                version: 1,
                created_at: now,
                updated_at: now,
            });
            d.name = j.name.clone();
            d.persona_kind = j.persona_kind;
            d.provenance = j.provenance.unwrap_or(Provenance::Illustrative);
            if let Some(v) = j.status {
                d.status = v;
            }
            if let Some(v) = &j.description {
                d.description = Some(v.clone());
            }
            let (row, bumped) = self
                .put::<journey::ActiveModel>(current, d, |m| {
                    m.version += 1;
                    m.updated_at = now;
                })
                .await?;

            let narrowed = journey_persona::Entity::find()
                .filter(journey_persona::Column::JourneyId.eq(row.id))
                .all(self.txn)
                .await?;
            let narrowed: HashSet<i32> = narrowed.iter().map(|m| m.persona_id).collect();
            for p in &j.personas {
                let persona_id = id(personas, p)?;
                if !narrowed.contains(&persona_id) {
                    let d = journey_persona::Model {
                        id: 0,
                        journey_id: row.id,
                        persona_id,
                        created_at: now,
                        updated_at: now,
                    };
                    self.put::<journey_persona::ActiveModel>(None, d, |_| {})
                        .await?;
                }
            }

            let stages_changed = self.stages(j, row.id, &mut stage_ids).await?;
            // Stages belong to the journey aggregate: an editor holding the old version must
            // reload after the seed reordered or restored them.
            if stages_changed && current.is_some() && !bumped {
                journey::Entity::update_many()
                    .col_expr(
                        journey::Column::Version,
                        Expr::col(journey::Column::Version).add(1),
                    )
                    .col_expr(journey::Column::UpdatedAt, Expr::value(now))
                    .filter(journey::Column::Id.eq(row.id))
                    .exec(self.txn)
                    .await?;
                self.report.updated += 1;
            }
            self.external_links(SubjectType::Journey, row.id, &j.external_links)
                .await?;
        }
        self.report.journeys = c.journeys.len();
        Ok(stage_ids)
    }

    /// Puts the catalog stages of one journey at positions 1..n in file order. Stages an
    /// editor added stay, right after the catalog stage they followed, and the positions of
    /// the whole journey stay 1..n without gaps. Answers whether anything was written.
    async fn stages(
        &mut self,
        j: &model::JourneyEntry,
        journey_id: i32,
        ids: &mut Ids,
    ) -> Result<bool, DbErr> {
        let now = self.now;
        let existing = journey_stage::Entity::find()
            .filter(journey_stage::Column::JourneyId.eq(journey_id))
            .order_by_asc(journey_stage::Column::Position)
            .order_by_asc(journey_stage::Column::Id)
            .all(self.txn)
            .await?;
        let catalog_keys: HashSet<&str> = j.stages.iter().map(|s| s.key.as_str()).collect();
        let mut extras_after: HashMap<Option<String>, Vec<journey_stage::Model>> = HashMap::new();
        let mut last_catalog: Option<String> = None;
        for s in &existing {
            if catalog_keys.contains(s.key.as_str()) {
                last_catalog = Some(s.key.clone());
            } else {
                extras_after
                    .entry(last_catalog.clone())
                    .or_default()
                    .push(s.clone());
            }
        }
        let by_key = index(existing.clone(), |m| m.key.clone());

        // The final order: (current row, desired row) per position.
        let mut order: Vec<(Option<journey_stage::Model>, journey_stage::Model)> = Vec::new();
        for extra in extras_after.remove(&None).unwrap_or_default() {
            order.push((Some(extra.clone()), extra));
        }
        for s in &j.stages {
            let current = by_key.get(&s.key).cloned();
            let mut d = current.clone().unwrap_or_else(|| journey_stage::Model {
                id: 0,
                journey_id,
                key: s.key.clone(),
                name: String::new(),
                position: 0,
                goal: None,
                entry_criteria: None,
                exit_criteria: None,
                created_at: now,
                updated_at: now,
            });
            d.name = s.name.clone();
            if let Some(v) = &s.goal {
                d.goal = Some(v.clone());
            }
            if let Some(v) = &s.entry_criteria {
                d.entry_criteria = Some(v.clone());
            }
            if let Some(v) = &s.exit_criteria {
                d.exit_criteria = Some(v.clone());
            }
            order.push((current, d));
            for extra in extras_after
                .remove(&Some(s.key.clone()))
                .unwrap_or_default()
            {
                order.push((Some(extra.clone()), extra));
            }
        }
        for (i, (_, d)) in order.iter_mut().enumerate() {
            d.position = i as i32 + 1;
        }

        // (journey, position) is unique: park every row that moves on a position no row
        // can hold (minus its ID) before writing the final positions.
        for (current, d) in &order {
            if let Some(c) = current.as_ref().filter(|c| c.position != d.position) {
                journey_stage::Entity::update_many()
                    .col_expr(journey_stage::Column::Position, Expr::value(-c.id))
                    .filter(journey_stage::Column::Id.eq(c.id))
                    .exec(self.txn)
                    .await?;
            }
        }
        let mut changed = false;
        for (current, d) in order {
            let key = d.key.clone();
            let catalog = catalog_keys.contains(key.as_str());
            let (row, written) = self
                .put::<journey_stage::ActiveModel>(current.as_ref(), d, |m| m.updated_at = now)
                .await?;
            changed |= written;
            if catalog {
                ids.insert(stage_key(&j.slug, &key), row.id);
            }
        }
        for s in &j.stages {
            let stage_id = id(ids, &stage_key(&j.slug, &s.key))?;
            self.external_links(SubjectType::Stage, stage_id, &s.external_links)
                .await?;
        }
        self.report.stages += j.stages.len();
        Ok(changed)
    }

    /// Stage ownership from the RACI map. Catalog rows get their letter back; where the
    /// catalog names an accountable team and an editor made another team ACCOUNTABLE, that
    /// row is kept as RESPONSIBLE (a stage has at most one ACCOUNTABLE owner).
    async fn ownership(
        &mut self,
        c: &Catalog,
        stages: &Ids,
        teams: &Ids,
        people: &Ids,
    ) -> Result<(), DbErr> {
        let now = self.now;
        let existing = stage_ownership::Entity::find()
            .filter(stage_ownership::Column::StageId.is_in(stages.values().copied()))
            .order_by_asc(stage_ownership::Column::Id)
            .all(self.txn)
            .await?;
        let mut by_stage: HashMap<i32, Vec<stage_ownership::Model>> = HashMap::new();
        for o in existing {
            by_stage.entry(o.stage_id).or_default().push(o);
        }
        for (journey, by_key) in &c.ownership {
            for (key, raci) in by_key {
                let stage_id = id(stages, &stage_key(journey, key))?;
                let rows = by_stage.remove(&stage_id).unwrap_or_default();
                let catalog_teams: BTreeSet<i32> = letters(raci)
                    .iter()
                    .filter_map(|(t, _)| teams.get(*t).copied())
                    .collect();
                if raci.accountable.is_some() {
                    for other in rows.iter().filter(|o| {
                        o.responsibility == Responsibility::Accountable
                            && !catalog_teams.contains(&o.team_id)
                    }) {
                        let d = stage_ownership::Model {
                            responsibility: Responsibility::Responsible,
                            ..other.clone()
                        };
                        self.put::<stage_ownership::ActiveModel>(Some(other), d, |m| {
                            m.updated_at = now
                        })
                        .await?;
                    }
                }
                for (team, responsibility) in letters(raci) {
                    let team_id = id(teams, team)?;
                    let current = rows.iter().find(|o| o.team_id == team_id);
                    let mut d = current.cloned().unwrap_or(stage_ownership::Model {
                        id: 0,
                        stage_id,
                        team_id,
                        person_id: None,
                        responsibility,
                        note: None,
                        created_at: now,
                        updated_at: now,
                    });
                    d.responsibility = responsibility;
                    if responsibility == Responsibility::Accountable
                        && let Some(dri) = &raci.dri
                    {
                        d.person_id = Some(id(people, dri)?);
                    }
                    self.put::<stage_ownership::ActiveModel>(current, d, |m| m.updated_at = now)
                        .await?;
                    self.report.ownerships += 1;
                }
            }
        }
        Ok(())
    }

    /// External links of one catalog item, matched by URL.
    async fn external_links(
        &mut self,
        subject: SubjectType,
        subject_id: i32,
        links: &[ExternalLinkEntry],
    ) -> Result<(), DbErr> {
        if links.is_empty() {
            return Ok(());
        }
        let now = self.now;
        let existing = external_link::Entity::find()
            .filter(external_link::Column::SubjectType.eq(subject))
            .filter(external_link::Column::SubjectId.eq(subject_id))
            .all(self.txn)
            .await?;
        let existing = index(existing, |m| m.url.clone());
        for l in links {
            let current = existing.get(&l.url);
            let mut d = current.cloned().unwrap_or_else(|| external_link::Model {
                id: 0,
                subject_type: subject,
                subject_id,
                label: String::new(),
                url: l.url.clone(),
                kind: l.kind,
                access: l.access,
                created_at: now,
                updated_at: now,
            });
            d.label = l.label.clone();
            d.kind = l.kind;
            d.access = l.access;
            self.put::<external_link::ActiveModel>(current, d, |m| m.updated_at = now)
                .await?;
            self.report.external_links += 1;
        }
        Ok(())
    }
}
