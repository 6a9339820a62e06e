//! Relay connections paginated in SQL with keyset cursors; `totalCount` runs only when asked.

use super::reader::Reader;
use crate::error::{AppError, AppResult};
use async_graphql::connection::{Edge, EmptyFields, PageInfo};
use async_graphql::{Context, Object, OutputType, Result, ResultExt, TypeName};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::extension::postgres::PgFunc;
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, Func, LikeExpr, Query, WindowStatement,
};
use sea_orm::{
    ColumnTrait, ColumnType, Condition, ConnectionTrait, EntityTrait, FromQueryResult, ModelTrait,
    Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Value,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;
/// The page size when the client names none.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// The Relay arguments of a connection field.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub after: Option<String>,
    pub before: Option<String>,
    pub first: Option<i32>,
    pub last: Option<i32>,
}

/// The value a list is ordered by, carried in the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

impl SortValue {
    /// Whether the value could have come from a stored row: a cursor is input, so its text
    /// obeys the rules every stored text obeys (no control characters, such as the NUL byte
    /// PostgreSQL refuses, and no longer than the longest text), and its number fits a column.
    fn is_storable(&self) -> bool {
        match self {
            Self::Int(i) => i32::try_from(*i).is_ok(),
            Self::Text(t) => {
                t.chars().count() <= crate::domain::types::LONG_TEXT_MAX
                    && !t.chars().any(char::is_control)
            }
        }
    }
}

impl From<SortValue> for Value {
    fn from(v: SortValue) -> Self {
        match v {
            SortValue::Int(i) => i.into(),
            SortValue::Text(s) => s.into(),
        }
    }
}

/// A position in one ordering of one list: the ordering's name, the row's sort value and ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Cursor {
    o: String,
    v: SortValue,
    id: i32,
}

impl<E: EntityTrait> Ordering<E> {
    /// Names the ordering (column and direction), so a cursor is only taken by the ordering
    /// it came from.
    fn name(&self) -> String {
        let dir = if self.descending { "desc" } else { "asc" };
        format!("{}:{dir}", sea_orm::IdenStatic::as_str(&self.column))
    }

    fn encode(&self, m: &E::Model) -> String {
        let cursor = Cursor {
            o: self.name(),
            v: (self.key)(m),
            id: id_of(self, m),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    }

    fn decode(&self, field: &str, s: &str) -> AppResult<Cursor> {
        let cursor: Option<Cursor> = URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let is_int = matches!(
            self.column.def().get_column_type(),
            ColumnType::Integer | ColumnType::BigInteger | ColumnType::SmallInteger
        );
        match cursor {
            Some(c)
                if c.o == self.name()
                    && matches!(c.v, SortValue::Int(_)) == is_int
                    && c.v.is_storable() =>
            {
                Ok(c)
            }
            _ => Err(AppError::bad_input(
                field,
                "is not a cursor of this list in this order; use a cursor it returned with the same orderBy",
            )),
        }
    }
}

/// How a list is ordered: a column, its direction, and how to read it from a row.
pub struct Ordering<E: EntityTrait> {
    pub column: E::Column,
    pub id_column: E::Column,
    pub descending: bool,
    pub key: fn(&E::Model) -> SortValue,
}

/// Counts the rows matching a list's filter; run only when `totalCount` is selected.
type CountFn = Arc<dyn Fn() -> BoxFuture<'static, AppResult<u64>> + Send + Sync>;

/// How a connection counts its whole list when `totalCount` is selected.
enum Counter {
    /// A top-level list: one COUNT statement of its filter.
    Query(CountFn),
    /// A nested list: counted with its siblings, one grouped COUNT per relation.
    Children(Box<dyn super::CountChildren>),
}

/// One page of a list: a Relay connection named `<Node>Connection`.
pub struct Conn<N: OutputType> {
    edges: Vec<Edge<String, N, EmptyFields>>,
    has_previous_page: bool,
    has_next_page: bool,
    count: Counter,
}

impl<N: OutputType> TypeName for Conn<N> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        format!("{}Connection", N::type_name()).into()
    }
}

/// One page of a list in a stable order, with opaque cursors to fetch the pages around it.
#[Object(name_type)]
impl<N: OutputType> Conn<N> {
    /// Where this page sits in the list, and the cursors to continue from.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self.edges.first().map(|e| e.cursor.clone()),
            end_cursor: self.edges.last().map(|e| e.cursor.clone()),
        }
    }
    /// The items of this page, each with its cursor.
    async fn edges(&self) -> &[Edge<String, N, EmptyFields>] {
        &self.edges
    }
    /// The items of this page.
    async fn nodes(&self) -> Vec<&N> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    /// The number of items that match the filter, across all pages (one extra COUNT query;
    /// in a nested list, one for all the lists of the same relation).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let n = match &self.count {
            Counter::Query(count) => count().await.extend()?,
            Counter::Children(counter) => {
                counter.count(super::loader(ctx).extend()?).await.extend()?
            }
        };
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// The page a connection's arguments ask for, with its cursors checked against the ordering.
/// Equal pages of sibling lists share one statement (it is part of their loader keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    /// Rows per page.
    limit: u64,
    /// `last`: the page ends the list (or ends before `before`).
    backward: bool,
    after: Option<Cursor>,
    before: Option<Cursor>,
}

