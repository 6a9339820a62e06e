//! Products and how relevant each is to a persona: the commands that create, rename and delete
//! products, and set and remove a persona's relevance judgements. A product has no version;
//! a persona's relevance judgements are part of the persona, so changing one (or deleting the
//! product it judges) advances the persona's version.

use super::audit::{Event, Subject, snapshot_with};
use super::change::{Aggregate, Change, Command};
use super::find;
use super::types::{Name, ShortText, Slug, text_of};
use crate::error::{AppError, AppResult};
use entity::enums::{Provenance, RelevanceLevel};
use entity::{persona, persona_product_relevance as relevance, product};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

/// Creates a product, entered by an editor.
#[derive(Debug, Clone)]
pub struct CreateProduct {
    /// Unique, immutable key.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// Where it comes from: an editor, or the source a catalog file names.
    pub provenance: Provenance,
}

/// Renames a product.
#[derive(Debug, Clone)]
pub struct UpdateProduct {
    /// The product's slug, as the caller gave it.
    pub slug: String,
    /// New display name.
    pub name: Name,
}

/// Deletes a product and every persona's relevance judgement of it.
#[derive(Debug, Clone)]
pub struct DeleteProduct {
    /// The product's slug, as the caller gave it.
    pub slug: String,
}

/// Sets how relevant a product is to a persona: creates the judgement or replaces it (an
/// editor's judgement then, whatever its provenance was).
#[derive(Debug, Clone)]
pub struct SetProductRelevance {
    /// The persona's slug, as the caller gave it.
    pub persona: String,
    /// The product's slug, as the caller gave it.
    pub product: String,
    /// How relevant the product is.
    pub level: RelevanceLevel,
    /// Free-text note; `None` clears it.
    pub note: Option<ShortText>,
    /// Where the judgement comes from: an editor, or the source a catalog file names.
    pub provenance: Provenance,
}

/// Removes a persona's relevance judgement of a product.
#[derive(Debug, Clone)]
pub struct RemoveProductRelevance {
    /// The persona's slug, as the caller gave it.
    pub persona: String,
    /// The product's slug, as the caller gave it.
    pub product: String,
}

impl Command for CreateProduct {
    type Output = product::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<product::Model> {
        let now = change.now();
        let slug = self.slug.as_str();
        let row = product::ActiveModel {
            slug: Set(slug.to_owned()),
            name: Set(self.name.to_string()),
            provenance: Set(self.provenance),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| {
            AppError::on_unique(e, format!("a product with slug {slug} already exists"))
        })?;
        change
            .created("createProduct", Subject::product(&row), &row)
            .await?;
        Ok(row)
    }
}

impl Command for UpdateProduct {
    type Output = product::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<product::Model> {
        let found = find::product_by_slug(change.db(), &self.slug).await?;
        // Locked now rather than by the update, so `current` is what the update changes.
        let current = locked(change.db(), found.id, &self.slug, LockType::NoKeyUpdate).await?;
        let mut row = current.clone().into_active_model();
        row.name = Set(self.name.to_string());
        row.updated_at = Set(change.now());
        let row = row.update(change.db()).await?;
        change
            .updated("updateProduct", Subject::product(&row), &current, &row)
            .await?;
        Ok(row)
    }
}

impl Command for DeleteProduct {
    type Output = i32;

    async fn apply(&self, change: &mut Change) -> AppResult<i32> {
        let found = find::product_by_slug(change.db(), &self.slug).await?;
        // The personas that judged it lose a judgement (the rows cascade), so each advances.
        // They are locked before the product, in ID order: `SetProductRelevance` locks its
        // persona before its row locks the product, and the other order could deadlock.
        let judged: Vec<i32> = relevance::Entity::find()
            .select_only()
            .column(relevance::Column::PersonaId)
            .filter(relevance::Column::ProductId.eq(found.id))
            .into_tuple()
            .all(change.db())
            .await?;
        let personas = persona::Entity::find()
            .filter(persona::Column::Id.is_in(judged))
            .order_by_asc(persona::Column::Id)
            .all(change.db())
            .await?;
        for p in &personas {
            match change.touch(Aggregate::Persona(p.id), &p.slug).await {
                // Deleted meanwhile, with its judgements: nothing of it left to advance.
                Err(AppError::NotFound { .. }) => {}
                other => other?,
            }
        }
        let row = locked(change.db(), found.id, &self.slug, LockType::Update).await?;
        product::Entity::delete_by_id(row.id)
            .exec(change.db())
            .await?;
        change
            .deleted("deleteProduct", Subject::product(&row), &row)
            .await?;
        Ok(row.id)
    }
}

