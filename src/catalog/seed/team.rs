//! Seeding teams, people with their team memberships, and team-persona alignments.

use super::{Diff, Seeder, at};
use crate::catalog::SeedError;
use crate::catalog::model::Catalog;
use crate::domain::alignment::AlignTeamToPersona;
use crate::domain::person::{CreatePerson, UpdatePerson};
use crate::domain::team::{AddTeamMember, ChangeTeamMemberRole, CreateTeam, UpdateTeam};
use crate::domain::types::{Email, LongText, Name, Slug};
use entity::enums::{MembershipRole, Provenance, SubjectType};
use entity::{person, persona, team, team_membership, team_persona_alignment};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

pub(super) async fn teams(s: &mut Seeder<'_>, c: &Catalog) -> Result<(), SeedError> {
    for t in &c.teams {
        let record = format!("team {}", t.slug);
        let name = Name::parse("name", &t.name).map_err(|e| at(&record, e))?;
        let description = LongText::parse_optional("description", t.description.as_deref())
            .map_err(|e| at(&record, e))?;
        let row = match team_by_slug(s, &t.slug, &record).await? {
            None => {
                let cmd = CreateTeam {
                    slug: Slug::parse("slug", &t.slug).map_err(|e| at(&record, e))?,
                    name,
                    department: t.department,
                    description,
                };
                s.report.inserted += 1;
                s.apply(&record, cmd).await?
            }
            Some(row) => {
                let mut d = Diff::new(&record);
                let mut cmd = UpdateTeam {
                    slug: t.slug.clone(),
                    expected_version: row.version,
                    name: None,
                    department: None,
                    description: None,
                };
                if d.field("name", row.name.as_str(), name.as_str()) {
                    cmd.name = Some(name);
                }
                if d.field("department", &row.department, &t.department) {
                    cmd.department = Some(t.department);
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
                row
            }
        };
        s.links(SubjectType::Team, row.id, &record, &t.external_links)
            .await?;
    }
    Ok(())
}

async fn team_by_slug(
    s: &Seeder<'_>,
    slug: &str,
    record: &str,
) -> Result<Option<team::Model>, SeedError> {
    team::Entity::find()
        .filter(team::Column::Slug.eq(slug))
        .one(s.db())
        .await
        .map_err(|e| at(record, e.into()))
}

pub(super) async fn people(s: &mut Seeder<'_>, c: &Catalog) -> Result<(), SeedError> {
    for x in &c.people {
        let record = format!("person {}", x.slug);
        let name = Name::parse("name", &x.name).map_err(|e| at(&record, e))?;
        let email =
            Email::parse_optional("email", x.email.as_deref()).map_err(|e| at(&record, e))?;
        let existing = person::Entity::find()
            .filter(person::Column::Slug.eq(&x.slug))
            .one(s.db())
            .await
            .map_err(|e| at(&record, e.into()))?;
        let row = match existing {
            None => {
                let cmd = CreatePerson {
                    slug: Slug::parse("slug", &x.slug).map_err(|e| at(&record, e))?,
                    name,
                    email,
                };
                s.report.inserted += 1;
                s.apply(&record, cmd).await?
            }
            Some(row) => {
                let mut d = Diff::new(&record);
                let mut cmd = UpdatePerson {
                    slug: x.slug.clone(),
                    name: None,
                    email: None,
                };
                if d.field("name", row.name.as_str(), name.as_str()) {
                    cmd.name = Some(name);
                }
                if let Some(e) = email
                    && d.field("email", &row.email.as_deref(), &Some(e.as_str()))
                {
                    cmd.email = Some(Some(e));
                }
                if s.differs(d) {
                    s.apply(&record, cmd).await?;
                    s.report.updated += 1;
                }
                row
            }
        };
        let Some(team_slug) = &x.team else { continue };
        let record = format!("membership of {} in team {team_slug}", x.slug);
        let role = x.role.unwrap_or(MembershipRole::Member);
        let Some(team) = team_by_slug(s, team_slug, &record).await? else {
            continue;
        };
        let existing = team_membership::Entity::find()
            .filter(team_membership::Column::TeamId.eq(team.id))
            .filter(team_membership::Column::PersonId.eq(row.id))
            .one(s.db())
            .await
            .map_err(|e| at(&record, e.into()))?;
        match existing {
            None => {
                let cmd = AddTeamMember {
                    team: team_slug.clone(),
                    person: x.slug.clone(),
                    role,
                };
                s.apply(&record, cmd).await?;
                s.report.inserted += 1;
            }
            Some(m) => {
                let mut d = Diff::new(&record);
                d.field("role", &m.role, &role);
                if s.differs(d) {
                    let cmd = ChangeTeamMemberRole {
                        team: team_slug.clone(),
                        person: x.slug.clone(),
                        role,
                    };
                    s.apply(&record, cmd).await?;
                    s.report.updated += 1;
                }
            }
        }
    }
    Ok(())
}

pub(super) async fn alignments(s: &mut Seeder<'_>, c: &Catalog) -> Result<(), SeedError> {
    for a in &c.alignments {
        let record = format!("alignment of team {} to persona {}", a.team, a.persona);
        let Some(team) = team_by_slug(s, &a.team, &record).await? else {
            continue;
        };
        let persona = persona::Entity::find()
            .filter(persona::Column::Slug.eq(&a.persona))
            .one(s.db())
            .await
            .map_err(|e| at(&record, e.into()))?;
        let Some(persona) = persona else { continue };
        let existing = team_persona_alignment::Entity::find()
            .filter(team_persona_alignment::Column::TeamId.eq(team.id))
            .filter(team_persona_alignment::Column::PersonaId.eq(persona.id))
            .one(s.db())
            .await
            .map_err(|e| at(&record, e.into()))?;
        let motion = a.motion.or(existing.as_ref().and_then(|x| x.motion));
        let write = match existing {
            None => {
                s.report.inserted += 1;
                true
            }
            Some(x) => {
                let mut d = Diff::new(&record);
                d.field("level", &x.level, &a.level);
                if a.motion.is_some() {
                    d.field("motion", &x.motion, &a.motion);
                }
                let overwrite = s.differs(d);
                if overwrite {
                    s.report.updated += 1;
                }
                overwrite
            }
        };
        if write {
            let cmd = AlignTeamToPersona {
                team: a.team.clone(),
                persona: a.persona.clone(),
                level: a.level,
                motion,
                provenance: a
                    .provenance
                    .or_else(|| super::persona::file_provenance(c, &a.persona))
                    .unwrap_or(Provenance::Illustrative),
            };
            s.apply(&record, cmd).await?;
        }
    }
    Ok(())
}
