//! What editors need to change ownership without looking IDs up first: an ownership named by
//! its journey, stage and team, and a `NOT_FOUND` that suggests the slug they meant.

use crate::helpers::{TestApp, error_code};
use serde_json::{Value, json};

async fn owner(app: &TestApp, stage: &str, team: &str) -> Value {
    let data = app
        .data(
            "query($s: String!) { journey(slug: \"dev-journey\") { stage(key: $s) { owners { id responsibility team { slug } } } } }",
            json!({ "s": stage }),
        )
        .await;
    data["journey"]["stage"]["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["team"]["slug"] == team)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_ownership_is_changed_and_removed_by_journey_stage_and_team() {
    let app = TestApp::seeded().await;
    let data = app
        .data(
            r#"mutation { changeStageOwner(input: { journey: "dev-journey", stage: "advocate-expand", team: "devex-marketing", responsibility: ACCOUNTABLE }) { ownership { id responsibility team { slug } } } }"#,
            json!({}),
        )
        .await;
    let changed = &data["changeStageOwner"]["ownership"];
    assert_eq!(changed["responsibility"], "ACCOUNTABLE");
    assert_eq!(
        owner(&app, "advocate-expand", "devex-marketing").await["responsibility"],
        "ACCOUNTABLE"
    );

    let data = app
        .data(
            r#"mutation { removeStageOwner(input: { journey: "dev-journey", stage: "advocate-expand", team: "devex-marketing" }) { deletedId } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["removeStageOwner"]["deletedId"], changed["id"]);
    assert_eq!(
        owner(&app, "advocate-expand", "devex-marketing").await,
        Value::Null
    );
}

#[tokio::test]
async fn an_ownership_named_both_ways_or_half_named_is_bad_input() {
    let app = TestApp::seeded().await;
    let id = owner(&app, "discover", "growth-marketing").await["id"].clone();
    for input in [
        json!({ "id": id, "journey": "dev-journey", "stage": "discover", "team": "growth-marketing" }),
        json!({ "journey": "dev-journey", "stage": "discover" }),
        json!({}),
    ] {
        let body = app
            .gql(
                "mutation($i: RemoveStageOwnerInput!) { removeStageOwner(input: $i) { deletedId } }",
                json!({ "i": input }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "id");
    }
    assert_ne!(
        owner(&app, "discover", "growth-marketing").await,
        Value::Null
    );
}

#[tokio::test]
async fn a_mistyped_slug_is_not_found_with_the_slug_meant() {
    let app = TestApp::seeded().await;
    let body = app
        .gql(
            r#"mutation { changeStageOwner(input: { journey: "dev-journey", stage: "discover", team: "devex-marketin", responsibility: INFORMED }) { ownership { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "team not found: devex-marketin; did you mean `devex-marketing`?"
    );
    // A key with nothing near it names no suggestion.
    let body = app
        .gql(
            r#"mutation { addRole(input: { persona: "zzz", title: "SRE" }) { role { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["message"], "persona not found: zzz",
        "{body}"
    );
    let body = app
        .gql(
            r#"mutation { addRole(input: { persona: "dve", title: "SRE" }) { role { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["message"], "persona not found: dve; did you mean `dev`?",
        "{body}"
    );
}

#[tokio::test]
async fn an_ownership_the_team_does_not_hold_is_not_found() {
    let app = TestApp::seeded().await;
    let body = app
        .gql(
            r#"mutation { removeStageOwner(input: { journey: "dev-journey", stage: "discover", team: "exec-team" }) { deletedId } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "stage ownership not found: dev-journey/discover exec-team"
    );
}
