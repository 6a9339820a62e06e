//! Every problem of a catalog file, found before anything is written: its values, checked by
//! the domain's own types (a file gets exactly the rules the mutations apply, each problem
//! naming the record, the field and the rule), and its references (what it names must be
//! defined in it, once; a DRI must be a member of the team).

use super::SeedError;
use super::model::{Catalog, ExternalLinkEntry, Owner, Raci};
use crate::domain::types::{Email, LongText, Name, ShortText, Slug, TextList, Url, list_len};
use crate::error::AppResult;
use entity::enums::{PersonaKind, Responsibility};
use std::collections::{HashMap, HashSet};

/// Every problem with the values of `c`, in file order (`record: field: rule`).
pub(super) fn problems(c: &Catalog) -> Vec<String> {
    let mut p = Check(Vec::new());
    for x in &c.products {
        let r = format!("product `{}`", x.slug);
        p.ok(&r, Slug::parse("slug", &x.slug));
        p.ok(&r, Name::parse("name", &x.name));
    }
    for x in &c.personas {
        let r = format!("persona `{}`", x.slug);
        p.ok(&r, Slug::parse("slug", &x.slug));
        p.ok(&r, Name::parse("name", &x.name));
        p.ok(
            &r,
            ShortText::parse_optional("summary", x.summary.as_deref()),
        );
        p.ok(
            &r,
            LongText::parse_optional("description", x.description.as_deref()),
        );
        if let Some(v) = &x.pain_points {
            p.ok(&r, TextList::parse("painPoints", v));
        }
        if let Some(v) = &x.motivations {
            p.ok(&r, TextList::parse("motivations", v));
        }
        p.ok(
            &r,
            ShortText::parse_optional("painIntensityNote", x.pain_intensity_note.as_deref()),
        );
        if let Some(u) = &x.source_url {
            p.ok(&r, Url::parse("sourceUrl", u));
        }
        p.ok(
            &r,
            list_len("roles", x.roles.len(), crate::domain::types::LIST_MAX),
        );
        for (i, t) in x.roles.iter().enumerate() {
            p.ok(&r, Name::parse(&format!("roles[{i}]"), t));
        }
        for (i, rel) in x.product_relevance.iter().enumerate() {
            p.ok(
                &r,
                ShortText::parse_optional(
                    &format!("productRelevance[{i}].note"),
                    rel.note.as_deref(),
                ),
            );
        }
        p.links(&r, &x.external_links);
    }
    for l in &c.persona_links {
        let r = format!("persona link {} -> {}", l.from, l.to);
        p.ok(&r, ShortText::parse_optional("note", l.note.as_deref()));
    }
    for t in &c.teams {
        let r = format!("team `{}`", t.slug);
        p.ok(&r, Slug::parse("slug", &t.slug));
        p.ok(&r, Name::parse("name", &t.name));
        p.ok(
            &r,
            LongText::parse_optional("description", t.description.as_deref()),
        );
        p.links(&r, &t.external_links);
    }
    for x in &c.people {
        let r = format!("person `{}`", x.slug);
        p.ok(&r, Slug::parse("slug", &x.slug));
        p.ok(&r, Name::parse("name", &x.name));
        p.ok(&r, Email::parse_optional("email", x.email.as_deref()));
    }
    for j in &c.journeys {
        let r = format!("journey `{}`", j.slug);
        p.ok(&r, Slug::parse("slug", &j.slug));
        p.ok(&r, Name::parse("name", &j.name));
        p.ok(
            &r,
            LongText::parse_optional("description", j.description.as_deref()),
        );
        p.ok(
            &r,
            list_len("stages", j.stages.len(), crate::domain::types::STAGES_MAX),
        );
        p.links(&r, &j.external_links);
        for s in &j.stages {
            let r = format!("stage `{}/{}`", j.slug, s.key);
            p.ok(&r, Slug::parse("key", &s.key));
            p.ok(&r, Name::parse("name", &s.name));
            p.ok(&r, ShortText::parse_optional("goal", s.goal.as_deref()));
            p.ok(
                &r,
                ShortText::parse_optional("entryCriteria", s.entry_criteria.as_deref()),
            );
            p.ok(
                &r,
                ShortText::parse_optional("exitCriteria", s.exit_criteria.as_deref()),
            );
            p.links(&r, &s.external_links);
        }
    }
    p.0
}

