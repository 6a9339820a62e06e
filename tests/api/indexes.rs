//! Every foreign key column, and every column a list filters or orders by, leads an index, so
//! a nested level, a page or a filtered list is an index search at any catalog size.

use crate::helpers::TestApp;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use std::collections::BTreeSet;

/// The columns lists filter or order by, as (table, column).
const FILTERED_OR_ORDERED: &[(&str, &str)] = &[
    ("persona", "sort_order"),
    ("persona", "name"),
    ("persona", "slug"),
    ("persona", "kind"),
    ("persona", "status"),
    ("journey", "name"),
    ("journey", "slug"),
    ("journey", "persona_kind"),
    ("team", "name"),
    ("team", "slug"),
    ("team", "department"),
    ("person", "slug"),
    ("product", "name"),
    ("product", "slug"),
    ("external_link", "subject_type"),
    ("audit_event", "subject_type"),
    ("audit_event", "action"),
    ("audit_event", "actor_name"),
];

async fn pairs(app: &TestApp, sql: &str) -> BTreeSet<(String, String)> {
    let backend = app.db.get_database_backend();
    app.db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "tbl").unwrap(),
                r.try_get::<String>("", "col").unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_foreign_key_and_every_filter_and_order_column_leads_an_index() {
    let app = TestApp::spawn().await;
    let (foreign_keys, indexed) = match app.db.get_database_backend() {
        DbBackend::Sqlite => (
            pairs(
                &app,
                "SELECT m.name AS tbl, f.\"from\" AS col FROM sqlite_master m, \
                 pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
            )
            .await,
            pairs(
                &app,
                "SELECT m.name AS tbl, i.name AS col FROM sqlite_master m, \
                 pragma_index_list(m.name) l, pragma_index_info(l.name) i \
                 WHERE m.type = 'table' AND i.seqno = 0",
            )
            .await,
        ),
        _ => (
            pairs(
                &app,
                "SELECT c.conrelid::regclass::text AS tbl, a.attname::text AS col \
                 FROM pg_constraint c JOIN pg_attribute a \
                 ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
                 WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace",
            )
            .await,
            pairs(
                &app,
                "SELECT i.indrelid::regclass::text AS tbl, a.attname::text AS col \
                 FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                 WHERE t.relnamespace = 'public'::regnamespace",
            )
            .await,
        ),
    };
    assert!(foreign_keys.len() >= 15, "{foreign_keys:?}");
    let wanted = foreign_keys.iter().cloned().chain(
        FILTERED_OR_ORDERED
            .iter()
            .map(|(t, c)| ((*t).to_owned(), (*c).to_owned())),
    );
    let missing: Vec<(String, String)> = wanted.filter(|p| !indexed.contains(p)).collect();
    assert!(missing.is_empty(), "columns leading no index: {missing:?}");
}
