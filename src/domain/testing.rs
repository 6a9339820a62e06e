//! What the domain's unit tests share: a migrated in-memory `SQLite` database behind a writer,
//! and an actor to make changes as.

use super::audit::Actor;
use super::change::Writer;

/// A writer on a fresh, migrated in-memory database (one connection, so one database).
pub(crate) async fn writer() -> Writer {
    let db = crate::db::connect("sqlite::memory:", 1)
        .await
        .expect("in-memory SQLite opens");
    crate::db::migrate(&db).await.expect("migrations apply");
    Writer::new(db)
}

/// The actor of the tests' changes.
pub(crate) fn editor() -> Actor {
    Actor {
        token_id: None,
        name: "editor".to_owned(),
    }
}
