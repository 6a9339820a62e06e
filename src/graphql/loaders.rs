//! Per-request `DataLoaders`: one key type per relation direction, all batched by one loader.
//!
//! A nested request runs one statement per relation it touches, whatever the number of rows:
//! sibling fields ask for their keys in the same tick and the loader answers them in one
//! `WHERE key IN (...)`. Answers are cached for the rest of the request.

use super::CountChildren;
use super::pagination::{self, one_of};
use super::reader::Reader;
use crate::error::{AppError, AppResult};
use async_graphql::dataloader::{CacheFactory, CacheStorage, DataLoader, Loader};
use entity::audit_event::AuditSubject;
use entity::enums;
use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Select};
use std::borrow::Cow;
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::hash::Hash;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// Loads catalog rows for one request.
pub struct CatalogLoader {
    db: Reader,
}

impl CatalogLoader {
    /// What the loader reads through.
    pub(super) fn reader(&self) -> &Reader {
        &self.db
    }
}

/// The per-request loader, as resolvers see it.
pub type Loaders = DataLoader<CatalogLoader, Fresh>;

/// A fresh loader (and cache) for one request, whose batches `batches` runs.
pub fn loaders(db: Reader, batches: &Batches) -> Loaders {
    loaders_with(db, batches, Generation::default())
}

/// A loader whose cache empties whenever `generation` advances: a subscription's, which
/// advances it before each event it resolves, so no event is answered from an older one's
/// rows.
pub fn loaders_with(db: Reader, batches: &Batches, generation: Generation) -> Loaders {
    let queue = batches.clone();
    // No delay: a batch takes its keys when `Batches::run` starts it, which is already the
    // moment no resolver can add one.
    DataLoader::with_cache(
        CatalogLoader { db },
        move |batch| queue.spawn(batch),
        Fresh(generation),
    )
    .delay(std::time::Duration::ZERO)
}

/// The generation of a loader's cache (see [`loaders_with`]).
#[derive(Clone, Default)]
pub struct Generation(Arc<AtomicU64>);