impl Command for SetProductRelevance {
    type Output = relevance::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<relevance::Model> {
        let persona = find::persona_by_slug(change.db(), &self.persona).await?;
        let product = find::product_by_slug(change.db(), &self.product).await?;
        // The persona first: concurrent judgements of one persona wait here, so the second
        // sees the first's row and replaces it instead of colliding with it.
        change
            .touch(Aggregate::Persona(persona.id), &persona.slug)
            .await?;
        let existing =
            judgement(change.db(), persona.id, product.id, LockType::NoKeyUpdate).await?;
        let now = change.now();
        let note = text_of(self.note.clone());
        let slug = [("product", product.slug.clone().into())];
        let before = existing.as_ref().map(|b| snapshot_with(b, &slug));
        let row = match existing {
            Some(row) => {
                let mut row = row.into_active_model();
                row.level = Set(self.level);
                row.note = Set(note);
                row.provenance = Set(self.provenance);
                row.updated_at = Set(now);
                row.update(change.db()).await?
            }
            None => relevance::ActiveModel {
                persona_id: Set(persona.id),
                product_id: Set(product.id),
                level: Set(self.level),
                note: Set(note),
                provenance: Set(self.provenance),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(change.db())
            .await
            .map_err(|e| AppError::on_unique(e, "the relevance was set concurrently; retry"))?,
        };
        let after = snapshot_with(&row, &slug);
        let subject = Subject::persona(&persona);
        let event = match before {
            Some(b) => Event::updated("setProductRelevance", subject, b, after),
            None => Event::created("setProductRelevance", subject, after),
        };
        change.record(event).await?;
        Ok(row)
    }
}

impl Command for RemoveProductRelevance {
    type Output = i32;

    async fn apply(&self, change: &mut Change) -> AppResult<i32> {
        let persona = find::persona_by_slug(change.db(), &self.persona).await?;
        let product = find::product_by_slug(change.db(), &self.product).await?;
        // The persona before its judgement, as `SetProductRelevance` locks them.
        change
            .touch(Aggregate::Persona(persona.id), &persona.slug)
            .await?;
        let row = judgement(change.db(), persona.id, product.id, LockType::Update)
            .await?
            .ok_or_else(|| {
                AppError::not_found(
                    "product relevance",
                    format!("{}/{}", persona.slug, product.slug),
                )
            })?;
        relevance::Entity::delete_by_id(row.id)
            .exec(change.db())
            .await?;
        let before = snapshot_with(&row, &[("product", product.slug.clone().into())]);
        change
            .deleted(
                "removeProductRelevance",
                Subject::persona(&persona),
                &before,
            )
            .await?;
        Ok(row.id)
    }
}

/// The product `id`, locked as a change to it would lock it (so it is what the change changes).
async fn locked(
    db: &impl ConnectionTrait,
    id: i32,
    slug: &str,
    lock: LockType,
) -> AppResult<product::Model> {
    product::Entity::find_by_id(id)
        .lock(lock)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("product", slug))
}

