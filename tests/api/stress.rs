//! Concurrent editors: 16 writers race on the same persona, stage ownerships, stage order and
//! team memberships; every change applies or fails with a stated reason, and none is lost.
//!
//! Each writer runs a fixed number of operations chosen by its own seeded generator, so a run
//! is bounded and its size is the same every time; only the interleaving varies. A monitor
//! checks the invariants with SQL while the writers run, and again once they are done.

use crate::helpers::TestApp;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Statement,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const WRITERS: u64 = 16;
const OPS_PER_WRITER: u64 = 12;

/// A small deterministic generator (xorshift64*), one per writer.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// POSTs a GraphQL request and returns its body, after checking what must hold of every
/// response under contention: HTTP 200 (never a 5xx), and no lock or deadlock text.
async fn send(app: &TestApp, query: &str, variables: Value) -> Value {
    let resp = app.post_as(Some(&app.admin_token), query, variables).await;
    let status = resp.status();
    let text = resp.text().await.expect("a body");
    assert_eq!(status, 200, "HTTP {status} under contention: {text}");
    let lower = text.to_lowercase();
    for word in ["locked", "deadlock", "serializ", "sqlx", "database"] {
        assert!(
            !lower.contains(word),
            "a response mentions {word:?}: {text}"
        );
    }
    serde_json::from_str(&text).expect("a JSON body")
}

