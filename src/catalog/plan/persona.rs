//! Planning products and personas, with their roles, relevance and links, the links of
//! every subject, and the links between personas.

use super::{Action, Fields, Op, Planner};
use crate::catalog::model::{Catalog, ExternalLinkEntry, PersonaEntry};
use crate::domain::link::{RemoveExternalLink, UpdateExternalLink};
use crate::domain::persona::link::{LinkPersonas, UnlinkPersonas};
use crate::domain::persona::role::{AddRole, RemoveRole, UpdateRole};
use crate::domain::persona::{CreatePersona, DeletePersona, UpdatePersona};
use crate::domain::product::{
    CreateProduct, DeleteProduct, RemoveProductRelevance, SetProductRelevance, UpdateProduct,
};
use crate::domain::types::{LongText, Name, ShortText, Slug, TextList, Url};
use crate::error::AppResult;
use entity::enums::{Provenance, Status, SubjectType};
use std::collections::{HashMap, HashSet};

impl Planner<'_> {
    pub(super) fn products(&mut self, db: &Catalog, file: &Catalog) {
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

    pub(super) fn personas(&mut self, db: &Catalog, file: &Catalog) {
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

    pub(super) fn create_persona(&mut self, p: &PersonaEntry) {
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

    pub(super) fn update_persona(&mut self, row: &PersonaEntry, p: &PersonaEntry) {
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
    pub(super) fn roles(&mut self, row: &PersonaEntry, p: &PersonaEntry) {
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

    pub(super) fn relevance(&mut self, row: &PersonaEntry, p: &PersonaEntry) {
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
    pub(super) fn links(
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

    pub(super) fn persona_links(&mut self, db: &Catalog, file: &Catalog) {
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
