//! Building the synthetic catalog in memory: every row drawn from the seed's streams, every
//! value through the domain's validated types.

use super::words::{
    ADMIN_TITLES, ADMIN_TRAITS, BUYER_TITLES, BUYER_TRAITS, CONTEXTS, DEV_TITLES, DEV_TRAITS,
    FIRST_NAMES, GOALS, LAST_NAMES, MOTIVATIONS, PAINS, ROLE_TITLES, SIGNALS, STAGES, TEAM_FOCUS,
    TEAM_WORDS,
};
use super::{GenerateOptions, journey_slug, persona_slug, team_slug, timestamp};
use crate::domain::types::{Email, LongText, Name, Position, ShortText, Slug, TextList, text_of};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::enums::{
    Department, MembershipRole, PainIntensity, PersonaKind, Provenance, Responsibility, Status,
    ValuePropScope,
};
use entity::{
    journey, journey_stage, person, persona, role, stage_ownership, team, team_membership,
};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sea_orm::Iterable;

/// The rows of a synthetic catalog, before they are written.
#[derive(Debug, Default)]
pub(super) struct Catalog {
    pub(super) personas: Vec<persona::Model>,
    pub(super) roles: Vec<role::Model>,
    pub(super) teams: Vec<team::Model>,
    pub(super) people: Vec<person::Model>,
    pub(super) memberships: Vec<team_membership::Model>,
    pub(super) journeys: Vec<journey::Model>,
    pub(super) stages: Vec<journey_stage::Model>,
    pub(super) ownerships: Vec<stage_ownership::Model>,
    pub(super) gaps: usize,
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
pub(super) fn build(opts: &GenerateOptions) -> AppResult<Catalog> {
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
