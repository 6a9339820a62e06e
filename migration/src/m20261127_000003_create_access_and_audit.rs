//! Access and history: `api_token` (bearer tokens, stored as hashes) and `audit_event` (the
//! append-only record of every change, refused any UPDATE or DELETE by the database itself).

use sea_orm_migration::{
    prelude::*,
    schema::{
        integer, integer_null, json_null, pk_auto, string_len, string_len_null, string_len_uniq,
        timestamp_with_time_zone, timestamp_with_time_zone_null,
    },
};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const INDEXES: &[&str] =
    &["CREATE INDEX ix_audit_event_subject ON audit_event (subject_type, subject_id, id)"];

/// SQLite: triggers that abort any change to a recorded event.
const SQLITE_APPEND_ONLY: &[&str] = &[
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event \
     BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event \
     BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
];

/// PostgreSQL: one trigger function, fired before any UPDATE, DELETE or TRUNCATE.
const POSTGRES_APPEND_ONLY: &[&str] = &[
    "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$",
    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event \
     FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event \
     FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("api_token")
                    .col(pk_auto("id"))
                    .col(string_len_uniq("name", 100))
                    .col(string_len("role", 16))
                    .col(string_len_uniq("token_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .to_owned(),
            )
            .await?;
        // No foreign key to api_token: history outlives whatever it mentions.
        manager
            .create_table(
                Table::create()
                    .table("audit_event")
                    .col(pk_auto("id"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(integer_null("actor_token_id"))
                    .col(string_len("actor_name", 100))
                    .col(string_len("action", 64))
                    .col(string_len("subject_type", 32))
                    .col(integer("subject_id"))
                    .col(string_len_null("subject_key", 200))
                    .col(json_null("before"))
                    .col(json_null("after"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        let append_only = match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => POSTGRES_APPEND_ONLY,
            _ => SQLITE_APPEND_ONLY,
        };
        for sql in append_only {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("audit_event").to_owned())
            .await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS audit_event_append_only()")
                .await?;
        }
        manager
            .drop_table(Table::drop().table("api_token").to_owned())
            .await
    }
}