/// The persona's judgement of the product, if any, locked.
async fn judgement(
    db: &impl ConnectionTrait,
    persona: i32,
    product: i32,
    lock: LockType,
) -> AppResult<Option<relevance::Model>> {
    Ok(relevance::Entity::find()
        .filter(relevance::Column::PersonaId.eq(persona))
        .filter(relevance::Column::ProductId.eq(product))
        .lock(lock)
        .one(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::Writer;
    use crate::domain::testing::{editor, persona, writer};
    use entity::audit_event;

    async fn version(w: &Writer, id: i32) -> i32 {
        persona::Entity::find_by_id(id)
            .one(w.db())
            .await
            .unwrap()
            .unwrap()
            .version
    }

    async fn events(w: &Writer) -> Vec<audit_event::Model> {
        audit_event::Entity::find().all(w.db()).await.unwrap()
    }

    fn create(slug: &str) -> CreateProduct {
        CreateProduct {
            slug: Slug::parse("slug", slug).unwrap(),
            name: Name::parse("name", "Platform").unwrap(),
            provenance: Provenance::Editor,
        }
    }

    fn set(persona: &str, product: &str, level: RelevanceLevel) -> SetProductRelevance {
        SetProductRelevance {
            persona: persona.into(),
            product: product.into(),
            level,
            note: ShortText::parse_optional("note", Some("from the interviews")).unwrap(),
            provenance: Provenance::Editor,
        }
    }

    #[tokio::test]
    async fn products_are_created_renamed_and_unique_by_slug() {
        let w = writer().await;
        w.run(&editor(), &create("platform")).await.unwrap();
        let err = w.run(&editor(), &create("platform")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a product with slug platform already exists"
        );
        let rename = UpdateProduct {
            slug: "platform".into(),
            name: Name::parse("name", "Platform 2").unwrap(),
        };
        assert_eq!(w.run(&editor(), &rename).await.unwrap().name, "Platform 2");
        let missing = UpdateProduct {
            slug: "nope".into(),
            ..rename
        };
        assert_eq!(
            w.run(&editor(), &missing).await.unwrap_err().to_string(),
            "product not found: nope"
        );
        let actions: Vec<String> = events(&w).await.into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["createProduct", "updateProduct"]);
    }

    #[tokio::test]
    async fn a_judgement_is_a_change_to_its_persona_recorded_on_the_persona() {
        let w = writer().await;
        let p = persona(&w, "dev").await;
        w.run(&editor(), &create("platform")).await.unwrap();
        let row = w
            .run(&editor(), &set("dev", "platform", RelevanceLevel::Primary))
            .await
            .unwrap();
        assert_eq!(
            version(&w, p.id).await,
            2,
            "a new judgement bumps the persona once"
        );
        let replaced = w
            .run(
                &editor(),
                &set("dev", "platform", RelevanceLevel::Secondary),
            )
            .await
            .unwrap();
        assert_eq!(replaced.id, row.id, "the judgement is replaced, not added");
        assert_eq!(replaced.level, RelevanceLevel::Secondary);
        assert_eq!(version(&w, p.id).await, 3);
        let remove = RemoveProductRelevance {
            persona: "dev".into(),
            product: "platform".into(),
        };
        assert_eq!(w.run(&editor(), &remove).await.unwrap(), row.id);
        assert_eq!(version(&w, p.id).await, 4);
        assert_eq!(
            w.run(&editor(), &remove).await.unwrap_err().to_string(),
            "product relevance not found: dev/platform"
        );
        assert_eq!(
            version(&w, p.id).await,
            4,
            "a refused removal changes nothing"
        );
        let events = events(&w).await;
        let judged: Vec<_> = events
            .iter()
            .filter(|e| e.subject_type == audit_event::AuditSubject::Persona)
            .map(|e| {
                (
                    e.action.as_str(),
                    e.before.is_some(),
                    e.after.is_some(),
                    e.subject_key.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            judged,
            [
                ("setProductRelevance", false, true, Some("dev")),
                ("setProductRelevance", true, true, Some("dev")),
                ("removeProductRelevance", true, false, Some("dev")),
            ]
        );
        assert_eq!(events[1].after.as_ref().unwrap()["product"], "platform");
    }

    #[tokio::test]
    async fn judging_an_unknown_product_or_persona_writes_nothing() {
        let w = writer().await;
        let p = persona(&w, "dev").await;
        for (persona, product, what) in [("dev", "nope", "product"), ("nope", "x", "persona")] {
            let err = w
                .run(&editor(), &set(persona, product, RelevanceLevel::Primary))
                .await
                .unwrap_err();
            assert!(matches!(err, AppError::NotFound { what: w, .. } if w == what));
        }
        assert_eq!(version(&w, p.id).await, 1);
        assert!(events(&w).await.is_empty());
    }

    #[tokio::test]
    async fn deleting_a_product_removes_its_judgements_and_bumps_their_personas() {
        let w = writer().await;
        let judged = persona(&w, "dev").await;
        let other = persona(&w, "ops").await;
        w.run(&editor(), &create("platform")).await.unwrap();
        w.run(&editor(), &set("dev", "platform", RelevanceLevel::Primary))
            .await
            .unwrap();
        let delete = DeleteProduct {
            slug: "platform".into(),
        };
        w.run(&editor(), &delete).await.unwrap();
        assert!(
            relevance::Entity::find()
                .all(w.db())
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(version(&w, judged.id).await, 3);
        assert_eq!(
            version(&w, other.id).await,
            1,
            "an unjudging persona is untouched"
        );
        assert_eq!(
            events(&w).await.last().map(|e| e.action.clone()).as_deref(),
            Some("deleteProduct")
        );
        assert!(matches!(
            w.run(&editor(), &delete).await,
            Err(AppError::NotFound { .. })
        ));
    }
}
