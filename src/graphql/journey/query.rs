//! Reading journeys: one by slug, or a filtered, ordered page of them.

use super::super::db;
use super::super::enums::{OrderDirection, PersonaKind, Status};
use super::super::pagination::{self, Conn, Ordering, PageArgs, SortValue};
use super::Journey;
use crate::domain::types;
use crate::error::AppError;
use async_graphql::{Context, InputObject, Object, Result, ResultExt};
use entity::{enums, journey};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Which journeys to list.
#[derive(InputObject, Default)]
pub struct JourneyFilter {
    /// Only journeys of this persona kind.
    pub persona_kind: Option<PersonaKind>,
    /// Only journeys with this status.
    pub status: Option<Status>,
    /// Only journeys whose slug, name or description contains this text (case-insensitive).
    pub search: Option<String>,
}

/// What journeys can be ordered by.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum JourneyOrderField {
    /// Display name.
    #[default]
    Name,
    /// Slug.
    Slug,
}

/// The order of a journey list.
#[derive(InputObject, Default)]
pub struct JourneyOrder {
    /// The field to order by.
    #[graphql(default)]
    pub field: JourneyOrderField,
    /// Ascending or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Journey queries.
#[derive(Default)]
pub struct JourneyQuery;

#[Object]
impl JourneyQuery {
    /// One journey by slug, or null.
    async fn journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The journey's slug.")] slug: String,
    ) -> Result<Option<Journey>> {
        let db = db(ctx).extend()?;
        let row = journey::Entity::find()
            .filter(journey::Column::Slug.eq(slug))
            .one(db)
            .await;
        Ok(row.map_err(AppError::from).extend()?.map(Journey))
    }

    /// Journeys, filtered and ordered, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn journeys(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which journeys to list.")] filter: Option<JourneyFilter>,
        #[graphql(desc = "The order of the list; by name when omitted.")] order_by: Option<
            JourneyOrder,
        >,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<Journey>> {
        let db = db(ctx).extend()?;
        let f = filter.unwrap_or_default();
        let mut q = journey::Entity::find();
        if let Some(k) = f.persona_kind {
            q = q.filter(journey::Column::PersonaKind.eq(enums::PersonaKind::from(k)));
        }
        if let Some(s) = f.status {
            q = q.filter(journey::Column::Status.eq(enums::Status::from(s)));
        }
        if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
            types::search("filter.search", s).extend()?;
            use journey::Column as C;
            q = q.filter(pagination::text_search(
                s,
                &[C::Slug, C::Name, C::Description],
            ));
        }
        let order = order_by.unwrap_or_default();
        let descending = order.direction == OrderDirection::Desc;
        let ordering = match order.field {
            JourneyOrderField::Name => Ordering {
                column: journey::Column::Name,
                id_column: journey::Column::Id,
                descending,
                key: |m: &journey::Model| SortValue::Text(m.name.clone()),
            },
            JourneyOrderField::Slug => Ordering {
                column: journey::Column::Slug,
                id_column: journey::Column::Id,
                descending,
                key: |m: &journey::Model| SortValue::Text(m.slug.clone()),
            },
        };
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        pagination::paginate(db, q, ordering, args, Journey)
            .await
            .extend()
    }
}