impl PageKey {
    /// Checks the Relay arguments against `ordering`: page sizes in range, `first` and `last`
    /// not combined, cursors of this list in this order.
    pub fn new<E: EntityTrait>(args: PageArgs, ordering: &Ordering<E>) -> AppResult<Self> {
        let first = page_size("first", args.first)?;
        let last = page_size("last", args.last)?;
        if first.is_some() && last.is_some() {
            return Err(AppError::bad_input("last", "cannot be combined with first"));
        }
        let after = args
            .after
            .as_deref()
            .map(|s| ordering.decode("after", s))
            .transpose()?;
        let before = args
            .before
            .as_deref()
            .map(|s| ordering.decode("before", s))
            .transpose()?;
        let backward = last.is_some();
        let limit = last.or(first).unwrap_or(DEFAULT_PAGE_SIZE as u64);
        Ok(Self {
            limit,
            backward,
            after,
            before,
        })
    }

    /// `select` narrowed to the rows between the cursors.
    fn narrow<E: EntityTrait>(&self, mut select: Select<E>, ordering: &Ordering<E>) -> Select<E> {
        if let Some(c) = &self.after {
            select = select.filter(beyond(ordering, c.clone(), true));
        }
        if let Some(c) = &self.before {
            select = select.filter(beyond(ordering, c.clone(), false));
        }
        select
    }

    /// The order rows are read in: the list's own, or reversed for a `last` page.
    fn read_order<E: EntityTrait>(&self, ordering: &Ordering<E>) -> Order {
        if ordering.descending == self.backward {
            Order::Asc
        } else {
            Order::Desc
        }
    }

    /// The connection of rows read in [`Self::read_order`], at most one more than the page
    /// (that one only tells whether the list goes on).
    fn connection<E, N>(
        &self,
        mut rows: Vec<E::Model>,
        ordering: &Ordering<E>,
        wrap: impl Fn(E::Model) -> N,
        count: Counter,
    ) -> Conn<N>
    where
        E: EntityTrait,
        N: OutputType,
    {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.backward {
            rows.reverse();
        }
        let (has_previous_page, has_next_page) = if self.backward {
            (more, self.before.is_some())
        } else {
            (self.after.is_some(), more)
        };
        let edges = rows
            .into_iter()
            .map(|m| Edge::new(ordering.encode(&m), wrap(m)))
            .collect();
        Conn {
            edges,
            has_previous_page,
            has_next_page,
            count,
        }
    }
}

fn page_size(field: &str, n: Option<i32>) -> AppResult<Option<u64>> {
    match n {
        None => Ok(None),
        Some(n) if (0..=MAX_PAGE_SIZE).contains(&n) => Ok(Some(n as u64)),
        Some(_) => Err(AppError::bad_input(
            field,
            format!("must be between 0 and {MAX_PAGE_SIZE}"),
        )),
    }
}

/// Rows strictly after (`forward`) or before the cursor in the ordering.
fn beyond<E: EntityTrait>(o: &Ordering<E>, c: Cursor, forward: bool) -> Condition {
    let up = forward != o.descending;
    let v: Value = c.v.into();
    let (col_cmp, id_cmp) = if up {
        (o.column.gt(v.clone()), o.id_column.gt(c.id))
    } else {
        (o.column.lt(v.clone()), o.id_column.lt(c.id))
    };
    Condition::any()
        .add(col_cmp)
        .add(Condition::all().add(o.column.eq(v)).add(id_cmp))
}

/// Runs one page of `select` in SQL and wraps it as a connection of `wrap(row)`.
pub async fn paginate<E, N>(
    db: &Reader,
    select: Select<E>,
    ordering: Ordering<E>,
    args: PageArgs,
    wrap: fn(E::Model) -> N,
) -> AppResult<Conn<N>>
where
    E: EntityTrait,
    E::Model: Sync,
    N: OutputType,
{
    let page = PageKey::new(args, &ordering)?;
    let counted = select.clone();
    let count_db = db.clone();
    let count: CountFn = Arc::new(move || {
        let q = counted.clone();
        let db = count_db.clone();
        Box::pin(async move { Ok(q.count(&db).await?) })
    });
    let order = page.read_order(&ordering);
    let rows = page
        .narrow(select, &ordering)
        .order_by(ordering.column, order.clone())
        .order_by(ordering.id_column, order)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(page.connection(rows, &ordering, wrap, Counter::Query(count)))
}

/// Column alias of a row's place in its parent's page, in [`child_pages`].
const PLACE: &str = "place_in_page";

