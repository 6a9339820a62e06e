//! Reading and writing the change log (`catalog_change`, with the history events of each
//! change): where a change takes its place in commit order, and what committed after a place.
//! See the migration that creates the table for why the order is the order of commits.
//!
//! The feed's reads are marked `/* change feed */`: they run on their own schedule, not as
//! part of any request, and statement counts of requests leave them out.

use super::{Commit, Record};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::audit_event::AuditSubject;
use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend, FromQueryResult, Statement};
use std::collections::HashMap;

/// The most changes read in one statement; a longer replay reads in pages of this.
pub const PAGE: usize = 256;

/// `SQLite`: takes the next place in the log for the write transaction `db` (which holds the
/// database's one write lock until it commits, so places follow the order of commits). On
/// `PostgreSQL` the commit trigger takes it instead.
pub(crate) async fn allocate(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<i64> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO catalog_change (seq, txn, committed_at) \
             SELECT COALESCE(MAX(seq), 0) + 1, COALESCE(MAX(seq), 0) + 1, ? FROM catalog_change \
             RETURNING seq",
            [now.to_rfc3339().into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

/// The place of the last committed change (0 before the first).
pub async fn head(db: &impl ConnectionTrait) -> AppResult<i64> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "/* change feed */ SELECT COALESCE(MAX(seq), 0) FROM catalog_change",
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

#[derive(FromQueryResult)]
struct EventRow {
    txn: i64,
    action: String,
    subject_type: String,
    subject_id: i32,
    subject_key: Option<String>,
    version: Option<i32>,
    actor_name: String,
}

#[derive(FromQueryResult)]
struct Row {
    seq: i64,
    txn: i64,
    committed_at: String,
    tables: String,
}

/// The changes committed after place `after`, oldest first, at most [`PAGE`], each with its
/// history events. Two statements.
pub async fn after(db: &impl ConnectionTrait, after: i64) -> AppResult<Vec<Commit>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "/* change feed */ SELECT seq, txn, to_char(committed_at AT TIME ZONE 'UTC', \
             'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS committed_at, tables \
             FROM catalog_change WHERE seq > $1 ORDER BY seq LIMIT $2"
        }
        _ => {
            "/* change feed */ SELECT seq, txn, committed_at, tables FROM catalog_change \
             WHERE seq > ? ORDER BY seq LIMIT ?"
        }
    };
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [after.into(), (PAGE as i64).into()],
    ))
    .all(db)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let txns: Vec<String> = rows.iter().map(|r| r.txn.to_string()).collect();
    // The transaction IDs are numbers read from the database, so inlining them is safe.
    let events = EventRow::find_by_statement(Statement::from_string(
        backend,
        format!(
            "/* change feed */ SELECT txn, action, subject_type, subject_id, subject_key, \
             version, actor_name FROM audit_event WHERE txn IN ({}) ORDER BY id",
            txns.join(", ")
        ),
    ))
    .all(db)
    .await?;
    let mut by_txn: HashMap<i64, Vec<Record>> = HashMap::new();
    for e in events {
        by_txn.entry(e.txn).or_default().push(Record {
            action: e.action,
            subject: AuditSubject::try_from_value(&e.subject_type).ok(),
            id: Some(e.subject_id),
            key: e.subject_key,
            version: e.version,
            actor: e.actor_name,
        });
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let at = DateTime::parse_from_rfc3339(&r.committed_at)
                .map_or_else(|_| Utc::now(), |t| t.with_timezone(&Utc));
            let mut records = by_txn.remove(&r.txn).unwrap_or_default();
            if records.is_empty() {
                records = unrecorded(&r.tables);
            }
            Commit {
                seq: r.seq,
                at,
                records,
            }
        })
        .collect())
}

/// The events of a change made without history (plain SQL): one per kind of record whose
/// tables it touched, with no key, actor `database`.
fn unrecorded(tables: &str) -> Vec<Record> {
    let mut kinds: Vec<AuditSubject> = Vec::new();
    for table in tables.split(',') {
        let kind = match table {
            "persona" | "role" | "persona_link" | "persona_product_relevance" => {
                AuditSubject::Persona
            }
            "journey" | "journey_persona" => AuditSubject::Journey,
            "journey_stage" | "stage_ownership" => AuditSubject::Stage,
            "team" | "team_membership" | "team_persona_alignment" => AuditSubject::Team,
            "person" => AuditSubject::Person,
            "product" => AuditSubject::Product,
            "api_token" => AuditSubject::ApiToken,
            _ => continue,
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        // Links or the seed marker: say something changed, not what.
        return vec![Record::unknown(None)];
    }
    kinds
        .into_iter()
        .map(|k| Record::unknown(Some(k)))
        .collect()
}
