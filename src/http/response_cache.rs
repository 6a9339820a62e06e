//! Responses to read requests, shared across requests and kept only while the catalog has not
//! changed: dashboards and pages that poll the same query get the answer without resolving it
//! again.
//!
//! Correctness rests on `catalog_version`, a counter that triggers advance in the same
//! transaction as every change to any table (see the migration that creates it), whoever makes
//! the change: this server, another replica, the `seed` command or plain SQL. Each request reads
//! the counter first (one cheap statement) and uses a cached response only if it was computed
//! after reading the same value. A response computed while a change commits is stored under the
//! older value, which no request reads once the change is visible, so no request ever sees data
//! older than it would have seen without the cache.
//!
//! On `PostgreSQL`, while the change feed is listening (every commit anywhere is announced to
//! it within milliseconds, and this server's own commits before their responses are sent), a
//! request uses the feed's generation instead, and asks the database nothing. When the
//! listener drops, the feed says so and requests read the counter again until it is back.

use axum::body::Bytes;
use lru::LruCache;
use sea_orm::{DatabaseConnection, DbErr};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, PoisonError};

/// What a cached response answers: the same document, operation and variables, asked with the
/// same access (a response can depend on what the caller may see).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: String,
    /// `anonymous`, or the token that asked.
    pub access: String,
}

struct Entry {
    version: i64,
    body: Bytes,
    /// What the entry counts against the budget: its body and its key's text.
    size: usize,
}

/// A bounded set of response bodies (least recently used goes first).
pub struct ResponseCache {
    entries: Mutex<Entries>,
    budget: usize,
}

struct Entries {
    lru: LruCache<u64, (Key, Entry)>,
    bytes: usize,
}

impl ResponseCache {
    /// A cache holding at most `budget` bytes of response bodies; 0 turns caching off.
    pub fn new(budget: usize) -> Self {
        Self {
            entries: Mutex::new(Entries {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
            budget,
        }
    }

    /// Whether responses are cached at all.
    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// The largest body worth keeping: an eighth of the budget, so one response cannot evict
    /// all others.
    fn max_entry(&self) -> usize {
        self.budget / 8
    }

    /// The catalog's current version: one indexed read of one row.
    pub async fn version(db: &DatabaseConnection) -> Result<i64, DbErr> {
        crate::catalog::export::version(db).await
    }

    /// The version of the catalog as the change feed last heard of it (see
    /// `domain::feed::Feed::generation`), as a number no database version can be: negative,
    /// so an entry stored under one kind is never taken for the other.
    pub fn announced(generation: u64) -> i64 {
        -1 - i64::try_from(generation).unwrap_or(i64::MAX - 1)
    }

    /// The body cached for `key` at catalog `version`, if any.
    pub fn get(&self, key: &Key, version: i64) -> Option<Bytes> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.lru.get(&hash(key)) {
            Some((k, e)) if k == key && e.version == version => Some(e.body.clone()),
            _ => None,
        }
    }

    /// Keeps `body` as the answer to `key` at catalog `version` (the version read before the
    /// response was computed).
    pub fn put(&self, key: Key, version: i64, body: Bytes) {
        let size = body.len() + key.query.len() + key.variables.len();
        if size > self.max_entry() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let h = hash(&key);
        if let Some((_, old)) = entries.lru.pop(&h) {
            entries.bytes -= old.size;
        }
        while entries.bytes + size > self.budget {
            match entries.lru.pop_lru() {
                Some((_, (_, old))) => entries.bytes -= old.size,
                None => break,
            }
        }
        entries.bytes += size;
        let entry = Entry {
            version,
            body,
            size,
        };
        entries.lru.put(h, (key, entry));
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes
    }
}

fn hash(key: &Key) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}
