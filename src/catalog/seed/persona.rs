//! Seeding products and personas, with each persona's roles, product relevance and links.

use super::{Diff, Seeder, at};
use crate::catalog::SeedError;
use crate::catalog::model::{Catalog, PersonaEntry};
use crate::domain::persona::link::LinkPersonas;
use crate::domain::persona::role::{AddRole, UpdateRole};
use crate::domain::persona::{CreatePersona, UpdatePersona};
use crate::domain::product::{CreateProduct, SetProductRelevance, UpdateProduct};
use crate::domain::types::{LongText, Name, ShortText, Slug, TextList, Url};
use crate::error::AppResult;
use entity::enums::{Provenance, Status, SubjectType};
use entity::{persona, persona_link, persona_product_relevance, product, role};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

pub(super) async fn products(s: &mut Seeder<'_>, c: &Catalog) -> Result<(), SeedError> {
    for p in &c.products {
        let record = format!("product {}", p.slug);
        let name = Name::parse("name", &p.name).map_err(|e| at(&record, e))?;
        let existing = product::Entity::find()
            .filter(product::Column::Slug.eq(&p.slug))
            .one(s.db())
            .await
            .map_err(|e| at(&record, e.into()))?;
        match existing {
            None => {
                let slug = Slug::parse("slug", &p.slug).map_err(|e| at(&record, e))?;
                let cmd = CreateProduct {
                    slug,
                    name,
                    provenance: p.provenance.unwrap_or(Provenance::Illustrative),
                };
                s.apply(&record, cmd).await?;
                s.report.inserted += 1;
            }
            Some(row) => {
                let mut d = Diff::new(&record);
                d.field("name", row.name.as_str(), name.as_str());
                if s.differs(d) {
                    let cmd = UpdateProduct {
                        slug: p.slug.clone(),
                        name,
                    };
                    s.apply(&record, cmd).await?;
                    s.report.updated += 1;
                }
            }
        }
    }
    Ok(())
}

/// A persona entry's values, validated as `createPersona` validates them.
struct Values {
    name: Name,
    summary: Option<ShortText>,
    description: Option<LongText>,
    pain_points: Option<TextList>,
    motivations: Option<TextList>,
    pain_intensity_note: Option<ShortText>,
    source_url: Option<Url>,
    roles: Vec<Name>,
}

fn values(p: &PersonaEntry) -> AppResult<Values> {
    Ok(Values {
        name: Name::parse("name", &p.name)?,
        summary: ShortText::parse_optional("summary", p.summary.as_deref())?,
        description: LongText::parse_optional("description", p.description.as_deref())?,
        pain_points: p
            .pain_points
            .as_deref()
            .map(|v| TextList::parse("painPoints", v))
            .transpose()?,
        motivations: p
            .motivations
            .as_deref()
            .map(|v| TextList::parse("motivations", v))
            .transpose()?,
        pain_intensity_note: ShortText::parse_optional(
            "painIntensityNote",
            p.pain_intensity_note.as_deref(),
        )?,
        source_url: p
            .source_url
            .as_deref()
            .map(|u| Url::parse("sourceUrl", u))
            .transpose()?,
        roles: p
            .roles
            .iter()
            .enumerate()
            .map(|(i, t)| Name::parse(&format!("roles[{i}]"), t))
            .collect::<AppResult<_>>()?,
    })
}

pub(super) async fn personas(s: &mut Seeder<'_>, c: &Catalog) -> Result<(), SeedError> {
    for p in &c.personas {
        let record = format!("persona {}", p.slug);
        let v = values(p).map_err(|e| at(&record, e))?;
        let existing = find(s, &p.slug, &record).await?;
        let row = match existing {
            None => {
                let cmd = CreatePersona {
                    slug: Slug::parse("slug", &p.slug).map_err(|e| at(&record, e))?,
                    name: v.name.clone(),
                    kind: p.kind,
                    status: p.status.unwrap_or(Status::Active),
                    summary: v.summary.clone(),
                    description: v.description.clone(),
                    pain_points: v.pain_points.clone().unwrap_or_default(),
                    motivations: v.motivations.clone().unwrap_or_default(),
                    pain_intensity: p.pain_intensity,
                    pain_intensity_note: v.pain_intensity_note.clone(),
                    value_prop_scope: p.value_prop_scope,
                    sort_order: p.sort_order.unwrap_or(0),
                    source_url: v.source_url.clone(),
                    roles: v.roles.clone(),
                    provenance: p.provenance.unwrap_or(Provenance::Illustrative),
                };
                let row = s.apply(&record, cmd).await?;
                s.report.inserted += 1 + v.roles.len();
                row
            }
            Some(row) => {
                update(s, p, &v, &row, &record).await?;
                roles(s, &row, &v.roles).await?;
                row
            }
        };
        relevance(s, p, &row).await?;
        s.links(SubjectType::Persona, row.id, &record, &p.external_links)
            .await?;
    }
    Ok(())
}

