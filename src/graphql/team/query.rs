//! Reading teams and people: `team`, `person` and the `teams` list.

use super::{Person, Team};
use crate::error::AppError;
use crate::graphql::db;
use crate::graphql::enums::{Department, OrderDirection};
use crate::graphql::pagination::{self, Conn, Ordering, PageArgs, SortValue};
use async_graphql::{Context, InputObject, Object, Result, ResultExt};
use entity::{enums, person, team};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Which teams to list.
#[derive(InputObject, Default)]
pub struct TeamFilter {
    /// Only teams of this department.
    pub department: Option<Department>,
    /// Only teams whose slug, name or description contains this text (case-insensitive).
    pub search: Option<String>,
}

/// What teams can be ordered by.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum TeamOrderField {
    /// Display name.
    #[default]
    Name,
    /// Slug.
    Slug,
}

/// The order of a team list.
#[derive(InputObject, Default)]
pub struct TeamOrder {
    /// The field to order by.
    #[graphql(default)]
    pub field: TeamOrderField,
    /// Ascending or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Team and person queries.
#[derive(Default)]
pub struct TeamQuery;

#[Object]
impl TeamQuery {
    /// One team by slug, or null.
    async fn team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team's slug.")] slug: String,
    ) -> Result<Option<Team>> {
        let db = db(ctx).extend()?;
        let row = team::Entity::find()
            .filter(team::Column::Slug.eq(slug))
            .one(db)
            .await;
        Ok(row.map_err(AppError::from).extend()?.map(Team))
    }

    /// One person by slug, or null.
    async fn person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person's slug.")] slug: String,
    ) -> Result<Option<Person>> {
        let db = db(ctx).extend()?;
        let row = person::Entity::find()
            .filter(person::Column::Slug.eq(slug))
            .one(db)
            .await;
        Ok(row.map_err(AppError::from).extend()?.map(Person))
    }

    /// Teams, filtered and ordered, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which teams to list.")] filter: Option<TeamFilter>,
        #[graphql(desc = "The order of the list; by name when omitted.")] order_by: Option<
            TeamOrder,
        >,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<Team>> {
        let db = db(ctx).extend()?;
        let f = filter.unwrap_or_default();
        let mut q = team::Entity::find();
        if let Some(d) = f.department {
            q = q.filter(team::Column::Department.eq(enums::Department::from(d)));
        }
        if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
            crate::domain::types::search("filter.search", s).extend()?;
            use team::Column as C;
            q = q.filter(pagination::text_search(
                s,
                &[C::Slug, C::Name, C::Description],
            ));
        }
        let order = order_by.unwrap_or_default();
        let descending = order.direction == OrderDirection::Desc;
        let ordering = match order.field {
            TeamOrderField::Name => Ordering {
                column: team::Column::Name,
                id_column: team::Column::Id,
                descending,
                key: |m: &team::Model| SortValue::Text(m.name.clone()),
            },
            TeamOrderField::Slug => Ordering {
                column: team::Column::Slug,
                id_column: team::Column::Id,
                descending,
                key: |m: &team::Model| SortValue::Text(m.slug.clone()),
            },
        };
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        pagination::paginate(db, q, ordering, args, Team)
            .await
            .extend()
    }
}
