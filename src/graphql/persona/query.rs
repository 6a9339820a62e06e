//! Reading personas: one by slug (with its roles in the same statement when asked for), or a
//! filtered, ordered page of them.

use super::super::enums::{OrderDirection, PersonaKind, Status};
use super::super::loaders::RolesByPersona;
use super::super::pagination::{self, Conn, Ordering, PageArgs, SortValue};
use super::super::{db, loader};
use super::Persona;
use crate::domain::types;
use crate::error::AppError;
use async_graphql::{Context, InputObject, Object, Result, ResultExt};
use entity::{enums, persona, role};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// Which personas to list.
#[derive(InputObject, Default)]
pub struct PersonaFilter {
    /// Only personas of this kind.
    pub kind: Option<PersonaKind>,
    /// Only personas with this status.
    pub status: Option<Status>,
    /// Only personas whose slug, name or summary contains this text (case-insensitive).
    pub search: Option<String>,
}

/// What personas can be ordered by.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum PersonaOrderField {
    /// The catalog's own order.
    #[default]
    SortOrder,
    /// Display name.
    Name,
    /// Slug.
    Slug,
}

/// The order of a persona list.
#[derive(InputObject, Default)]
pub struct PersonaOrder {
    /// The field to order by.
    #[graphql(default)]
    pub field: PersonaOrderField,
    /// Ascending or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Persona queries.
#[derive(Default)]
pub struct PersonaQuery;

#[Object]
impl PersonaQuery {
    /// One persona by slug, or null.
    async fn persona(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The persona's slug.")] slug: String,
    ) -> Result<Option<Persona>> {
        let db = db(ctx).extend()?;
        let find = persona::Entity::find().filter(persona::Column::Slug.eq(slug));
        if !ctx.look_ahead().field("roles").exists() {
            let row = find.one(db).await;
            return Ok(row.map_err(AppError::from).extend()?.map(Persona));
        }
        // The persona and its roles in one statement; the roles go into the request's loader,
        // where the `roles` field finds them.
        let rows = find
            .find_with_related(role::Entity)
            .order_by_asc(role::Column::SortOrder)
            .order_by_asc(role::Column::Id)
            .all(db)
            .await
            .map_err(AppError::from)
            .extend()?;
        let Some((persona, roles)) = rows.into_iter().next() else {
            return Ok(None);
        };
        loader(ctx)
            .extend()?
            .feed_one(RolesByPersona(persona.id), roles)
            .await;
        Ok(Some(Persona(persona)))
    }

    /// Personas, filtered and ordered, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn personas(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which personas to list.")] filter: Option<PersonaFilter>,
        #[graphql(desc = "The order of the list; by sort order when omitted.")] order_by: Option<
            PersonaOrder,
        >,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<Persona>> {
        let db = db(ctx).extend()?;
        let f = filter.unwrap_or_default();
        let mut q = persona::Entity::find();
        if let Some(k) = f.kind {
            q = q.filter(persona::Column::Kind.eq(enums::PersonaKind::from(k)));
        }
        if let Some(s) = f.status {
            q = q.filter(persona::Column::Status.eq(enums::Status::from(s)));
        }
        if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
            types::search("filter.search", s).extend()?;
            use persona::Column as C;
            q = q.filter(pagination::text_search(s, &[C::Slug, C::Name, C::Summary]));
        }
        let order = order_by.unwrap_or_default();
        let descending = order.direction == OrderDirection::Desc;
        let ordering = match order.field {
            PersonaOrderField::SortOrder => Ordering {
                column: persona::Column::SortOrder,
                id_column: persona::Column::Id,
                descending,
                key: |m: &persona::Model| SortValue::Int(m.sort_order.into()),
            },
            PersonaOrderField::Name => Ordering {
                column: persona::Column::Name,
                id_column: persona::Column::Id,
                descending,
                key: |m: &persona::Model| SortValue::Text(m.name.clone()),
            },
            PersonaOrderField::Slug => Ordering {
                column: persona::Column::Slug,
                id_column: persona::Column::Id,
                descending,
                key: |m: &persona::Model| SortValue::Text(m.slug.clone()),
            },
        };
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        pagination::paginate(db, q, ordering, args, Persona)
            .await
            .extend()
    }
}
