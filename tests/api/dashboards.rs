//! The dashboard queries over the seed catalog: `ownershipMatrix` (teams x stages),
//! `journeyHealth` (gaps, unstaffed stages, handoffs, team loads) and `ownershipGaps` (stages
//! without an ACCOUNTABLE owner).

use crate::helpers::{TestApp, error_code};
use chrono::Utc;
use entity::enums::Responsibility;
use entity::{journey, journey_stage, stage_ownership, team};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const MATRIX: &str = r"query($j: String!) {
  ownershipMatrix(journey: $j) {
    journey { slug }
    stages { key position }
    rows {
      team { slug }
      cells { stageKey responsibility ownership { dri { slug } } }
    }
  }
}";

/// The buyer journey's RACI map as the file gives it: one row per team, by team name, one
/// letter per stage in stage order (`-` where the team has no responsibility).
const BUYER_MATRIX: [(&str, &str); 11] = [
    ("account-executives", "C R A R A I - R A"),
    ("brand-comms", "R - - - - - - - -"),
    ("customer-engineering", "- I R A C C - - -"),
    ("digital-success", "- - - - I R R - -"),
    ("exec-team", "- C - - - - - - -"),
    ("growth-marketing", "R - - - - - - - -"),
    ("product-management", "I - - C - - C I -"),
    ("product-marketing", "A C C - - - I C I"),
    ("professional-services", "- - - - - R - - -"),
    ("sdr", "- A - - - - - - -"),
    ("technical-advisors", "- - I I I A A A R"),
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

fn letter(cell: &Value) -> &'static str {
    match cell["responsibility"].as_str() {
        None => "-",
        Some("RESPONSIBLE") => "R",
        Some("ACCOUNTABLE") => "A",
        Some("CONSULTED") => "C",
        Some("INFORMED") => "I",
        Some(other) => panic!("unexpected responsibility {other}"),
    }
}

/// The cell of `team` at `stage`.
fn cell<'a>(matrix: &'a Value, team: &str, stage: &str) -> &'a Value {
    let row = matrix["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["team"]["slug"] == team)
        .unwrap();
    row["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stageKey"] == stage)
        .unwrap()
}