/// The error code of `body` (`None` on success), which must be one of `allowed`; with
/// `BAD_USER_INPUT`, the field must be one of `fields`.
fn outcome(body: &Value, allowed: &[&str], fields: &[&str]) -> Option<String> {
    let errors = body.get("errors")?;
    let code = errors[0]["extensions"]["code"].as_str().unwrap_or("<none>");
    // What a deadlock or serialisation failure would answer, had one reached the client.
    assert!(
        !errors[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains(persona_graph::error::CONTENTION),
        "a deadlock or serialisation failure reached the client: {body:#}"
    );
    assert!(
        allowed.contains(&code),
        "code {code} is not one of {allowed:?}: {body:#}"
    );
    if code == "BAD_USER_INPUT" {
        let field = errors[0]["extensions"]["field"]
            .as_str()
            .unwrap_or("<none>");
        assert!(
            fields.contains(&field),
            "BAD_USER_INPUT on {field}, not one of {fields:?}: {body:#}"
        );
    }
    Some(code.to_owned())
}

/// Runs `WRITERS` writers (`writer(app, index)`) at once, with `check` run in a loop against
/// the database until they are done and once more after; returns the writers' results.
async fn race<T, W, WF, C, CF>(app: &Arc<TestApp>, writer: W, check: C) -> Vec<T>
where
    T: Send + 'static,
    W: Fn(Arc<TestApp>, u64) -> WF,
    WF: Future<Output = T> + Send + 'static,
    C: Fn(DatabaseConnection) -> CF + Send + Sync + 'static,
    CF: Future<Output = ()> + Send + 'static,
{
    let done = Arc::new(AtomicBool::new(false));
    let check = Arc::new(check);
    let monitor = {
        let (done, check, db) = (done.clone(), check.clone(), app.db.clone());
        tokio::spawn(async move {
            let mut rounds = 0u32;
            while !done.load(Ordering::SeqCst) {
                check(db.clone()).await;
                rounds += 1;
                tokio::task::yield_now().await;
            }
            rounds
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(app.clone(), w)))
        .collect();
    let mut results = Vec::new();
    for w in writers {
        results.push(w.await.expect("a writer panicked"));
    }
    done.store(true, Ordering::SeqCst);
    let rounds = monitor.await.expect("the monitor panicked");
    check(app.db.clone()).await;
    eprintln!("invariants checked {rounds} times while the writers ran");
    results
}

/// A single number from `sql`.
async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("run the check")
        .expect("a row");
    // COUNT is a BIGINT, but a CASE of integer literals an INTEGER, on PostgreSQL.
    row.try_get_by_index::<i64>(0)
        .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
        .expect("a number")
}

fn tally(outcomes: impl IntoIterator<Item = Option<String>>) -> BTreeMap<String, usize> {
    let mut t = BTreeMap::new();
    for o in outcomes {
        *t.entry(o.unwrap_or_else(|| "ok".into())).or_insert(0) += 1;
    }
    t
}

const PERSONA: &str = "query($s: String!) { persona(slug: $s) { version description } }";
const UPDATE_PERSONA: &str = "mutation($i: UpdatePersonaInput!) {
    updatePersona(input: $i) { persona { version description } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_updates_of_one_persona_each_apply_or_conflict_and_none_is_lost() {
    let app = Arc::new(TestApp::spawn().await);
    app.data(
        "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { version } } }",
        json!({ "i": { "slug": "contested", "name": "Contested", "kind": "BUYER",
                       "description": "start" } }),
    )
    .await;

    // Each writer reads the persona and appends its own token to the description, expecting
    // the version it read: an update that applies saw every earlier one, so the final text
    // holds each applied token exactly once, in version order.
    let results = race(
        &app,
        |app, w| async move {
            let mut applied = Vec::new();
            let mut outcomes = Vec::new();
            for n in 0..OPS_PER_WRITER {
                let read = send(&app, PERSONA, json!({ "s": "contested" })).await;
                let persona = &read["data"]["persona"];
                let version = persona["version"].as_i64().unwrap();
                let token = format!("w{w}n{n}");
                let description = format!("{} {token}", persona["description"].as_str().unwrap());
                let body = send(
                    &app,
                    UPDATE_PERSONA,
                    json!({ "i": { "slug": "contested", "expectedVersion": version,
                                   "description": description, "name": format!("By {token}") } }),
                )
                .await;
                let o = outcome(&body, &["CONFLICT"], &[]);
                if o.is_none() {
                    let new_version = body["data"]["updatePersona"]["persona"]["version"]
                        .as_i64()
                        .unwrap();
                    assert_eq!(new_version, version + 1, "{body:#}");
                    applied.push((new_version, token));
                }
                outcomes.push(o);
            }
            (applied, outcomes)
        },
        |db| async move {
            // The version counts the applied updates, which the text counts too.
            let tokens = count(
                &db,
                "SELECT version - 1 - (LENGTH(description) - LENGTH(REPLACE(description, ' ', '')))
                 FROM persona WHERE slug = 'contested'",
            )
            .await;
            assert_eq!(tokens, 0, "version and description disagree");
        },
    )
    .await;

    let mut applied: Vec<(i64, String)> = results.iter().flat_map(|r| r.0.clone()).collect();
    applied.sort();
    let outcomes = tally(results.into_iter().flat_map(|r| r.1));
    eprintln!("updatePersona outcomes: {outcomes:?}");
    assert!(!applied.is_empty(), "no update applied: {outcomes:?}");
    let versions: Vec<i64> = applied.iter().map(|(v, _)| *v).collect();
    let expected: Vec<i64> = (2..2 + applied.len() as i64).collect();
    assert_eq!(
        versions, expected,
        "two updates applied to the same version"
    );

    let row = entity::persona::Entity::find()
        .filter(entity::persona::Column::Slug.eq("contested"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let tokens: Vec<String> = applied.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(row.version as usize, 1 + applied.len());
    assert_eq!(
        row.description.as_deref(),
        Some(format!("start {}", tokens.join(" ")).as_str())
    );
    assert_eq!(
        row.name,
        format!("By {}", tokens.last().unwrap()),
        "the last applied update wins"
    );
    // The history holds each applied update once, and nothing of the refused ones.
    let history = count(
        &app.db,
        "SELECT COUNT(*) FROM audit_event
         WHERE action = 'updatePersona' AND subject_key = 'contested'",
    )
    .await;
    assert_eq!(
        history as usize,
        applied.len(),
        "audit events of the updates"
    );
}

/// Creates a journey with `keys` as its stages, and teams `teams`, through the API.
async fn journey_and_teams(app: &TestApp, slug: &str, keys: &[String], teams: &[String]) {
    let stages: Vec<Value> = keys
        .iter()
        .map(|k| json!({ "key": k, "name": format!("Stage {k}") }))
        .collect();
    app.data(
        "mutation($i: CreateJourneyInput!) { createJourney(input: $i) { journey { slug } } }",
        json!({ "i": { "slug": slug, "name": format!("Journey {slug}"), "personaKind": "BUYER",
                       "stages": stages } }),
    )
    .await;
    for t in teams {
        app.data(
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { slug } } }",
            json!({ "i": { "slug": t, "name": format!("Team {t}"), "department": "SALES" } }),
        )
        .await;
    }
}

const OWNERS: &str = "query($j: String!, $s: String!) {
    journey(slug: $j) { stage(key: $s) { owners { id team { slug } } } } }";

/// The (ID, team slug) of each ownership in `list`. A read is not a snapshot: an ownership
/// whose team a concurrent deleteTeam took after the ownership was read shows no team, and is
/// left out.
fn owners(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| {
                    Some((
                        o["id"].as_str()?.to_owned(),
                        o["team"]["slug"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

const TWO_ACCOUNTABLE: &str = "SELECT COUNT(*) FROM (SELECT stage_id FROM stage_ownership
    WHERE responsibility = 'ACCOUNTABLE' GROUP BY stage_id HAVING COUNT(*) > 1) AS t";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_ownership_changes_never_give_a_stage_two_accountable_owners() {
    let app = Arc::new(TestApp::spawn().await);
    let stages: Vec<String> = ["plan", "build", "ship"].map(String::from).to_vec();
    let teams: Vec<String> = (0..6).map(|t| format!("team-{t}")).collect();
    journey_and_teams(&app, "owned", &stages, &teams).await;
    let (stages, teams) = (Arc::new(stages), Arc::new(teams));

    let results = race(
        &app,
        |app, w| {
            let (stages, teams) = (stages.clone(), teams.clone());
            async move {
                let mut rng = Rng::new(w + 1);
                // (stage, team) -> assignments minus removals that applied.
                let mut net: BTreeMap<(String, String), i64> = BTreeMap::new();
                let mut outcomes = Vec::new();
                for _ in 0..OPS_PER_WRITER {
                    let stage = rng.pick(&stages).clone();
                    let o = match rng.below(3) {
                        0 => {
                            let team = rng.pick(&teams).clone();
                            let r = *rng.pick(&[
                                "ACCOUNTABLE",
                                "ACCOUNTABLE",
                                "RESPONSIBLE",
                                "CONSULTED",
                            ]);
                            let body = send(
                                &app,
                                "mutation($i: AssignStageOwnerInput!) {
                                    assignStageOwner(input: $i) { ownership { id } } }",
                                json!({ "i": { "journey": "owned", "stage": stage, "team": team,
                                               "responsibility": r } }),
                            )
                            .await;
                            // CONFLICT: the team owns the stage already, or another team is
                            // ACCOUNTABLE for it.
                            let o = outcome(&body, &["CONFLICT"], &[]);
                            if o.is_none() {
                                *net.entry((stage, team)).or_default() += 1;
                            }
                            o
                        }
                        op => {
                            let read =
                                send(&app, OWNERS, json!({ "j": "owned", "s": stage })).await;
                            let owners = owners(&read["data"]["journey"]["stage"]["owners"]);
                            if owners.is_empty() {
                                continue;
                            }
                            // An ownership's team never changes, so the team read with its ID
                            // is the one a removal takes away.
                            let (id, team) = rng.pick(&owners).clone();
                            if op == 1 {
                                let r = *rng.pick(&["ACCOUNTABLE", "INFORMED"]);
                                let body = send(
                                    &app,
                                    "mutation($i: ChangeStageOwnerInput!) {
                                        changeStageOwner(input: $i) { ownership { id } } }",
                                    json!({ "i": { "id": id, "responsibility": r } }),
                                )
                                .await;
                                // CONFLICT: another team is ACCOUNTABLE; NOT_FOUND: another
                                // writer removed this ownership since it was read.
                                outcome(&body, &["CONFLICT", "NOT_FOUND"], &[])
                            } else {
                                let body = send(
                                    &app,
                                    "mutation($i: RemoveStageOwnerInput!) {
                                        removeStageOwner(input: $i) { deletedId }
                                        }",
                                    json!({ "i": { "id": id } }),
                                )
                                .await;
                                // NOT_FOUND: another writer removed it first.
                                let o = outcome(&body, &["NOT_FOUND"], &[]);
                                if o.is_none() {
                                    *net.entry((stage, team)).or_default() -= 1;
                                }
                                o
                            }
                        }
                    };
                    outcomes.push(o);
                }
                (net, outcomes)
            }
        },
        |db| async move {
            assert_eq!(
                count(&db, TWO_ACCOUNTABLE).await,
                0,
                "a stage has two ACCOUNTABLE owners"
            );
        },
    )
    .await;

    let mut net: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut all = Vec::new();
    for (n, o) in results {
        for (k, v) in n {
            *net.entry(k).or_default() += v;
        }
        all.extend(o);
    }
    eprintln!("ownership outcomes: {:?}", tally(all));
    // Every ownership that exists was assigned once more than it was removed, and every
    // other one as often: no assignment or removal was lost.
    let now: BTreeSet<(String, String)> = ownerships(&app.db).await.into_iter().collect();
    for (key, n) in &net {
        let expected = i64::from(now.contains(key));
        assert_eq!(*n, expected, "{key:?}: applied assignments minus removals");
    }
    for key in &now {
        assert!(
            net.contains_key(key),
            "{key:?} exists but was never assigned"
        );
    }
}

/// Every (stage key, team slug) ownership there is now.
async fn ownerships(db: &DatabaseConnection) -> Vec<(String, String)> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT s.key, t.slug FROM stage_ownership o
         JOIN journey_stage s ON s.id = o.stage_id JOIN team t ON t.id = o.team_id",
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        (
            r.try_get_by_index::<String>(0).unwrap(),
            r.try_get_by_index::<String>(1).unwrap(),
        )
    })
    .collect()
}

