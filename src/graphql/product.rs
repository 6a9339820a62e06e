//! Products and how relevant each is to a persona: the `Product` and `ProductRelevance`
//! objects, their queries and their mutations.

use super::enums::{Provenance, RelevanceLevel};
use super::loaders::{PersonaById, ProductById};
use super::persona::DeletePayload;
use super::persona::Persona;
use super::{begin_write, db, history, id, referenced, validate};
use crate::domain::audit::{self, Actor, Event, Subject};
use crate::error::{AppError, AppResult};
use async_graphql::{Context, ID, InputObject, Object, Result, ResultExt, SimpleObject};
use chrono::Utc;
use entity::{enums, persona_product_relevance, product};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};

/// A product sold to the personas.
pub struct Product(pub product::Model);

/// A product sold to the personas.
#[Object]
impl Product {
    /// Global ID, usable with `node(id:)`.
    pub async fn id(&self) -> ID {
        id::encode("Product", self.0.id)
    }
    /// Human key: kebab-case, unique, never changes.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Where this product entry comes from.
    async fn provenance(&self) -> Provenance {
        self.0.provenance.into()
    }
}

/// How relevant a product is to a persona.
pub struct ProductRelevance(pub persona_product_relevance::Model);

/// How relevant a product is to a persona.
#[Object]
impl ProductRelevance {
    /// Global ID.
    pub async fn id(&self) -> ID {
        id::encode("ProductRelevance", self.0.id)
    }
    /// How relevant the product is.
    async fn level(&self) -> RelevanceLevel {
        self.0.level.into()
    }
    /// Free-text note.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Where this judgement comes from.
    async fn provenance(&self) -> Provenance {
        self.0.provenance.into()
    }
    /// The product.
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        referenced(ctx, ProductById(self.0.product_id), Product).await
    }
    /// The persona.
    async fn persona(&self, ctx: &Context<'_>) -> Result<Option<Persona>> {
        referenced(ctx, PersonaById(self.0.persona_id), Persona).await
    }
}

/// Product queries.
#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    /// One product by slug, or null.
    async fn product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product's slug.")] slug: String,
    ) -> Result<Option<Product>> {
        let db = db(ctx).extend()?;
        let row = product::Entity::find()
            .filter(product::Column::Slug.eq(slug))
            .one(db)
            .await;
        Ok(row.map_err(AppError::from).extend()?.map(Product))
    }

    /// Every product, by name.
    async fn products(&self, ctx: &Context<'_>) -> Result<Vec<Product>> {
        let db = db(ctx).extend()?;
        let rows = product::Entity::find()
            .order_by_asc(product::Column::Name)
            .all(db)
            .await;
        Ok(rows
            .map_err(AppError::from)
            .extend()?
            .into_iter()
            .map(Product)
            .collect())
    }
}

/// Input of `createProduct`.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// Kebab-case key, unique and immutable.
    pub slug: String,
    /// Display name (1 to 200 characters).
    pub name: String,
}

/// Input of `updateProduct`.
#[derive(InputObject)]
pub struct UpdateProductInput {
    /// The product to change.
    pub slug: String,
    /// New display name.
    pub name: String,
}

/// Input of `deleteProduct`.
#[derive(InputObject)]
pub struct DeleteProductInput {
    /// The product to delete, with every persona's relevance judgement of it.
    pub slug: String,
}

/// Result of `createProduct` and `updateProduct`.
#[derive(SimpleObject)]
pub struct ProductPayload {
    /// The product as it is now.
    pub product: Product,
}

/// Input of `setProductRelevance`.
#[derive(InputObject)]
pub struct SetProductRelevanceInput {
    /// The persona's slug.
    pub persona: String,
    /// The product's slug.
    pub product: String,
    /// How relevant the product is to the persona.
    pub level: RelevanceLevel,
    /// Free-text note, such as the source's words.
    pub note: Option<String>,
}

/// Result of `setProductRelevance`.
#[derive(SimpleObject)]
pub struct SetProductRelevancePayload {
    /// The relevance as it is now.
    pub relevance: ProductRelevance,
}

/// Input of `removeProductRelevance`.
#[derive(InputObject)]
pub struct RemoveProductRelevanceInput {
    /// The persona's slug.
    pub persona: String,
    /// The product's slug.
    pub product: String,
}

