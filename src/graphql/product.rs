//! Products and how relevant each is to a persona: the `Product` and `ProductRelevance`
//! objects, their queries and their mutations.

use super::enums::{Provenance, RelevanceLevel};
use super::loaders::{PersonaById, ProductById};
use super::persona::Persona;
use super::{db, id, loader};
use crate::error::AppError;
use async_graphql::{Context, ID, Object, Result, ResultExt};
use entity::{persona_product_relevance, product};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// A product sold to the personas.
pub struct Product(pub product::Model);

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

#[Object]
impl ProductRelevance {
    /// Global ID.
    async fn id(&self) -> ID {
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
        let row = loader(ctx).extend()?.load_one(ProductById(self.0.product_id)).await.extend()?;
        Ok(row.map(Product))
    }
    /// The persona.
    async fn persona(&self, ctx: &Context<'_>) -> Result<Option<Persona>> {
        let row = loader(ctx).extend()?.load_one(PersonaById(self.0.persona_id)).await.extend()?;
        Ok(row.map(Persona))
    }
}

/// Product queries.
#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    /// One product by slug, or null.
    async fn product(&self, ctx: &Context<'_>, #[graphql(desc = "The product's slug.")] slug: String) -> Result<Option<Product>> {
        let db = db(ctx).extend()?;
        let row = product::Entity::find().filter(product::Column::Slug.eq(slug)).one(db).await;
        Ok(row.map_err(AppError::from).extend()?.map(Product))
    }

    /// Every product, by name.
    async fn products(&self, ctx: &Context<'_>) -> Result<Vec<Product>> {
        let db = db(ctx).extend()?;
        let rows = product::Entity::find().order_by_asc(product::Column::Name).all(db).await;
        Ok(rows.map_err(AppError::from).extend()?.into_iter().map(Product).collect())
    }
}