impl Generation {
    /// Forgets everything the loader has cached.
    pub fn advance(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A `HashMapCache` that empties itself when its [`Generation`] advances.
pub struct Fresh(Generation);

impl CacheFactory for Fresh {
    fn create<K, V>(&self) -> Box<dyn CacheStorage<Key = K, Value = V>>
    where
        K: Send + Sync + Clone + Eq + Hash + 'static,
        V: Send + Sync + Clone + 'static,
    {
        Box::new(FreshStorage {
            generation: self.0.clone(),
            seen: self.0.0.load(Ordering::SeqCst),
            rows: HashMap::new(),
        })
    }
}

struct FreshStorage<K, V> {
    generation: Generation,
    seen: u64,
    rows: HashMap<K, V>,
}

impl<K, V> FreshStorage<K, V> {
    /// Whether the cache is of an older generation (and so must not answer).
    fn stale(&self) -> bool {
        self.generation.0.load(Ordering::SeqCst) != self.seen
    }

    fn renew(&mut self) {
        let now = self.generation.0.load(Ordering::SeqCst);
        if now != self.seen {
            self.rows.clear();
            self.seen = now;
        }
    }
}

impl<K, V> CacheStorage for FreshStorage<K, V>
where
    K: Send + Sync + Clone + Eq + Hash + 'static,
    V: Send + Sync + Clone + 'static,
{
    type Key = K;
    type Value = V;

    fn get(&mut self, key: &K) -> Option<&V> {
        self.renew();
        self.rows.get(key)
    }

    fn insert(&mut self, key: Cow<'_, K>, val: Cow<'_, V>) {
        self.renew();
        self.rows.insert(key.into_owned(), val.into_owned());
    }

    fn remove(&mut self, key: &K) {
        self.rows.remove(key);
    }

    fn clear(&mut self) {
        self.rows.clear();
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (&'_ K, &'_ V)> + '_> {
        if self.stale() {
            return Box::new(std::iter::empty());
        }
        Box::new(self.rows.iter())
    }
}

/// The `DataLoader` batches of one request, started when the request is idle.
///
/// async-graphql's `DataLoader` starts a batch a fixed delay (1 ms) after its first key. A
/// relation level of a large response can take longer than that to resolve (the executor
/// yields between list items, and on a multi-threaded runtime the timer fires regardless),
/// so one level was split over more statements the more rows it had. Here a batch waits
/// until the request cannot make progress without it: every resolver that can run has run
/// and registered its keys (the JavaScript `DataLoader`'s "end of tick"). The statement count
/// then follows the depth of the query, not its rows, and no level waits for a timer.
#[derive(Clone, Default)]
pub struct Batches(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

impl Batches {
    /// Queues a batch until the request is idle; the `DataLoader`'s spawner.
    fn spawn(&self, batch: BoxFuture<'static, ()>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(batch);
    }

    fn take(&self) -> Vec<BoxFuture<'static, ()>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `request`, and the batches its loaders queue, to completion. Every loader the
    /// request uses must have been made with these batches: nothing else starts them.
    pub async fn run<F: Future>(&self, request: F) -> F::Output {
        let mut request = pin!(request);
        let mut running = FuturesUnordered::new();
        poll_fn(|cx| self.step(&mut running, cx, |inner| request.as_mut().poll(inner))).await
    }

    /// [`Batches::run`] for a stream of responses (a subscription): each item is resolved with
    /// the batches its loaders queue.
    pub fn drive<S>(self, stream: S) -> impl Stream<Item = S::Item> + Send + 'static
    where
        S: Stream + Send + Unpin + 'static,
    {
        let mut stream = stream;
        let mut running = FuturesUnordered::new();
        futures_util::stream::poll_fn(move |cx| {
            self.step(&mut running, cx, |inner| stream.poll_next_unpin(inner))
        })
    }

    /// Polls `poll` until it is ready or cannot go on without a batch, starting the batches
    /// queued meanwhile.
    fn step<T>(
        &self,
        running: &mut FuturesUnordered<BoxFuture<'static, ()>>,
        cx: &mut Context<'_>,
        mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        loop {
            let flag = Arc::new(WokenFlag {
                woken: AtomicBool::new(false),
                outer: cx.waker().clone(),
            });
            let waker = Waker::from(flag.clone());
            let mut inner = Context::from_waker(&waker);
            // Hand finished batches' rows to their resolvers first, then resolve.
            while let Poll::Ready(Some(())) = running.poll_next_unpin(&mut inner) {}
            if let Poll::Ready(out) = poll(&mut inner) {
                return Poll::Ready(out);
            }
            // Woken while being polled (a yield, or a batch that just finished): there is
            // more to resolve first, and this task is already scheduled again.
            if flag.woken.load(Ordering::SeqCst) {
                return Poll::Pending;
            }
            let queued = self.take();
            if queued.is_empty() {
                return Poll::Pending;
            }
            running.extend(queued);
        }
    }
}

/// A waker that records whether it was woken before passing the wake-up on.
struct WokenFlag {
    woken: AtomicBool,
    outer: Waker,
}

impl Wake for WokenFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.outer.wake_by_ref();
    }
}

/// Declares a key type that loads rows of `$module` by primary key.
macro_rules! by_id {
    ($(#[$meta:meta])* $key:ident => $module:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub i32);

        impl Loader<$key> for CatalogLoader {
            type Value = entity::$module::Model;
            type Error = AppError;

            async fn load(&self, keys: &[$key]) -> AppResult<HashMap<$key, Self::Value>> {
                use entity::$module::{Column, Entity};
                let rows = Entity::find()
                    .filter(one_of(&self.db, Column::Id, keys.iter().map(|k| k.0)))
                    .all(&self.db)
                    .await?;
                Ok(rows.into_iter().map(|m| ($key(m.id), m)).collect())
            }
        }
    };
}

/// Declares a key type that loads the rows of `$module` whose `$field` is the key, in order.
macro_rules! children {
    ($(#[$meta:meta])* $key:ident => $module:ident . $field:ident ($column:ident) order [$($order:ident),*]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub i32);

        impl Loader<$key> for CatalogLoader {
            type Value = Vec<entity::$module::Model>;
            type Error = AppError;

            async fn load(&self, keys: &[$key]) -> AppResult<HashMap<$key, Self::Value>> {
                use entity::$module::{Column, Entity};
                let q = Entity::find()
                    .filter(one_of(&self.db, Column::$column, keys.iter().map(|k| k.0)));
                $(let q = q.order_by_asc(Column::$order);)*
                let rows = q.order_by_asc(Column::Id).all(&self.db).await?;
                let mut map: HashMap<$key, Self::Value> = HashMap::new();
                for m in rows {
                    map.entry($key(m.$field)).or_default().push(m);
                }
                Ok(map)
            }
        }
    };
}

by_id!(/// A persona by ID.
    PersonaById => persona);
by_id!(/// A journey by ID.
    JourneyById => journey);
by_id!(/// A journey stage by ID.
    StageById => journey_stage);
by_id!(/// A team by ID.
    TeamById => team);
by_id!(/// A person by ID.
    PersonById => person);
by_id!(/// A product by ID.
    ProductById => product);
by_id!(/// A role by ID.
    RoleById => role);
by_id!(/// A persona link by ID.
    PersonaLinkById => persona_link);
by_id!(/// A product relevance by ID.
    RelevanceById => persona_product_relevance);
by_id!(/// A stage ownership by ID.
    OwnershipById => stage_ownership);
by_id!(/// A team alignment by ID.
    AlignmentById => team_persona_alignment);
by_id!(/// A team membership by ID.
    MembershipById => team_membership);
by_id!(/// An external link by ID.
    ExternalLinkById => external_link);

children!(/// The roles of a persona.
    RolesByPersona => role.persona_id(PersonaId) order [SortOrder]);
children!(/// The links from a persona to others.
    LinksByFromPersona => persona_link.from_persona_id(FromPersonaId) order []);
children!(/// The product relevance of a persona.
    RelevancesByPersona => persona_product_relevance.persona_id(PersonaId) order []);
children!(/// The team alignments of a persona.
    AlignmentsByPersona => team_persona_alignment.persona_id(PersonaId) order []);
children!(/// The persona alignments of a team.
    AlignmentsByTeam => team_persona_alignment.team_id(TeamId) order []);
children!(/// The personas a journey is narrowed to.
    JourneyPersonasByJourney => journey_persona.journey_id(JourneyId) order []);
children!(/// The stages of a journey, in position order.
    StagesByJourney => journey_stage.journey_id(JourneyId) order [Position]);
children!(/// The owners of a stage.
    OwnershipsByStage => stage_ownership.stage_id(StageId) order []);
children!(/// The stages a team owns.
    OwnershipsByTeam => stage_ownership.team_id(TeamId) order []);
children!(/// The members of a team.
    MembershipsByTeam => team_membership.team_id(TeamId) order []);
children!(/// The teams a person belongs to.
    MembershipsByPerson => team_membership.person_id(PersonId) order []);

/// The journeys of a persona kind, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JourneysByKind(pub enums::PersonaKind);

impl Loader<JourneysByKind> for CatalogLoader {
    type Value = Vec<entity::journey::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[JourneysByKind],
    ) -> AppResult<HashMap<JourneysByKind, Self::Value>> {
        use entity::journey::{Column, Entity};
        let rows = Entity::find()
            .filter(Column::PersonaKind.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(Column::Name)
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await?;
        let mut map: HashMap<JourneysByKind, Self::Value> = HashMap::new();
        for m in rows {
            map.entry(JourneysByKind(m.persona_kind))
                .or_default()
                .push(m);
        }
        Ok(map)
    }
}

/// The external links of a catalog item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinksBySubject(pub enums::SubjectType, pub i32);

impl Loader<LinksBySubject> for CatalogLoader {
    type Value = Vec<entity::external_link::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[LinksBySubject],
    ) -> AppResult<HashMap<LinksBySubject, Self::Value>> {
        use entity::external_link::{Column, Entity};
        let mut map: HashMap<LinksBySubject, Self::Value> = HashMap::new();
        // One statement per subject type present in the batch (at most four).
        let mut types: Vec<enums::SubjectType> = keys.iter().map(|k| k.0).collect();
        types.sort_by_key(|t| t.as_str());
        types.dedup();
        for t in types {
            let ids = keys.iter().filter(|k| k.0 == t).map(|k| k.1);
            let rows = Entity::find()
                .filter(Column::SubjectType.eq(t))
                .filter(one_of(&self.db, Column::SubjectId, ids))
                .order_by_asc(Column::Id)
                .all(&self.db)
                .await?;
            for m in rows {
                map.entry(LinksBySubject(m.subject_type, m.subject_id))
                    .or_default()
                    .push(m);
            }
        }
        Ok(map)
    }
}

/// A nested list paginated per parent in SQL: the rows it lists, the column naming their
/// parent, and its one order. Its pages load through [`ChildPage`] keys, its lengths through
/// [`ChildCount`] keys.
pub trait ChildList: Copy + Eq + Hash + Send + Sync + 'static {
    type Entity: EntityTrait;
    /// Every row of the relation, before narrowing to parents and pages.
    fn rows(self) -> Select<Self::Entity>;
    /// The column holding the parent's ID.
    fn parent() -> <Self::Entity as EntityTrait>::Column;
    /// The order of the list, as its cursors name it.
    fn ordering() -> pagination::Ordering<Self::Entity>;
}

/// One page of one parent's nested list. Siblings asking for the same page share a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChildPage<L: ChildList> {
    pub list: L,
    pub parent: i32,
    pub page: pagination::PageKey,
}