async fn create_product(
    db: &DatabaseConnection,
    actor: &Actor,
    input: CreateProductInput,
) -> AppResult<product::Model> {
    let slug = validate::slug("slug", &input.slug)?;
    let name = validate::name("name", &input.name)?;
    let txn = begin_write(db).await?;
    let now = Utc::now();
    let row = product::ActiveModel {
        slug: Set(slug.clone()),
        name: Set(name),
        provenance: Set(enums::Provenance::Editor),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::on_unique(e, format!("a product with slug {slug} already exists")))?;
    let change = Event::created(
        "createProduct",
        Subject::product(&row),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn update_product(
    db: &DatabaseConnection,
    actor: &Actor,
    input: UpdateProductInput,
) -> AppResult<product::Model> {
    let name = validate::name("name", &input.name)?;
    let txn = begin_write(db).await?;
    let current = crate::domain::find::product_by_slug(&txn, &input.slug).await?;
    // Locked now rather than by the update, so `current` is what the update changes.
    let current = product::Entity::find_by_id(current.id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("product", &input.slug))?;
    let mut row = current.clone().into_active_model();
    row.name = Set(name);
    row.updated_at = Set(Utc::now());
    let row = row.update(&txn).await?;
    let change = Event::updated(
        "updateProduct",
        Subject::product(&row),
        audit::snapshot(&current),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn delete_product(
    db: &DatabaseConnection,
    actor: &Actor,
    input: DeleteProductInput,
) -> AppResult<ID> {
    let txn = begin_write(db).await?;
    let row = crate::domain::find::product_by_slug(&txn, &input.slug).await?;
    let row = product::Entity::find_by_id(row.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("product", &input.slug))?;
    product::Entity::delete_by_id(row.id).exec(&txn).await?;
    let change = Event::deleted(
        "deleteProduct",
        Subject::product(&row),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(id::encode("Product", row.id))
}

async fn set_relevance(
    db: &DatabaseConnection,
    actor: &Actor,
    input: SetProductRelevanceInput,
) -> AppResult<persona_product_relevance::Model> {
    use persona_product_relevance::{ActiveModel, Column, Entity};
    let note = validate::optional("note", input.note.as_deref(), validate::TEXT_MAX)?;
    let txn = begin_write(db).await?;
    let persona = crate::domain::find::persona_by_slug(&txn, &input.persona).await?;
    let product = crate::domain::find::product_by_slug(&txn, &input.product).await?;
    let now = Utc::now();
    let existing = Entity::find()
        .filter(Column::PersonaId.eq(persona.id))
        .filter(Column::ProductId.eq(product.id))
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?;
    let slug = [("product", product.slug.clone().into())];
    let before = existing.as_ref().map(|b| audit::snapshot_with(b, &slug));
    let row = match existing {
        Some(row) => {
            let mut row = row.into_active_model();
            row.level = Set(input.level.into());
            row.note = Set(note);
            row.provenance = Set(enums::Provenance::Editor);
            row.updated_at = Set(now);
            row.update(&txn).await?
        }
        None => ActiveModel {
            persona_id: Set(persona.id),
            product_id: Set(product.id),
            level: Set(input.level.into()),
            note: Set(note),
            provenance: Set(enums::Provenance::Editor),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| AppError::on_unique(e, "the relevance was set concurrently; retry"))?,
    };
    let after = audit::snapshot_with(&row, &slug);
    let subject = Subject::persona(&persona);
    let change = match before {
        Some(b) => Event::updated("setProductRelevance", subject, b, after),
        None => Event::created("setProductRelevance", subject, after),
    };
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn remove_relevance(
    db: &DatabaseConnection,
    actor: &Actor,
    input: RemoveProductRelevanceInput,
) -> AppResult<ID> {
    use persona_product_relevance::{Column, Entity};
    let txn = begin_write(db).await?;
    let persona = crate::domain::find::persona_by_slug(&txn, &input.persona).await?;
    let product = crate::domain::find::product_by_slug(&txn, &input.product).await?;
    let row = Entity::find()
        .filter(Column::PersonaId.eq(persona.id))
        .filter(Column::ProductId.eq(product.id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::not_found(
                "product relevance",
                format!("{}/{}", persona.slug, product.slug),
            )
        })?;
    Entity::delete_by_id(row.id).exec(&txn).await?;
    let before = audit::snapshot_with(&row, &[("product", product.slug.clone().into())]);
    let change = Event::deleted("removeProductRelevance", Subject::persona(&persona), before);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(id::encode("ProductRelevance", row.id))
}

/// Product mutations.
#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    /// Creates a product.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new product.")] input: CreateProductInput,
    ) -> Result<ProductPayload> {
        let row = create_product(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(ProductPayload {
            product: Product(row),
        })
    }
    /// Renames a product.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product and its new name.")] input: UpdateProductInput,
    ) -> Result<ProductPayload> {
        let row = update_product(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(ProductPayload {
            product: Product(row),
        })
    }
    /// Deletes a product and every relevance judgement of it.
    async fn delete_product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product to delete.")] input: DeleteProductInput,
    ) -> Result<DeletePayload> {
        let deleted_id = delete_product(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
    /// Sets how relevant a product is to a persona (creates or replaces the judgement).
    async fn set_product_relevance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The persona, the product and the level.")]
        input: SetProductRelevanceInput,
    ) -> Result<SetProductRelevancePayload> {
        let row = set_relevance(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(SetProductRelevancePayload {
            relevance: ProductRelevance(row),
        })
    }
    /// Removes a persona's relevance judgement of a product.
    async fn remove_product_relevance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The persona and the product.")] input: RemoveProductRelevanceInput,
    ) -> Result<DeletePayload> {
        let deleted_id = remove_relevance(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
}
