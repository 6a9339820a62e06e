//! A plan: what applying a catalog file to the database would do, record by record, and the
//! domain commands that do it.
//!
//! The plan compares the file with the catalog as it is ([`super::export::read`]), matching
//! records by natural key. A record only in the file is created (`+`); one in both whose fields
//! differ is updated (`~`), field by field; one only in the database is deleted (`-`) with
//! `prune`, and otherwise kept (`=`). An optional field the file leaves out is left as it is.
//! Every step carries the domain command that performs it, so applying a plan gets exactly the
//! mutations' validation, invariants and history.

use super::export::{Ids, State};
use super::model::{
    Catalog, ExternalLinkEntry, JourneyEntry, Owner, PersonEntry, PersonaEntry, Raci, StageEntry,
};
use crate::domain::alignment::{AlignTeamToPersona, UnalignTeamFromPersona};
use crate::domain::journey::narrowing::SetJourneyPersonas;
use crate::domain::journey::stage::{AddStage, NewStage, RemoveStage, ReorderStages, UpdateStage};
use crate::domain::journey::{CreateJourney, DeleteJourney, UpdateJourney};
use crate::domain::link::{RemoveExternalLink, UpdateExternalLink};
use crate::domain::ownership::{
    AssignStageOwner, ChangeStageOwner, OwnershipRef, RemoveStageOwner,
};
use crate::domain::person::{CreatePerson, DeletePerson, UpdatePerson};
use crate::domain::persona::link::{LinkPersonas, UnlinkPersonas};
use crate::domain::persona::role::{AddRole, RemoveRole, UpdateRole};
use crate::domain::persona::{CreatePersona, DeletePersona, UpdatePersona};
use crate::domain::product::{
    CreateProduct, DeleteProduct, RemoveProductRelevance, SetProductRelevance, UpdateProduct,
};
use crate::domain::team::{
    AddTeamMember, ChangeTeamMemberRole, CreateTeam, DeleteTeam, RemoveTeamMember, UpdateTeam,
};
use crate::domain::types::{Email, LongText, Name, ShortText, Slug, TextList, Url};
use crate::error::AppResult;
use entity::enums::{
    LinkAccess, LinkKind, MembershipRole, Provenance, Responsibility, Status, SubjectType,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

/// What a step does to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// The record is only in the file: it is created.
    Create,
    /// The record is in both, with different fields: they are set to the file's.
    Update,
    /// The record is only in the database, and the plan prunes: it is deleted.
    Delete,
    /// The record is only in the database, and the plan does not prune: it stays.
    Keep,
}

impl Action {
    fn sign(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
            Action::Keep => '=',
        }
    }
}

/// One field a step changes: its value in the database and in the file, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// One record's step.
#[derive(Serialize)]
pub struct Step {
    /// The kind of record (`persona`, `stage`, `ownership`, ...).
    pub kind: &'static str,
    /// Its natural key (`dev`, `dev-journey/adopt`, `dev-journey/adopt/sdr`, ...).
    pub key: String,
    pub action: Action,
    /// For an update, the fields that change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// What performs it (nothing for a kept record).
    #[serde(skip)]
    pub(super) op: Option<Op>,
}

/// What applying a catalog file would do.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The catalog version the plan was computed at.
    pub catalog_version: i64,
    /// Whether records absent from the file are deleted.
    pub prune: bool,
    /// The steps, grouped by kind in dependency order (deletions first).
    pub steps: Vec<Step>,
}

/// The kinds of record, in the order their steps are written and applied (deletions run in the
/// reverse order, before everything else, so that children go before their parents).
pub const KINDS: &[&str] = &[
    "product",
    "persona",
    "role",
    "relevance",
    "persona link",
    "team",
    "person",
    "membership",
    "alignment",
    "journey",
    "stage",
    "external link",
    "ownership",
];

impl Plan {
    /// Records the plan creates.
    pub fn to_add(&self) -> usize {
        self.count(Action::Create)
    }

    /// Records the plan updates.
    pub fn to_change(&self) -> usize {
        self.count(Action::Update)
    }

    /// Records the plan deletes.
    pub fn to_delete(&self) -> usize {
        self.count(Action::Delete)
    }

    /// Records absent from the file that the plan keeps.
    pub fn kept(&self) -> usize {
        self.count(Action::Keep)
    }

    /// Whether applying the plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.action != Action::Keep)
    }

    fn count(&self, action: Action) -> usize {
        self.steps.iter().filter(|s| s.action == action).count()
    }

    /// The last line: `Plan: N to add, N to change, N to delete.`
    pub fn summary(&self) -> String {
        format!(
            "Plan: {} to add, {} to change, {} to delete.",
            self.to_add(),
            self.to_change(),
            self.to_delete()
        )
    }

    /// The plan as text, like Terraform's: the version, one line per record grouped by kind
    /// (`+` create, `~` update with its fields' old and new values, `-` delete, `=` kept),
    /// then the summary line.
    pub fn text(&self) -> String {
        let mut out = format!("Catalog version {}.\n", self.catalog_version);
        if !self.has_changes() && self.kept() == 0 {
            out.push_str("\nNo changes: the catalog matches the file.\n");
        }
        let mut kind = "";
        let mut steps: Vec<&Step> = self.steps.iter().collect();
        // Grouped by kind for reading; they run in dependency order, deletions first.
        steps.sort_by_key(|s| KINDS.iter().position(|k| *k == s.kind));
        for s in steps {
            if s.kind != kind {
                kind = s.kind;
                let _ = write!(out, "\n{kind}:\n");
            }
            let _ = write!(out, "  {} {} {}", s.action.sign(), s.kind, s.key);
            if s.action == Action::Keep {
                out.push_str(" (not in the file: kept; --prune deletes it)");
            }
            out.push('\n');
            for f in &s.fields {
                let _ = writeln!(out, "      {}: {} -> {}", f.field, f.old, f.new);
            }
        }
        out.push('\n');
        out.push_str(&self.summary());
        out.push('\n');
        out
    }
}

/// The command a step runs.
pub(super) enum Op {
    CreateProduct(CreateProduct),
    UpdateProduct(UpdateProduct),
    DeleteProduct(DeleteProduct),
    CreatePersona(Box<CreatePersona>),
    UpdatePersona(Box<UpdatePersona>),
    DeletePersona(DeletePersona),
    AddRole(AddRole),
    UpdateRole(UpdateRole),
    RemoveRole(RemoveRole),
    SetRelevance(SetProductRelevance),
    RemoveRelevance(RemoveProductRelevance),
    Link(LinkPersonas),
    Relink(UnlinkPersonas, LinkPersonas),
    Unlink(UnlinkPersonas),
    CreateTeam(CreateTeam),
    UpdateTeam(UpdateTeam),
    DeleteTeam(DeleteTeam),
    CreatePerson(CreatePerson),
    UpdatePerson(UpdatePerson),
    DeletePerson(DeletePerson),
    AddMember(AddTeamMember),
    ChangeMember(ChangeTeamMemberRole),
    RemoveMember(RemoveTeamMember),
    Align(AlignTeamToPersona),
    Unalign(UnalignTeamFromPersona),
    CreateJourney(CreateJourney),
    UpdateJourney(UpdateJourney),
    DeleteJourney(DeleteJourney),
    Narrow(SetJourneyPersonas),
    AddStage(AddStage),
    UpdateStage(UpdateStage),
    Reorder(ReorderStages),
    RemoveStage(RemoveStage),
    /// A link to add to a subject that may not exist yet: resolved when applied.
    AddLink {
        subject: SubjectType,
        key: String,
        label: Name,
        url: Url,
        kind: LinkKind,
        access: LinkAccess,
    },
    UpdateLink(UpdateExternalLink),
    RemoveLink(RemoveExternalLink),
    Assign(AssignStageOwner),
    ChangeOwner(ChangeStageOwner),
    RemoveOwner(RemoveStageOwner),
}

