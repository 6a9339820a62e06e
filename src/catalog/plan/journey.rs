//! Planning journeys with their stages and narrowing, and the stages' owners (one
//! ACCOUNTABLE per stage).

use super::{Action, Fields, Op, Planner};
use crate::catalog::model::{Catalog, JourneyEntry, Owner, Raci, StageEntry};
use crate::domain::journey::narrowing::SetJourneyPersonas;
use crate::domain::journey::stage::{AddStage, NewStage, RemoveStage, ReorderStages, UpdateStage};
use crate::domain::journey::{CreateJourney, DeleteJourney, UpdateJourney};
use crate::domain::ownership::{
    AssignStageOwner, ChangeStageOwner, OwnershipRef, RemoveStageOwner,
};
use crate::domain::types::{LongText, Name, ShortText, Slug};
use entity::enums::{Provenance, Responsibility, Status, SubjectType};
use std::collections::{BTreeMap, HashMap, HashSet};

impl Planner<'_> {
    pub(super) fn journeys(&mut self, db: &Catalog, file: &Catalog) {
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

    pub(super) fn new_stage(&mut self, journey: &str, s: &StageEntry) -> Option<NewStage> {
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

    pub(super) fn create_journey(&mut self, j: &JourneyEntry) {
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

    pub(super) fn update_journey(&mut self, row: &JourneyEntry, j: &JourneyEntry) {
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

    pub(super) fn stages(&mut self, row: &JourneyEntry, j: &JourneyEntry) {
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

    pub(super) fn ownership(&mut self, db: &Catalog, file: &Catalog) {
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
