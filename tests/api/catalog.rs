//! The seed catalog loads the handbook's data into an empty database, reruns without changing
//! anything, restores catalog fields after edits without deleting editors' rows, and rejects
//! a file with unknown references.

use crate::helpers::TestApp;
use chrono::Utc;
use entity::enums::{Provenance, Responsibility};
use entity::{
    external_link, journey, journey_persona, journey_stage, person, persona, persona_link,
    persona_product_relevance, product, role, stage_ownership, team, team_membership,
    team_persona_alignment,
};
use persona_graph::catalog;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

/// Every table, every row, in ID order: two equal snapshots mean nothing was written.
async fn snapshot(db: &DatabaseConnection) -> Vec<String> {
    macro_rules! rows {
        ($($m:ident),+) => {
            vec![$(format!("{:?}", $m::Entity::find().order_by_asc($m::Column::Id).all(db).await.unwrap())),+]
        };
    }
    rows!(
        product,
        persona,
        role,
        persona_link,
        persona_product_relevance,
        team,
        person,
        team_membership,
        team_persona_alignment,
        journey,
        journey_persona,
        journey_stage,
        stage_ownership,
        external_link
    )
}

async fn stage_keys(app: &TestApp, journey: &str) -> Vec<(String, i64)> {
    let data = app
        .data(
            "query($j: String!) { journey(slug: $j) { stages { key position } } }",
            json!({ "j": journey }),
        )
        .await;
    data["journey"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_owned(),
                s["position"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn numbered(keys: &[&str]) -> Vec<(String, i64)> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| ((*k).to_owned(), i as i64 + 1))
        .collect()
}

const DEV_STAGES: [&str; 5] = [
    "discover",
    "evaluate",
    "activate",
    "adopt",
    "advocate-expand",
];
const BUYER_STAGES: [&str; 9] = [
    "problem-awareness",
    "engage",
    "qualify",
    "validate",
    "commit",
    "onboard",
    "adopt",
    "nurture-expand",
    "renew",
];

#[tokio::test]
async fn seeding_an_empty_database_loads_the_whole_handbook_catalog() {
    let app = TestApp::spawn().await;
    assert!(catalog::is_empty(&app.db).await.unwrap());
    let report = catalog::seed(&app.db).await.unwrap();
    let db = &app.db;

    assert_eq!(persona::Entity::find().count(db).await.unwrap(), 7);
    assert_eq!(product::Entity::find().count(db).await.unwrap(), 2);
    // dev 6 + head-of-engineering 2 + security 0 + platform 3.
    assert_eq!(role::Entity::find().count(db).await.unwrap(), 11);
    assert_eq!(persona_link::Entity::find().count(db).await.unwrap(), 2);
    assert_eq!(
        persona_product_relevance::Entity::find()
            .count(db)
            .await
            .unwrap(),
        3
    );
    assert_eq!(team::Entity::find().count(db).await.unwrap(), 14);
    assert_eq!(person::Entity::find().count(db).await.unwrap(), 5);
    assert_eq!(team_membership::Entity::find().count(db).await.unwrap(), 5);
    assert_eq!(
        team_persona_alignment::Entity::find()
            .count(db)
            .await
            .unwrap(),
        10
    );
    assert_eq!(journey::Entity::find().count(db).await.unwrap(), 2);
    assert_eq!(journey_stage::Entity::find().count(db).await.unwrap(), 14);
    // Counted from the RACI map: dev-journey 5+5+4+4+3 = 21 rows, buyer-journey
    // 5+5+4+4+4+5+4+4+3 = 38 rows; one ACCOUNTABLE per stage except dev-journey/advocate-expand.
    assert_eq!(stage_ownership::Entity::find().count(db).await.unwrap(), 59);
    let accountable = stage_ownership::Entity::find()
        .filter(stage_ownership::Column::Responsibility.eq(Responsibility::Accountable))
        .count(db)
        .await
        .unwrap();
    assert_eq!(accountable, 13);
    let with_dri = stage_ownership::Entity::find()
        .filter(stage_ownership::Column::PersonId.is_not_null())
        .count(db)
        .await
        .unwrap();
    assert_eq!(with_dri, 3);
    // Two persona slide decks and one deck per journey.
    assert_eq!(external_link::Entity::find().count(db).await.unwrap(), 4);
    assert_eq!(journey_persona::Entity::find().count(db).await.unwrap(), 0);

    assert_eq!(stage_keys(&app, "dev-journey").await, numbered(&DEV_STAGES));
    assert_eq!(
        stage_keys(&app, "buyer-journey").await,
        numbered(&BUYER_STAGES)
    );
    // Texts with commas inside the file's flow mappings arrive whole.
    let data = app
        .data(
            r#"{ journey(slug: "dev-journey") {
                   discover: stage(key: "discover") { goal }
                   activate: stage(key: "activate") { goal exitCriteria } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["journey"],
        json!({
            "discover": { "goal": "Learns the product exists through content, social and word of mouth" },
            "activate": { "goal": "First value on their own code", "exitCriteria": "Product-qualified lead thresholds met" }
        })
    );

    assert_eq!(
        report,
        catalog::SeedReport {
            personas: 7,
            products: 2,
            roles: 11,
            persona_links: 2,
            relevances: 3,
            teams: 14,
            people: 5,
            memberships: 5,
            alignments: 10,
            journeys: 2,
            stages: 14,
            ownerships: 59,
            external_links: 4,
            inserted: 2 + 7 + 11 + 2 + 3 + 14 + 5 + 5 + 10 + 2 + 14 + 59 + 4,
            updated: 0,
            differences: vec![],
        }
    );
    assert!(!catalog::is_empty(&app.db).await.unwrap());
}

#[tokio::test]
async fn provenance_comes_from_the_file_or_from_the_parent_item() {
    let app = TestApp::seeded().await;
    let db = &app.db;
    let by_slug = |slug: &'static str| {
        persona::Entity::find()
            .filter(persona::Column::Slug.eq(slug))
            .one(db)
    };
    assert_eq!(
        by_slug("dev").await.unwrap().unwrap().provenance,
        Provenance::Handbook
    );
    assert_eq!(
        by_slug("admin-mid-market")
            .await
            .unwrap()
            .unwrap()
            .provenance,
        Provenance::HandbookHistorical
    );
    let journeys = journey::Entity::find().all(db).await.unwrap();
    assert!(
        journeys
            .iter()
            .all(|j| j.provenance == Provenance::Illustrative)
    );
    let hoe = by_slug("head-of-engineering").await.unwrap().unwrap();
    let relevance = persona_product_relevance::Entity::find()
        .filter(persona_product_relevance::Column::PersonaId.eq(hoe.id))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(relevance.provenance, Provenance::Illustrative);
    assert_eq!(
        relevance.note.as_deref(),
        Some("Only the other two buyers are flagged as less relevant when selling Cody.")
    );
    let security = by_slug("security-engineering-leader")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        security.pain_points,
        json!([
            "Operates in a crowded space",
            "Compartmentalized from the rest of Engineering"
        ])
    );
    assert_eq!(security.version, 1);
}