struct Check(Vec<String>);

impl Check {
    fn ok<T>(&mut self, record: &str, result: AppResult<T>) {
        if let Err(e) = result {
            self.0.push(format!("{record}: {e}"));
        }
    }

    fn links(&mut self, record: &str, links: &[ExternalLinkEntry]) {
        for (i, l) in links.iter().enumerate() {
            self.ok(
                record,
                Name::parse(&format!("externalLinks[{i}].label"), &l.label),
            );
            self.ok(
                record,
                Url::parse(&format!("externalLinks[{i}].url"), &l.url),
            );
        }
    }
}

/// Checks the references of a catalog: every team, persona, product, person, journey and
/// stage it names must be defined in it, keys must not repeat, and each DRI must be a member
/// of the accountable team. Reports every problem at once.
pub fn check(c: &Catalog) -> Result<(), SeedError> {
    let mut p = Problems(problems(c));
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
        let place = format!("person {}", x.slug);
        for (t, _) in x.teams() {
            p.known(&teams, "team", t, &place);
        }
        p.once(
            "team",
            x.teams().into_iter().map(|(t, _)| t.to_owned()),
            &place,
        );
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
    let kinds: HashMap<&str, PersonaKind> = c
        .personas
        .iter()
        .map(|x| (x.slug.as_str(), x.kind))
        .collect();
    for j in &c.journeys {
        let place = format!("journey {}", j.slug);
        for x in &j.personas {
            p.known(&personas, "persona", x, &place);
            if let Some(k) = kinds.get(x.as_str())
                && *k != j.persona_kind
            {
                p.0.push(format!(
                    "{place}: persona `{x}` is {} and the journey is for {} personas",
                    k.as_str(),
                    j.persona_kind.as_str()
                ));
            }
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
        .flat_map(|x| x.teams().into_iter().map(|(t, _)| (x.slug.as_str(), t)))
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
            if raci.dri.is_some() && raci.accountable.is_none() {
                p.0.push(format!(
                    "{place}: dri `{}` needs an accountable team (A)",
                    raci.dri.as_deref().unwrap_or_default()
                ));
            }
            if raci.dri.is_some() && raci.accountable.as_ref().and_then(Owner::dri).is_some() {
                p.0.push(format!(
                    "{place}: the accountable team's DRI is given twice (`dri` and `A.dri`)"
                ));
            }
            for (team, dri) in dris(raci) {
                p.known(&people, "person", dri, &place);
                if people.contains(dri) && !member_of.contains(&(dri, team)) {
                    p.0.push(format!(
                        "{place}: dri `{dri}` is not a member of the team `{team}`"
                    ));
                }
            }
            for o in owners_of(raci) {
                if let Some(n) = o.note() {
                    p.ok_text(&place, "note", n);
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

    /// Notes a note longer than the domain allows.
    fn ok_text(&mut self, place: &str, field: &str, value: &str) {
        if let Err(e) = ShortText::parse(field, value) {
            self.0.push(format!("{place}: {e}"));
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

/// The (team, responsibility) pairs of a stage.
pub(crate) fn letters(raci: &Raci) -> Vec<(&str, Responsibility)> {
    let mut out: Vec<(&str, Responsibility)> = Vec::new();
    for (list, letter) in [
        (&raci.responsible, Responsibility::Responsible),
        (&raci.consulted, Responsibility::Consulted),
        (&raci.informed, Responsibility::Informed),
    ] {
        out.extend(list.iter().map(|t| (t.team(), letter)));
    }
    out.extend(
        raci.accountable
            .iter()
            .map(|t| (t.team(), Responsibility::Accountable)),
    );
    out
}

/// Every letter of a stage.
fn owners_of(raci: &Raci) -> impl Iterator<Item = &Owner> {
    raci.responsible
        .iter()
        .chain(&raci.consulted)
        .chain(&raci.informed)
        .chain(raci.accountable.iter())
}

/// The (team, DRI) pairs of a stage: the accountable team's `dri`, and each letter's own.
fn dris(raci: &Raci) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = owners_of(raci)
        .filter_map(|o| Some((o.team(), o.dri()?)))
        .collect();
    if let (Some(a), Some(d)) = (&raci.accountable, &raci.dri) {
        out.push((a.team(), d));
    }
    out
}
