//! Seeding journeys with their stages, persona narrowing and links, and the stages' owners.

use super::{Diff, Seeder, at};
use crate::catalog::model::{Catalog, JourneyEntry, StageEntry};
use crate::catalog::{SeedError, letters};
use crate::domain::journey::narrowing::SetJourneyPersonas;
use crate::domain::journey::stage::{AddStage, NewStage, ReorderStages, UpdateStage};
use crate::domain::journey::{CreateJourney, UpdateJourney};
use crate::domain::ownership::{AssignStageOwner, ChangeStageOwner, OwnershipRef};
use crate::domain::types::{LongText, Name, ShortText, Slug};
use crate::error::AppResult;
use entity::enums::{Provenance, Responsibility, Status, SubjectType};
use entity::{journey, journey_persona, journey_stage, person, persona, stage_ownership, team};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

fn new_stage(s: &StageEntry) -> AppResult<NewStage> {
    Ok(NewStage {
        key: Slug::parse("key", &s.key)?,
        name: Name::parse("name", &s.name)?,
        goal: ShortText::parse_optional("goal", s.goal.as_deref())?,
        entry_criteria: ShortText::parse_optional("entryCriteria", s.entry_criteria.as_deref())?,
        exit_criteria: ShortText::parse_optional("exitCriteria", s.exit_criteria.as_deref())?,
    })
}

pub(super) async fn journeys(s: &mut Seeder<'_>, c: &Catalog) -> Result<(), SeedError> {
    for j in &c.journeys {
        let record = format!("journey `{}`", j.slug);
        let name = Name::parse("name", &j.name).map_err(|e| at(&record, e))?;
        let description = LongText::parse_optional("description", j.description.as_deref())
            .map_err(|e| at(&record, e))?;
        let existing = journey::Entity::find()
            .filter(journey::Column::Slug.eq(&j.slug))
            .one(s.db())
            .await
            .map_err(|e| at(&record, e.into()))?;
        let row = match existing {
            None => {
                let stages = j
                    .stages
                    .iter()
                    .map(new_stage)
                    .collect::<AppResult<Vec<_>>>()
                    .map_err(|e| at(&record, e))?;
                let cmd = CreateJourney {
                    slug: Slug::parse("slug", &j.slug).map_err(|e| at(&record, e))?,
                    name,
                    description,
                    persona_kind: j.persona_kind,
                    status: j.status.unwrap_or(Status::Active),
                    personas: j.personas.clone(),
                    stages,
                    provenance: j.provenance.unwrap_or(Provenance::Illustrative),
                };
                let row = s.apply(&record, cmd).await?;
                s.report.inserted += 1 + j.stages.len() + j.personas.len();
                row
            }
            Some(row) => {
                let mut d = Diff::new(&record);
                let mut cmd = UpdateJourney {
                    slug: j.slug.clone(),
                    expected_version: row.version,
                    name: None,
                    description: None,
                    persona_kind: None,
                    status: None,
                };
                if d.field("name", row.name.as_str(), name.as_str()) {
                    cmd.name = Some(name);
                }
                if d.field("personaKind", &row.persona_kind, &j.persona_kind) {
                    cmd.persona_kind = Some(j.persona_kind);
                }
                if let Some(x) = j.status
                    && d.field("status", &row.status, &x)
                {
                    cmd.status = Some(x);
                }
                if let Some(x) = description
                    && d.field(
                        "description",
                        &row.description.as_deref(),
                        &Some(x.as_str()),
                    )
                {
                    cmd.description = Some(Some(x));
                }
                if s.differs(d) {
                    s.apply(&record, cmd).await?;
                    s.report.updated += 1;
                }
                narrowing(s, j, &row, &record).await?;
                stages(s, j, &row).await?;
                row
            }
        };
        s.links(SubjectType::Journey, row.id, &record, &j.external_links)
            .await?;
        let all = stages_of(s, row.id, &record).await?;
        for st in &j.stages {
            if let Some(x) = all.iter().find(|x| x.key == st.key) {
                let key = format!("stage {}/{}", j.slug, st.key);
                s.links(SubjectType::Stage, x.id, &key, &st.external_links)
                    .await?;
            }
        }
    }
    Ok(())
}

async fn stages_of(
    s: &Seeder<'_>,
    journey_id: i32,
    record: &str,
) -> Result<Vec<journey_stage::Model>, SeedError> {
    journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(journey_id))
        .order_by_asc(journey_stage::Column::Position)
        .all(s.db())
        .await
        .map_err(|e| at(record, e.into()))
}

