//! The change feed: every committed change in commit order, to everyone who follows it, on
//! every replica, with nothing missed or repeated across reconnects.
//!
//! Each process runs one pump ([`pump`]) that reads the change log ([`log`]) after the last
//! change it published and publishes what it finds to a broadcast channel. It is woken by this
//! process's own commits (the [`Writer`](super::change::Writer)'s listener), on `PostgreSQL` by
//! `NOTIFY` from the commit trigger (so changes made by other replicas, `seed`/`apply` or
//! plain SQL arrive too), and by a poll while it cannot listen. A notification only wakes the
//! pump; what changed is always read from the log, so a notification lost while the listening
//! connection was down loses nothing: the next read catches up.
//!
//! A follower ([`Feed::follow`]) subscribes to the channel first, then replays the log from its
//! position, then takes live changes, skipping what it replayed: every change after its
//! position exactly once, in commit order. One that falls behind the channel replays from the
//! log again rather than holding changes in memory.

pub mod log;
mod pump;

use super::events::{Committed, Listener};
use crate::error::{AppError, AppResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::audit_event::AuditSubject;
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use tokio::sync::{Notify, broadcast};

/// How many changes the channel holds for a follower that is behind; one further behind
/// replays from the log.
const CHANNEL_CAPACITY: usize = 1024;

/// How long a follower waits before reading the log again after it could not.
const RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// One committed write transaction, as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Its place in commit order.
    pub seq: i64,
    /// When it committed.
    pub at: DateTime<Utc>,
    /// What it changed, one record per history event, in the order they were written.
    pub records: Vec<Record>,
}

/// One record a change touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The command that changed it, named as its mutation (`sql` for a change made without
    /// the service).
    pub action: String,
    /// The kind of record; `None` when a change made without the service touched only links.
    pub subject: Option<AuditSubject>,
    /// Its row ID, when known.
    pub id: Option<i32>,
    /// Its human key (slug, `journey/key`, token name), when known.
    pub key: Option<String>,
    /// The version of its aggregate after the change, when it has one.
    pub version: Option<i32>,
    /// Who made the change.
    pub actor: String,
}

impl Record {
    /// A record of a change made without the service (plain SQL): what kind, not which.
    pub(crate) fn unknown(subject: Option<AuditSubject>) -> Self {
        Self {
            action: "sql".to_owned(),
            subject,
            id: None,
            key: None,
            version: None,
            actor: "database".to_owned(),
        }
    }

    /// Whether the record belongs to journey `slug` (the journey or one of its stages), or
    /// may (a change made without the service to journeys or stages).
    pub fn concerns_journey(&self, slug: &str) -> bool {
        match (self.subject, self.key.as_deref()) {
            (Some(AuditSubject::Journey), Some(key)) => key == slug,
            (Some(AuditSubject::Stage), Some(key)) => key
                .strip_prefix(slug)
                .is_some_and(|rest| rest.starts_with('/')),
            (Some(AuditSubject::Journey | AuditSubject::Stage) | None, None) => true,
            _ => false,
        }
    }
}

/// A place in the feed: after the first `index` records of change `seq` (all of them when
/// `index` is `u32::MAX`). Given to clients as an opaque cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// The change.
    pub seq: i64,
    /// How many of its records lie before the place.
    pub index: u32,
}

impl Position {
    /// After the whole of change `seq`.
    pub fn after_change(seq: i64) -> Self {
        Self {
            seq,
            index: u32::MAX,
        }
    }

    /// The cursor clients see.
    pub fn cursor(self) -> String {
        let text = if self.index == u32::MAX {
            format!("change:{}", self.seq)
        } else {
            format!("change:{}:{}", self.seq, self.index)
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    /// Reads a cursor given back by a client as `field`.
    pub fn parse(field: &str, cursor: &str) -> AppResult<Self> {
        let bad = || {
            AppError::bad_input(
                field,
                "is not a change cursor; use one this service returned (`changeCursor`, or a change's `cursor`)",
            )
        };
        if cursor.len() > 64 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
        let rest = text.strip_prefix("change:").ok_or_else(bad)?;
        let mut parts = rest.splitn(2, ':');
        let seq: i64 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|s| *s >= 0)
            .ok_or_else(bad)?;
        let index = match parts.next() {
            None => u32::MAX,
            Some(i) => i.parse().ok().filter(|i| *i < u32::MAX).ok_or_else(bad)?,
        };
        Ok(Self { seq, index })
    }
}

/// One record as a follower receives it, with the place just after it.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The change it belongs to.
    pub commit: Arc<Commit>,
    /// Which of the change's records.
    pub index: usize,
    /// The place after it: resuming from here continues with the next record.
    pub position: Position,
}

impl Delivered {
    /// The record.
    pub fn record(&self) -> &Record {
        &self.commit.records[self.index]
    }
}

/// The feed of one process. Cheap to clone; the pump stops when the last clone is dropped.
#[derive(Clone)]
pub struct Feed {
    inner: Arc<Inner>,
    _stop: Arc<tokio::sync::oneshot::Sender<()>>,
}

