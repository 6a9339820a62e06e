//! The catalog as it is in the database, in the file's shape: what `export` writes, and the
//! "current state" that a plan compares a file against.
//!
//! Everything is keyed by natural keys (slugs, stage keys, a link's URL) and written in a
//! fixed order, so that exporting twice gives the same bytes and a file's diff in review shows
//! only what changed: products, teams, people and journeys by slug; personas by sort order,
//! then slug; roles and stages in their order; relevance by product; links by their order of
//! creation; ownership by journey, stage key and team slug. Beside the file's shape, the
//! database IDs and versions that commands need are kept in [`Ids`] (never exported).

use super::model::{
    AlignmentEntry, Catalog, ExternalLinkEntry, JourneyEntry, MembershipEntry, Owner, OwnerDetail,
    PersonEntry, PersonaEntry, PersonaLinkEntry, ProductEntry, Raci, RelevanceEntry, StageEntry,
    TeamEntry,
};
use entity::enums::{MembershipRole, PersonaLinkKind, Responsibility, SubjectType};
use entity::{
    external_link, journey, journey_persona, journey_stage, person, persona, persona_link,
    persona_product_relevance, product, role, stage_ownership, team, team_membership,
    team_persona_alignment,
};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder, Statement};
use std::collections::{BTreeMap, HashMap};

/// The database's side of a catalog: IDs and versions by natural key.
#[derive(Debug, Default, Clone)]
pub struct Ids {
    /// Persona, team and journey versions by slug.
    pub persona_versions: HashMap<String, i32>,
    pub team_versions: HashMap<String, i32>,
    pub journey_versions: HashMap<String, i32>,
    /// Role (ID, sort order) by persona slug and lower-case title.
    pub roles: HashMap<(String, String), (i32, i32)>,
    /// Stage IDs by journey slug and stage key.
    pub stages: HashMap<(String, String), i32>,
    /// Persona-link IDs by (from, to, kind).
    pub persona_links: HashMap<(String, String, PersonaLinkKind), i32>,
    /// External-link IDs by subject and URL (the subject's key: a slug, `journey/stage`).
    pub links: HashMap<(SubjectType, String, String), i32>,
}

/// The catalog in the database, and its IDs.
#[derive(Debug, Clone)]
pub struct State {
    pub catalog: Catalog,
    pub ids: Ids,
}

/// The catalog version: one number that grows with every committed change.
pub async fn version<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT version FROM catalog_version WHERE id = 1",
        ))
        .await?;
    match row {
        Some(row) => row.try_get::<i64>("", "version"),
        None => Err(DbErr::RecordNotFound("catalog_version".into())),
    }
}

