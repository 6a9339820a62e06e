//! Products and how relevant each is to a persona: the `Product` and `ProductRelevance`
//! objects, their queries, and their mutations, which hand their commands to
//! `domain::product`.

use super::enums::{Provenance, RelevanceLevel};
use super::input::optional_text;
use super::loaders::{PersonaById, ProductById};
use super::persona::{DeletePayload, Persona};
use super::{apply, db, id, referenced};
use crate::domain::product as domain;
use crate::domain::types::{Name, Slug};
use crate::error::{AppError, AppResult};
use async_graphql::{Context, ID, InputObject, Object, Result, ResultExt, SimpleObject};
use entity::{persona_product_relevance, product};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

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

impl CreateProductInput {
    fn command(&self) -> AppResult<domain::CreateProduct> {
        Ok(domain::CreateProduct {
            slug: Slug::parse("slug", &self.slug)?,
            name: Name::parse("name", &self.name)?,
            provenance: entity::enums::Provenance::Editor,
        })
    }
}

impl UpdateProductInput {
    fn command(self) -> AppResult<domain::UpdateProduct> {
        Ok(domain::UpdateProduct {
            name: Name::parse("name", &self.name)?,
            slug: self.slug,
        })
    }
}

impl DeleteProductInput {
    fn command(self) -> AppResult<domain::DeleteProduct> {
        Ok(domain::DeleteProduct { slug: self.slug })
    }
}

impl SetProductRelevanceInput {
    fn command(self) -> AppResult<domain::SetProductRelevance> {
        Ok(domain::SetProductRelevance {
            note: optional_text("note", self.note.as_deref())?,
            level: self.level.into(),
            persona: self.persona,
            product: self.product,
            provenance: entity::enums::Provenance::Editor,
        })
    }
}

impl RemoveProductRelevanceInput {
    fn command(self) -> AppResult<domain::RemoveProductRelevance> {
        Ok(domain::RemoveProductRelevance {
            persona: self.persona,
            product: self.product,
        })
    }
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
        let row = apply(ctx, input.command()).await?;
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
        let row = apply(ctx, input.command()).await?;
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
        let id = apply(ctx, input.command()).await?;
        Ok(DeletePayload {
            deleted_id: id::encode("Product", id),
        })
    }
    /// Sets how relevant a product is to a persona (creates or replaces the judgement).
    async fn set_product_relevance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The persona, the product and the level.")]
        input: SetProductRelevanceInput,
    ) -> Result<SetProductRelevancePayload> {
        let row = apply(ctx, input.command()).await?;
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
        let id = apply(ctx, input.command()).await?;
        Ok(DeletePayload {
            deleted_id: id::encode("ProductRelevance", id),
        })
    }
}