impl<L: ChildList> Loader<ChildPage<L>> for CatalogLoader
where
    <L::Entity as EntityTrait>::Model: Sync,
{
    type Value = Vec<<L::Entity as EntityTrait>::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[ChildPage<L>]) -> AppResult<HashMap<ChildPage<L>, Self::Value>> {
        let mut groups: HashMap<(L, &pagination::PageKey), Vec<i32>> = HashMap::new();
        for k in keys {
            groups.entry((k.list, &k.page)).or_default().push(k.parent);
        }
        let mut out = HashMap::new();
        for ((list, page), parents) in groups {
            let ordering = L::ordering();
            let mut pages = pagination::child_pages(
                &self.db,
                list.rows(),
                L::parent(),
                &parents,
                &ordering,
                page,
            )
            .await?;
            for parent in parents {
                let rows = pages.remove(&parent).unwrap_or_default();
                out.insert(
                    ChildPage {
                        list,
                        parent,
                        page: page.clone(),
                    },
                    rows,
                );
            }
        }
        Ok(out)
    }
}

/// The whole length of one parent's nested list, for `totalCount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildCount<L: ChildList> {
    pub list: L,
    pub parent: i32,
}

impl<L: ChildList> Loader<ChildCount<L>> for CatalogLoader {
    type Value = u64;
    type Error = AppError;