async fn find(
    s: &Seeder<'_>,
    slug: &str,
    record: &str,
) -> Result<Option<persona::Model>, SeedError> {
    persona::Entity::find()
        .filter(persona::Column::Slug.eq(slug))
        .one(s.db())
        .await
        .map_err(|e| at(record, e.into()))
}

/// The fields the file gives, compared with the persona's; overwritten when asked.
async fn update(
    s: &mut Seeder<'_>,
    p: &PersonaEntry,
    v: &Values,
    row: &persona::Model,
    record: &str,
) -> Result<(), SeedError> {
    let mut d = Diff::new(record);
    let mut cmd = UpdatePersona {
        slug: p.slug.clone(),
        expected_version: row.version,
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
    if d.field("name", row.name.as_str(), v.name.as_str()) {
        cmd.name = Some(v.name.clone());
    }
    if d.field("kind", &row.kind, &p.kind) {
        cmd.kind = Some(p.kind);
    }
    if let Some(x) = p.status
        && d.field("status", &row.status, &x)
    {
        cmd.status = Some(x);
    }
    if let Some(x) = p.sort_order
        && d.field("sortOrder", &row.sort_order, &x)
    {
        cmd.sort_order = Some(x);
    }
    if let Some(x) = &v.summary
        && d.field("summary", &row.summary.as_deref(), &Some(x.as_str()))
    {
        cmd.summary = Some(Some(x.clone()));
    }
    if let Some(x) = &v.description
        && d.field(
            "description",
            &row.description.as_deref(),
            &Some(x.as_str()),
        )
    {
        cmd.description = Some(Some(x.clone()));
    }
    if let Some(x) = &v.pain_points
        && d.field("painPoints", &row.pain_points, &x.to_json())
    {
        cmd.pain_points = Some(x.clone());
    }
    if let Some(x) = &v.motivations
        && d.field("motivations", &row.motivations, &x.to_json())
    {
        cmd.motivations = Some(x.clone());
    }
    if let Some(x) = p.pain_intensity
        && d.field("painIntensity", &row.pain_intensity, &Some(x))
    {
        cmd.pain_intensity = Some(Some(x));
    }
    if let Some(x) = &v.pain_intensity_note
        && d.field(
            "painIntensityNote",
            &row.pain_intensity_note.as_deref(),
            &Some(x.as_str()),
        )
    {
        cmd.pain_intensity_note = Some(Some(x.clone()));
    }
    if let Some(x) = p.value_prop_scope
        && d.field("valuePropScope", &row.value_prop_scope, &Some(x))
    {
        cmd.value_prop_scope = Some(Some(x));
    }
    if let Some(x) = &v.source_url
        && d.field("sourceUrl", &row.source_url.as_deref(), &Some(x.as_str()))
    {
        cmd.source_url = Some(Some(x.clone()));
    }
    if s.differs(d) {
        s.apply(record, cmd).await?;
        s.report.updated += 1;
    }
    Ok(())
}

/// Roles, matched by title ignoring case: missing ones added at their place in the file.
async fn roles(s: &mut Seeder<'_>, row: &persona::Model, titles: &[Name]) -> Result<(), SeedError> {
    let record = format!("persona {}", row.slug);
    let existing = role::Entity::find()
        .filter(role::Column::PersonaId.eq(row.id))
        .all(s.db())
        .await
        .map_err(|e| at(&record, e.into()))?;
    for (i, title) in titles.iter().enumerate() {
        let sort_order = i32::try_from(i + 1).unwrap_or(i32::MAX);
        let role_record = format!("role {} of persona {}", title, row.slug);
        match existing.iter().find(|r| title.same_as(&r.title)) {
            None => {
                let cmd = AddRole {
                    persona: row.slug.clone(),
                    title: title.clone(),
                    sort_order: Some(sort_order),
                };
                s.apply(&role_record, cmd).await?;
                s.report.inserted += 1;
            }
            Some(r) => {
                let mut d = Diff::new(&role_record);
                let title_differs = d.field("title", r.title.as_str(), title.as_str());
                let order_differs = d.field("sortOrder", &r.sort_order, &sort_order);
                if s.differs(d) {
                    let cmd = UpdateRole {
                        id: r.id,
                        key: role_record.clone(),
                        title: title_differs.then(|| title.clone()),
                        sort_order: order_differs.then_some(sort_order),
                    };
                    s.apply(&role_record, cmd).await?;
                    s.report.updated += 1;
                }
            }
        }
    }
    Ok(())
}

async fn relevance(
    s: &mut Seeder<'_>,
    p: &PersonaEntry,
    row: &persona::Model,
) -> Result<(), SeedError> {
    for (i, r) in p.product_relevance.iter().enumerate() {
        let record = format!("relevance of product {} to persona {}", r.product, p.slug);
        let note =
            ShortText::parse_optional(&format!("productRelevance[{i}].note"), r.note.as_deref())
                .map_err(|e| at(&record, e))?;
        let product = product::Entity::find()
            .filter(product::Column::Slug.eq(&r.product))
            .one(s.db())
            .await
            .map_err(|e| at(&record, e.into()))?;
        let existing = match &product {
            Some(prod) => persona_product_relevance::Entity::find()
                .filter(persona_product_relevance::Column::PersonaId.eq(row.id))
                .filter(persona_product_relevance::Column::ProductId.eq(prod.id))
                .one(s.db())
                .await
                .map_err(|e| at(&record, e.into()))?,
            None => None,
        };
        let write = match &existing {
            None => {
                s.report.inserted += 1;
                true
            }
            Some(x) => {
                let mut d = Diff::new(&record);
                d.field("level", &x.level, &r.level);
                if let Some(n) = &note {
                    d.field("note", &x.note.as_deref(), &Some(n.as_str()));
                }
                let overwrite = s.differs(d);
                if overwrite {
                    s.report.updated += 1;
                }
                overwrite
            }
        };
        if write {
            let cmd = SetProductRelevance {
                persona: p.slug.clone(),
                product: r.product.clone(),
                level: r.level,
                note: note.or_else(|| {
                    existing
                        .as_ref()
                        .and_then(|x| x.note.as_deref())
                        .and_then(|n| ShortText::parse_optional("note", Some(n)).ok().flatten())
                }),
                provenance: r
                    .provenance
                    .or(p.provenance)
                    .unwrap_or(Provenance::Illustrative),
            };
            s.apply(&record, cmd).await?;
        }
    }
    Ok(())
}

pub(super) async fn persona_links(s: &mut Seeder<'_>, c: &Catalog) -> Result<(), SeedError> {
    for l in &c.persona_links {
        let record = format!("persona link {} -> {} ({})", l.from, l.to, l.kind.as_str());
        let note =
            ShortText::parse_optional("note", l.note.as_deref()).map_err(|e| at(&record, e))?;
        let (Some(from), Some(to)) = (
            find(s, &l.from, &record).await?,
            find(s, &l.to, &record).await?,
        ) else {
            continue;
        };
        let existing = persona_link::Entity::find()
            .filter(persona_link::Column::FromPersonaId.eq(from.id))
            .filter(persona_link::Column::ToPersonaId.eq(to.id))
            .filter(persona_link::Column::Kind.eq(l.kind))
            .one(s.db())
            .await
            .map_err(|e| at(&record, e.into()))?;
        match existing {
            None => {
                let cmd = LinkPersonas {
                    from: l.from.clone(),
                    to: l.to.clone(),
                    kind: l.kind,
                    note,
                    provenance: l
                        .provenance
                        .or_else(|| file_provenance(c, &l.from))
                        .unwrap_or(Provenance::Illustrative),
                };
                s.apply(&record, cmd).await?;
                s.report.inserted += 1;
            }
            Some(x) => {
                // A link's note has no command of its own to change it: reported only.
                let mut d = Diff::new(&record);
                if let Some(n) = &note {
                    d.field("note", &x.note.as_deref(), &Some(n.as_str()));
                }
                s.report.differences.extend(d.found);
            }
        }
    }
    Ok(())
}

/// The provenance the file gives persona `slug`: its links and alignments inherit it.
pub(super) fn file_provenance(c: &Catalog, slug: &str) -> Option<Provenance> {
    c.personas
        .iter()
        .find(|p| p.slug == slug)
        .and_then(|p| p.provenance)
}
