//! A plan: what applying a catalog file to the database would do, record by record, and the
//! domain commands that do it.
//!
//! The plan compares the file with the catalog as it is ([`super::export::read`]), matching
//! records by natural key. A record only in the file is created (`+`); one in both whose fields
//! differ is updated (`~`), field by field; one only in the database is deleted (`-`) with
//! `prune`, and otherwise kept (`=`). An optional field the file leaves out is left as it is.
//! Every step carries the domain command that performs it, so applying a plan gets exactly the
//! mutations' validation, invariants and history.

mod journey;
mod persona;
mod team;

use super::export::{Ids, State};
use super::model::Catalog;
use crate::domain::alignment::{AlignTeamToPersona, UnalignTeamFromPersona};
use crate::domain::journey::narrowing::SetJourneyPersonas;
use crate::domain::journey::stage::{AddStage, RemoveStage, ReorderStages, UpdateStage};
use crate::domain::journey::{CreateJourney, DeleteJourney, UpdateJourney};
use crate::domain::link::{RemoveExternalLink, UpdateExternalLink};
use crate::domain::ownership::{AssignStageOwner, ChangeStageOwner, RemoveStageOwner};
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
use crate::domain::types::{Name, Url};
use crate::error::AppResult;
use entity::enums::{LinkAccess, LinkKind, SubjectType};
use serde::Serialize;
use std::collections::HashSet;
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
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}