/// The personas the journey is narrowed to, compared as sets of slugs.
async fn narrowing(
    s: &mut Seeder<'_>,
    j: &JourneyEntry,
    row: &journey::Model,
    record: &str,
) -> Result<(), SeedError> {
    let ids: Vec<i32> = journey_persona::Entity::find()
        .filter(journey_persona::Column::JourneyId.eq(row.id))
        .all(s.db())
        .await
        .map_err(|e| at(record, e.into()))?
        .into_iter()
        .map(|x| x.persona_id)
        .collect();
    let mut current: Vec<String> = persona::Entity::find()
        .filter(persona::Column::Id.is_in(ids))
        .all(s.db())
        .await
        .map_err(|e| at(record, e.into()))?
        .into_iter()
        .map(|p| p.slug)
        .collect();
    current.sort();
    let mut file = j.personas.clone();
    file.sort();
    let mut d = Diff::new(record);
    d.field("personas", &current, &file);
    if s.differs(d) {
        let cmd = SetJourneyPersonas {
            journey: j.slug.clone(),
            personas: j.personas.clone(),
        };
        s.apply(record, cmd).await?;
        s.report.updated += 1;
    }
    Ok(())
}

/// Stages matched by key: missing ones added at their place in the file, differing fields
/// and a different order reported (and overwritten).
async fn stages(
    s: &mut Seeder<'_>,
    j: &JourneyEntry,
    row: &journey::Model,
) -> Result<(), SeedError> {
    let record = format!("journey `{}`", j.slug);
    // Read once, and again only after a stage was added (which renumbers those after it).
    let mut all = stages_of(s, row.id, &record).await?;
    for (i, st) in j.stages.iter().enumerate() {
        let key = format!("stage {}/{}", j.slug, st.key);
        let v = new_stage(st).map_err(|e| at(&key, e))?;
        match all.iter().find(|x| x.key == st.key) {
            None => {
                let position = i32::try_from((i + 1).min(all.len() + 1)).unwrap_or(i32::MAX);
                let cmd = AddStage {
                    journey: j.slug.clone(),
                    stage: v,
                    position: Some(position),
                };
                s.apply(&key, cmd).await?;
                s.report.inserted += 1;
                all = stages_of(s, row.id, &key).await?;
            }
            Some(x) => {
                let mut d = Diff::new(&key);
                let mut cmd = UpdateStage {
                    id: x.id,
                    key: key.clone(),
                    name: None,
                    goal: None,
                    entry_criteria: None,
                    exit_criteria: None,
                };
                if d.field("name", x.name.as_str(), v.name.as_str()) {
                    cmd.name = Some(v.name);
                }
                for (field, db, file, slot) in [
                    ("goal", &x.goal, v.goal, &mut cmd.goal),
                    (
                        "entryCriteria",
                        &x.entry_criteria,
                        v.entry_criteria,
                        &mut cmd.entry_criteria,
                    ),
                    (
                        "exitCriteria",
                        &x.exit_criteria,
                        v.exit_criteria,
                        &mut cmd.exit_criteria,
                    ),
                ] {
                    if let Some(t) = file
                        && d.field(field, &db.as_deref(), &Some(t.as_str()))
                    {
                        *slot = Some(Some(t));
                    }
                }
                if s.differs(d) {
                    s.apply(&key, cmd).await?;
                    s.report.updated += 1;
                }
            }
        }
    }
    // The order of the file's stages among themselves; stages editors added keep their place
    // after them when the order is overwritten.
    let all = stages_of(s, row.id, &record).await?;
    let file: Vec<&str> = j.stages.iter().map(|x| x.key.as_str()).collect();
    let current: Vec<&str> = all
        .iter()
        .map(|x| x.key.as_str())
        .filter(|k| file.contains(k))
        .collect();
    let mut d = Diff::new(&record);
    d.field("stage order", &current, &file);
    if s.differs(d) {
        let mut keys: Vec<String> = file.iter().map(|k| (*k).to_owned()).collect();
        keys.extend(
            all.iter()
                .filter(|x| !file.contains(&x.key.as_str()))
                .map(|x| x.key.clone()),
        );
        let cmd = ReorderStages {
            journey: j.slug.clone(),
            keys,
        };
        s.apply(&record, cmd).await?;
        s.report.updated += 1;
    }
    Ok(())
}

