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

/// A buyer persona `slug` at version 1, written directly (no history), for tests of the
/// records that refer to one.
pub(crate) async fn persona(w: &Writer, slug: &str) -> entity::persona::Model {
    use entity::enums::{PersonaKind, Provenance, Status};
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let now = chrono::Utc::now();
    entity::persona::ActiveModel {
        slug: Set(slug.into()),
        name: Set(slug.into()),
        kind: Set(PersonaKind::Buyer),
        status: Set(Status::Active),
        pain_points: Set(serde_json::json!([])),
        motivations: Set(serde_json::json!([])),
        sort_order: Set(0),
        provenance: Set(Provenance::Editor),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(w.db())
    .await
    .expect("the persona is written")
}