    async fn load(&self, keys: &[ChildCount<L>]) -> AppResult<HashMap<ChildCount<L>, u64>> {
        let mut groups: HashMap<L, Vec<i32>> = HashMap::new();
        for k in keys {
            groups.entry(k.list).or_default().push(k.parent);
        }
        let mut out = HashMap::new();
        for (list, parents) in groups {
            let counts =
                pagination::child_counts(&self.db, list.rows(), L::parent(), &parents).await?;
            for parent in parents {
                let n = counts.get(&parent).copied().unwrap_or(0);
                out.insert(ChildCount { list, parent }, n);
            }
        }
        Ok(out)
    }
}

impl<L: ChildList> CountChildren for ChildCount<L> {
    fn count<'a>(&'a self, loaders: &'a Loaders) -> BoxFuture<'a, AppResult<u64>> {
        Box::pin(async move { Ok(loaders.load_one(*self).await?.unwrap_or(0)) })
    }
}

/// Declares a nested list of `$module` rows under the parent in `$parent`, in ID order.
macro_rules! child_list {
    ($(#[$meta:meta])* $list:ident => $module:ident ($parent:ident)) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $list;

        impl ChildList for $list {
            type Entity = entity::$module::Entity;
            fn rows(self) -> Select<Self::Entity> {
                entity::$module::Entity::find()
            }
            fn parent() -> entity::$module::Column {
                entity::$module::Column::$parent
            }
            fn ordering() -> pagination::Ordering<Self::Entity> {
                pagination::Ordering {
                    column: entity::$module::Column::Id,
                    id_column: entity::$module::Column::Id,
                    descending: false,
                    key: |m| pagination::SortValue::Int(m.id.into()),
                }
            }
        }
    };
}

child_list!(/// A team's memberships, oldest first.
    TeamMembers => team_membership(TeamId));
child_list!(/// The stage ownerships of a team, oldest first.
    TeamOwnerships => stage_ownership(TeamId));
child_list!(/// The persona alignments of a team, oldest first.
    TeamAlignments => team_persona_alignment(TeamId));
child_list!(/// A person's team memberships, oldest first.
    PersonMemberships => team_membership(PersonId));

/// The audit history of one kind of subject, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct History(pub AuditSubject);

impl ChildList for History {
    type Entity = entity::audit_event::Entity;
    fn rows(self) -> Select<Self::Entity> {
        use entity::audit_event::{Column, Entity};
        Entity::find().filter(Column::SubjectType.eq(self.0))
    }
    fn parent() -> entity::audit_event::Column {
        entity::audit_event::Column::SubjectId
    }
    fn ordering() -> pagination::Ordering<Self::Entity> {
        newest_first()
    }
}

/// Newest first; the ID orders events in the order they were recorded.
pub fn newest_first() -> pagination::Ordering<entity::audit_event::Entity> {
    use entity::audit_event::{Column, Model};
    pagination::Ordering {
        column: Column::Id,
        id_column: Column::Id,
        descending: true,
        key: |m: &Model| pagination::SortValue::Int(m.id.into()),
    }
}