#[tokio::test]
async fn seeding_twice_writes_nothing_the_second_time() {
    let app = TestApp::seeded().await;
    let before = snapshot(&app.db).await;
    let report = catalog::seed(&app.db).await.unwrap();
    assert_eq!((report.inserted, report.updated), (0, 0));
    assert_eq!(report.personas, 7);
    let after = snapshot(&app.db).await;
    // Same rows, same IDs, same versions, same updated_at.
    assert_eq!(before, after);
    let versions: Vec<i32> = persona::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|p| p.version)
        .collect();
    assert!(versions.iter().all(|v| *v == 1), "{versions:?}");
}

#[tokio::test]
async fn the_dri_of_dev_journey_activate_is_pm_growth() {
    let app = TestApp::seeded().await;
    let data = app
        .data(
            r#"{ journey(slug: "dev-journey") { stage(key: "activate") {
                   accountable { responsibility team { slug } dri { slug name memberships { team { slug } } } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["journey"]["stage"]["accountable"],
        json!({
            "responsibility": "ACCOUNTABLE",
            "team": { "slug": "product-management" },
            "dri": { "slug": "pm-growth", "name": "PM - growth and onboarding",
                     "memberships": [{ "team": { "slug": "product-management" } }] }
        })
    );
}

/// Editors rename a persona, add a role, create a persona; in the database itself, move the
/// accountability of dev-journey/discover, swap two stages and append one.
async fn edit_everything(app: &TestApp) {
    let db = &app.db;

    // Editors rename a persona, add a role to it, and create a persona of their own.
    app.data(
        r#"mutation { updatePersona(input: { slug: "dev", expectedVersion: 1, name: "Developer" }) { persona { version } } }"#,
        json!({}),
    )
    .await;
    app.data(
        r#"mutation { addRole(input: { persona: "dev", title: "SRE" }) { role { title } } }"#,
        json!({}),
    )
    .await;
    app.data(
        r#"mutation { createPersona(input: { slug: "data-scientist", name: "Data scientist", kind: DEV }) { persona { slug } } }"#,
        json!({}),
    )
    .await;

    // ... move the accountability of dev-journey/discover to a team the catalog does not
    // name there, swap two stages and append a stage of their own.
    let dev = journey::Entity::find()
        .filter(journey::Column::Slug.eq("dev-journey"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let stages = journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(dev.id))
        .order_by_asc(journey_stage::Column::Position)
        .all(db)
        .await
        .unwrap();
    let (discover, evaluate) = (stages[0].clone(), stages[1].clone());
    let growth = team::Entity::find()
        .filter(team::Column::Slug.eq("growth-marketing"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let exec = team::Entity::find()
        .filter(team::Column::Slug.eq("exec-team"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let a = stage_ownership::Entity::find()
        .filter(stage_ownership::Column::StageId.eq(discover.id))
        .filter(stage_ownership::Column::TeamId.eq(growth.id))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut demoted = a.into_active_model();
    demoted.responsibility = Set(Responsibility::Informed);
    demoted.update(db).await.unwrap();
    let now = Utc::now();
    stage_ownership::ActiveModel {
        stage_id: Set(discover.id),
        team_id: Set(exec.id),
        person_id: Set(None),
        responsibility: Set(Responsibility::Accountable),
        note: Set(Some("editor".into())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    for (stage, position) in [(&discover, 100), (&evaluate, 1), (&discover, 2)] {
        let mut s = journey_stage::Entity::find_by_id(stage.id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .into_active_model();
        s.position = Set(position);
        s.update(db).await.unwrap();
    }
    journey_stage::ActiveModel {
        journey_id: Set(dev.id),
        key: Set("celebrate".into()),
        name: Set("Celebrate".into()),
        position: Set(6),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_rerun_keeps_what_editors_changed_and_lists_each_difference() {
    let app = TestApp::seeded().await;
    edit_everything(&app).await;
    let before = snapshot(&app.db).await;
    let report = catalog::seed(&app.db).await.unwrap();
    assert_eq!((report.inserted, report.updated), (0, 0));
    assert_eq!(snapshot(&app.db).await, before, "nothing written");
    let lines: Vec<String> = report.differences.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            r#"persona dev: name is "Developer" in the database, "Dev (individual developer)" in the file"#,
            // The editor's stage, not in the file, is kept after the file's.
            r#"stage dev-journey order: stages is ["evaluate","discover","activate","adopt","advocate-expand","celebrate"] in the database, ["discover","evaluate","activate","adopt","advocate-expand","celebrate"] in the file"#,
            r#"ownership dev-journey/discover: accountable is "exec-team" in the database, "growth-marketing" in the file"#,
            r#"ownership dev-journey/discover/growth-marketing: responsibility is "INFORMED" in the database, "ACCOUNTABLE" in the file"#,
        ]
    );
}

#[tokio::test]
async fn an_overwriting_rerun_restores_catalog_fields_and_keeps_what_editors_added() {
    let app = TestApp::seeded().await;
    let db = &app.db;
    edit_everything(&app).await;
    let report = catalog::seed_with(db, &catalog::SeedOptions { overwrite: true })
        .await
        .unwrap();
    assert_eq!(report.inserted, 0);
    // The persona, the stage order, the editor's accountable team made responsible, and the
    // catalog's accountable team restored.
    assert_eq!(report.updated, 4);

    let data = app
        .data(
            r#"{ persona(slug: "dev") { name version roles { title } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["persona"]["name"], "Dev (individual developer)");
    // 1, then the rename, the new role (a role is part of the persona) and the restore.
    assert_eq!(data["persona"]["version"], 4);
    let roles = data["persona"]["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 7);
    assert_eq!(roles[6]["title"], "SRE");
    assert_eq!(
        app.data(r#"{ persona(slug: "data-scientist") { name } }"#, json!({}))
            .await["persona"]["name"],
        "Data scientist"
    );

    let mut keys = DEV_STAGES.to_vec();
    keys.push("celebrate");
    assert_eq!(stage_keys(&app, "dev-journey").await, numbered(&keys));
    let data = app
        .data(
            r#"{ journey(slug: "dev-journey") { version stage(key: "discover") { owners { responsibility note team { slug } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["journey"]["version"], 2);
    let owners = data["journey"]["stage"]["owners"].as_array().unwrap();
    let of = |slug: &str| {
        owners
            .iter()
            .find(|o| o["team"]["slug"] == slug)
            .unwrap()
            .clone()
    };
    assert_eq!(of("growth-marketing")["responsibility"], "ACCOUNTABLE");
    assert_eq!(
        of("exec-team"),
        json!({ "responsibility": "RESPONSIBLE", "note": "editor", "team": { "slug": "exec-team" } })
    );
    assert_eq!(owners.len(), 6);

    // And a third run finds nothing left to do.
    let before = snapshot(db).await;
    let report = catalog::seed(db).await.unwrap();
    assert_eq!((report.inserted, report.updated), (0, 0));
    assert_eq!(report.differences, vec![]);
    assert_eq!(snapshot(db).await, before);
}

const BROKEN: &str = r"
personas:
  - { slug: dev, name: Dev, kind: DEV }
teams:
  - { slug: sdr, name: SDR Team, department: SALES }
people:
  - { slug: ce-lead, name: CE manager, team: sdr, role: LEAD }
alignments:
  - { team: growth-marketing, persona: dev, level: PRIMARY }
  - { team: sdr, persona: head-of-engineering, level: PRIMARY }
journeys:
  - slug: dev-journey
    name: Dev journey
    personaKind: DEV
    stages:
      - { key: discover, name: Discover }
ownership:
  dev-journey:
    discover: { A: product-management, R: [sdr], dri: ce-lead }
";

#[tokio::test]
async fn a_catalog_with_unknown_references_is_rejected_by_name_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let err = catalog::seed_yaml(&app.db, BROKEN)
        .await
        .unwrap_err()
        .to_string();
    for expected in [
        "alignment growth-marketing / dev: unknown team `growth-marketing`",
        "alignment sdr / head-of-engineering: unknown persona `head-of-engineering`",
        "ownership dev-journey/discover: unknown team `product-management`",
        "ownership dev-journey/discover: dri `ce-lead` is not a member of the team `product-management`",
    ] {
        assert!(err.contains(expected), "{expected:?} missing from {err}");
    }
    assert!(catalog::is_empty(&app.db).await.unwrap());
    assert_eq!(team::Entity::find().count(&app.db).await.unwrap(), 0);
}

#[tokio::test]
async fn a_catalog_with_an_unknown_field_is_rejected() {
    let app = TestApp::spawn().await;
    let err = catalog::seed_yaml(
        &app.db,
        "personas:\n  - { slug: dev, name: Dev, kind: DEV, colour: blue }\n",
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `colour`"), "{err}");
    assert!(catalog::is_empty(&app.db).await.unwrap());
}

#[tokio::test]
async fn two_seeds_at_once_load_the_catalog_once() {
    let app = TestApp::spawn().await;
    let (a, b) = tokio::join!(catalog::seed(&app.db), catalog::seed(&app.db));
    let (a, b) = (a.unwrap(), b.unwrap());
    // One run inserted everything, the other found it in place.
    assert_eq!(a.inserted + b.inserted, 138);
    assert_eq!(a.inserted.min(b.inserted), 0);
    assert_eq!(persona::Entity::find().count(&app.db).await.unwrap(), 7);
    assert_eq!(
        stage_ownership::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        59
    );
}

#[tokio::test]
async fn a_database_whose_editors_deleted_every_persona_is_not_seeded_again() {
    let app = TestApp::spawn().await;
    assert!(
        catalog::is_empty(&app.db).await.unwrap(),
        "a fresh database is empty"
    );
    catalog::seed(&app.db).await.unwrap();
    persona::Entity::delete_many().exec(&app.db).await.unwrap();
    journey::Entity::delete_many().exec(&app.db).await.unwrap();
    team::Entity::delete_many().exec(&app.db).await.unwrap();
    assert!(
        !catalog::is_empty(&app.db).await.unwrap(),
        "the catalog was loaded once; serve must not load it again over the editors' deletions"
    );
}
