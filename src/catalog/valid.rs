//! The values of a catalog file, checked by the domain's own types before anything is written:
//! a file gets exactly the rules the mutations apply, and each problem names the record, the
//! field and the rule.

use super::model::{Catalog, ExternalLinkEntry};
use crate::domain::types::{Email, LongText, Name, ShortText, Slug, TextList, Url, list_len};
use crate::error::AppResult;

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
