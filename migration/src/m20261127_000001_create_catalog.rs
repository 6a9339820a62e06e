//! The catalog schema: personas, journeys, stages, teams, people and ownership.

use sea_orm_migration::{
    prelude::*,
    schema::{
        integer, integer_null, json, pk_auto, string_len, string_len_null, string_len_uniq, text,
        text_null, timestamp_with_time_zone,
    },
};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// A foreign key from `table.column` to `target.id`.
struct Fk {
    column: &'static str,
    target: &'static str,
    on_delete: ForeignKeyAction,
}

const fn cascade(column: &'static str, target: &'static str) -> Fk {
    Fk {
        column,
        target,
        on_delete: ForeignKeyAction::Cascade,
    }
}

const fn set_null(column: &'static str, target: &'static str) -> Fk {
    Fk {
        column,
        target,
        on_delete: ForeignKeyAction::SetNull,
    }
}

/// A table with an integer key, the given columns, `created_at` and `updated_at`.
fn table(name: &'static str, columns: Vec<ColumnDef>, fks: &[Fk]) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(name).col(pk_auto("id"));
    for mut c in columns {
        t.col(&mut c);
    }
    t.col(timestamp_with_time_zone("created_at"));
    t.col(timestamp_with_time_zone("updated_at"));
    for fk in fks {
        t.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{name}_{}", fk.column))
                .from(name, fk.column)
                .to(fk.target, "id")
                .on_delete(fk.on_delete),
        );
    }
    t.take()
}

fn enum_col(name: &'static str) -> ColumnDef {
    string_len(name, 32)
}

fn enum_col_null(name: &'static str) -> ColumnDef {
    string_len_null(name, 32)
}

/// Tables in creation order (every foreign key points at an earlier one).
fn tables() -> Vec<TableCreateStatement> {
    vec![
        table(
            "persona",
            vec![
                string_len_uniq("slug", 64),
                string_len("name", 200),
                enum_col("kind"),
                enum_col("status"),
                text_null("summary"),
                text_null("description"),
                json("pain_points"),
                json("motivations"),
                enum_col_null("pain_intensity"),
                text_null("pain_intensity_note"),
                enum_col_null("value_prop_scope"),
                integer("sort_order"),
                enum_col("provenance"),
                text_null("source_url"),
                integer("version"),
            ],
            &[],
        ),
        table(
            "role",
            vec![
                integer("persona_id"),
                string_len("title", 200),
                integer("sort_order"),
            ],
            &[cascade("persona_id", "persona")],
        ),
        table(
            "persona_link",
            vec![
                integer("from_persona_id"),
                integer("to_persona_id"),
                enum_col("kind"),
                text_null("note"),
                enum_col("provenance"),
            ],
            &[
                cascade("from_persona_id", "persona"),
                cascade("to_persona_id", "persona"),
            ],
        ),
        table(
            "product",
            vec![
                string_len_uniq("slug", 64),
                string_len("name", 200),
                enum_col("provenance"),
            ],
            &[],
        ),
        table(
            "persona_product_relevance",
            vec![
                integer("persona_id"),
                integer("product_id"),
                enum_col("level"),
                text_null("note"),
                enum_col("provenance"),
            ],
            &[
                cascade("persona_id", "persona"),
                cascade("product_id", "product"),
            ],
        ),
        table(
            "journey",
            vec![
                string_len_uniq("slug", 64),
                string_len("name", 200),
                text_null("description"),
                enum_col("persona_kind"),
                enum_col("status"),
                enum_col("provenance"),
                integer("version"),
            ],
            &[],
        ),
        table(
            "journey_persona",
            vec![integer("journey_id"), integer("persona_id")],
            &[
                cascade("journey_id", "journey"),
                cascade("persona_id", "persona"),
            ],
        ),
        table(
            "journey_stage",
            vec![
                integer("journey_id"),
                string_len("key", 64),
                string_len("name", 200),
                integer("position"),
                text_null("goal"),
                text_null("entry_criteria"),
                text_null("exit_criteria"),
            ],
            &[cascade("journey_id", "journey")],
        ),
        table(
            "team",
            vec![
                string_len_uniq("slug", 64),
                string_len("name", 200),
                enum_col("department"),
                text_null("description"),
                integer("version"),
            ],
            &[],
        ),
        table(
            "person",
            vec![
                string_len_uniq("slug", 64),
                string_len("name", 200),
                string_len_null("email", 320),
            ],
            &[],
        ),
        table(
            "team_membership",
            vec![integer("team_id"), integer("person_id"), enum_col("role")],
            &[cascade("team_id", "team"), cascade("person_id", "person")],
        ),
        table(
            "stage_ownership",
            vec![
                integer("stage_id"),
                integer("team_id"),
                integer_null("person_id"),
                enum_col("responsibility"),
                text_null("note"),
            ],
            &[
                cascade("stage_id", "journey_stage"),
                cascade("team_id", "team"),
                set_null("person_id", "person"),
            ],
        ),
        table(
            "team_persona_alignment",
            vec![
                integer("team_id"),
                integer("persona_id"),
                enum_col("level"),
                enum_col_null("motion"),
                enum_col("provenance"),
            ],
            &[cascade("team_id", "team"), cascade("persona_id", "persona")],
        ),
        table(
            "external_link",
            vec![
                enum_col("subject_type"),
                integer("subject_id"),
                string_len("label", 200),
                text("url"),
                enum_col("kind"),
                enum_col("access"),
            ],
            &[],
        ),
    ]
}