const STAGES: &str = "query($j: String!) { journey(slug: $j) { stages { id key position } } }";

/// The (ID, key) of each stage of journey `slug`, in order; the positions read must be 1..n.
async fn stages(app: &TestApp, slug: &str) -> Vec<(String, String)> {
    let body = send(app, STAGES, json!({ "j": slug })).await;
    let list = &body["data"]["journey"]["stages"];
    assert_one_to_n(list, &body);
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `list` (stages with `position`) holds the positions 1..n, in order.
fn assert_one_to_n(list: &Value, body: &Value) {
    let positions: Vec<i64> = list
        .as_array()
        .unwrap_or_else(|| panic!("no stages: {body:#}"))
        .iter()
        .map(|s| s["position"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = (1..=positions.len() as i64).collect();
    assert_eq!(positions, expected, "positions are not 1..n: {body:#}");
}

/// Positions of journey `slug` are 1..n in the database, in one statement (one snapshot).
fn positions_check(slug: &'static str) -> String {
    format!(
        "SELECT CASE WHEN COUNT(*) = COUNT(DISTINCT position)
                      AND COUNT(*) = COALESCE(MAX(position), 0)
                      AND COALESCE(MIN(position), 1) = 1 THEN 0 ELSE 1 END
         FROM journey_stage WHERE journey_id = (SELECT id FROM journey WHERE slug = '{slug}')"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_stage_moves_reorders_additions_and_removals_keep_positions_one_to_n() {
    let app = Arc::new(TestApp::spawn().await);
    let initial: Vec<String> = (1..=6).map(|i| format!("s{i}")).collect();
    let teams: Vec<String> = (0..3).map(|t| format!("crew-{t}")).collect();
    journey_and_teams(&app, "ordered", &initial, &teams).await;
    let teams = Arc::new(teams);

    const MOVED: &str = "journey { stages { position } }";
    let results = race(
        &app,
        |app, w| {
            let teams = teams.clone();
            async move {
                let mut rng = Rng::new(100 + w);
                let (mut added, mut removed) = (Vec::new(), Vec::new());
                let mut outcomes = Vec::new();
                for n in 0..OPS_PER_WRITER {
                    let current = stages(&app, "ordered").await;
                    let len = current.len();
                    let o = match rng.below(5) {
                        0 if len > 0 => {
                            let (id, _) = rng.pick(&current);
                            let body = send(
                                &app,
                                &format!("mutation($i: MoveStageInput!) {{ moveStage(input: $i) {{ {MOVED} }} }}"),
                                json!({ "i": { "id": id, "position": 1 + rng.below(len) } }),
                            )
                            .await;
                            // NOT_FOUND: the stage was removed since it was read; position: stages
                            // were removed since, and the journey is now shorter.
                            let o = outcome(&body, &["NOT_FOUND", "BAD_USER_INPUT"], &["position"]);
                            if o.is_none() {
                                assert_one_to_n(&body["data"]["moveStage"]["journey"]["stages"], &body);
                            }
                            o
                        }
                        1 => {
                            let mut keys: Vec<String> = current.iter().map(|(_, k)| k.clone()).collect();
                            for i in (1..keys.len()).rev() {
                                keys.swap(i, rng.below(i + 1));
                            }
                            let body = send(
                                &app,
                                &format!("mutation($i: ReorderStagesInput!) {{ reorderStages(input: $i) {{ {MOVED} }} }}"),
                                json!({ "i": { "journey": "ordered", "keys": keys } }),
                            )
                            .await;
                            // keys: a stage was added or removed since the keys were read, so
                            // they no longer name every stage exactly once.
                            let o = outcome(&body, &["BAD_USER_INPUT"], &["keys"]);
                            if o.is_none() {
                                assert_one_to_n(&body["data"]["reorderStages"]["journey"]["stages"], &body);
                            }
                            o
                        }
                        2 => {
                            let key = format!("w{w}-{n}");
                            let body = send(
                                &app,
                                "mutation($i: AddStageInput!) { addStage(input: $i) { stage { key } } }",
                                json!({ "i": { "journey": "ordered", "key": key, "name": key,
                                               "position": 1 + rng.below(len + 1) } }),
                            )
                            .await;
                            // position: stages were removed since the length was read.
                            let o = outcome(&body, &["BAD_USER_INPUT"], &["position"]);
                            if o.is_none() {
                                added.push(key);
                            }
                            o
                        }
                        3 if len > 3 => {
                            let (id, key) = rng.pick(&current).clone();
                            let body = send(
                                &app,
                                "mutation($i: RemoveStageInput!) { removeStage(input: $i) { deletedId } }",
                                json!({ "i": { "id": id } }),
                            )
                            .await;
                            // NOT_FOUND: another writer removed it first.
                            let o = outcome(&body, &["NOT_FOUND"], &[]);
                            if o.is_none() {
                                removed.push(key);
                            }
                            o
                        }
                        4 if len > 0 => {
                            let (_, key) = rng.pick(&current);
                            let body = send(
                                &app,
                                "mutation($i: AssignStageOwnerInput!) {
                                    assignStageOwner(input: $i) { ownership { id } } }",
                                json!({ "i": { "journey": "ordered", "stage": key,
                                               "team": rng.pick(&teams), "responsibility": "ACCOUNTABLE" } }),
                            )
                            .await;
                            // NOT_FOUND: the stage was removed since it was read; CONFLICT: the
                            // team or another one owns it already.
                            outcome(&body, &["NOT_FOUND", "CONFLICT"], &[])
                        }
                        _ => continue,
                    };
                    outcomes.push(o);
                }
                (added, removed, outcomes)
            }
        },
        |db| async move {
            assert_eq!(count(&db, &positions_check("ordered")).await, 0, "positions are not 1..n");
            assert_eq!(count(&db, TWO_ACCOUNTABLE).await, 0, "a stage has two ACCOUNTABLE owners");
        },
    )
    .await;

    let mut expected: BTreeSet<String> = initial.into_iter().collect();
    let mut all = Vec::new();
    for (added, _, o) in &results {
        for k in added {
            assert!(expected.insert(k.clone()), "{k} added twice");
        }
        all.extend(o.iter().cloned());
    }
    for (_, removed, _) in &results {
        for k in removed {
            assert!(expected.remove(k), "{k} removed twice, or never added");
        }
    }
    eprintln!("stage outcomes: {:?}", tally(all));
    let now: BTreeSet<String> = stages(&app, "ordered")
        .await
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(
        now, expected,
        "the stages are not the initial ones plus additions minus removals"
    );
}

const NOT_MEMBER_DRIS: &str = "SELECT COUNT(*) FROM stage_ownership o WHERE o.person_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM team_membership m
                    WHERE m.team_id = o.team_id AND m.person_id = o.person_id)";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_membership_changes_lose_none_and_keep_every_dri_a_member() {
    let app = Arc::new(TestApp::spawn().await);
    let crew = vec!["crew".to_owned()];
    journey_and_teams(&app, "staffed", &["a".to_owned(), "b".to_owned()], &crew).await;
    let people: Vec<String> = (0..4).map(|p| format!("person-{p}")).collect();
    for p in &people {
        app.data(
            "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { slug } } }",
            json!({ "i": { "slug": p, "name": format!("Person {p}") } }),
        )
        .await;
    }
    let mut ownerships = Vec::new();
    for stage in ["a", "b"] {
        let d = app
            .data(
                "mutation($i: AssignStageOwnerInput!) { assignStageOwner(input: $i) { ownership { id } } }",
                json!({ "i": { "journey": "staffed", "stage": stage, "team": "crew",
                               "responsibility": "RESPONSIBLE" } }),
            )
            .await;
        ownerships.push(
            d["assignStageOwner"]["ownership"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let (people, ownerships) = (Arc::new(people), Arc::new(ownerships));

    let results = race(
        &app,
        |app, w| {
            let (people, ownerships) = (people.clone(), ownerships.clone());
            async move {
                let mut rng = Rng::new(200 + w);
                let mut net: BTreeMap<String, i64> = BTreeMap::new();
                let mut outcomes = Vec::new();
                for _ in 0..OPS_PER_WRITER {
                    let person = rng.pick(&people).clone();
                    let role = *rng.pick(&["LEAD", "MEMBER"]);
                    let o = match rng.below(4) {
                        0 => {
                            let body = send(
                                &app,
                                "mutation($i: AddTeamMemberInput!) { addTeamMember(input: $i) { member { id } } }",
                                json!({ "i": { "team": "crew", "person": person, "role": role } }),
                            )
                            .await;
                            // CONFLICT: already a member.
                            let o = outcome(&body, &["CONFLICT"], &[]);
                            if o.is_none() {
                                *net.entry(person).or_default() += 1;
                            }
                            o
                        }
                        1 => {
                            let body = send(
                                &app,
                                "mutation($i: ChangeTeamMemberRoleInput!) {
                                    changeTeamMemberRole(input: $i) { member { role } } }",
                                json!({ "i": { "team": "crew", "person": person, "role": role } }),
                            )
                            .await;
                            // NOT_FOUND: not a member (never added, or removed).
                            outcome(&body, &["NOT_FOUND"], &[])
                        }
                        2 => {
                            let body = send(
                                &app,
                                "mutation($i: RemoveTeamMemberInput!) { removeTeamMember(input: $i) { deletedId } }",
                                json!({ "i": { "team": "crew", "person": person } }),
                            )
                            .await;
                            // NOT_FOUND: not a member (never added, or removed first).
                            let o = outcome(&body, &["NOT_FOUND"], &[]);
                            if o.is_none() {
                                *net.entry(person).or_default() -= 1;
                            }
                            o
                        }
                        _ => {
                            let body = send(
                                &app,
                                "mutation($i: ChangeStageOwnerInput!) {
                                    changeStageOwner(input: $i) { ownership { dri { slug } } } }",
                                json!({ "i": { "id": rng.pick(&ownerships), "dri": person } }),
                            )
                            .await;
                            // dri: the person is not a member of the team at this moment.
                            outcome(&body, &["BAD_USER_INPUT"], &["dri"])
                        }
                    };
                    outcomes.push(o);
                }
                (net, outcomes)
            }
        },
        |db| async move {
            assert_eq!(count(&db, NOT_MEMBER_DRIS).await, 0, "a DRI is not a member of the team");
        },
    )
    .await;

    let mut net: BTreeMap<String, i64> = BTreeMap::new();
    let mut all = Vec::new();
    for (n, o) in results {
        for (k, v) in n {
            *net.entry(k).or_default() += v;
        }
        all.extend(o);
    }
    eprintln!("membership outcomes: {:?}", tally(all));
    let body = send(
        &app,
        "{ team(slug: \"crew\") { members { person { slug } } } }",
        json!({}),
    )
    .await;
    let members: BTreeSet<String> = body["data"]["team"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["person"]["slug"].as_str().unwrap().to_owned())
        .collect();
    for p in people.iter() {
        let expected = i64::from(members.contains(p));
        assert_eq!(
            net.get(p).copied().unwrap_or(0),
            expected,
            "{p}: applied additions minus removals"
        );
    }
}

/// Every op of the mixed race: what it is, and the codes a race may legitimately answer.
async fn mixed_op(app: &TestApp, rng: &mut Rng, w: u64, n: u64) -> Option<String> {
    const ASSIGN: &str =
        "mutation($i: AssignStageOwnerInput!) { assignStageOwner(input: $i) { ownership { id } } }";
    let team = format!("mixed-{}", rng.below(3));
    let person = format!("who-{}", rng.below(3));
    let current = stages(app, "mixed").await;
    match rng.below(8) {
        0 | 1 if !current.is_empty() => {
            let (_, key) = rng.pick(&current);
            let mut input = json!({ "journey": "mixed", "stage": key, "team": team,
                                    "responsibility": rng.pick(&["ACCOUNTABLE", "RESPONSIBLE"]) });
            if rng.below(2) == 0 {
                input["dri"] = json!(person);
            }
            let body = send(app, ASSIGN, json!({ "i": input })).await;
            // NOT_FOUND: the stage, team or person was deleted since; dri: the person is not
            // a member of the team now; CONFLICT: taken, as in the ownership race, or the team was
            // deleted between its lookup and the insert.
            outcome(
                &body,
                &["CONFLICT", "NOT_FOUND", "BAD_USER_INPUT"],
                &["dri"],
            )
        }
        2 if !current.is_empty() => {
            let (_, key) = rng.pick(&current);
            let read = send(app, OWNERS, json!({ "j": "mixed", "s": key })).await;
            let owners = owners(&read["data"]["journey"]["stage"]["owners"]);
            if owners.is_empty() {
                return None;
            }
            let (id, _) = rng.pick(&owners);
            let body = send(
                app,
                "mutation($i: ChangeStageOwnerInput!) { changeStageOwner(input: $i) { ownership { id } } }",
                json!({ "i": { "id": id, "responsibility": "ACCOUNTABLE", "dri": person } }),
            )
            .await;
            // NOT_FOUND: the ownership (with its stage or team) or the person went since.
            outcome(
                &body,
                &["CONFLICT", "NOT_FOUND", "BAD_USER_INPUT"],
                &["dri"],
            )
        }
        3 if current.len() > 2 => {
            let (id, _) = rng.pick(&current);
            let body = send(
                app,
                "mutation($i: RemoveStageInput!) { removeStage(input: $i) { deletedId } }",
                json!({ "i": { "id": id } }),
            )
            .await;
            outcome(&body, &["NOT_FOUND"], &[])
        }
        3 => {
            let key = format!("m{w}-{n}");
            let body = send(
                app,
                "mutation($i: AddStageInput!) { addStage(input: $i) { stage { key } } }",
                json!({ "i": { "journey": "mixed", "key": key, "name": key, "position": 1 } }),
            )
            .await;
            outcome(&body, &[], &[])
        }
        4 => {
            let body = if rng.below(2) == 0 {
                send(
                    app,
                    "mutation($i: DeleteTeamInput!) { deleteTeam(input: $i) { deletedId } }",
                    json!({ "i": { "slug": team } }),
                )
                .await
            } else {
                send(
                    app,
                    "mutation($i: DeletePersonInput!) { deletePerson(input: $i) { deletedId } }",
                    json!({ "i": { "slug": person } }),
                )
                .await
            };
            // NOT_FOUND: deleted already.
            outcome(&body, &["NOT_FOUND"], &[])
        }
        5 => {
            let body = if rng.below(2) == 0 {
                send(
                    app,
                    "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { slug } } }",
                    json!({ "i": { "slug": team, "name": team, "department": "SALES" } }),
                )
                .await
            } else {
                send(
                    app,
                    "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { slug } } }",
                    json!({ "i": { "slug": person, "name": person } }),
                )
                .await
            };
            // CONFLICT: it exists (was never deleted, or was created again first).
            outcome(&body, &["CONFLICT"], &[])
        }
        6 => {
            let body = send(
                app,
                "mutation($i: AddTeamMemberInput!) { addTeamMember(input: $i) { member { id } } }",
                json!({ "i": { "team": team, "person": person } }),
            )
            .await;
            // NOT_FOUND: the team or person is deleted; CONFLICT: a member already, or the team
            // or person was deleted between its lookup and the insert.
            outcome(&body, &["CONFLICT", "NOT_FOUND"], &[])
        }
        7 => {
            let body = send(
                app,
                "mutation($i: RemoveTeamMemberInput!) { removeTeamMember(input: $i) { deletedId } }",
                json!({ "i": { "team": team, "person": person } }),
            )
            .await;
            outcome(&body, &["NOT_FOUND"], &[])
        }
        _ if !current.is_empty() => {
            let (id, _) = rng.pick(&current);
            let body = send(
                app,
                "mutation($i: MoveStageInput!) { moveStage(input: $i) { journey { slug } } }",
                json!({ "i": { "id": id, "position": 1 + rng.below(current.len()) } }),
            )
            .await;
            outcome(&body, &["NOT_FOUND", "BAD_USER_INPUT"], &["position"])
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_deletions_and_recreations_against_ownership_changes_keep_every_rule() {
    let app = Arc::new(TestApp::spawn().await);
    let keys: Vec<String> = (1..=5).map(|i| format!("m{i}")).collect();
    let teams: Vec<String> = (0..3).map(|t| format!("mixed-{t}")).collect();
    journey_and_teams(&app, "mixed", &keys, &teams).await;
    for p in 0..3 {
        let person = format!("who-{p}");
        app.data(
            "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { slug } } }",
            json!({ "i": { "slug": person, "name": person } }),
        )
        .await;
        app.data(
            "mutation($i: AddTeamMemberInput!) { addTeamMember(input: $i) { member { id } } }",
            json!({ "i": { "team": format!("mixed-{p}"), "person": person } }),
        )
        .await;
    }

    let results = race(
        &app,
        |app, w| async move {
            let mut rng = Rng::new(300 + w);
            let mut outcomes = Vec::new();
            for n in 0..OPS_PER_WRITER {
                outcomes.push(mixed_op(&app, &mut rng, w, n).await);
            }
            outcomes
        },
        |db| async move {
            assert_eq!(
                count(&db, &positions_check("mixed")).await,
                0,
                "positions are not 1..n"
            );
            assert_eq!(
                count(&db, TWO_ACCOUNTABLE).await,
                0,
                "a stage has two ACCOUNTABLE owners"
            );
            assert_eq!(
                count(&db, NOT_MEMBER_DRIS).await,
                0,
                "a DRI is not a member of the team"
            );
        },
    )
    .await;
    eprintln!("mixed outcomes: {:?}", tally(results.into_iter().flatten()));
}
