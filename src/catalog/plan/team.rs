//! Planning teams, people with their memberships, and team-persona alignments.

use super::{Action, Fields, Op, Planner};
use crate::catalog::model::{Catalog, PersonEntry};
use crate::domain::alignment::{AlignTeamToPersona, UnalignTeamFromPersona};
use crate::domain::person::{CreatePerson, DeletePerson, UpdatePerson};
use crate::domain::team::{
    AddTeamMember, ChangeTeamMemberRole, CreateTeam, DeleteTeam, RemoveTeamMember, UpdateTeam,
};
use crate::domain::types::{Email, LongText, Name, Slug};
use entity::enums::{MembershipRole, Provenance, SubjectType};
use std::collections::{HashMap, HashSet};

impl Planner<'_> {
    pub(super) fn teams(&mut self, db: &Catalog, file: &Catalog) {
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

    pub(super) fn people(&mut self, db: &Catalog, file: &Catalog) {
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

    pub(super) fn alignments(&mut self, db: &Catalog, file: &Catalog) {
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
}
