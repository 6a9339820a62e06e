//! Nested connections: a page of each parent's list, cut in SQL with keyset cursors, for every
//! parent of a page in one statement; `totalCount` only when asked, one grouped COUNT for all.

use crate::helpers::{TestApp, error_code};
use entity::api_token::TokenRole;
use persona_graph::generate::{self, GenerateOptions};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// A generated catalog with small teams (3 to 8 members each).
async fn generated() -> TestApp {
    let app = TestApp::spawn().await;
    let options = GenerateOptions {
        personas: 30,
        teams: 12,
        ..GenerateOptions::default()
    };
    generate::run(&app.db, &options).await.unwrap();
    app
}

const TEAM_PAGES: &str =
    "query($teams: Int!, $first: Int, $after: String, $last: Int, $before: String) {
  teams(first: $teams) { nodes {
    slug
    members { id person { slug } }
    membersConnection(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id person { slug } } }
    }
  } }
}";

fn ids(list: &Value) -> Vec<Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect()
}

#[tokio::test]
async fn each_team_gets_its_own_first_page_with_counts_and_cursors() {
    let app = generated().await;
    let data = app
        .data(TEAM_PAGES, json!({ "teams": 12, "first": 2 }))
        .await;
    let teams = data["teams"]["nodes"].as_array().unwrap();
    assert_eq!(teams.len(), 12);
    for team in teams {
        let all = ids(&team["members"]);
        let conn = &team["membersConnection"];
        let page: Vec<Value> = conn["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].clone())
            .collect();
        assert!(
            all.len() >= 3,
            "generated teams have 3 to 8 members: {team}"
        );
        assert_eq!(page, all[..2].to_vec(), "{}", team["slug"]);
        assert_eq!(conn["totalCount"], json!(all.len()));
        assert_eq!(conn["pageInfo"]["hasNextPage"], json!(true));
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], json!(false));
        assert_eq!(
            conn["pageInfo"]["endCursor"], conn["edges"][1]["cursor"],
            "the end cursor is the last edge's"
        );
    }
}

#[tokio::test]
async fn following_the_cursors_walks_one_teams_members_forwards_and_backwards() {
    let app = generated().await;
    let first = app
        .data(TEAM_PAGES, json!({ "teams": 1, "first": 2 }))
        .await;
    let team = &first["teams"]["nodes"][0];
    let all = ids(&team["members"]);

    // Forwards, two at a time, to the end.
    let mut walked = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let data = app
            .data(
                TEAM_PAGES,
                json!({ "teams": 1, "first": 2, "after": after }),
            )
            .await;
        let conn = &data["teams"]["nodes"][0]["membersConnection"];
        for e in conn["edges"].as_array().unwrap() {
            walked.push(e["node"]["id"].clone());
        }
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], json!(after.is_some()));
        if conn["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = Some(conn["pageInfo"]["endCursor"].clone());
        assert!(walked.len() <= all.len(), "the walk ends");
    }
    assert_eq!(walked, all, "every member once, in order");

    // Backwards: the last two, then the two before them.
    let data = app.data(TEAM_PAGES, json!({ "teams": 1, "last": 2 })).await;
    let conn = &data["teams"]["nodes"][0]["membersConnection"];
    let tail: Vec<Value> = conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].clone())
        .collect();
    assert_eq!(tail, all[all.len() - 2..].to_vec());
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], json!(true));
    assert_eq!(conn["pageInfo"]["hasNextPage"], json!(false));
    let before = conn["pageInfo"]["startCursor"].clone();
    let data = app
        .data(
            TEAM_PAGES,
            json!({ "teams": 1, "last": 2, "before": before }),
        )
        .await;
    let conn = &data["teams"]["nodes"][0]["membersConnection"];
    let earlier: Vec<Value> = conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].clone())
        .collect();
    assert_eq!(
        earlier,
        all[all.len().saturating_sub(4)..all.len() - 2].to_vec()
    );
    assert_eq!(conn["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], json!(all.len() > 4));
}

#[tokio::test]
async fn a_page_of_nested_connections_costs_the_same_statements_for_3_or_12_parents() {
    let app = generated().await;
    // The generator aligns no teams: align each team to every sixth persona (5 each).
    app.db
        .execute_unprepared(
            "INSERT INTO team_persona_alignment
                 (team_id, persona_id, level, provenance, created_at, updated_at)
             SELECT t.id, p.id, 'PRIMARY', 'HANDBOOK', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
             FROM team t, persona p WHERE p.id % 6 = t.id % 6",
        )
        .await
        .unwrap();
    // The full lists, asked apart: their personas would be a second batch of the same loader.
    let full = app
        .data(
            "{ teams(first: 12) { nodes { alignedPersonas { persona { slug } } } } }",
            json!({}),
        )
        .await;
    let query = "query($teams: Int!) { teams(first: $teams) { nodes {
        membersConnection(first: 2) { totalCount nodes { person { slug } } }
        ownershipsConnection(first: 1) { totalCount nodes { responsibility stage { key } } }
        alignedPersonasConnection(first: 3) { nodes { persona { slug } } }
    } } }";
    let mut counts = Vec::new();
    for teams in [3, 12] {
        app.reset_statements();
        let data = app.data(query, json!({ "teams": teams })).await;
        counts.push(app.statements());
        let nodes = data["teams"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), teams);
        for (t, f) in nodes.iter().zip(full["teams"]["nodes"].as_array().unwrap()) {
            assert_eq!(t["membersConnection"]["nodes"].as_array().unwrap().len(), 2);
            assert!(t["ownershipsConnection"]["nodes"].as_array().unwrap().len() <= 1);
            let aligned = f["alignedPersonas"].as_array().unwrap();
            assert_eq!(aligned.len(), 5, "{t}");
            assert_eq!(
                t["alignedPersonasConnection"]["nodes"],
                json!(aligned[..3]),
                "the first three alignments"
            );
        }
    }
    // teams; one page statement per relation (3); one COUNT per counted relation (2); the
    // people, the stages, the personas.
    assert_eq!(counts, [9, 9], "statements at 3 and 12 teams");
}