/// Indexes, as SQL both backends understand: uniqueness rules (including the
/// expression and partial indexes the query builder cannot express), every
/// foreign key, and the filter and order columns.
const INDEXES: &[&str] = &[
    "CREATE UNIQUE INDEX ux_role_persona_title ON role (persona_id, lower(title))",
    "CREATE UNIQUE INDEX ux_persona_link ON persona_link (from_persona_id, to_persona_id, kind)",
    "CREATE INDEX ix_persona_link_to ON persona_link (to_persona_id)",
    "CREATE UNIQUE INDEX ux_relevance ON persona_product_relevance (persona_id, product_id)",
    "CREATE INDEX ix_relevance_product ON persona_product_relevance (product_id)",
    "CREATE UNIQUE INDEX ux_journey_persona ON journey_persona (journey_id, persona_id)",
    "CREATE INDEX ix_journey_persona_persona ON journey_persona (persona_id)",
    "CREATE UNIQUE INDEX ux_stage_key ON journey_stage (journey_id, key)",
    "CREATE UNIQUE INDEX ux_stage_position ON journey_stage (journey_id, position)",
    "CREATE UNIQUE INDEX ux_membership ON team_membership (team_id, person_id)",
    "CREATE INDEX ix_membership_person ON team_membership (person_id)",
    "CREATE UNIQUE INDEX ux_ownership_stage_team ON stage_ownership (stage_id, team_id)",
    "CREATE UNIQUE INDEX ux_ownership_one_accountable ON stage_ownership (stage_id) WHERE responsibility = 'ACCOUNTABLE'",
    "CREATE INDEX ix_ownership_team ON stage_ownership (team_id)",
    "CREATE INDEX ix_ownership_person ON stage_ownership (person_id)",
    "CREATE UNIQUE INDEX ux_alignment ON team_persona_alignment (team_id, persona_id)",
    "CREATE INDEX ix_alignment_persona ON team_persona_alignment (persona_id)",
    "CREATE INDEX ix_external_link_subject ON external_link (subject_type, subject_id)",
    "CREATE INDEX ix_persona_kind ON persona (kind)",
    "CREATE INDEX ix_persona_status ON persona (status)",
    "CREATE INDEX ix_persona_order ON persona (sort_order, id)",
    "CREATE INDEX ix_persona_name ON persona (name, id)",
    "CREATE INDEX ix_journey_kind ON journey (persona_kind)",
    "CREATE INDEX ix_journey_name ON journey (name, id)",
    "CREATE INDEX ix_team_department ON team (department)",
    "CREATE INDEX ix_team_name ON team (name, id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in tables() {
            manager.create_table(t).await?;
        }
        let db = manager.get_connection();
        for sql in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in tables().iter().rev() {
            let name = t
                .get_table_name()
                .cloned()
                .ok_or_else(|| DbErr::Custom("unnamed table".into()))?;
            manager
                .drop_table(Table::drop().table(name).to_owned())
                .await?;
        }
        Ok(())
    }
}