/// Computes the plan of `file` over `state`, or every problem that keeps it from being made
/// (values the domain refuses, and conflicts such as an ACCOUNTABLE owner the file does not
/// name standing in the way of the one it does).
///
/// With `add_only` (the seed's default), a stage whose ACCOUNTABLE team an editor changed keeps
/// it: the file's is listed as a difference instead of refused as a conflict.
pub fn plan(
    state: &State,
    file: &Catalog,
    add_only: bool,
    prune: bool,
) -> Result<Plan, Vec<String>> {
    let mut p = Planner {
        ids: &state.ids,
        prune,
        add_only,
        steps: Vec::new(),
        problems: Vec::new(),
    };
    let db = &state.catalog;
    p.products(db, file);
    p.personas(db, file);
    p.persona_links(db, file);
    p.teams(db, file);
    p.people(db, file);
    p.alignments(db, file);
    p.journeys(db, file);
    p.ownership(db, file);
    if !p.problems.is_empty() {
        return Err(p.problems);
    }
    let order = |kind: &str| KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len());
    let mut deletes: Vec<Step> = Vec::new();
    let mut rest: Vec<Step> = Vec::new();
    for s in p.steps {
        if s.action == Action::Delete {
            deletes.push(s);
        } else {
            rest.push(s);
        }
    }
    // Stable sorts: within a kind, steps keep the order the planner wrote them in (which
    // matters for ownership: a demotion from ACCOUNTABLE before a promotion to it).
    deletes.sort_by_key(|s| std::cmp::Reverse(order(s.kind)));
    rest.sort_by_key(|s| order(s.kind));
    deletes.extend(rest);
    Ok(Plan {
        catalog_version: db.catalog_version.unwrap_or(0),
        prune,
        steps: deletes,
    })
}

struct Planner<'a> {
    ids: &'a Ids,
    prune: bool,
    add_only: bool,
    steps: Vec<Step>,
    problems: Vec<String>,
}

/// The fields of one record where the database and the file differ.
#[derive(Default)]
struct Fields(Vec<FieldChange>);

impl Fields {
    /// Notes `field` when `old` and `new` differ; whether they do.
    fn differ<T: Serialize + PartialEq + ?Sized>(&mut self, field: &str, old: &T, new: &T) -> bool {
        if old == new {
            return false;
        }
        self.0.push(FieldChange {
            field: field.to_owned(),
            old: shown(old),
            new: shown(new),
        });
        true
    }

    /// Like [`Fields::differ`] for a field the file may leave out (then it is left as it is).
    fn given<T: Serialize + PartialEq>(
        &mut self,
        field: &str,
        old: Option<&T>,
        new: Option<&T>,
    ) -> bool {
        match new {
            None => false,
            Some(n) => match old {
                Some(o) if o == n => false,
                _ => {
                    self.0.push(FieldChange {
                        field: field.to_owned(),
                        old: shown(&old),
                        new: shown(n),
                    });
                    true
                }
            },
        }
    }
}

fn shown<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "?".to_owned())
}

