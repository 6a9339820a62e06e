//! `persona-graph generate`: the synthetic catalog is deterministic, has the requested shape,
//! never overwrites a catalog unasked, and answers the benchmark's queries (benches/queries).

use crate::helpers::TestApp;
use entity::enums::Responsibility;
use entity::{
    journey, journey_stage, person, persona, role, stage_ownership, team, team_membership,
};
use persona_graph::generate::{self, GenerateError, GenerateOptions};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Statement,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::process::Command;

const DEEP_READ: &str = include_str!("../../benches/queries/deep_read.graphql");
const MATRIX: &str = include_str!("../../benches/queries/ownership_matrix.graphql");
const GAPS: &str = include_str!("../../benches/queries/ownership_gaps.graphql");
const LOOKUP: &str = include_str!("../../benches/queries/light_lookup.graphql");
const TEAM_PAGE: &str = include_str!("../../benches/queries/team_page.graphql");

/// Enough personas for the benchmark queries (the light lookup reads `persona-42`).
fn options() -> GenerateOptions {
    GenerateOptions {
        personas: 60,
        ..GenerateOptions::default()
    }
}

/// Every generated row of every table, in id order, as text: equal snapshots are equal data.
async fn snapshot(db: &DatabaseConnection) -> Vec<String> {
    async fn rows<E>(db: &DatabaseConnection, id: E::Column) -> Vec<String>
    where
        E: EntityTrait,
        E::Model: std::fmt::Debug,
    {
        E::find()
            .order_by_asc(id)
            .all(db)
            .await
            .unwrap()
            .iter()
            .map(|m| format!("{m:?}"))
            .collect()
    }
    let mut all = Vec::new();
    all.extend(rows::<persona::Entity>(db, persona::Column::Id).await);
    all.extend(rows::<role::Entity>(db, role::Column::Id).await);
    all.extend(rows::<team::Entity>(db, team::Column::Id).await);
    all.extend(rows::<person::Entity>(db, person::Column::Id).await);
    all.extend(rows::<team_membership::Entity>(db, team_membership::Column::Id).await);
    all.extend(rows::<journey::Entity>(db, journey::Column::Id).await);
    all.extend(rows::<journey_stage::Entity>(db, journey_stage::Column::Id).await);
    all.extend(rows::<stage_ownership::Entity>(db, stage_ownership::Column::Id).await);
    all
}

/// A migrated `SQLite` database in a temporary file, and the file.
async fn sqlite_database(tag: &str) -> (DatabaseConnection, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!(
        "persona-graph-generate-{tag}-{}.db",
        std::process::id()
    ));
    remove_sqlite(&path);
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = persona_graph::db::connect(&url, 2).await.unwrap();
    persona_graph::db::migrate(&db).await.unwrap();
    (db, path)
}

fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.to_path_buf().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