/// The same page of each parent's list in one statement: the rows of `select` whose
/// `parent` column is one of `parents`, numbered per parent in the list's order by a window
/// function and cut at one more than the page. Maps each parent to its rows, in read order.
pub async fn child_pages<E>(
    db: &Reader,
    select: Select<E>,
    parent: E::Column,
    parents: &[i32],
    ordering: &Ordering<E>,
    page: &PageKey,
) -> AppResult<HashMap<i32, Vec<E::Model>>>
where
    E: EntityTrait,
{
    let order = page.read_order(ordering);
    let mut window = WindowStatement::partition_by(parent);
    window
        .order_by(ordering.column, order.clone())
        .order_by(ordering.id_column, order);
    let mut inner = page
        .narrow(select, ordering)
        .filter(one_of(db, parent, parents.iter().copied()))
        .into_query();
    inner.expr_window_as(Expr::cust("ROW_NUMBER()"), window, Alias::new(PLACE));
    let limit = i64::try_from(page.limit + 1).unwrap_or(i64::MAX);
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("page"))
        .and_where(Expr::col(Alias::new(PLACE)).lte(limit))
        .order_by(Alias::new(PLACE), Order::Asc)
        .to_owned();
    let stmt = db.get_database_backend().build(&outer);
    let rows = E::Model::find_by_statement(stmt).all(db).await?;
    let mut pages: HashMap<i32, Vec<E::Model>> = HashMap::new();
    for m in rows {
        if let Value::Int(Some(p)) = m.get(parent) {
            pages.entry(p).or_default().push(m);
        }
    }
    Ok(pages)
}

/// The number of rows of `select` per `parent` value among `parents`, in one grouped COUNT.
pub async fn child_counts<E>(
    db: &Reader,
    select: Select<E>,
    parent: E::Column,
    parents: &[i32],
) -> AppResult<HashMap<i32, u64>>
where
    E: EntityTrait,
{
    let counts: Vec<(i32, i64)> = select
        .filter(one_of(db, parent, parents.iter().copied()))
        .select_only()
        .column(parent)
        .column_as(Expr::col(parent).count(), "n")
        .group_by(parent)
        .into_tuple()
        .all(db)
        .await?;
    Ok(counts
        .into_iter()
        .map(|(p, n)| (p, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// One page of a nested list, from its loader's rows (see [`child_pages`]).
pub fn child_connection<E, N>(
    rows: Vec<E::Model>,
    page: &PageKey,
    ordering: &Ordering<E>,
    wrap: fn(E::Model) -> N,
    count: Box<dyn super::CountChildren>,
) -> Conn<N>
where
    E: EntityTrait,
    N: OutputType,
{
    page.connection(rows, ordering, wrap, Counter::Children(count))
}

fn id_of<E: EntityTrait>(o: &Ordering<E>, m: &E::Model) -> i32 {
    use sea_orm::ModelTrait;
    match m.get(o.id_column) {
        Value::Int(Some(i)) => i,
        _ => 0,
    }
}

/// A case-insensitive substring match of `needle` in any of `columns`, with `%` and `_`
/// in the needle matched literally.
///
/// The column is lowered by the database's `LOWER`, which folds every letter on `PostgreSQL`
/// but only ASCII ones on `SQLite`. Matching against the needle lowered both ways (fully, and
/// in ASCII only) finds a name by its own spelling on both, whatever its accents.
pub fn text_search<C: ColumnTrait>(needle: &str, columns: &[C]) -> Condition {
    let mut patterns = vec![like_pattern(&needle.to_lowercase())];
    let ascii = like_pattern(&needle.to_ascii_lowercase());
    if ascii != patterns[0] {
        patterns.push(ascii);
    }
    let mut cond = Condition::any();
    for col in columns {
        for pattern in &patterns {
            let lowered = Expr::expr(Func::lower(Expr::col(col.as_column_ref())));
            cond = cond.add(lowered.like(LikeExpr::new(pattern.clone()).escape('\\')));
        }
    }
    cond
}

/// `%needle%` with the LIKE wildcards of the needle escaped.
fn like_pattern(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `column` is one of `ids`, bound as one parameter whatever their number: `= ANY($1)` with an
/// array on `PostgreSQL`, `IN (SELECT value FROM json_each(?))` with a JSON array on `SQLite`.
/// The statement's text is then the same for every batch, so each pooled connection prepares
/// it once, where an `IN ($1, $2, ...)` list makes a new statement for every batch size.
pub fn one_of<C: ColumnTrait>(
    db: &impl ConnectionTrait,
    column: C,
    ids: impl IntoIterator<Item = i32>,
) -> Expr {
    one_of_expr(db, Expr::col(column.as_column_ref()), ids)
}

/// [`one_of`] for a column named by an expression (of a table under an alias, say).
pub fn one_of_expr(
    db: &impl ConnectionTrait,
    column: Expr,
    ids: impl IntoIterator<Item = i32>,
) -> Expr {
    let ids: Vec<i32> = ids.into_iter().collect();
    if ConnectionTrait::get_database_backend(db) == sea_orm::DbBackend::Postgres {
        column.eq(PgFunc::any(Expr::val(ids)))
    } else {
        let list = serde_json::Value::from(ids).to_string();
        // `?` is where the SQLite builder puts each expression.
        Expr::cust_with_exprs(
            "? IN (SELECT value FROM json_each(?))",
            [column, Expr::val(list)],
        )
    }
}