impl Planner<'_> {
    fn step(
        &mut self,
        kind: &'static str,
        key: String,
        action: Action,
        fields: Vec<FieldChange>,
        op: Option<Op>,
    ) {
        self.steps.push(Step {
            kind,
            key,
            action,
            fields,
            op,
        });
    }

    /// Parts created by their parent's command (a new persona's roles, a new journey's
    /// stages): listed as created, run by the parent's step.
    fn created_with(&mut self, kind: &'static str, keys: impl IntoIterator<Item = String>) {
        for key in keys {
            self.step(kind, key, Action::Create, Vec::new(), None);
        }
    }

    /// Every record of `kind` whose slug is in the database but not in the file: deleted by
    /// `delete` when pruning, else kept.
    fn absent_slugs<'s>(
        &mut self,
        kind: &'static str,
        db: impl Iterator<Item = &'s str>,
        file: impl Iterator<Item = &'s str>,
        delete: impl Fn(String) -> Op,
    ) {
        let named: HashSet<&str> = file.collect();
        for slug in db {
            if !named.contains(slug) {
                self.absent(kind, slug.to_owned(), || delete(slug.to_owned()));
            }
        }
    }

    /// A record only in the database: deleted with `op` when pruning, else kept.
    fn absent(&mut self, kind: &'static str, key: String, op: impl FnOnce() -> Op) {
        if self.prune {
            self.step(kind, key, Action::Delete, Vec::new(), Some(op()));
        } else {
            self.step(kind, key, Action::Keep, Vec::new(), None);
        }
    }

    /// `value`, or `None` with the problem noted as `record: field: rule`.
    fn ok<T>(&mut self, record: &str, value: AppResult<T>) -> Option<T> {
        match value {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems.push(format!("{record}: {e}"));
                None
            }
        }
    }

    fn products(&mut self, db: &Catalog, file: &Catalog) {
        let current: HashMap<&str, _> = db.products.iter().map(|p| (p.slug.as_str(), p)).collect();
        for p in &file.products {
            let record = format!("product {}", p.slug);
            let Some(name) = self.ok(&record, Name::parse("name", &p.name)) else {
                continue;
            };
            match current.get(p.slug.as_str()) {
                None => {
                    let Some(slug) = self.ok(&record, Slug::parse("slug", &p.slug)) else {
                        continue;
                    };
                    let op = Op::CreateProduct(CreateProduct {
                        slug,
                        name,
                        provenance: p.provenance.unwrap_or(Provenance::Illustrative),
                    });
                    self.step(
                        "product",
                        p.slug.clone(),
                        Action::Create,
                        Vec::new(),
                        Some(op),
                    );
                }
                Some(row) => {
                    let mut f = Fields::default();
                    if f.differ("name", row.name.as_str(), name.as_str()) {
                        let op = Op::UpdateProduct(UpdateProduct {
                            slug: p.slug.clone(),
                            name,
                        });
                        self.step("product", p.slug.clone(), Action::Update, f.0, Some(op));
                    }
                }
            }
        }
        self.absent_slugs(
            "product",
            db.products.iter().map(|x| x.slug.as_str()),
            file.products.iter().map(|x| x.slug.as_str()),
            |slug| Op::DeleteProduct(DeleteProduct { slug }),
        );
    }

    fn personas(&mut self, db: &Catalog, file: &Catalog) {
        let current: HashMap<&str, &PersonaEntry> =
            db.personas.iter().map(|p| (p.slug.as_str(), p)).collect();
        for p in &file.personas {
            match current.get(p.slug.as_str()) {
                None => self.create_persona(p),
                Some(row) => {
                    self.update_persona(row, p);
                    self.roles(row, p);
                }
            }
            let empty = PersonaEntry::empty(&p.slug, p.kind);
            let row = current.get(p.slug.as_str()).copied().unwrap_or(&empty);
            self.relevance(row, p);
            self.links(
                SubjectType::Persona,
                &p.slug,
                &row.external_links,
                &p.external_links,
            );
        }
        self.absent_slugs(
            "persona",
            db.personas.iter().map(|x| x.slug.as_str()),
            file.personas.iter().map(|x| x.slug.as_str()),
            |slug| Op::DeletePersona(DeletePersona { slug }),
        );
    }

    fn create_persona(&mut self, p: &PersonaEntry) {
        let record = format!("persona {}", p.slug);
        let slug = self.ok(&record, Slug::parse("slug", &p.slug));
        let name = self.ok(&record, Name::parse("name", &p.name));
        let summary = self.ok(
            &record,
            ShortText::parse_optional("summary", p.summary.as_deref()),
        );
        let description = self.ok(
            &record,
            LongText::parse_optional("description", p.description.as_deref()),
        );
        let pain_points = self.ok(
            &record,
            TextList::parse("painPoints", p.pain_points.as_deref().unwrap_or_default()),
        );
        let motivations = self.ok(
            &record,
            TextList::parse("motivations", p.motivations.as_deref().unwrap_or_default()),
        );
        let note = self.ok(
            &record,
            ShortText::parse_optional("painIntensityNote", p.pain_intensity_note.as_deref()),
        );
        let source_url = self.ok(
            &record,
            p.source_url
                .as_deref()
                .map(|u| Url::parse("sourceUrl", u))
                .transpose(),
        );
        let roles = self.ok(
            &record,
            p.roles
                .iter()
                .enumerate()
                .map(|(i, t)| Name::parse(&format!("roles[{i}]"), t))
                .collect::<AppResult<Vec<_>>>(),
        );
        let (
            Some(slug),
            Some(name),
            Some(summary),
            Some(description),
            Some(pain_points),
            Some(motivations),
            Some(note),
            Some(source_url),
            Some(roles),
        ) = (
            slug,
            name,
            summary,
            description,
            pain_points,
            motivations,
            note,
            source_url,
            roles,
        )
        else {
            return;
        };
        let op = Op::CreatePersona(Box::new(CreatePersona {
            slug,
            name,
            kind: p.kind,
            status: p.status.unwrap_or(Status::Active),
            summary,
            description,
            pain_points,
            motivations,
            pain_intensity: p.pain_intensity,
            pain_intensity_note: note,
            value_prop_scope: p.value_prop_scope,
            sort_order: p.sort_order.unwrap_or(0),
            source_url,
            roles,
            provenance: p.provenance.unwrap_or(Provenance::Illustrative),
        }));
        self.step(
            "persona",
            p.slug.clone(),
            Action::Create,
            Vec::new(),
            Some(op),
        );
        self.created_with("role", p.roles.iter().map(|t| format!("{}/{t}", p.slug)));
    }

    fn update_persona(&mut self, row: &PersonaEntry, p: &PersonaEntry) {
        let record = format!("persona {}", p.slug);
        let mut f = Fields::default();
        let mut cmd = UpdatePersona {
            slug: p.slug.clone(),
            expected_version: self.ids.persona_versions.get(&p.slug).copied().unwrap_or(0),
            name: None,
            kind: None,
            status: None,
            summary: None,
            description: None,
            pain_points: None,
            motivations: None,
            pain_intensity: None,
            pain_intensity_note: None,
            value_prop_scope: None,
            sort_order: None,
            source_url: None,
        };
        if let Some(name) = self.ok(&record, Name::parse("name", &p.name))
            && f.differ("name", row.name.as_str(), name.as_str())
        {
            cmd.name = Some(name);
        }
        if f.differ("kind", &row.kind, &p.kind) {
            cmd.kind = Some(p.kind);
        }
        if f.given("status", row.status.as_ref(), p.status.as_ref()) {
            cmd.status = p.status;
        }
        if f.given("sortOrder", row.sort_order.as_ref(), p.sort_order.as_ref()) {
            cmd.sort_order = p.sort_order;
        }
        if let Some(Some(x)) = self.ok(
            &record,
            ShortText::parse_optional("summary", p.summary.as_deref()),
        ) && f.given(
            "summary",
            row.summary.as_ref(),
            Some(&x.as_str().to_owned()),
        ) {
            cmd.summary = Some(Some(x));
        }
        if let Some(Some(x)) = self.ok(
            &record,
            LongText::parse_optional("description", p.description.as_deref()),
        ) && f.given(
            "description",
            row.description.as_ref(),
            Some(&x.as_str().to_owned()),
        ) {
            cmd.description = Some(Some(x));
        }
        if let Some(v) = &p.pain_points
            && let Some(x) = self.ok(&record, TextList::parse("painPoints", v))
            && f.differ(
                "painPoints",
                row.pain_points.as_deref().unwrap_or_default(),
                x.items(),
            )
        {
            cmd.pain_points = Some(x);
        }
        if let Some(v) = &p.motivations
            && let Some(x) = self.ok(&record, TextList::parse("motivations", v))
            && f.differ(
                "motivations",
                row.motivations.as_deref().unwrap_or_default(),
                x.items(),
            )
        {
            cmd.motivations = Some(x);
        }
        if f.given(
            "painIntensity",
            row.pain_intensity.as_ref(),
            p.pain_intensity.as_ref(),
        ) {
            cmd.pain_intensity = Some(p.pain_intensity);
        }
        if let Some(Some(x)) = self.ok(
            &record,
            ShortText::parse_optional("painIntensityNote", p.pain_intensity_note.as_deref()),
        ) && f.given(
            "painIntensityNote",
            row.pain_intensity_note.as_ref(),
            Some(&x.as_str().to_owned()),
        ) {
            cmd.pain_intensity_note = Some(Some(x));
        }
        if f.given(
            "valuePropScope",
            row.value_prop_scope.as_ref(),
            p.value_prop_scope.as_ref(),
        ) {
            cmd.value_prop_scope = Some(p.value_prop_scope);
        }
        if let Some(u) = &p.source_url
            && let Some(x) = self.ok(&record, Url::parse("sourceUrl", u))
            && f.given(
                "sourceUrl",
                row.source_url.as_ref(),
                Some(&x.as_str().to_owned()),
            )
        {
            cmd.source_url = Some(Some(x));
        }
        if !f.0.is_empty() {
            self.step(
                "persona",
                p.slug.clone(),
                Action::Update,
                f.0,
                Some(Op::UpdatePersona(Box::new(cmd))),
            );
        }
    }

    /// A persona's roles, by lower-case title; their order is the file's.
    fn roles(&mut self, row: &PersonaEntry, p: &PersonaEntry) {
        let record = format!("persona {}", p.slug);
        let current: HashMap<String, &str> = row
            .roles
            .iter()
            .map(|t| (t.to_lowercase(), t.as_str()))
            .collect();
        let in_order = row
            .roles
            .iter()
            .map(|t| t.to_lowercase())
            .filter(|t| p.roles.iter().any(|x| x.to_lowercase() == *t))
            .collect::<Vec<_>>();
        let wanted: Vec<String> = p
            .roles
            .iter()
            .map(|t| t.to_lowercase())
            .filter(|t| current.contains_key(t))
            .collect();
        let reorder = in_order != wanted
            || p.roles
                .iter()
                .any(|t| !current.contains_key(&t.to_lowercase()));
        for (i, t) in p.roles.iter().enumerate() {
            let Some(title) = self.ok(&record, Name::parse(&format!("roles[{i}]"), t)) else {
                continue;
            };
            let lower = t.to_lowercase();
            let key = format!("{}/{}", p.slug, title.as_str());
            let sort = i32::try_from(i + 1).unwrap_or(i32::MAX);
            match current.get(&lower) {
                None => {
                    let op = Op::AddRole(AddRole {
                        persona: p.slug.clone(),
                        title,
                        sort_order: Some(sort),
                    });
                    self.step("role", key, Action::Create, Vec::new(), Some(op));
                }
                Some(old) => {
                    let Some(&(id, old_sort)) = self.ids.roles.get(&(p.slug.clone(), lower)) else {
                        continue;
                    };
                    let mut f = Fields::default();
                    let retitle = f.differ("title", *old, title.as_str());
                    let resort =
                        reorder && old_sort != sort && f.differ("sortOrder", &old_sort, &sort);
                    if retitle || resort {
                        let op = Op::UpdateRole(UpdateRole {
                            id,
                            key: key.clone(),
                            title: retitle.then_some(title),
                            sort_order: resort.then_some(sort),
                        });
                        self.step("role", key, Action::Update, f.0, Some(op));
                    }
                }
            }
        }
        let named: HashSet<String> = p.roles.iter().map(|t| t.to_lowercase()).collect();
        for t in &row.roles {
            let lower = t.to_lowercase();
            if named.contains(&lower) {
                continue;
            }
            let key = format!("{}/{t}", p.slug);
            let id = self
                .ids
                .roles
                .get(&(p.slug.clone(), lower))
                .map_or(0, |x| x.0);
            let k = key.clone();
            self.absent("role", key, || Op::RemoveRole(RemoveRole { id, key: k }));
        }
    }

    fn relevance(&mut self, row: &PersonaEntry, p: &PersonaEntry) {
        let record = format!("persona {}", p.slug);
        let current: HashMap<&str, _> = row
            .product_relevance
            .iter()
            .map(|r| (r.product.as_str(), r))
            .collect();
        for r in &p.product_relevance {
            let key = format!("{}/{}", p.slug, r.product);
            let Some(note) = self.ok(
                &record,
                ShortText::parse_optional("productRelevance.note", r.note.as_deref()),
            ) else {
                continue;
            };
            let provenance = r
                .provenance
                .or(p.provenance)
                .unwrap_or(Provenance::Illustrative);
            let (action, f) = match current.get(r.product.as_str()) {
                None => (Action::Create, Fields::default()),
                Some(old) => {
                    let mut f = Fields::default();
                    f.differ("level", &old.level, &r.level);
                    f.given(
                        "note",
                        old.note.as_ref(),
                        note.as_ref().map(|n| n.as_str().to_owned()).as_ref(),
                    );
                    f.given("provenance", old.provenance.as_ref(), r.provenance.as_ref());
                    if f.0.is_empty() {
                        continue;
                    }
                    (Action::Update, f)
                }
            };
            let note = note.or_else(|| {
                current
                    .get(r.product.as_str())
                    .and_then(|o| o.note.as_deref())
                    .and_then(|n| ShortText::parse("note", n).ok())
            });
            let op = Op::SetRelevance(SetProductRelevance {
                persona: p.slug.clone(),
                product: r.product.clone(),
                level: r.level,
                note,
                provenance,
            });
            self.step("relevance", key, action, f.0, Some(op));
        }
        let named: HashSet<&str> = p
            .product_relevance
            .iter()
            .map(|r| r.product.as_str())
            .collect();
        for r in &row.product_relevance {
            if !named.contains(r.product.as_str()) {
                let (persona, product) = (p.slug.clone(), r.product.clone());
                self.absent("relevance", format!("{}/{}", p.slug, r.product), || {
                    Op::RemoveRelevance(RemoveProductRelevance { persona, product })
                });
            }
        }
    }

    /// The links of one subject, by URL.
    fn links(
        &mut self,
        subject: SubjectType,
        key: &str,
        old: &[ExternalLinkEntry],
        new: &[ExternalLinkEntry],
    ) {
        let record = format!("{} {key}", subject_word(subject));
        let current: HashMap<&str, &ExternalLinkEntry> =
            old.iter().map(|l| (l.url.as_str(), l)).collect();
        for (i, l) in new.iter().enumerate() {
            let step_key = format!("{key} {}", l.url);
            let Some(label) = self.ok(
                &record,
                Name::parse(&format!("externalLinks[{i}].label"), &l.label),
            ) else {
                continue;
            };
            let Some(url) = self.ok(
                &record,
                Url::parse(&format!("externalLinks[{i}].url"), &l.url),
            ) else {
                continue;
            };
            match current.get(l.url.as_str()) {
                None => {
                    let op = Op::AddLink {
                        subject,
                        key: key.to_owned(),
                        label,
                        url,
                        kind: l.kind,
                        access: l.access,
                    };
                    self.step(
                        "external link",
                        step_key,
                        Action::Create,
                        Vec::new(),
                        Some(op),
                    );
                }
                Some(o) => {
                    let mut f = Fields::default();
                    let relabel = f.differ("label", o.label.as_str(), label.as_str());
                    let rekind = f.differ("kind", &o.kind, &l.kind);
                    let reaccess = f.differ("access", &o.access, &l.access);
                    if f.0.is_empty() {
                        continue;
                    }
                    let id = self
                        .ids
                        .links
                        .get(&(subject, key.to_owned(), l.url.clone()))
                        .copied()
                        .unwrap_or(0);
                    let op = Op::UpdateLink(UpdateExternalLink {
                        id,
                        key: step_key.clone(),
                        label: relabel.then_some(label),
                        url: None,
                        kind: rekind.then_some(l.kind),
                        access: reaccess.then_some(l.access),
                    });
                    self.step("external link", step_key, Action::Update, f.0, Some(op));
                }
            }
        }
        let named: HashSet<&str> = new.iter().map(|l| l.url.as_str()).collect();
        for l in old {
            if !named.contains(l.url.as_str()) {
                let step_key = format!("{key} {}", l.url);
                let id = self
                    .ids
                    .links
                    .get(&(subject, key.to_owned(), l.url.clone()))
                    .copied()
                    .unwrap_or(0);
                let k = step_key.clone();
                self.absent("external link", step_key, || {
                    Op::RemoveLink(RemoveExternalLink { id, key: k })
                });
            }
        }
    }

    fn persona_links(&mut self, db: &Catalog, file: &Catalog) {
        let current: HashMap<(&str, &str, &str), _> = db
            .persona_links
            .iter()
            .map(|l| ((l.from.as_str(), l.to.as_str(), l.kind.as_str()), l))
            .collect();
        for l in &file.persona_links {
            let key = format!("{} -> {} ({})", l.from, l.to, l.kind.as_str());
            let Some(note) = self.ok(
                &format!("persona link {key}"),
                ShortText::parse_optional("note", l.note.as_deref()),
            ) else {
                continue;
            };
            let link = |note: Option<ShortText>| LinkPersonas {
                from: l.from.clone(),
                to: l.to.clone(),
                kind: l.kind,
                note,
                provenance: l.provenance.unwrap_or(Provenance::Illustrative),
            };
            match current.get(&(l.from.as_str(), l.to.as_str(), l.kind.as_str())) {
                None => self.step(
                    "persona link",
                    key,
                    Action::Create,
                    Vec::new(),
                    Some(Op::Link(link(note))),
                ),
                Some(old) => {
                    let mut f = Fields::default();
                    f.given(
                        "note",
                        old.note.as_ref(),
                        note.as_ref().map(|n| n.as_str().to_owned()).as_ref(),
                    );
                    f.given("provenance", old.provenance.as_ref(), l.provenance.as_ref());
                    if f.0.is_empty() {
                        continue;
                    }
                    let id = self
                        .ids
                        .persona_links
                        .get(&(l.from.clone(), l.to.clone(), l.kind))
                        .copied()
                        .unwrap_or(0);
                    let note = note.or_else(|| {
                        old.note
                            .as_deref()
                            .and_then(|n| ShortText::parse("note", n).ok())
                    });
                    let mut new = link(note);
                    if l.provenance.is_none() {
                        new.provenance = old.provenance.unwrap_or(Provenance::Illustrative);
                    }
                    let op = Op::Relink(
                        UnlinkPersonas {
                            id,
                            key: key.clone(),
                        },
                        new,
                    );
                    self.step("persona link", key, Action::Update, f.0, Some(op));
                }
            }
        }
        let named: HashSet<(&str, &str, &str)> = file
            .persona_links
            .iter()
            .map(|l| (l.from.as_str(), l.to.as_str(), l.kind.as_str()))
            .collect();
        for l in &db.persona_links {
            if !named.contains(&(l.from.as_str(), l.to.as_str(), l.kind.as_str())) {
                let key = format!("{} -> {} ({})", l.from, l.to, l.kind.as_str());
                let id = self
                    .ids
                    .persona_links
                    .get(&(l.from.clone(), l.to.clone(), l.kind))
                    .copied()
                    .unwrap_or(0);
                let k = key.clone();
                self.absent("persona link", key, || {
                    Op::Unlink(UnlinkPersonas { id, key: k })
                });
            }
        }
    }

    fn teams(&mut self, db: &Catalog, file: &Catalog) {
        let current: HashMap<&str, _> = db.teams.iter().map(|t| (t.slug.as_str(), t)).collect();
        for t in &file.teams {
            let record = format!("team {}", t.slug);
            let Some(name) = self.ok(&record, Name::parse("name", &t.name)) else {
                continue;
            };
            let Some(description) = self.ok(
                &record,
                LongText::parse_optional("description", t.description.as_deref()),
            ) else {
                continue;
            };
            let old_links = match current.get(t.slug.as_str()) {
                None => {
                    let Some(slug) = self.ok(&record, Slug::parse("slug", &t.slug)) else {
                        continue;
                    };
                    let op = Op::CreateTeam(CreateTeam {
                        slug,
                        name,
                        department: t.department,
                        description,
                    });
                    self.step("team", t.slug.clone(), Action::Create, Vec::new(), Some(op));
                    &[][..]
                }
                Some(row) => {
                    let mut f = Fields::default();
                    let mut cmd = UpdateTeam {
                        slug: t.slug.clone(),
                        expected_version: self.ids.team_versions.get(&t.slug).copied().unwrap_or(0),
                        name: None,
                        department: None,
                        description: None,
                    };
                    if f.differ("name", row.name.as_str(), name.as_str()) {
                        cmd.name = Some(name);
                    }
                    if f.differ("department", &row.department, &t.department) {
                        cmd.department = Some(t.department);
                    }
                    if let Some(d) = description
                        && f.given(
                            "description",
                            row.description.as_ref(),
                            Some(&d.as_str().to_owned()),
                        )
                    {
                        cmd.description = Some(Some(d));
                    }
                    if !f.0.is_empty() {
                        self.step(
                            "team",
                            t.slug.clone(),
                            Action::Update,
                            f.0,
                            Some(Op::UpdateTeam(cmd)),
                        );
                    }
                    &row.external_links[..]
                }
            };
            self.links(SubjectType::Team, &t.slug, old_links, &t.external_links);
        }
        self.absent_slugs(
            "team",
            db.teams.iter().map(|x| x.slug.as_str()),
            file.teams.iter().map(|x| x.slug.as_str()),
            |slug| Op::DeleteTeam(DeleteTeam { slug }),
        );
    }

    fn people(&mut self, db: &Catalog, file: &Catalog) {
        let current: HashMap<&str, &PersonEntry> =
            db.people.iter().map(|p| (p.slug.as_str(), p)).collect();
        for x in &file.people {
            let record = format!("person {}", x.slug);
            let Some(name) = self.ok(&record, Name::parse("name", &x.name)) else {
                continue;
            };
            let Some(email) = self.ok(&record, Email::parse_optional("email", x.email.as_deref()))
            else {
                continue;
            };
            let old_teams: Vec<(&str, MembershipRole)> = match current.get(x.slug.as_str()) {
                None => {
                    let Some(slug) = self.ok(&record, Slug::parse("slug", &x.slug)) else {
                        continue;
                    };
                    let op = Op::CreatePerson(CreatePerson { slug, name, email });
                    self.step(
                        "person",
                        x.slug.clone(),
                        Action::Create,
                        Vec::new(),
                        Some(op),
                    );
                    Vec::new()
                }
                Some(row) => {
                    let mut f = Fields::default();
                    let mut cmd = UpdatePerson {
                        slug: x.slug.clone(),
                        name: None,
                        email: None,
                    };
                    if f.differ("name", row.name.as_str(), name.as_str()) {
                        cmd.name = Some(name);
                    }
                    if let Some(e) = email
                        && f.given("email", row.email.as_ref(), Some(&e.as_str().to_owned()))
                    {
                        cmd.email = Some(Some(e));
                    }
                    if !f.0.is_empty() {
                        self.step(
                            "person",
                            x.slug.clone(),
                            Action::Update,
                            f.0,
                            Some(Op::UpdatePerson(cmd)),
                        );
                    }
                    row.teams()
                }
            };
            let old: HashMap<&str, MembershipRole> = old_teams.iter().copied().collect();
            let new = x.teams();
            for (team, role) in &new {
                let key = format!("{team}/{}", x.slug);
                let cmd = || (team.to_string(), x.slug.clone(), *role);
                match old.get(team) {
                    None => {
                        let (team, person, role) = cmd();
                        self.step(
                            "membership",
                            key,
                            Action::Create,
                            Vec::new(),
                            Some(Op::AddMember(AddTeamMember { team, person, role })),
                        );
                    }
                    Some(r) => {
                        let mut f = Fields::default();
                        if f.differ("role", r, role) {
                            let (team, person, role) = cmd();
                            self.step(
                                "membership",
                                key,
                                Action::Update,
                                f.0,
                                Some(Op::ChangeMember(ChangeTeamMemberRole {
                                    team,
                                    person,
                                    role,
                                })),
                            );
                        }
                    }
                }
            }
            let named: HashSet<&str> = new.iter().map(|(t, _)| *t).collect();
            for (team, _) in &old_teams {
                if !named.contains(team) {
                    let (t, person) = ((*team).to_owned(), x.slug.clone());
                    self.absent("membership", format!("{team}/{}", x.slug), || {
                        Op::RemoveMember(RemoveTeamMember { team: t, person })
                    });
                }
            }
        }
        let named: HashSet<&str> = file.people.iter().map(|p| p.slug.as_str()).collect();
        for p in &db.people {
            if named.contains(p.slug.as_str()) {
                continue;
            }
            // A pruned person's memberships go with them.
            if !self.prune {
                for (team, _) in p.teams() {
                    self.step(
                        "membership",
                        format!("{team}/{}", p.slug),
                        Action::Keep,
                        Vec::new(),
                        None,
                    );
                }
            }
            let slug = p.slug.clone();
            self.absent("person", p.slug.clone(), || {
                Op::DeletePerson(DeletePerson { slug })
            });
        }
    }

    fn alignments(&mut self, db: &Catalog, file: &Catalog) {
        let current: HashMap<(&str, &str), _> = db
            .alignments
            .iter()
            .map(|a| ((a.team.as_str(), a.persona.as_str()), a))
            .collect();
        for a in &file.alignments {
            let key = format!("{}/{}", a.team, a.persona);
            let old = current.get(&(a.team.as_str(), a.persona.as_str()));
            let mut f = Fields::default();
            let action = match old {
                None => Action::Create,
                Some(o) => {
                    f.differ("level", &o.level, &a.level);
                    f.given("motion", o.motion.as_ref(), a.motion.as_ref());
                    f.given("provenance", o.provenance.as_ref(), a.provenance.as_ref());
                    if f.0.is_empty() {
                        continue;
                    }
                    Action::Update
                }
            };
            let op = Op::Align(AlignTeamToPersona {
                team: a.team.clone(),
                persona: a.persona.clone(),
                level: a.level,
                motion: a.motion.or(old.and_then(|o| o.motion)),
                provenance: a
                    .provenance
                    .or(old.and_then(|o| o.provenance))
                    .unwrap_or(Provenance::Illustrative),
            });
            self.step("alignment", key, action, f.0, Some(op));
        }
        let named: HashSet<(&str, &str)> = file
            .alignments
            .iter()
            .map(|a| (a.team.as_str(), a.persona.as_str()))
            .collect();
        for a in &db.alignments {
            if !named.contains(&(a.team.as_str(), a.persona.as_str())) {
                let (team, persona) = (a.team.clone(), a.persona.clone());
                self.absent("alignment", format!("{}/{}", a.team, a.persona), || {
                    Op::Unalign(UnalignTeamFromPersona { team, persona })
                });
            }
        }
    }

    fn journeys(&mut self, db: &Catalog, file: &Catalog) {
        let current: HashMap<&str, &JourneyEntry> =
            db.journeys.iter().map(|j| (j.slug.as_str(), j)).collect();
        for j in &file.journeys {
            match current.get(j.slug.as_str()) {
                None => {
                    self.create_journey(j);
                    for s in &j.stages {
                        self.links(
                            SubjectType::Stage,
                            &format!("{}/{}", j.slug, s.key),
                            &[],
                            &s.external_links,
                        );
                    }
                    self.links(SubjectType::Journey, &j.slug, &[], &j.external_links);
                }
                Some(row) => {
                    self.update_journey(row, j);
                    self.stages(row, j);
                    self.links(
                        SubjectType::Journey,
                        &j.slug,
                        &row.external_links,
                        &j.external_links,
                    );
                }
            }
        }
        self.absent_slugs(
            "journey",
            db.journeys.iter().map(|x| x.slug.as_str()),
            file.journeys.iter().map(|x| x.slug.as_str()),
            |slug| Op::DeleteJourney(DeleteJourney { slug }),
        );
    }

    fn new_stage(&mut self, journey: &str, s: &StageEntry) -> Option<NewStage> {
        let record = format!("stage {journey}/{}", s.key);
        let key = self.ok(&record, Slug::parse("key", &s.key));
        let name = self.ok(&record, Name::parse("name", &s.name));
        let goal = self.ok(
            &record,
            ShortText::parse_optional("goal", s.goal.as_deref()),
        );
        let entry = self.ok(
            &record,
            ShortText::parse_optional("entryCriteria", s.entry_criteria.as_deref()),
        );
        let exit = self.ok(
            &record,
            ShortText::parse_optional("exitCriteria", s.exit_criteria.as_deref()),
        );
        Some(NewStage {
            key: key?,
            name: name?,
            goal: goal?,
            entry_criteria: entry?,
            exit_criteria: exit?,
        })
    }

    fn create_journey(&mut self, j: &JourneyEntry) {
        let record = format!("journey {}", j.slug);
        let slug = self.ok(&record, Slug::parse("slug", &j.slug));
        let name = self.ok(&record, Name::parse("name", &j.name));
        let description = self.ok(
            &record,
            LongText::parse_optional("description", j.description.as_deref()),
        );
        let stages: Vec<Option<NewStage>> = j
            .stages
            .iter()
            .map(|s| self.new_stage(&j.slug, s))
            .collect();
        let (Some(slug), Some(name), Some(description)) = (slug, name, description) else {
            return;
        };
        let Some(stages) = stages.into_iter().collect::<Option<Vec<_>>>() else {
            return;
        };
        let op = Op::CreateJourney(CreateJourney {
            slug,
            name,
            description,
            persona_kind: j.persona_kind,
            status: j.status.unwrap_or(Status::Active),
            personas: j.personas.clone(),
            stages,
            provenance: j.provenance.unwrap_or(Provenance::Illustrative),
        });
        self.step(
            "journey",
            j.slug.clone(),
            Action::Create,
            Vec::new(),
            Some(op),
        );
        self.created_with(
            "stage",
            j.stages.iter().map(|s| format!("{}/{}", j.slug, s.key)),
        );
    }

    fn update_journey(&mut self, row: &JourneyEntry, j: &JourneyEntry) {
        let record = format!("journey {}", j.slug);
        let mut f = Fields::default();
        let mut cmd = UpdateJourney {
            slug: j.slug.clone(),
            expected_version: self.ids.journey_versions.get(&j.slug).copied().unwrap_or(0),
            name: None,
            description: None,
            persona_kind: None,
            status: None,
        };
        if let Some(name) = self.ok(&record, Name::parse("name", &j.name))
            && f.differ("name", row.name.as_str(), name.as_str())
        {
            cmd.name = Some(name);
        }
        if f.differ("personaKind", &row.persona_kind, &j.persona_kind) {
            cmd.persona_kind = Some(j.persona_kind);
        }
        if f.given("status", row.status.as_ref(), j.status.as_ref()) {
            cmd.status = j.status;
        }
        if let Some(Some(d)) = self.ok(
            &record,
            LongText::parse_optional("description", j.description.as_deref()),
        ) && f.given(
            "description",
            row.description.as_ref(),
            Some(&d.as_str().to_owned()),
        ) {
            cmd.description = Some(Some(d));
        }
        let mut narrowing = Fields::default();
        let mut old: Vec<&str> = row.personas.iter().map(String::as_str).collect();
        let mut new: Vec<&str> = j.personas.iter().map(String::as_str).collect();
        old.sort_unstable();
        new.sort_unstable();
        let narrow = narrowing.differ("personas", &old, &new);
        if !f.0.is_empty() || narrow {
            f.0.extend(narrowing.0);
            // The update first, so that a new persona kind and the narrowing that matches it
            // are checked together at the end of the step.
            let op = if narrow
                && cmd.name.is_none()
                && cmd.description.is_none()
                && cmd.persona_kind.is_none()
                && cmd.status.is_none()
            {
                Op::Narrow(SetJourneyPersonas {
                    journey: j.slug.clone(),
                    personas: j.personas.clone(),
                })
            } else {
                Op::UpdateJourney(cmd)
            };
            self.step("journey", j.slug.clone(), Action::Update, f.0, Some(op));
            if narrow
                && !matches!(
                    self.steps.last().and_then(|s| s.op.as_ref()),
                    Some(Op::Narrow(_))
                )
            {
                let op = Op::Narrow(SetJourneyPersonas {
                    journey: j.slug.clone(),
                    personas: j.personas.clone(),
                });
                self.step(
                    "journey",
                    format!("{} personas", j.slug),
                    Action::Update,
                    Vec::new(),
                    Some(op),
                );
            }
        }
    }

    fn stages(&mut self, row: &JourneyEntry, j: &JourneyEntry) {
        let current: HashMap<&str, &StageEntry> =
            row.stages.iter().map(|s| (s.key.as_str(), s)).collect();
        for s in &j.stages {
            let key = format!("{}/{}", j.slug, s.key);
            match current.get(s.key.as_str()) {
                None => {
                    let Some(stage) = self.new_stage(&j.slug, s) else {
                        continue;
                    };
                    let op = Op::AddStage(AddStage {
                        journey: j.slug.clone(),
                        stage,
                        position: None,
                    });
                    self.step("stage", key.clone(), Action::Create, Vec::new(), Some(op));
                    self.links(SubjectType::Stage, &key, &[], &s.external_links);
                }
                Some(old) => {
                    let record = format!("stage {key}");
                    let mut f = Fields::default();
                    let id = self
                        .ids
                        .stages
                        .get(&(j.slug.clone(), s.key.clone()))
                        .copied()
                        .unwrap_or(0);
                    let mut cmd = UpdateStage {
                        id,
                        key: key.clone(),
                        name: None,
                        goal: None,
                        entry_criteria: None,
                        exit_criteria: None,
                    };
                    if let Some(name) = self.ok(&record, Name::parse("name", &s.name))
                        && f.differ("name", old.name.as_str(), name.as_str())
                    {
                        cmd.name = Some(name);
                    }
                    for (field, old_v, new_v, slot) in [
                        ("goal", &old.goal, &s.goal, &mut cmd.goal),
                        (
                            "entryCriteria",
                            &old.entry_criteria,
                            &s.entry_criteria,
                            &mut cmd.entry_criteria,
                        ),
                        (
                            "exitCriteria",
                            &old.exit_criteria,
                            &s.exit_criteria,
                            &mut cmd.exit_criteria,
                        ),
                    ] {
                        if let Some(Some(x)) =
                            self.ok(&record, ShortText::parse_optional(field, new_v.as_deref()))
                            && f.given(field, old_v.as_ref(), Some(&x.as_str().to_owned()))
                        {
                            *slot = Some(Some(x));
                        }
                    }
                    if !f.0.is_empty() {
                        self.step(
                            "stage",
                            key.clone(),
                            Action::Update,
                            f.0,
                            Some(Op::UpdateStage(cmd)),
                        );
                    }
                    self.links(
                        SubjectType::Stage,
                        &key,
                        &old.external_links,
                        &s.external_links,
                    );
                }
            }
        }
        let named: HashSet<&str> = j.stages.iter().map(|s| s.key.as_str()).collect();
        let mut kept: Vec<String> = Vec::new();
        for s in &row.stages {
            if named.contains(s.key.as_str()) {
                continue;
            }
            let key = format!("{}/{}", j.slug, s.key);
            let id = self
                .ids
                .stages
                .get(&(j.slug.clone(), s.key.clone()))
                .copied()
                .unwrap_or(0);
            let k = key.clone();
            if !self.prune {
                kept.push(s.key.clone());
            }
            self.absent("stage", key, || Op::RemoveStage(RemoveStage { id, key: k }));
        }
        // The file's order, then the stages it leaves out (kept, in their order).
        let wanted: Vec<String> = j.stages.iter().map(|s| s.key.clone()).chain(kept).collect();
        let after: Vec<String> = row
            .stages
            .iter()
            .map(|s| s.key.clone())
            .filter(|k| wanted.contains(k))
            .chain(
                j.stages
                    .iter()
                    .filter(|s| !current.contains_key(s.key.as_str()))
                    .map(|s| s.key.clone()),
            )
            .collect();
        if after != wanted {
            let mut f = Fields::default();
            let before: Vec<&str> = row.stages.iter().map(|s| s.key.as_str()).collect();
            f.differ(
                "stages",
                &before,
                &wanted.iter().map(String::as_str).collect::<Vec<_>>(),
            );
            let op = Op::Reorder(ReorderStages {
                journey: j.slug.clone(),
                keys: wanted,
            });
            self.step(
                "stage",
                format!("{} order", j.slug),
                Action::Update,
                f.0,
                Some(op),
            );
        }
    }

    fn ownership(&mut self, db: &Catalog, file: &Catalog) {
        let empty = BTreeMap::new();
        let mut demotions = Vec::new();
        let mut changes = Vec::new();
        let mut promotions = Vec::new();
        let mut journeys: Vec<&String> = file.ownership.keys().chain(db.ownership.keys()).collect();
        journeys.sort();
        journeys.dedup();
        for journey in journeys {
            let new_stages = file.ownership.get(journey).unwrap_or(&empty);
            let old_stages = db.ownership.get(journey).unwrap_or(&empty);
            let mut keys: Vec<&String> = new_stages.keys().chain(old_stages.keys()).collect();
            keys.sort();
            keys.dedup();
            for stage in keys {
                let new = new_stages.get(stage).map(owners).unwrap_or_default();
                let old = old_stages.get(stage).map(owners).unwrap_or_default();
                // Only stages the file names are managed; a journey or stage the file leaves
                // out keeps its owners unless pruned (then they go with it, or stay kept).
                let stage_named = new_stages.contains_key(stage);
                let old_by_team: HashMap<&str, &Letter> =
                    old.iter().map(|l| (l.team.as_str(), l)).collect();
                let new_by_team: HashMap<&str, &Letter> =
                    new.iter().map(|l| (l.team.as_str(), l)).collect();
                let place = format!("{journey}/{stage}");
                // One ACCOUNTABLE per stage: an accountable team the file does not name, kept,
                // would stand beside the file's.
                let new_a = new
                    .iter()
                    .find(|l| l.responsibility == Responsibility::Accountable);
                let old_a = old
                    .iter()
                    .find(|l| l.responsibility == Responsibility::Accountable);
                let mut skip_a = false;
                let mut demoted: Option<String> = None;
                if self.add_only
                    && let (Some(n), Some(o)) = (new_a, old_a)
                    && n.team != o.team
                {
                    // An editor made another team ACCOUNTABLE: it keeps the letter.
                    let mut f = Fields::default();
                    f.differ("accountable", &o.team, &n.team);
                    changes.push((place.clone(), Action::Update, f.0, None));
                    skip_a = true;
                } else if let (Some(n), Some(o)) = (new_a, old_a)
                    && n.team != o.team
                    && !new_by_team.contains_key(o.team.as_str())
                    && !self.prune
                {
                    // The file names another ACCOUNTABLE team and leaves this one out: it
                    // stays, as RESPONSIBLE, so that the file's can take the letter.
                    let mut f = Fields::default();
                    f.differ(
                        "responsibility",
                        &o.responsibility,
                        &Responsibility::Responsible,
                    );
                    let key = format!("{place}/{}", o.team);
                    let op = Op::ChangeOwner(ChangeStageOwner {
                        which: OwnershipRef::Stage {
                            journey: journey.clone(),
                            stage: stage.clone(),
                            team: o.team.clone(),
                        },
                        key: key.clone(),
                        responsibility: Some(Responsibility::Responsible),
                        dri: None,
                        note: None,
                    });
                    demotions.push((key, Action::Update, f.0, Some(op)));
                    demoted = Some(o.team.clone());
                }
                for l in &new {
                    // In add-only mode the file's ACCOUNTABLE team is not added beside the
                    // editor's (its other differences are listed, and not applied).
                    if skip_a
                        && l.responsibility == Responsibility::Accountable
                        && !old_by_team.contains_key(l.team.as_str())
                    {
                        continue;
                    }
                    let key = format!("{place}/{}", l.team);
                    let note = self.ok(
                        &format!("ownership {key}"),
                        ShortText::parse_optional("note", l.note.as_deref()),
                    );
                    let Some(note) = note else { continue };
                    match old_by_team.get(l.team.as_str()) {
                        None => {
                            let op = Op::Assign(AssignStageOwner {
                                journey: journey.clone(),
                                stage: stage.clone(),
                                team: l.team.clone(),
                                responsibility: l.responsibility,
                                dri: l.dri.clone(),
                                note,
                            });
                            let step = (key, Action::Create, Vec::new(), Some(op));
                            if l.responsibility == Responsibility::Accountable {
                                promotions.push(step);
                            } else {
                                changes.push(step);
                            }
                        }
                        Some(o) => {
                            let mut f = Fields::default();
                            let letter =
                                f.differ("responsibility", &o.responsibility, &l.responsibility);
                            // Like every optional field, a DRI the file leaves out is kept.
                            let dri = l.dri.is_some() && f.differ("dri", &o.dri, &l.dri);
                            let renote = l.note.is_some() && f.differ("note", &o.note, &l.note);
                            if f.0.is_empty() {
                                continue;
                            }
                            let op = Op::ChangeOwner(ChangeStageOwner {
                                which: OwnershipRef::Stage {
                                    journey: journey.clone(),
                                    stage: stage.clone(),
                                    team: l.team.clone(),
                                },
                                key: key.clone(),
                                responsibility: letter.then_some(l.responsibility),
                                dri: dri.then(|| l.dri.clone()),
                                note: renote.then_some(note),
                            });
                            let step = (key, Action::Update, f.0, Some(op));
                            if o.responsibility == Responsibility::Accountable {
                                demotions.push(step);
                            } else if l.responsibility == Responsibility::Accountable {
                                promotions.push(step);
                            } else {
                                changes.push(step);
                            }
                        }
                    }
                }
                for o in &old {
                    if new_by_team.contains_key(o.team.as_str())
                        || demoted.as_deref() == Some(o.team.as_str())
                    {
                        continue;
                    }
                    let key = format!("{place}/{}", o.team);
                    if !stage_named && self.prune {
                        // Its stage or journey is not in the file: pruned with it (or, if the
                        // stage stays, named here so that the plan says so).
                        let stage_pruned = !file.journeys.iter().any(|j| {
                            j.slug == *journey && j.stages.iter().any(|s| s.key == *stage)
                        });
                        if stage_pruned {
                            continue;
                        }
                    }
                    let which = OwnershipRef::Stage {
                        journey: journey.clone(),
                        stage: stage.clone(),
                        team: o.team.clone(),
                    };
                    let k = key.clone();
                    self.absent("ownership", key, || {
                        Op::RemoveOwner(RemoveStageOwner { which, key: k })
                    });
                }
            }
        }
        for (key, action, fields, op) in demotions.into_iter().chain(changes).chain(promotions) {
            self.step("ownership", key, action, fields, op);
        }
    }
}