#[tokio::test]
async fn the_same_options_fill_any_database_with_identical_rows() {
    // The test database (SQLite, or PostgreSQL under TEST_DATABASE_URL) against a fresh
    // SQLite file: the same rows, ids and timestamps included, whatever the backend.
    let app = TestApp::spawn().await;
    let (other, path) = sqlite_database("same").await;
    generate::run(&app.db, &options()).await.unwrap();
    generate::run(&other, &options()).await.unwrap();
    let (a, b) = (snapshot(&app.db).await, snapshot(&other).await);
    other.close().await.unwrap();
    remove_sqlite(&path);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

#[tokio::test]
async fn another_seed_gives_other_data_of_the_same_shape() {
    let app = TestApp::spawn().await;
    let first = generate::run(&app.db, &options()).await.unwrap();
    let before = snapshot(&app.db).await;
    let other = GenerateOptions {
        seed: 2,
        replace: true,
        ..options()
    };
    let second = generate::run(&app.db, &other).await.unwrap();
    assert_ne!(before, snapshot(&app.db).await);
    assert_eq!(first.personas, second.personas);
    assert_eq!(first.roles, second.roles);
    assert_eq!(first.journeys, second.journeys);
    assert_eq!(first.teams, second.teams);
}

#[tokio::test]
async fn the_catalog_has_the_requested_size_and_shape() {
    let app = TestApp::spawn().await;
    let opts = GenerateOptions {
        personas: 45,
        roles_per_persona: 4,
        journeys_per_kind: 3,
        teams: 20,
        ..options()
    };
    let report = generate::run(&app.db, &opts).await.unwrap();
    let db = &app.db;

    assert_eq!(persona::Entity::find().count(db).await.unwrap(), 45);
    assert_eq!(role::Entity::find().count(db).await.unwrap(), 45 * 4);
    assert_eq!(team::Entity::find().count(db).await.unwrap(), 20);
    let personas = persona::Entity::find().all(db).await.unwrap();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &personas {
        *kinds.entry(p.kind.as_str()).or_default() += 1;
    }
    assert_eq!(
        kinds,
        BTreeMap::from([("ADMIN", 15), ("BUYER", 15), ("DEV", 15)])
    );

    let journeys = journey::Entity::find().all(db).await.unwrap();
    assert_eq!(journeys.len(), 9);
    let stages = journey_stage::Entity::find().all(db).await.unwrap();
    for j in &journeys {
        let mut positions: Vec<i32> = stages
            .iter()
            .filter(|s| s.journey_id == j.id)
            .map(|s| s.position)
            .collect();
        positions.sort_unstable();
        assert!((8..=10).contains(&positions.len()), "{}", j.slug);
        assert_eq!(positions, (1..=positions.len() as i32).collect::<Vec<_>>());
        if j.slug.ends_with("-journey-1") {
            assert_eq!(positions.len(), 10, "{}", j.slug);
        }
    }

    let memberships = team_membership::Entity::find().all(db).await.unwrap();
    let mut per_team: HashMap<i32, usize> = HashMap::new();
    for m in &memberships {
        *per_team.entry(m.team_id).or_default() += 1;
    }
    assert_eq!(per_team.len(), 20);
    assert!(per_team.values().all(|n| (3..=8).contains(n)));

    let ownerships = stage_ownership::Entity::find().all(db).await.unwrap();
    let mut owners: HashMap<i32, (usize, usize)> = HashMap::new();
    for o in &ownerships {
        let e = owners.entry(o.stage_id).or_default();
        e.0 += 1;
        if o.responsibility == Responsibility::Accountable {
            e.1 += 1;
        }
        if let Some(dri) = o.person_id {
            assert!(
                memberships
                    .iter()
                    .any(|m| m.team_id == o.team_id && m.person_id == dri),
                "the DRI of ownership {} is not a member of its team",
                o.id
            );
        }
    }
    assert_eq!(owners.len(), stages.len());
    assert!(owners.values().all(|(n, _)| (2..=4).contains(n)));
    assert!(owners.values().all(|(_, a)| *a <= 1));
    let gaps = owners.values().filter(|(_, a)| *a == 0).count();
    assert!(gaps > 0 && gaps < stages.len() / 4, "{gaps} gaps");

    assert_eq!(report.personas, 45);
    assert_eq!(report.roles, 180);
    assert_eq!(report.stages, stages.len());
    assert_eq!(report.ownerships, ownerships.len());
    assert_eq!(report.memberships, memberships.len());
    assert_eq!(report.gaps, gaps);
}

#[tokio::test]
async fn a_database_holding_a_catalog_is_refused_unless_replace_is_given() {
    let app = TestApp::seeded().await;
    let before = persona::Entity::find().count(&app.db).await.unwrap();
    let err = generate::run(&app.db, &options()).await.unwrap_err();
    assert!(matches!(err, GenerateError::NotEmpty { .. }), "{err}");
    assert!(err.to_string().contains("--replace"), "{err}");
    assert_eq!(
        persona::Entity::find().count(&app.db).await.unwrap(),
        before
    );

    let replace = GenerateOptions {
        replace: true,
        ..options()
    };
    generate::run(&app.db, &replace).await.unwrap();
    let once = snapshot(&app.db).await;
    generate::run(&app.db, &replace).await.unwrap();
    assert_eq!(once, snapshot(&app.db).await);
    assert_eq!(persona::Entity::find().count(&app.db).await.unwrap(), 60);
    let handbook = app
        .data(r#"{ journey(slug: "buyer-journey") { slug } }"#, json!({}))
        .await;
    assert_eq!(handbook["journey"], Value::Null);

    // New rows continue after the generated ids (PostgreSQL's sequences were moved on).
    let created = app
        .data(
            r#"mutation { createPersona(input: {slug: "after-generate", name: "After", kind: DEV, roles: ["Tester"]}) { persona { slug roles { title } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        created["createPersona"]["persona"]["roles"][0]["title"],
        "Tester"
    );
}

#[tokio::test]
async fn the_generated_catalog_answers_the_benchmark_queries() {
    let app = TestApp::spawn().await;
    generate::run(&app.db, &options()).await.unwrap();

    let deep = app.data(DEEP_READ, json!({})).await;
    let personas = deep["personas"]["nodes"].as_array().unwrap();
    assert_eq!(personas.len(), 10);
    assert_eq!(personas[0]["slug"], "persona-1");
    for p in personas {
        assert_eq!(p["roles"].as_array().unwrap().len(), 5);
        let journeys = p["journeys"].as_array().unwrap();
        assert_eq!(journeys.len(), 2);
        for j in journeys {
            let stages = j["stages"].as_array().unwrap();
            assert!((8..=10).contains(&stages.len()));
            for s in stages {
                let owners = s["owners"].as_array().unwrap();
                assert!((2..=4).contains(&owners.len()));
                for o in owners {
                    let members = o["team"]["members"].as_array().unwrap();
                    assert!((3..=8).contains(&members.len()));
                    assert!(members[0]["person"]["name"].is_string());
                }
            }
        }
    }

    let matrix = app.data(MATRIX, json!({})).await;
    let m = &matrix["ownershipMatrix"];
    assert_eq!(m["journey"]["slug"], "dev-journey-1");
    assert_eq!(m["stages"].as_array().unwrap().len(), 10);
    let rows = m["rows"].as_array().unwrap();
    assert!(rows.len() >= 10, "{} rows", rows.len());
    for r in rows {
        assert_eq!(r["cells"].as_array().unwrap().len(), 10);
    }

    let gaps = app.data(GAPS, json!({})).await;
    let gaps = gaps["ownershipGaps"].as_array().unwrap();
    let accountable = stage_ownership::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.responsibility == Responsibility::Accountable)
        .count();
    let stages = journey_stage::Entity::find().count(&app.db).await.unwrap() as usize;
    assert_eq!(gaps.len(), stages - accountable);
    assert!(!gaps.is_empty());

    let lookup = app.data(LOOKUP, json!({})).await;
    assert_eq!(lookup["persona"]["slug"], "persona-42");
    assert_eq!(lookup["persona"]["roles"].as_array().unwrap().len(), 5);
}

#[test]
fn the_generate_command_fills_a_database_once_and_replaces_only_when_asked() {
    let path = std::env::temp_dir().join(format!(
        "persona-graph-generate-cli-{}.db",
        std::process::id()
    ));
    remove_sqlite(&path);
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_persona-graph"))
            .args(["generate", "--personas", "30", "--teams", "8"])
            .args(extra)
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    };
    let first = run(&[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let again = run(&[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));
    let replaced = run(&["--replace"]);
    assert!(
        replaced.status.success(),
        "{}",
        String::from_utf8_lossy(&replaced.stderr)
    );
    remove_sqlite(&path);
}

#[tokio::test]
async fn the_planner_knows_the_generated_rows_once_generate_returns() {
    let app = TestApp::spawn().await;
    generate::run(&app.db, &options()).await.unwrap();
    // The statistics the planner reads, for the persona table: PostgreSQL's row estimate,
    // SQLite's `sqlite_stat1` (which only ANALYZE writes).
    let sql = if app.db.get_database_backend() == DbBackend::Postgres {
        "SELECT reltuples::BIGINT AS n FROM pg_class WHERE relname = 'persona'"
    } else {
        "SELECT CAST(substr(stat, 1, instr(stat, ' ') - 1) AS INTEGER) AS n \
         FROM sqlite_stat1 WHERE tbl = 'persona' LIMIT 1"
    };
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .unwrap()
        .expect("statistics for the persona table");
    let estimated: i64 = row.try_get("", "n").unwrap();
    assert_eq!(estimated, 60, "the planner's row count for persona");
}

#[tokio::test]
async fn a_team_page_reads_its_stages_journeys_and_people_with_their_lists() {
    let app = TestApp::spawn().await;
    generate::run(&app.db, &options()).await.unwrap();
    let team = team::Entity::find()
        .filter(team::Column::Slug.eq("team-3"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();

    app.reset_statements();
    let page = app.data(TEAM_PAGE, json!({})).await;
    // The team; its members with their people; its ownerships with their stages, the stages'
    // journeys and the DRIs. Nothing is read by a loader level of its own.
    assert_eq!(app.statements(), 3, "{:#?}", app.statement_texts());

    let page = &page["team"];
    let members = team_membership::Entity::find()
        .filter(team_membership::Column::TeamId.eq(team.id))
        .order_by_asc(team_membership::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let names: Vec<Value> = page["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["person"]["name"].clone())
        .collect();
    let mut expected = Vec::new();
    for m in &members {
        let person = person::Entity::find_by_id(m.person_id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        expected.push(json!(person.name));
    }
    assert!(!expected.is_empty());
    assert_eq!(names, expected);

    let owned = stage_ownership::Entity::find()
        .filter(stage_ownership::Column::TeamId.eq(team.id))
        .order_by_asc(stage_ownership::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let ownerships = page["ownerships"].as_array().unwrap();
    assert_eq!(ownerships.len(), owned.len());
    assert!(!owned.is_empty());
    for (o, row) in ownerships.iter().zip(&owned) {
        let stage = journey_stage::Entity::find_by_id(row.stage_id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let journey = journey::Entity::find_by_id(stage.journey_id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o["stage"]["key"], json!(stage.key));
        assert_eq!(o["stage"]["position"], json!(stage.position));
        assert_eq!(o["stage"]["journey"]["slug"], json!(journey.slug));
        match row.person_id {
            Some(id) => {
                let dri = person::Entity::find_by_id(id)
                    .one(&app.db)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(o["dri"]["name"], json!(dri.name));
            }
            None => assert!(o["dri"].is_null()),
        }
    }
}