#[tokio::test]
async fn sibling_lists_asking_for_different_pages_each_get_their_own() {
    let app = generated().await;
    let data = app
        .data(
            "{ teams(first: 4) { nodes {
                members { id }
                two: membersConnection(first: 2) { nodes { id } }
                three: membersConnection(first: 3) { nodes { id } }
                lastOne: membersConnection(last: 1) { nodes { id } }
            } } }",
            json!({}),
        )
        .await;
    for t in data["teams"]["nodes"].as_array().unwrap() {
        let all = ids(&t["members"]);
        assert_eq!(ids(&t["two"]["nodes"]), all[..2].to_vec());
        assert_eq!(ids(&t["three"]["nodes"]), all[..3].to_vec());
        assert_eq!(ids(&t["lastOne"]["nodes"]), all[all.len() - 1..].to_vec());
    }
}

#[tokio::test]
async fn a_persons_memberships_page_matches_the_full_list() {
    let app = generated().await;
    let data = app
        .data(
            "{ teams(first: 3) { nodes { members { person {
                memberships { id }
                membershipsConnection(first: 1) { totalCount nodes { id } pageInfo { hasNextPage } }
            } } } } }",
            json!({}),
        )
        .await;
    let mut seen = 0;
    for t in data["teams"]["nodes"].as_array().unwrap() {
        for m in t["members"].as_array().unwrap() {
            let p = &m["person"];
            let all = ids(&p["memberships"]);
            let conn = &p["membershipsConnection"];
            assert_eq!(ids(&conn["nodes"]), all[..1].to_vec());
            assert_eq!(conn["totalCount"], json!(all.len()));
            assert_eq!(conn["pageInfo"]["hasNextPage"], json!(all.len() > 1));
            seen += 1;
        }
    }
    assert!(seen >= 9);
}

#[tokio::test]
async fn bad_page_arguments_on_a_nested_connection_are_refused_with_bad_user_input() {
    let app = generated().await;
    for (query, what) in [
        (
            r#"{ teams(first: 1) { nodes { membersConnection(after: "not-a-cursor") { nodes { id } } } } }"#,
            "a foreign cursor",
        ),
        (
            "{ teams(first: 1) { nodes { membersConnection(first: 2, last: 2) { nodes { id } } } } }",
            "first with last",
        ),
        (
            "{ teams(first: 1) { nodes { membersConnection(first: 101) { nodes { id } } } } }",
            "a page over 100",
        ),
        (
            "{ teams(first: 1) { nodes { membersConnection(first: -1) { nodes { id } } } } }",
            "a negative page",
        ),
    ] {
        let body = app.gql(query, json!({})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{what}: {body}");
    }
    // A cursor of another list's order is refused too: history runs newest first.
    let data = app
        .data(
            "{ teams(first: 1) { nodes { membersConnection(first: 1) { pageInfo { endCursor } } } } }",
            json!({}),
        )
        .await;
    let cursor = &data["teams"]["nodes"][0]["membersConnection"]["pageInfo"]["endCursor"];
    let body = app
        .gql(
            "query($c: String) { teams(first: 1) { nodes { history(after: $c) { nodes { action } } } } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn history_on_a_list_of_personas_is_one_statement_per_level_and_each_its_own() {
    let app = TestApp::seeded().await;
    let editor = app.token(TokenRole::Editor).await;
    let personas = app
        .data(
            "{ personas(first: 6) { nodes { slug version history { totalCount } } } }",
            json!({}),
        )
        .await;
    let nodes = personas["personas"]["nodes"].as_array().unwrap().clone();
    // Persona i is edited i times (0 to 5).
    for (i, p) in nodes.iter().enumerate() {
        let slug = p["slug"].as_str().unwrap();
        let mut version = p["version"].as_i64().unwrap();
        for n in 0..i {
            let body = app
                .data_as(
                    Some(&editor),
                    "mutation($slug: String!, $v: Int!, $s: String!) {
                        updatePersona(input: { slug: $slug, expectedVersion: $v, summary: $s }) { persona { version } } }",
                    json!({ "slug": slug, "v": version, "s": format!("edit {n}") }),
                )
                .await;
            version = body["updatePersona"]["persona"]["version"]
                .as_i64()
                .unwrap();
        }
    }
    let query = "{ personas(first: 6) { nodes { slug
        history(first: 2) { totalCount nodes { action after } pageInfo { hasNextPage } } } } }";
    app.reset_statements();
    let data = app.data(query, json!({})).await;
    // The cache-version read, the personas, one page of history for all six, one COUNT.
    let statements = app.statements();
    assert!(statements <= 4, "{statements} statements");
    for (i, p) in data["personas"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        // Its i edits, after what the seed recorded of it.
        let seeded = nodes[i]["history"]["totalCount"].as_u64().unwrap() as usize;
        assert!(seeded >= 1, "the seed's createPersona");
        let h = &p["history"];
        assert_eq!(h["totalCount"], json!(seeded + i), "{p}");
        let page = h["nodes"].as_array().unwrap();
        assert_eq!(page.len(), (seeded + i).min(2), "{p}");
        assert_eq!(h["pageInfo"]["hasNextPage"], json!(seeded + i > 2));
        if i > 0 {
            // Newest first: the last edit.
            assert_eq!(
                page[0]["after"]["summary"],
                json!(format!("edit {}", i - 1)),
                "{p}"
            );
        }
    }
}
