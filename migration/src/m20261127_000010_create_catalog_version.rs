//! `catalog_version`: one number that grows with every committed change to any table, kept by
//! triggers, so a server can tell in one cheap read whether anything changed since it cached a
//! response, whoever made the change (another replica, the `seed` command, plain SQL).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Every table whose rows a response can show. A later migration that adds such a table adds
/// its triggers with [`triggers_for`]. `api_token` is left out on purpose: its `last_used_at`
/// changes as tokens are used, and only admins read it, whose responses are never cached.
pub(crate) const TABLES: &[&str] = &[
    "persona",
    "role",
    "persona_link",
    "product",
    "persona_product_relevance",
    "journey",
    "journey_persona",
    "journey_stage",
    "team",
    "person",
    "team_membership",
    "stage_ownership",
    "team_persona_alignment",
    "external_link",
    "catalog_seed",
    "audit_event",
];

/// The statements that make changes to `table` advance the catalog version.
///
/// SQLite runs one writer at a time, so a row trigger bumping the counter is enough. On
/// PostgreSQL the bump is a deferred constraint trigger: it runs at commit, once per
/// transaction, so the counter row is locked only for the instant before commit. Locking it at
/// the first change instead would make two writers that touch the same rows in different
/// orders deadlock on it.
pub(crate) fn triggers_for(backend: DbBackend, table: &str) -> Vec<String> {
    match backend {
        DbBackend::Postgres => vec![format!(
            "CREATE CONSTRAINT TRIGGER catalog_version_{table} \
             AFTER INSERT OR UPDATE OR DELETE ON {table} \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
             EXECUTE FUNCTION bump_catalog_version()"
        )],
        _ => ["INSERT", "UPDATE", "DELETE"]
            .iter()
            .map(|event| {
                let lower = event.to_ascii_lowercase();
                format!(
                    "CREATE TRIGGER catalog_version_{table}_{lower} AFTER {event} ON {table} \
                     BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END"
                )
            })
            .collect(),
    }
}

/// The PostgreSQL trigger function: one bump per transaction, however many rows it changed.
pub(crate) const PG_FUNCTION: &str = "
CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('persona_graph.catalog_version_bumped', true) IS DISTINCT FROM
     txid_current()::text THEN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
    PERFORM set_config('persona_graph.catalog_version_bumped', txid_current()::text, true);
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
        let backend = manager.get_database_backend();
        db.execute_unprepared(
            "CREATE TABLE catalog_version (\
             id INTEGER PRIMARY KEY CHECK (id = 1), \
             version BIGINT NOT NULL)",
        )
        .await?;
        db.execute_unprepared("INSERT INTO catalog_version (id, version) VALUES (1, 0)")
            .await?;
        if backend == DbBackend::Postgres {
            db.execute_unprepared(PG_FUNCTION).await?;
        }
        for table in TABLES {
            for sql in triggers_for(backend, table) {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for table in TABLES {
            match backend {
                DbBackend::Postgres => {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS catalog_version_{table} ON {table}"
                    ))
                    .await?;
                }
                _ => {
                    for event in ["insert", "update", "delete"] {
                        db.execute_unprepared(&format!(
                            "DROP TRIGGER IF EXISTS catalog_version_{table}_{event}"
                        ))
                        .await?;
                    }
                }
            }
        }
        if backend == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS bump_catalog_version()")
                .await?;
        }
        db.execute_unprepared("DROP TABLE catalog_version").await?;
        Ok(())
    }
}