/// The whole catalog as it is in `db`: one statement per table, whatever its size.
pub async fn read<C: ConnectionTrait>(db: &C) -> Result<State, DbErr> {
    let version = version(db).await?;
    let products = product::Entity::find()
        .order_by_asc(product::Column::Slug)
        .all(db)
        .await?;
    let personas = persona::Entity::find()
        .order_by_asc(persona::Column::SortOrder)
        .order_by_asc(persona::Column::Slug)
        .all(db)
        .await?;
    let roles = role::Entity::find()
        .order_by_asc(role::Column::SortOrder)
        .order_by_asc(role::Column::Id)
        .all(db)
        .await?;
    let relevance = persona_product_relevance::Entity::find().all(db).await?;
    let persona_links = persona_link::Entity::find().all(db).await?;
    let teams = team::Entity::find()
        .order_by_asc(team::Column::Slug)
        .all(db)
        .await?;
    let people = person::Entity::find()
        .order_by_asc(person::Column::Slug)
        .all(db)
        .await?;
    let memberships = team_membership::Entity::find().all(db).await?;
    let alignments = team_persona_alignment::Entity::find().all(db).await?;
    let journeys = journey::Entity::find()
        .order_by_asc(journey::Column::Slug)
        .all(db)
        .await?;
    let narrowing = journey_persona::Entity::find().all(db).await?;
    let stages = journey_stage::Entity::find()
        .order_by_asc(journey_stage::Column::Position)
        .all(db)
        .await?;
    let owners = stage_ownership::Entity::find().all(db).await?;
    let links = external_link::Entity::find()
        .order_by_asc(external_link::Column::Id)
        .all(db)
        .await?;

    let mut ids = Ids::default();
    let product_slug: HashMap<i32, &str> =
        products.iter().map(|p| (p.id, p.slug.as_str())).collect();
    let persona_slug: HashMap<i32, &str> =
        personas.iter().map(|p| (p.id, p.slug.as_str())).collect();
    let team_slug: HashMap<i32, &str> = teams.iter().map(|t| (t.id, t.slug.as_str())).collect();
    let person_slug: HashMap<i32, &str> = people.iter().map(|p| (p.id, p.slug.as_str())).collect();
    let journey_slug: HashMap<i32, &str> =
        journeys.iter().map(|j| (j.id, j.slug.as_str())).collect();
    let stage_of: HashMap<i32, (&str, &str)> = stages
        .iter()
        .filter_map(|s| Some((s.id, (*journey_slug.get(&s.journey_id)?, s.key.as_str()))))
        .collect();

    // Links by subject, in creation order.
    let mut links_of: HashMap<(SubjectType, i32), Vec<&external_link::Model>> = HashMap::new();
    for l in &links {
        links_of
            .entry((l.subject_type, l.subject_id))
            .or_default()
            .push(l);
    }
    let mut link_entries = |kind: SubjectType, id: i32, key: &str| -> Vec<ExternalLinkEntry> {
        links_of
            .get(&(kind, id))
            .map(|ls| {
                ls.iter()
                    .map(|l| {
                        ids.links
                            .insert((kind, key.to_owned(), l.url.clone()), l.id);
                        ExternalLinkEntry {
                            kind: l.kind,
                            access: l.access,
                            label: l.label.clone(),
                            url: l.url.clone(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    };

    let mut roles_of: HashMap<i32, Vec<&role::Model>> = HashMap::new();
    for r in &roles {
        roles_of.entry(r.persona_id).or_default().push(r);
    }
    let mut relevance_of: HashMap<i32, Vec<RelevanceEntry>> = HashMap::new();
    for r in &relevance {
        if let Some(product) = product_slug.get(&r.product_id) {
            relevance_of
                .entry(r.persona_id)
                .or_default()
                .push(RelevanceEntry {
                    product: (*product).to_owned(),
                    level: r.level,
                    note: r.note.clone(),
                    provenance: Some(r.provenance),
                });
        }
    }
    let mut persona_entries = Vec::with_capacity(personas.len());
    for p in &personas {
        ids.persona_versions.insert(p.slug.clone(), p.version);
        let titles: Vec<String> = roles_of
            .get(&p.id)
            .map(|rs| {
                rs.iter()
                    .map(|r| {
                        ids.roles.insert(
                            (p.slug.clone(), r.title.to_lowercase()),
                            (r.id, r.sort_order),
                        );
                        r.title.clone()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut product_relevance = relevance_of.remove(&p.id).unwrap_or_default();
        product_relevance.sort_by(|a, b| a.product.cmp(&b.product));
        persona_entries.push(PersonaEntry {
            slug: p.slug.clone(),
            name: p.name.clone(),
            kind: p.kind,
            status: Some(p.status),
            sort_order: Some(p.sort_order),
            provenance: Some(p.provenance),
            summary: p.summary.clone(),
            description: p.description.clone(),
            pain_points: non_empty(text_list(&p.pain_points)),
            motivations: non_empty(text_list(&p.motivations)),
            pain_intensity: p.pain_intensity,
            pain_intensity_note: p.pain_intensity_note.clone(),
            value_prop_scope: p.value_prop_scope,
            source_url: p.source_url.clone(),
            roles: titles,
            product_relevance,
            external_links: link_entries(SubjectType::Persona, p.id, &p.slug),
        });
    }

    let mut link_rows: Vec<PersonaLinkEntry> = Vec::new();
    for l in &persona_links {
        let (Some(from), Some(to)) = (
            persona_slug.get(&l.from_persona_id),
            persona_slug.get(&l.to_persona_id),
        ) else {
            continue;
        };
        ids.persona_links
            .insert(((*from).to_owned(), (*to).to_owned(), l.kind), l.id);
        link_rows.push(PersonaLinkEntry {
            from: (*from).to_owned(),
            to: (*to).to_owned(),
            kind: l.kind,
            note: l.note.clone(),
            provenance: Some(l.provenance),
        });
    }
    link_rows
        .sort_by(|a, b| (&a.from, &a.to, a.kind.as_str()).cmp(&(&b.from, &b.to, b.kind.as_str())));

    let team_entries: Vec<TeamEntry> = teams
        .iter()
        .map(|t| {
            ids.team_versions.insert(t.slug.clone(), t.version);
            TeamEntry {
                slug: t.slug.clone(),
                name: t.name.clone(),
                department: t.department,
                description: t.description.clone(),
                external_links: link_entries(SubjectType::Team, t.id, &t.slug),
            }
        })
        .collect();

    let mut teams_of: HashMap<i32, Vec<(&str, MembershipRole)>> = HashMap::new();
    for m in &memberships {
        if let Some(t) = team_slug.get(&m.team_id) {
            teams_of.entry(m.person_id).or_default().push((t, m.role));
        }
    }
    let people_entries = people
        .iter()
        .map(|p| {
            let mut teams = teams_of.remove(&p.id).unwrap_or_default();
            teams.sort_by(|a, b| a.0.cmp(b.0));
            let mut entry = PersonEntry {
                slug: p.slug.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                team: None,
                role: None,
                memberships: Vec::new(),
            };
            if let [(team, role)] = teams.as_slice() {
                entry.team = Some((*team).to_owned());
                entry.role = Some(*role);
            } else {
                entry.memberships = teams
                    .iter()
                    .map(|(team, role)| MembershipEntry {
                        team: (*team).to_owned(),
                        role: Some(*role),
                    })
                    .collect();
            }
            entry
        })
        .collect();

    let mut alignment_entries: Vec<AlignmentEntry> = alignments
        .iter()
        .filter_map(|a| {
            Some(AlignmentEntry {
                team: (*team_slug.get(&a.team_id)?).to_owned(),
                persona: (*persona_slug.get(&a.persona_id)?).to_owned(),
                level: a.level,
                motion: a.motion,
                provenance: Some(a.provenance),
            })
        })
        .collect();
    alignment_entries.sort_by(|a, b| (&a.team, &a.persona).cmp(&(&b.team, &b.persona)));

    let mut narrowing_of: HashMap<i32, Vec<String>> = HashMap::new();
    for n in &narrowing {
        if let Some(p) = persona_slug.get(&n.persona_id) {
            narrowing_of
                .entry(n.journey_id)
                .or_default()
                .push((*p).to_owned());
        }
    }
    let mut stages_of: HashMap<i32, Vec<&journey_stage::Model>> = HashMap::new();
    for s in &stages {
        stages_of.entry(s.journey_id).or_default().push(s);
    }
    let mut journey_entries = Vec::with_capacity(journeys.len());
    for j in &journeys {
        ids.journey_versions.insert(j.slug.clone(), j.version);
        let mut personas = narrowing_of.remove(&j.id).unwrap_or_default();
        personas.sort();
        let stage_entries = stages_of
            .get(&j.id)
            .map(|ss| {
                ss.iter()
                    .map(|s| {
                        ids.stages.insert((j.slug.clone(), s.key.clone()), s.id);
                        StageEntry {
                            key: s.key.clone(),
                            name: s.name.clone(),
                            goal: s.goal.clone(),
                            entry_criteria: s.entry_criteria.clone(),
                            exit_criteria: s.exit_criteria.clone(),
                            external_links: link_entries(
                                SubjectType::Stage,
                                s.id,
                                &format!("{}/{}", j.slug, s.key),
                            ),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        journey_entries.push(JourneyEntry {
            slug: j.slug.clone(),
            name: j.name.clone(),
            persona_kind: j.persona_kind,
            status: Some(j.status),
            provenance: Some(j.provenance),
            description: j.description.clone(),
            personas,
            external_links: link_entries(SubjectType::Journey, j.id, &j.slug),
            stages: stage_entries,
        });
    }

    let mut ownership: BTreeMap<String, BTreeMap<String, Raci>> = BTreeMap::new();
    let mut rows: Vec<(&str, &str, &str, &stage_ownership::Model)> = owners
        .iter()
        .filter_map(|o| {
            let (journey, key) = stage_of.get(&o.stage_id)?;
            Some((*journey, *key, *team_slug.get(&o.team_id)?, o))
        })
        .collect();
    rows.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    for (journey, key, team, o) in rows {
        let raci = ownership
            .entry(journey.to_owned())
            .or_default()
            .entry(key.to_owned())
            .or_insert_with(|| Raci {
                accountable: None,
                responsible: Vec::new(),
                consulted: Vec::new(),
                informed: Vec::new(),
                dri: None,
            });
        let dri = o
            .person_id
            .and_then(|p| person_slug.get(&p))
            .map(|p| (*p).to_owned());
        let owner = |dri: Option<String>| match (&dri, &o.note) {
            (None, None) => Owner::Team(team.to_owned()),
            _ => Owner::Detailed(OwnerDetail {
                team: team.to_owned(),
                dri,
                note: o.note.clone(),
            }),
        };
        match o.responsibility {
            Responsibility::Accountable => {
                // The DRI of the accountable team in its short form, unless a note needs the
                // long one.
                if o.note.is_none() {
                    raci.dri = dri;
                    raci.accountable = Some(Owner::Team(team.to_owned()));
                } else {
                    raci.accountable = Some(owner(dri));
                }
            }
            Responsibility::Responsible => raci.responsible.push(owner(dri)),
            Responsibility::Consulted => raci.consulted.push(owner(dri)),
            Responsibility::Informed => raci.informed.push(owner(dri)),
        }
    }

    Ok(State {
        catalog: Catalog {
            catalog_version: Some(version),
            products: products
                .iter()
                .map(|p| ProductEntry {
                    slug: p.slug.clone(),
                    name: p.name.clone(),
                    provenance: Some(p.provenance),
                })
                .collect(),
            personas: persona_entries,
            persona_links: link_rows,
            teams: team_entries,
            people: people_entries,
            alignments: alignment_entries,
            journeys: journey_entries,
            ownership,
        },
        ids,
    })
}

/// The header `export` writes above the catalog.
const HEADER: &str = "\
# The persona-graph catalog, exported. Edit it, then `persona-graph plan FILE` shows what
# applying it would change and `persona-graph apply FILE` applies it (README: Catalog as code).
";

/// The catalog as YAML text, as `export` writes it.
pub fn to_yaml(catalog: &Catalog) -> Result<String, serde_yaml_ng::Error> {
    Ok(format!("{HEADER}{}", serde_yaml_ng::to_string(catalog)?))
}

fn text_list(json: &serde_json::Value) -> Vec<String> {
    json.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn non_empty(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}