struct Inner {
    db: DatabaseConnection,
    channel: broadcast::Sender<Arc<Commit>>,
    /// Wakes the pump: this process committed something.
    wake: Notify,
    /// The place of the last change published (-1 until the pump has read the log).
    head: AtomicI64,
    /// Advances whenever a change is heard of, at once for this process's own commits, and
    /// when announcements may have been missed (the listener reconnected).
    generation: AtomicU64,
    /// Whether announcements are being heard: `PostgreSQL` with its listener connected and
    /// caught up. While false, whoever relies on [`Feed::generation`] checks the database.
    listening: AtomicBool,
}

impl Feed {
    /// Starts the pump of `db`. Must be called within a Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (channel, _) = broadcast::channel(CHANNEL_CAPACITY);
        let inner = Arc::new(Inner {
            db,
            channel,
            wake: Notify::new(),
            head: AtomicI64::new(-1),
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(pump::run(inner.clone(), stopped));
        Self {
            inner,
            _stop: Arc::new(stop),
        }
    }

    /// What a [`Writer`](super::change::Writer) tells of its commits.
    pub fn listener(&self) -> Arc<dyn Listener> {
        Arc::new(Wake(self.inner.clone()))
    }

    /// A number that changes whenever the catalog may have changed, as far as this feed has
    /// heard; meaningful only while [`Feed::listening`].
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    /// Whether changes made anywhere are being heard of as they commit.
    pub fn listening(&self) -> bool {
        self.inner.listening.load(Ordering::SeqCst)
    }

    /// The place of the last committed change, read from the log.
    pub async fn cursor(&self) -> AppResult<Position> {
        Ok(Position::after_change(log::head(&self.inner.db).await?))
    }

    /// Every record committed after `from` (after the last committed change when `None`), in
    /// commit order, then live as changes commit; each exactly once. While the log cannot be
    /// read (the database is down), it waits and tries again: it never skips.
    pub fn follow(&self, from: Option<Position>) -> impl Stream<Item = Delivered> + Send + use<> {
        let inner = self.inner.clone();
        // Subscribed before the log is read: whatever is published from here on is received,
        // and whatever was published before is in the log.
        let live = inner.channel.subscribe();
        async_stream(inner, live, from)
    }
}

/// The follower's loop (see [`Feed::follow`]).
fn async_stream(
    inner: Arc<Inner>,
    live: broadcast::Receiver<Arc<Commit>>,
    from: Option<Position>,
) -> impl Stream<Item = Delivered> + Send + 'static {
    let follower = Follower {
        inner,
        live,
        at: from,
        replaying: true,
        queue: VecDeque::new(),
    };
    futures_util::stream::unfold(follower, |mut f| async move {
        let next = f.next().await?;
        Some((next, f))
    })
}

/// A follower's state: where it has read up to, and what it read but has not handed on.
struct Follower {
    inner: Arc<Inner>,
    live: broadcast::Receiver<Arc<Commit>>,
    /// Read up to here; `None` until the log's head is read (a follower from now).
    at: Option<Position>,
    /// Reading the log rather than the channel.
    replaying: bool,
    queue: VecDeque<Delivered>,
}

impl Follower {
    async fn next(&mut self) -> Option<Delivered> {
        loop {
            if let Some(d) = self.queue.pop_front() {
                return Some(d);
            }
            let at = if let Some(at) = self.at {
                at
            } else {
                let Ok(head) = log::head(&self.inner.db).await else {
                    tokio::time::sleep(RETRY).await;
                    continue;
                };
                *self.at.insert(Position::after_change(head))
            };
            if self.replaying {
                // A place inside a change reads that change again, from the record after it.
                let from = if at.index == u32::MAX {
                    at.seq
                } else {
                    at.seq - 1
                };
                let Ok(page) = log::after(&self.inner.db, from).await else {
                    tokio::time::sleep(RETRY).await;
                    continue;
                };
                self.replaying = page.len() == log::PAGE;
                // A change the pump has not published yet: the feed has heard of it now, so
                // whoever relies on the generation (the response cache) must not miss it.
                if page
                    .last()
                    .is_some_and(|c| c.seq > self.inner.head.load(Ordering::SeqCst))
                {
                    self.inner.generation.fetch_add(1, Ordering::SeqCst);
                }
                for commit in page {
                    self.take(Arc::new(commit));
                }
                continue;
            }
            match self.live.recv().await {
                Ok(commit) => self.take(commit),
                // Too far behind for the channel: the log has what it missed.
                Err(broadcast::error::RecvError::Lagged(_)) => self.replaying = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Queues the records of `commit` that lie after the follower's place.
    fn take(&mut self, commit: Arc<Commit>) {
        let Some(at) = self.at else { return };
        if commit.seq < at.seq || (commit.seq == at.seq && at.index == u32::MAX) {
            return;
        }
        let first = if commit.seq == at.seq {
            at.index as usize
        } else {
            0
        };
        let len = commit.records.len();
        for index in first..len {
            let position = Position {
                seq: commit.seq,
                index: if index + 1 == len {
                    u32::MAX
                } else {
                    (index + 1) as u32
                },
            };
            self.queue.push_back(Delivered {
                commit: commit.clone(),
                index,
                position,
            });
        }
        self.at = Some(Position::after_change(commit.seq));
    }
}

/// The listener a [`Writer`](super::change::Writer) calls after each commit.
struct Wake(Arc<Inner>);

impl Listener for Wake {
    fn committed(&self, _: &Committed) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        self.0.wake.notify_one();
    }
}
