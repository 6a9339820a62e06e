//! The frontend's nested read (personas with roles, relevance, links, teams, journeys, stages,
//! owners, members and DRIs) runs in a fixed number of SQL statements, whatever the number of
//! rows: every relation resolves through the per-request `DataLoader`.

use crate::helpers::TestApp;
use chrono::Utc;
use entity::enums::{
    AlignmentLevel, Department, MembershipRole, PersonaKind, PersonaLinkKind, Provenance,
    RelevanceLevel, Responsibility, Status,
};
use entity::{
    journey, journey_persona, journey_stage, person, persona, persona_link,
    persona_product_relevance, product, role, stage_ownership, team, team_membership,
    team_persona_alignment,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, TransactionTrait};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const NESTED: &str = r"{
  personas(first: 50) {
    nodes {
      slug
      roles { title }
      painPoints
      motivations
      productRelevance { level product { slug } }
      links { kind to { slug } }
      alignedTeams { team { slug } }
      journeys {
        slug
        stages {
          key
          owners {
            responsibility
            team { slug members { person { name } } }
            dri { name }
          }
        }
      }
    }
  }
}";

/// Stages per journey in the generated data.
const STAGES: usize = 3;

/// Writes `n` self-similar units, so that ten times the units is ten times every relation:
/// per unit a DEV persona with 2 roles, 2 pain points, 2 motivations, a product it is
/// PRIMARY for, a link to the next persona, a team aligned to it, a team of 2 people, and a
/// journey narrowed to it with 3 stages, each owned by the unit's team of people
/// (ACCOUNTABLE, the team lead as DRI) and the next unit's (RESPONSIBLE).
async fn build(db: &DatabaseConnection, n: usize) {
    let txn = db.begin().await.unwrap();
    let now = Utc::now();
    let mut personas = Vec::new();
    let mut teams = Vec::new();
    let mut leads = Vec::new();
    for i in 0..n {
        let p = persona::ActiveModel {
            slug: Set(format!("persona-{i}")),
            name: Set(format!("Persona {i}")),
            kind: Set(PersonaKind::Dev),
            status: Set(Status::Active),
            pain_points: Set(json!([format!("pain {i}a"), format!("pain {i}b")])),
            motivations: Set(json!([format!("motive {i}a"), format!("motive {i}b")])),
            sort_order: Set(i as i32),
            provenance: Set(Provenance::Editor),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        for r in 0..2 {
            role::ActiveModel {
                persona_id: Set(p.id),
                title: Set(format!("Role {i}.{r}")),
                sort_order: Set(r + 1),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .unwrap();
        }
        let prod = product::ActiveModel {
            slug: Set(format!("product-{i}")),
            name: Set(format!("Product {i}")),
            provenance: Set(Provenance::Editor),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        persona_product_relevance::ActiveModel {
            persona_id: Set(p.id),
            product_id: Set(prod.id),
            level: Set(RelevanceLevel::Primary),
            provenance: Set(Provenance::Editor),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        let t = team::ActiveModel {
            slug: Set(format!("team-{i}")),
            name: Set(format!("Team {i}")),
            department: Set(Department::Product),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        for m in 0..2 {
            let who = person::ActiveModel {
                slug: Set(format!("person-{i}-{m}")),
                name: Set(format!("Person {i}.{m}")),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .unwrap();
            team_membership::ActiveModel {
                team_id: Set(t.id),
                person_id: Set(who.id),
                role: Set(if m == 0 {
                    MembershipRole::Lead
                } else {
                    MembershipRole::Member
                }),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .unwrap();
            if m == 0 {
                leads.push(who.id);
            }
        }
        // Aligned teams are not the owning teams: were they the same, whether the owners'
        // teams came from the cache would depend on which of two concurrent batches finished
        // first.
        let aligned = team::ActiveModel {
            slug: Set(format!("aligned-team-{i}")),
            name: Set(format!("Aligned team {i}")),
            department: Set(Department::Marketing),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        team_persona_alignment::ActiveModel {
            team_id: Set(aligned.id),
            persona_id: Set(p.id),
            level: Set(AlignmentLevel::Primary),
            provenance: Set(Provenance::Editor),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        personas.push(p.id);
        teams.push(t.id);
    }
    for i in 0..n {
        let next = (i + 1) % n;
        persona_link::ActiveModel {
            from_persona_id: Set(personas[i]),
            to_persona_id: Set(personas[next]),
            kind: Set(PersonaLinkKind::Influences),
            provenance: Set(Provenance::Editor),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        let j = journey::ActiveModel {
            slug: Set(format!("journey-{i}")),
            name: Set(format!("Journey {i}")),
            persona_kind: Set(PersonaKind::Dev),
            status: Set(Status::Active),
            provenance: Set(Provenance::Editor),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        // Narrowed to one persona, so that each persona sees one journey (not all of its kind).
        journey_persona::ActiveModel {
            journey_id: Set(j.id),
            persona_id: Set(personas[i]),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        for s in 0..STAGES {
            let stage = journey_stage::ActiveModel {
                journey_id: Set(j.id),
                key: Set(format!("stage-{s}")),
                name: Set(format!("Stage {s}")),
                position: Set(s as i32 + 1),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .unwrap();
            for (team_id, responsibility, dri) in [
                (teams[i], Responsibility::Accountable, Some(leads[i])),
                (teams[next], Responsibility::Responsible, None),
            ] {
                stage_ownership::ActiveModel {
                    stage_id: Set(stage.id),
                    team_id: Set(team_id),
                    person_id: Set(dri),
                    responsibility: Set(responsibility),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await
                .unwrap();
            }
        }
    }
    txn.commit().await.unwrap();
}

/// How many values the response holds at each path: list elements and non-null objects.
fn census(v: &Value, path: &str, out: &mut BTreeMap<String, usize>) {
    match v {
        Value::Array(items) => {
            *out.entry(path.to_owned()).or_default() += items.len();
            for item in items {
                census_fields(item, path, out);
            }
        }
        Value::Object(_) => {
            *out.entry(path.to_owned()).or_default() += 1;
            census_fields(v, path, out);
        }
        _ => {}
    }
}

fn census_fields(v: &Value, path: &str, out: &mut BTreeMap<String, usize>) {
    if let Value::Object(fields) = v {
        for (k, child) in fields {
            census(child, &format!("{path}.{k}"), out);
        }
    }
}

/// Runs the nested query on `n` units and answers (statements, census).
async fn measure(n: usize) -> (usize, BTreeMap<String, usize>) {
    let app = TestApp::spawn().await;
    build(&app.db, n).await;
    app.reset_statements();
    let data = app.data(NESTED, json!({})).await;
    let statements = app.statements();
    let mut counts = BTreeMap::new();
    census(&data["personas"]["nodes"], "personas", &mut counts);
    (statements, counts)
}

#[tokio::test]
async fn the_nested_persona_query_runs_a_fixed_number_of_statements_at_ten_times_the_rows() {
    let (small_statements, small) = measure(5).await;
    let (large_statements, large) = measure(50).await;

    // What each run returned, per path: ten times the units, ten times every relation.
    let per_unit = BTreeMap::from([
        ("personas", 1),
        ("personas.roles", 2),
        ("personas.painPoints", 2),
        ("personas.motivations", 2),
        ("personas.productRelevance", 1),
        ("personas.productRelevance.product", 1),
        ("personas.links", 1),
        ("personas.links.to", 1),
        ("personas.alignedTeams", 1),
        ("personas.alignedTeams.team", 1),
        ("personas.journeys", 1),
        ("personas.journeys.stages", STAGES),
        ("personas.journeys.stages.owners", 2 * STAGES),
        ("personas.journeys.stages.owners.team", 2 * STAGES),
        ("personas.journeys.stages.owners.team.members", 4 * STAGES),
        (
            "personas.journeys.stages.owners.team.members.person",
            4 * STAGES,
        ),
        ("personas.journeys.stages.owners.dri", STAGES),
    ]);
    let expect = |n: usize| -> BTreeMap<String, usize> {
        per_unit
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v * n))
            .collect()
    };
    assert_eq!(small, expect(5));
    assert_eq!(large, expect(50));
    let rows = |c: &BTreeMap<String, usize>| c.values().sum::<usize>();
    assert_eq!(rows(&large), 10 * rows(&small));
    assert_eq!(rows(&small), 5 * 56);

    // One statement per relation (key type) per level, on SQLite and PostgreSQL alike, the
    // to-one relations of relevance, alignments, ownerships and memberships riding in their
    // list's statement:
    //   1  personas page (keyset query; totalCount is not selected)
    //   5  roles, productRelevance with each product, links, alignedTeams with each team,
    //      journeys (by persona kind)
    //   2  link targets (personas), journey narrowing
    //   1  stages
    //   1  owners, each with its team and DRI
    //   1  the owning teams' members, each with the person
    // That is 11 at any size.
    for (n, statements) in [(5, small_statements), (50, large_statements)] {
        assert_eq!(
            statements, 11,
            "{statements} statements at {n} units: the count follows the rows"
        );
    }
}

#[tokio::test]
async fn a_query_that_plans_a_catalog_file_beside_its_reads_answers_on_a_pool_of_one() {
    // A query reads through one held connection; planning takes a transaction of its own.
    // With one connection in the pool, the plan must not wait on the request's own reads.
    let app = TestApp::spawn_pooled(persona_graph::config::Settings::default(), 1).await;
    let loader = persona_graph::db::connect(&app.database_url, 2)
        .await
        .expect("connect to the test database");
    persona_graph::catalog::seed(&loader)
        .await
        .expect("load the seed catalog");
    loader.close().await.expect("close the seeding pool");
    let exported = app.data("{ exportCatalog { yaml } }", json!({})).await;
    let yaml = exported["exportCatalog"]["yaml"]
        .as_str()
        .unwrap()
        .to_owned();
    // Waiting on itself, the plan would fail after the pool's acquire timeout.
    let data = app
        .data(
            "query($y: String!) { \
               personas(first: 3) { nodes { slug roles { title } } } \
               planCatalog(yaml: $y) { hasChanges } \
               teams(first: 2) { nodes { slug members { person { name } } } } }",
            json!({ "y": yaml }),
        )
        .await;
    assert_eq!(data["planCatalog"]["hasChanges"], false);
    assert_eq!(data["personas"]["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(data["teams"]["nodes"].as_array().unwrap().len(), 2);
}
