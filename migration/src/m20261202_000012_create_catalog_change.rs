//! `catalog_change`: the log of committed changes in commit order, which live updates replay
//! and follow. One row per committed write transaction; its `seq` is the position in commit
//! order (a subscription's cursor), and the history events the transaction wrote carry its
//! `txn`, so a change's events are read with it.
//!
//! An auto-increment ID is assigned when a row is inserted, not when its transaction commits,
//! so "everything after ID n" can skip a change that committed late. `seq` is assigned at the
//! latest possible moment instead, under a lock held until commit:
//!
//! - PostgreSQL: the deferred trigger that bumps `catalog_version` (at commit, once per
//!   transaction, the counter row locked until the commit ends) takes the new counter value as
//!   `seq`, logs the transaction with the tables it touched, and sends `NOTIFY
//!   persona_graph_changes` with the number: every replica wakes, whoever made the change (the
//!   API, `seed`/`apply`, plain SQL). A transaction that gets `seq` n committed after every one
//!   with a smaller `seq`, so a reader that sees n sees all before it.
//! - SQLite: one writer at a time (writes begin `IMMEDIATE`), so the writer allocates `seq` as
//!   it writes its first history event, holding the lock until it commits.
//!
//! `audit_event` gains `txn` (the transaction it was written in: `txid_current()` on
//! PostgreSQL, the change's `seq` on SQLite) and `version` (the version of the aggregate it
//! belongs to after the change).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The channel replicas listen on.
pub const CHANNEL: &str = "persona_graph_changes";

/// The trigger function of `catalog_version`, now also logging and announcing the change.
const PG_FUNCTION: &str = "
CREATE OR REPLACE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v BIGINT;
  seen TEXT;
BEGIN
  IF current_setting('persona_graph.catalog_version_bumped', true) IS DISTINCT FROM
     txid_current()::text THEN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1 RETURNING version INTO v;
    INSERT INTO catalog_change (seq, txn, committed_at, tables)
      VALUES (v, txid_current(), clock_timestamp(), TG_TABLE_NAME);
    PERFORM pg_notify('persona_graph_changes', v::text);
    PERFORM set_config('persona_graph.catalog_version_bumped', txid_current()::text, true);
    PERFORM set_config('persona_graph.change_seq', v::text, true);
    PERFORM set_config('persona_graph.change_tables', ',' || TG_TABLE_NAME || ',', true);
  ELSE
    seen := current_setting('persona_graph.change_tables', true);
    IF position(',' || TG_TABLE_NAME || ',' IN seen) = 0 THEN
      UPDATE catalog_change SET tables = tables || ',' || TG_TABLE_NAME
        WHERE seq = current_setting('persona_graph.change_seq')::bigint;
      PERFORM set_config('persona_graph.change_tables', seen || TG_TABLE_NAME || ',', true);
    END IF;
  END IF;
  RETURN NULL;
END
$$";

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "CREATE TABLE catalog_change (\
                 seq BIGINT PRIMARY KEY, \
                 txn BIGINT NOT NULL, \
                 committed_at TIMESTAMPTZ NOT NULL, \
                 tables TEXT NOT NULL DEFAULT '')",
            )
            .await?;
            db.execute_unprepared(
                "ALTER TABLE audit_event ADD COLUMN txn BIGINT DEFAULT txid_current()",
            )
            .await?;
            db.execute_unprepared(PG_FUNCTION).await?;
            // A token revoked, expired or deleted by plain SQL ends its subscriptions too
            // (not its `last_used_at`, which changes as tokens are used).
            db.execute_unprepared(
                "CREATE CONSTRAINT TRIGGER catalog_version_api_token \
                 AFTER UPDATE OF revoked_at, expires_at OR DELETE ON api_token \
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
                 EXECUTE FUNCTION bump_catalog_version()",
            )
            .await?;
        } else {
            db.execute_unprepared(
                "CREATE TABLE catalog_change (\
                 seq INTEGER PRIMARY KEY, \
                 txn BIGINT NOT NULL, \
                 committed_at TEXT NOT NULL, \
                 tables TEXT NOT NULL DEFAULT '')",
            )
            .await?;
            db.execute_unprepared("ALTER TABLE audit_event ADD COLUMN txn BIGINT")
                .await?;
        }
        db.execute_unprepared("ALTER TABLE audit_event ADD COLUMN version INTEGER")
            .await?;
        db.execute_unprepared("CREATE INDEX ix_audit_event_txn ON audit_event (txn, id)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP TRIGGER IF EXISTS catalog_version_api_token ON api_token")
                .await?;
            // The function as the previous migration made it.
            db.execute_unprepared(
                &super::m20261127_000010_create_catalog_version::PG_FUNCTION.replacen(
                    "CREATE FUNCTION",
                    "CREATE OR REPLACE FUNCTION",
                    1,
                ),
            )
            .await?;
        }
        db.execute_unprepared("DROP INDEX IF EXISTS ix_audit_event_txn")
            .await?;
        db.execute_unprepared("ALTER TABLE audit_event DROP COLUMN version")
            .await?;
        db.execute_unprepared("ALTER TABLE audit_event DROP COLUMN txn")
            .await?;
        db.execute_unprepared("DROP TABLE catalog_change").await?;
        Ok(())
    }
}