/// The RACI letters of each stage: missing owners assigned, a different letter or DRI
/// reported (and overwritten). A stage an editor gave another ACCOUNTABLE team keeps it.
pub(super) async fn ownership(s: &mut Seeder<'_>, c: &Catalog) -> Result<(), SeedError> {
    for (journey_slug, by_stage) in &c.ownership {
        for (key, raci) in by_stage {
            let place = format!("ownership {journey_slug}/{key}");
            let Some(stage) = stage_by_key(s, journey_slug, key, &place).await? else {
                continue;
            };
            let reported = make_room(s, journey_slug, raci, &stage, &place).await?;
            for (team_slug, letter) in letters(raci) {
                let record = format!("{place} {team_slug}");
                let dri = (letter == Responsibility::Accountable)
                    .then(|| raci.dri.clone())
                    .flatten();
                let owners = owners_of(s, stage.id, &record).await?;
                let held_by = owners
                    .iter()
                    .find(|(o, _)| o.responsibility == Responsibility::Accountable)
                    .map(|(_, t)| t.slug.clone());
                let accountable_elsewhere = letter == Responsibility::Accountable
                    && held_by.as_deref().is_some_and(|t| t != team_slug);
                match owners.iter().find(|(_, t)| t.slug == team_slug) {
                    None => {
                        if accountable_elsewhere {
                            if !reported {
                                let mut d = Diff::new(&place);
                                d.field("accountable", &held_by.as_deref(), &Some(team_slug));
                                s.report.differences.extend(d.found);
                            }
                            continue;
                        }
                        let cmd = AssignStageOwner {
                            journey: journey_slug.clone(),
                            stage: key.clone(),
                            team: team_slug.to_owned(),
                            responsibility: letter,
                            dri,
                            note: None,
                        };
                        s.apply(&record, cmd).await?;
                        s.report.inserted += 1;
                    }
                    Some((o, _)) => {
                        let current_dri = match o.person_id {
                            Some(id) => person::Entity::find_by_id(id)
                                .one(s.db())
                                .await
                                .map_err(|e| at(&record, e.into()))?
                                .map(|p| p.slug),
                            None => None,
                        };
                        let mut d = Diff::new(&record);
                        let letter_differs = d.field("responsibility", &o.responsibility, &letter);
                        let dri_differs = letter == Responsibility::Accountable
                            && raci.dri.is_some()
                            && d.field("dri", &current_dri, &dri);
                        if s.differs(d) {
                            if accountable_elsewhere {
                                // Promoting it would make a second ACCOUNTABLE owner.
                                continue;
                            }
                            let cmd = ChangeStageOwner {
                                which: OwnershipRef::Id(o.id),
                                key: record.clone(),
                                responsibility: letter_differs.then_some(letter),
                                dri: dri_differs.then(|| dri.clone()),
                                note: None,
                            };
                            s.apply(&record, cmd).await?;
                            s.report.updated += 1;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// When an editor made a team the file does not name at this stage ACCOUNTABLE, and the file
/// names another: reported, and with overwrite that team becomes RESPONSIBLE, so the file's
/// accountable team can take its place (one ACCOUNTABLE per stage). Whether it was reported.
async fn make_room(
    s: &mut Seeder<'_>,
    journey_slug: &str,
    raci: &crate::catalog::model::Raci,
    stage: &journey_stage::Model,
    place: &str,
) -> Result<bool, SeedError> {
    let Some(file_accountable) = &raci.accountable else {
        return Ok(false);
    };
    let owners = owners_of(s, stage.id, place).await?;
    let named = letters(raci);
    let Some((holder, team)) = owners.iter().find(|(o, t)| {
        o.responsibility == Responsibility::Accountable
            && t.slug != *file_accountable
            && !named.iter().any(|(n, _)| *n == t.slug)
    }) else {
        return Ok(false);
    };
    let mut d = Diff::new(place);
    d.field(
        "accountable",
        &Some(team.slug.as_str()),
        &Some(file_accountable.as_str()),
    );
    if s.differs(d) {
        let record = format!("ownership {journey_slug}/{} {}", stage.key, team.slug);
        let cmd = ChangeStageOwner {
            which: OwnershipRef::Id(holder.id),
            key: record.clone(),
            responsibility: Some(Responsibility::Responsible),
            dri: None,
            note: None,
        };
        s.apply(&record, cmd).await?;
        s.report.updated += 1;
    }
    Ok(true)
}

async fn stage_by_key(
    s: &Seeder<'_>,
    journey_slug: &str,
    key: &str,
    record: &str,
) -> Result<Option<journey_stage::Model>, SeedError> {
    let Some(j) = journey::Entity::find()
        .filter(journey::Column::Slug.eq(journey_slug))
        .one(s.db())
        .await
        .map_err(|e| at(record, e.into()))?
    else {
        return Ok(None);
    };
    journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(j.id))
        .filter(journey_stage::Column::Key.eq(key))
        .one(s.db())
        .await
        .map_err(|e| at(record, e.into()))
}

async fn owners_of(
    s: &Seeder<'_>,
    stage_id: i32,
    record: &str,
) -> Result<Vec<(stage_ownership::Model, team::Model)>, SeedError> {
    Ok(stage_ownership::Entity::find()
        .filter(stage_ownership::Column::StageId.eq(stage_id))
        .find_also_related(team::Entity)
        .all(s.db())
        .await
        .map_err(|e| at(record, e.into()))?
        .into_iter()
        .filter_map(|(o, t)| Some((o, t?)))
        .collect())
}