#[tokio::test]
async fn the_ownership_matrix_shows_each_teams_responsibility_per_stage_in_stage_order() {
    let app = TestApp::seeded().await;
    let data = app.data(MATRIX, json!({ "j": "buyer-journey" })).await;
    let m = &data["ownershipMatrix"];

    assert_eq!(m["journey"]["slug"], "buyer-journey");
    let stages: Vec<(String, i64)> = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_owned(),
                s["position"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, i64)> = BUYER_STAGES
        .iter()
        .enumerate()
        .map(|(i, k)| ((*k).to_owned(), i as i64 + 1))
        .collect();
    assert_eq!(stages, expected);

    // The teams involved, and the whole grid: every row has one cell per stage, in order.
    let rows: Vec<(String, String)> = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let cells = r["cells"].as_array().unwrap();
            let keys: Vec<&str> = cells
                .iter()
                .map(|c| c["stageKey"].as_str().unwrap())
                .collect();
            assert_eq!(keys, BUYER_STAGES);
            let letters: Vec<&str> = cells.iter().map(letter).collect();
            (
                r["team"]["slug"].as_str().unwrap().to_owned(),
                letters.join(" "),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = BUYER_MATRIX
        .iter()
        .map(|(t, l)| ((*t).to_owned(), (*l).to_owned()))
        .collect();
    assert_eq!(rows, expected);

    // Single cells, exactly, including the DRIs of the accountable owners.
    assert_eq!(
        cell(m, "customer-engineering", "validate"),
        &json!({ "stageKey": "validate", "responsibility": "ACCOUNTABLE", "ownership": { "dri": { "slug": "ce-lead" } } })
    );
    assert_eq!(
        cell(m, "technical-advisors", "onboard"),
        &json!({ "stageKey": "onboard", "responsibility": "ACCOUNTABLE", "ownership": { "dri": { "slug": "ta-lead" } } })
    );
    assert_eq!(
        cell(m, "sdr", "engage"),
        &json!({ "stageKey": "engage", "responsibility": "ACCOUNTABLE", "ownership": { "dri": null } })
    );
    assert_eq!(
        cell(m, "exec-team", "engage"),
        &json!({ "stageKey": "engage", "responsibility": "CONSULTED", "ownership": { "dri": null } })
    );
    assert_eq!(
        cell(m, "account-executives", "renew"),
        &json!({ "stageKey": "renew", "responsibility": "ACCOUNTABLE", "ownership": { "dri": null } })
    );
    assert_eq!(
        cell(m, "account-executives", "adopt"),
        &json!({ "stageKey": "adopt", "responsibility": null, "ownership": null })
    );
}

#[tokio::test]
async fn the_ownership_matrix_costs_the_same_for_a_journey_of_five_or_nine_stages() {
    let app = TestApp::seeded().await;
    app.reset_statements();
    app.data(MATRIX, json!({ "j": "dev-journey" })).await;
    let dev = app.statements();
    app.reset_statements();
    app.data(MATRIX, json!({ "j": "buyer-journey" })).await;
    let buyer = app.statements();
    // 5 stages x 21 owners against 9 stages x 38 owners: a polled dashboard pays per query,
    // not per cell.
    assert_eq!(dev, buyer);
}

#[tokio::test]
async fn the_ownership_matrix_of_an_unknown_journey_is_not_found() {
    let app = TestApp::seeded().await;
    let body = app.gql(MATRIX, json!({ "j": "no-such-journey" })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(body["data"], Value::Null);
}

const GAPS: &str =
    r"query($j: String) { ownershipGaps(journey: $j) { journey { slug } stage { key position } } }";

#[tokio::test]
async fn the_only_ownership_gap_of_the_catalog_is_dev_journey_advocate_expand() {
    let app = TestApp::seeded().await;
    let all = app.data(GAPS, json!({})).await;
    assert_eq!(
        all["ownershipGaps"],
        json!([{ "journey": { "slug": "dev-journey" }, "stage": { "key": "advocate-expand", "position": 5 } }])
    );
    let dev = app.data(GAPS, json!({ "j": "dev-journey" })).await;
    assert_eq!(dev["ownershipGaps"], all["ownershipGaps"]);
    let buyer = app.data(GAPS, json!({ "j": "buyer-journey" })).await;
    assert_eq!(buyer["ownershipGaps"], json!([]));
}

#[tokio::test]
async fn ownership_gaps_of_an_unknown_journey_are_not_found() {
    let app = TestApp::seeded().await;
    let body = app.gql(GAPS, json!({ "j": "no-such-journey" })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn the_gap_closes_once_the_stage_has_an_accountable_owner() {
    let app = TestApp::seeded().await;
    let db = &app.db;
    let dev = journey::Entity::find()
        .filter(journey::Column::Slug.eq("dev-journey"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let stage = journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(dev.id))
        .filter(journey_stage::Column::Key.eq("advocate-expand"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let pmm = team::Entity::find()
        .filter(team::Column::Slug.eq("product-marketing"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now();
    stage_ownership::ActiveModel {
        stage_id: Set(stage.id),
        team_id: Set(pmm.id),
        person_id: Set(None),
        responsibility: Set(Responsibility::Accountable),
        note: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();

    assert_eq!(app.data(GAPS, json!({})).await["ownershipGaps"], json!([]));
    assert_eq!(
        app.data(GAPS, json!({ "j": "dev-journey" })).await["ownershipGaps"],
        json!([])
    );
    let m = app.data(MATRIX, json!({ "j": "dev-journey" })).await;
    assert_eq!(
        letter(cell(
            &m["ownershipMatrix"],
            "product-marketing",
            "advocate-expand"
        )),
        "A"
    );
}

const HEALTH: &str = r"query($j: String!) {
  journeyHealth(journey: $j) {
    journey { slug }
    stageCount gapCount unstaffedCount handoffCount
    stagesWithoutAccountable { key }
    stagesWithoutResponsible { key }
    handoffs { from { key } to { key } fromTeams { slug } toTeams { slug } }
    teamLoads { team { slug } accountable responsible }
  }
}";

fn keys(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["key"].as_str().or_else(|| x["slug"].as_str()).unwrap())
        .collect()
}

#[tokio::test]
async fn the_buyer_journeys_health_counts_its_unstaffed_stage_handoffs_and_team_loads() {
    let app = TestApp::seeded().await;
    let h = app.data(HEALTH, json!({ "j": "buyer-journey" })).await["journeyHealth"].clone();
    assert_eq!(h["journey"]["slug"], "buyer-journey");
    assert_eq!(h["stageCount"], 9);
    assert_eq!(h["gapCount"], 0);
    assert_eq!(keys(&h["stagesWithoutAccountable"]), Vec::<&str>::new());
    // Commit has an ACCOUNTABLE owner but nobody RESPONSIBLE.
    assert_eq!(h["unstaffedCount"], 1);
    assert_eq!(keys(&h["stagesWithoutResponsible"]), ["commit"]);
    // Where the RESPONSIBLE teams change between two worked stages (commit, unstaffed, is
    // no handoff on either side).
    let handoffs: Vec<(&str, &str, Vec<&str>, Vec<&str>)> = h["handoffs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["from"]["key"].as_str().unwrap(),
                x["to"]["key"].as_str().unwrap(),
                keys(&x["fromTeams"]),
                keys(&x["toTeams"]),
            )
        })
        .collect();
    assert_eq!(h["handoffCount"], 6);
    assert_eq!(
        handoffs[0],
        (
            "problem-awareness",
            "engage",
            vec!["growth-marketing", "brand-comms"],
            vec!["account-executives"]
        )
    );
    assert_eq!(
        handoffs.iter().map(|h| h.0).collect::<Vec<_>>(),
        [
            "problem-awareness",
            "engage",
            "qualify",
            "onboard",
            "adopt",
            "nurture-expand"
        ]
    );
    // The most loaded first: account executives are ACCOUNTABLE for 3 stages and
    // RESPONSIBLE for 3; technical advisors 3 and 1; customer engineering 1 and 1; digital
    // success 0 and 2.
    let loads: Vec<(&str, i64, i64)> = h["teamLoads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["team"]["slug"].as_str().unwrap(),
                l["accountable"].as_i64().unwrap(),
                l["responsible"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        loads[..4],
        [
            ("account-executives", 3, 3),
            ("technical-advisors", 3, 1),
            ("customer-engineering", 1, 1),
            ("digital-success", 0, 2),
        ]
    );
    // Every team with an ownership in the journey is listed, the C/I-only ones with none.
    assert_eq!(loads.len(), BUYER_MATRIX.len());
    assert!(loads.contains(&("exec-team", 0, 0)), "{loads:?}");
}

#[tokio::test]
async fn the_dev_journeys_health_names_its_gap_and_the_matrix_carries_the_same_health() {
    let app = TestApp::seeded().await;
    let h = app.data(HEALTH, json!({ "j": "dev-journey" })).await["journeyHealth"].clone();
    assert_eq!(h["gapCount"], 1);
    assert_eq!(keys(&h["stagesWithoutAccountable"]), ["advocate-expand"]);
    assert_eq!(h["unstaffedCount"], 0);
    assert_eq!(h["handoffCount"], 2);
    let m = app
        .data(
            r#"query { ownershipMatrix(journey: "dev-journey") { health { gapCount stagesWithoutAccountable { key } handoffCount } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        m["ownershipMatrix"]["health"],
        json!({ "gapCount": 1, "stagesWithoutAccountable": [{ "key": "advocate-expand" }], "handoffCount": 2 })
    );
    // Closing the gap through the API shows in the health at once.
    app.data(
        r#"mutation { assignStageOwner(input: { journey: "dev-journey", stage: "advocate-expand", team: "growth-marketing", responsibility: ACCOUNTABLE }) { ownership { id } } }"#,
        json!({}),
    )
    .await;
    let h = app.data(HEALTH, json!({ "j": "dev-journey" })).await["journeyHealth"].clone();
    assert_eq!(h["gapCount"], 0);
    let growth = h["teamLoads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["team"]["slug"] == "growth-marketing")
        .cloned()
        .unwrap();
    assert_eq!(growth["accountable"], 2);
}

#[tokio::test]
async fn the_health_of_an_unknown_journey_is_not_found_and_costs_the_same_for_any_journey() {
    let app = TestApp::seeded().await;
    let body = app.gql(HEALTH, json!({ "j": "no-such-journey" })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    app.reset_statements();
    app.data(HEALTH, json!({ "j": "dev-journey" })).await;
    let dev = app.statements();
    app.reset_statements();
    app.data(HEALTH, json!({ "j": "buyer-journey" })).await;
    let buyer = app.statements();
    // The stages and their ownerships, however many (plus the cache's version check where
    // the change feed does not announce changes).
    assert_eq!(dev, buyer);
    assert!(buyer <= 3, "{:#?}", app.statement_texts());
}