/// One team's letter at a stage, with its DRI and note.
struct Letter {
    team: String,
    responsibility: Responsibility,
    dri: Option<String>,
    note: Option<String>,
}

fn owners(raci: &Raci) -> Vec<Letter> {
    let mut out = Vec::new();
    let mut add = |o: &Owner, letter: Responsibility, dri: Option<&str>| {
        out.push(Letter {
            team: o.team().to_owned(),
            responsibility: letter,
            dri: o.dri().or(dri).map(str::to_owned),
            note: o.note().map(str::to_owned),
        });
    };
    for o in &raci.responsible {
        add(o, Responsibility::Responsible, None);
    }
    for o in &raci.consulted {
        add(o, Responsibility::Consulted, None);
    }
    for o in &raci.informed {
        add(o, Responsibility::Informed, None);
    }
    if let Some(o) = &raci.accountable {
        add(o, Responsibility::Accountable, raci.dri.as_deref());
    }
    out
}

fn subject_word(s: SubjectType) -> &'static str {
    match s {
        SubjectType::Persona => "persona",
        SubjectType::Journey => "journey",
        SubjectType::Stage => "stage",
        SubjectType::Team => "team",
    }
}

impl PersonaEntry {
    /// A persona with nothing but its slug and kind: what a new persona is compared against.
    fn empty(slug: &str, kind: entity::enums::PersonaKind) -> Self {
        Self {
            slug: slug.to_owned(),
            name: String::new(),
            kind,
            status: None,
            sort_order: None,
            provenance: None,
            summary: None,
            description: None,
            pain_points: None,
            motivations: None,
            pain_intensity: None,
            pain_intensity_note: None,
            value_prop_scope: None,
            source_url: None,
            roles: Vec::new(),
            product_relevance: Vec::new(),
            external_links: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}
