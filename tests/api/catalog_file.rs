//! The catalog as code: export, plan and apply of the whole catalog as a YAML file, through the
//! library, the command line and the API, as an operations team uses them.

use crate::helpers::{TestApp, digest, error_code};
use entity::api_token::TokenRole;
use persona_graph::catalog::plan::Action;
use persona_graph::catalog::{self, ApplyOptions, SeedError};
use persona_graph::generate::{self, GenerateOptions};
use serde_json::{Value, json};

fn without_version(yaml: &str) -> String {
    yaml.lines()
        .filter(|l| !l.starts_with("catalogVersion:"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn apply(app: &TestApp, yaml: &str, prune: bool) -> Result<catalog::plan::Plan, SeedError> {
    let options = ApplyOptions {
        prune,
        expect_version: None,
    };
    catalog::apply_yaml(&app.db, yaml, &options, &catalog::file_actor()).await
}

/// Runs the binary against the app's database: (exit code, stdout, stderr).
fn cli(app: &TestApp, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_persona-graph"))
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn an_export_is_stable_and_applying_it_changes_nothing() {
    let app = TestApp::seeded().await;
    let first = catalog::export(&app.db).await.unwrap();
    let second = catalog::export(&app.db).await.unwrap();
    assert_eq!(first, second, "exporting twice gives the same bytes");
    assert!(first.contains("\ncatalogVersion: "), "{first}");
    assert!(!first.contains("id:"), "no database IDs: {first}");

    let before = digest(&app.db).await;
    let plan = catalog::plan_yaml(&app.db, &first, true).await.unwrap();
    assert!(!plan.has_changes(), "{}", plan.text());
    assert!(
        plan.text()
            .ends_with("Plan: 0 to add, 0 to change, 0 to delete.\n")
    );
    let applied = apply(&app, &first, true).await.unwrap();
    assert!(!applied.has_changes());
    assert_eq!(
        digest(&app.db).await,
        before,
        "nothing written, nothing recorded"
    );
    // The seed file itself is a file of the same format, and matches the seeded catalog.
    let plan = catalog::plan_yaml(&app.db, catalog::CATALOG_YAML, false)
        .await
        .unwrap();
    assert!(!plan.has_changes(), "{}", plan.text());
}

#[tokio::test]
async fn an_export_applied_to_an_empty_database_reproduces_the_catalog() {
    let source = TestApp::seeded().await;
    let yaml = catalog::export(&source.db).await.unwrap();
    let target = TestApp::spawn().await;
    let plan = apply(&target, &yaml, false).await.unwrap();
    assert_eq!(plan.to_delete(), 0);
    assert_eq!(plan.to_change(), 0);
    assert!(plan.to_add() > 100, "{}", plan.summary());
    assert_eq!(
        without_version(&catalog::export(&target.db).await.unwrap()),
        without_version(&yaml)
    );
    // The matrix reads the same.
    let q = r#"{ ownershipMatrix(journey: "buyer-journey") { rows { team { slug } cells { stageKey responsibility ownership { dri { slug } note } } } } }"#;
    assert_eq!(
        target.data(q, json!({})).await,
        source.data(q, json!({})).await
    );
}

#[tokio::test]
async fn a_generated_catalog_of_a_thousand_personas_round_trips() {
    let source = TestApp::spawn().await;
    generate::run(
        &source.db,
        &GenerateOptions {
            personas: 1000,
            ..GenerateOptions::default()
        },
    )
    .await
    .unwrap();
    let yaml = catalog::export(&source.db).await.unwrap();
    // People in several teams, DRIs on responsible rows and notes need the long forms.
    assert!(yaml.contains("memberships:"));
    assert!(yaml.contains("note: Synthetic ownership note"));
    let target = TestApp::spawn().await;
    apply(&target, &yaml, false).await.unwrap();
    let again = catalog::export(&target.db).await.unwrap();
    assert_eq!(without_version(&again), without_version(&yaml));
    let plan = catalog::plan_yaml(&target.db, &again, true).await.unwrap();
    assert!(!plan.has_changes(), "{}", plan.summary());
}

/// The operations team's edit: rename a stage, move an ownership, add a persona, remove a team.
fn edited(yaml: &str) -> String {
    let yaml = yaml.replacen("name: Discover\n", "name: Discover and learn\n", 1);
    let yaml = yaml.replacen(
        "personas:\n- slug: dev\n",
        "personas:\n- slug: staff-engineer\n  name: Staff Engineer\n  kind: DEV\n  roles:\n  - Staff Engineer\n- slug: dev\n",
        1,
    );
    // buyer-journey/commit: from account-executives to technical-advisors (who were INFORMED).
    let yaml = yaml.replacen(
        "    commit:\n      A: account-executives\n      C:\n      - customer-engineering\n      I:\n      - digital-success\n      - technical-advisors\n",
        "    commit:\n      A: technical-advisors\n      C:\n      - customer-engineering\n      I:\n      - account-executives\n      - digital-success\n",
        1,
    );
    assert!(yaml.contains("A: technical-advisors\n      C:\n      - customer-engineering\n      I:\n      - account-executives"), "the commit stage's RACI moved: {yaml}");
    // Remove the exec team and every mention of it.
    let mut out = Vec::new();
    let mut skipping = false;
    for line in yaml.lines() {
        if line == "- slug: exec-team" || line == "- team: exec-team" {
            skipping = true;
            continue;
        }
        if skipping && line.starts_with("  ") {
            continue;
        }
        skipping = false;
        if line.trim() == "- exec-team" {
            continue;
        }
        out.push(line);
    }
    out.join("\n") + "\n"
}

#[tokio::test]
async fn an_edited_file_is_planned_then_applied_and_recorded() {
    let app = TestApp::seeded().await;
    let yaml = edited(&catalog::export(&app.db).await.unwrap());

    let (code, text, err) = cli(&app, &["plan", "-"], Some(&yaml));
    assert_eq!(code, 2, "changes exit 2: {text}{err}");
    assert!(text.contains("  + persona staff-engineer\n"), "{text}");
    assert!(
        text.contains(
            "  ~ stage dev-journey/discover\n      name: \"Discover\" -> \"Discover and learn\"\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  ~ ownership buyer-journey/commit/account-executives\n      responsibility: \"ACCOUNTABLE\" -> \"INFORMED\"\n"),
        "{text}"
    );
    assert!(
        text.contains("  ~ ownership buyer-journey/commit/technical-advisors\n      responsibility: \"INFORMED\" -> \"ACCOUNTABLE\"\n"),
        "{text}"
    );
    assert!(
        text.contains("  = team exec-team (not in the file: kept; --prune deletes it)\n"),
        "{text}"
    );
    assert!(
        text.ends_with("Plan: 2 to add, 3 to change, 0 to delete.\n"),
        "{text}"
    );
    let first_line = text.lines().next().unwrap();
    assert!(first_line.starts_with("Catalog version "), "{first_line}");

    let (code, json_plan, _) = cli(
        &app,
        &["plan", "-", "--prune", "--format", "json"],
        Some(&yaml),
    );
    assert_eq!(code, 2);
    let plan: Value = serde_json::from_str(&json_plan).unwrap();
    assert_eq!(
        plan["toDelete"], 3,
        "the team, its alignment and its ownership: {plan}"
    );
    assert!(
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "team" && s["key"] == "exec-team" && s["action"] == "DELETE"),
        "{plan}"
    );

    let (code, out, err) = cli(
        &app,
        &[
            "apply",
            "-",
            "--prune",
            "--expect-version",
            &plan["catalogVersion"].to_string(),
        ],
        Some(&yaml),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("Apply complete: 2 added, 3 changed, 3 deleted"),
        "{err}"
    );

    let data = app
        .data(
            r#"{ team(slug: "exec-team") { slug }
                 persona(slug: "staff-engineer") { name roles { title } }
                 journey(slug: "dev-journey") { stage(key: "discover") { name } }
                 ownershipMatrix(journey: "buyer-journey") { rows { team { slug } cells { stageKey responsibility } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["team"], Value::Null);
    assert_eq!(data["persona"]["roles"][0]["title"], "Staff Engineer");
    assert_eq!(data["journey"]["stage"]["name"], "Discover and learn");
    let letter = |team: &str| {
        data["ownershipMatrix"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["team"]["slug"] == team)
            .and_then(|r| {
                r["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["stageKey"] == "commit")
            })
            .map(|c| c["responsibility"].clone())
    };
    assert_eq!(letter("technical-advisors"), Some(json!("ACCOUNTABLE")));
    assert_eq!(letter("account-executives"), Some(json!("INFORMED")));

    // The history names the file.
    let history = app
        .data(
            r#"{ persona(slug: "staff-engineer") { history(first: 5) { nodes { actor action } } } }"#,
            json!({}),
        )
        .await;
    let actor = history["persona"]["history"]["nodes"][0]["actor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        actor,
        format!("catalog-file@sha256:{}", catalog::digest(&yaml))
    );

    // The same file again: nothing to do, exit 0, nothing written.
    let before = digest(&app.db).await;
    let (code, text, _) = cli(&app, &["plan", "-", "--prune"], Some(&yaml));
    assert_eq!(code, 0, "{text}");
    let (code, _, err) = cli(&app, &["apply", "-", "--prune"], Some(&yaml));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Apply complete: 0 added, 0 changed, 0 deleted"),
        "{err}"
    );
    assert_eq!(digest(&app.db).await, before);
}

#[tokio::test]
async fn a_stale_plan_is_refused_and_changes_nothing() {
    let app = TestApp::seeded().await;
    let yaml = edited(&catalog::export(&app.db).await.unwrap());
    let plan = catalog::plan_yaml(&app.db, &yaml, false).await.unwrap();
    // An editor changes the catalog after the plan was made.
    app.data(
        r#"mutation { createProduct(input: { slug: "batch-changes", name: "Batch Changes" }) { product { slug } } }"#,
        json!({}),
    )
    .await;
    let before = digest(&app.db).await;
    let err = catalog::apply_yaml(
        &app.db,
        &yaml,
        &ApplyOptions {
            prune: false,
            expect_version: Some(plan.catalog_version),
        },
        &catalog::file_actor(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SeedError::Stale { .. }), "{err}");
    assert_eq!(err.code(), "CONFLICT");
    assert!(err.to_string().starts_with("stale plan: "), "{err}");
    assert_eq!(digest(&app.db).await, before);
    let (code, _, stderr) = cli(
        &app,
        &[
            "apply",
            "-",
            "--expect-version",
            &plan.catalog_version.to_string(),
        ],
        Some(&yaml),
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("stale plan"), "{stderr}");
}

/// A broken file: every problem named, nothing changed, exit 1.
async fn refused(app: &TestApp, yaml: &str, expected: &[&str]) {
    let before = digest(&app.db).await;
    let err = apply(app, yaml, true).await.unwrap_err();
    let problems = err.problems().join("\n");
    for e in expected {
        assert!(problems.contains(e), "`{e}` missing from:\n{problems}");
    }
    assert_eq!(digest(&app.db).await, before, "nothing changed");
    let (code, _, stderr) = cli(app, &["plan", "-"], Some(yaml));
    assert_eq!(code, 1, "{stderr}");
}

#[tokio::test]
async fn broken_files_are_refused_with_precise_messages() {
    let app = TestApp::seeded().await;
    let good = catalog::export(&app.db).await.unwrap();

    refused(&app, "personas: [ { slug: dev", &["line 1 column"]).await;
    // An empty file is not an empty catalog: with --prune it would delete everything.
    refused(&app, "# nothing here\n", &["the file holds no catalog"]).await;
    refused(
        &app,
        "personas:\n- slug: x\n  name: X\n  kind: FOO\n",
        &["personas[0].kind: unknown variant `FOO`", "line 4 column"],
    )
    .await;
    refused(
        &app,
        &good.replacen("  sortOrder: 1\n", "  sortOrder: 1\n  sumary: typo\n", 1),
        &["unknown field `sumary`", "line "],
    )
    .await;
    refused(
        &app,
        &good.replacen("- team: devex-marketing\n", "- team: devex-marketting\n", 1),
        &["unknown team `devex-marketting`"],
    )
    .await;
    // Two problems at once: a bad slug and a name of spaces.
    refused(
        &app,
        &good
            .replacen(
                "- slug: cody\n  name: Cody\n",
                "- slug: Not A Slug!\n  name: '   '\n",
                1,
            )
            .replace("product: cody", "product: Not A Slug!"),
        &[
            "product `Not A Slug!`: slug: must be kebab-case",
            "product `Not A Slug!`: name: must not be empty",
        ],
    )
    .await;
    refused(
        &app,
        &good.replacen(
            "- slug: sdr\n",
            "- slug: sdr\n  name: Again\n  department: SALES\n- slug: sdr\n",
            1,
        ),
        &["team `sdr` is defined more than once"],
    )
    .await;
    // A DRI who is not a member of the team.
    refused(
        &app,
        &good.replacen(
            "      A: product-management\n",
            "      A:\n        team: product-management\n        dri: ce-lead\n",
            1,
        ),
        &["dri `ce-lead` is not a member of the team `product-management`"],
    )
    .await;
    // Two accountable teams for one stage.
    refused(
        &app,
        &good.replacen("      A: sdr\n", "      A: [sdr, exec-team]\n", 1),
        &["A: "],
    )
    .await;
    refused(
        &app,
        &format!("{good}\n# {}", "x".repeat(catalog::MAX_FILE_BYTES)),
        &["the limit is"],
    )
    .await;
}

#[tokio::test]
async fn admins_export_plan_and_apply_over_the_api() {
    let app = TestApp::seeded().await;
    // Made first: a new token is in the history, which moves the catalog version.
    let editor = app.token(TokenRole::Editor).await;
    let exported = app
        .data("{ exportCatalog { catalogVersion yaml } }", json!({}))
        .await;
    let yaml = exported["exportCatalog"]["yaml"]
        .as_str()
        .unwrap()
        .to_owned();
    let yaml = edited(&yaml);
    let plan = app
        .data(
            "query($y: String!) { planCatalog(yaml: $y, prune: true) { catalogVersion toAdd toChange toDelete hasChanges text steps { kind key action fields { field old new } } } }",
            json!({ "y": yaml }),
        )
        .await;
    let plan = &plan["planCatalog"];
    assert_eq!(
        plan["catalogVersion"],
        exported["exportCatalog"]["catalogVersion"]
    );
    assert_eq!(
        (
            plan["toAdd"].clone(),
            plan["toChange"].clone(),
            plan["toDelete"].clone()
        ),
        (json!(2), json!(3), json!(3))
    );
    assert!(
        plan["text"]
            .as_str()
            .unwrap()
            .ends_with("Plan: 2 to add, 3 to change, 3 to delete.\n")
    );

    // An editor may not.
    let body = app
        .gql_as(Some(&editor), "{ exportCatalog { yaml } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // A broken file answers every problem.
    let body = app
        .gql(
            "query($y: String!) { planCatalog(yaml: $y) { toAdd } }",
            json!({ "y": yaml.replace("- team: devex-marketing\n", "- team: nobody\n").replace("A: sdr", "A: no-such-team") }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    let problems = body["errors"][0]["extensions"]["problems"]
        .as_array()
        .unwrap();
    assert!(problems.len() >= 2, "{body}");

    // A stale version is refused; the right one applies.
    let stale = app
        .gql(
            "mutation($y: String!) { applyCatalog(yaml: $y, prune: true, expectVersion: 1) { toAdd } }",
            json!({ "y": yaml }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT", "{stale}");
    let applied = app
        .data(
            "mutation($y: String!, $v: Int) { applyCatalog(yaml: $y, prune: true, expectVersion: $v) { toAdd toChange toDelete hasChanges } }",
            json!({ "y": yaml, "v": plan["catalogVersion"] }),
        )
        .await;
    assert_eq!(applied["applyCatalog"]["toDelete"], 3);
    let history = app
        .data(
            r#"{ persona(slug: "staff-engineer") { history(first: 1) { nodes { actor } } } }"#,
            json!({}),
        )
        .await;
    let actor = history["persona"]["history"]["nodes"][0]["actor"]
        .as_str()
        .unwrap();
    assert!(
        actor.starts_with("test-admin via catalog-file@sha256:"),
        "{actor}"
    );
    let again = app
        .data(
            "query($y: String!) { planCatalog(yaml: $y, prune: true) { hasChanges } }",
            json!({ "y": yaml }),
        )
        .await;
    assert_eq!(again["planCatalog"]["hasChanges"], false);
    let _ = Action::Keep;
}

#[tokio::test]
async fn a_saved_plan_applies_only_to_its_file_and_version() {
    let app = TestApp::seeded().await;
    let yaml = edited(&catalog::export(&app.db).await.unwrap());
    let dir = std::env::temp_dir().join(format!("persona-graph-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (file, saved) = (dir.join("catalog.yaml"), dir.join("plan.json"));
    std::fs::write(&file, &yaml).unwrap();
    let (code, json_plan, _) = cli(
        &app,
        &["plan", file.to_str().unwrap(), "--format", "json"],
        None,
    );
    assert_eq!(code, 2);
    std::fs::write(&saved, &json_plan).unwrap();
    let plan: Value = serde_json::from_str(&json_plan).unwrap();
    assert_eq!(plan["fileDigest"], catalog::digest(&yaml));

    // Another file is refused, naming both digests.
    let other = dir.join("other.yaml");
    std::fs::write(&other, format!("{yaml}# another line\n")).unwrap();
    let before = digest(&app.db).await;
    let (code, _, stderr) = cli(
        &app,
        &[
            "apply",
            other.to_str().unwrap(),
            "--plan",
            saved.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("was planned for another file"), "{stderr}");
    assert_eq!(digest(&app.db).await, before);

    // Its own file applies.
    let (code, _, stderr) = cli(
        &app,
        &[
            "apply",
            file.to_str().unwrap(),
            "--plan",
            saved.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    // And the same saved plan again is stale: the catalog moved on.
    let (code, _, stderr) = cli(
        &app,
        &[
            "apply",
            file.to_str().unwrap(),
            "--plan",
            saved.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("stale plan"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn pruning_removes_stages_people_and_links_the_file_leaves_out() {
    let app = TestApp::seeded().await;
    let yaml = catalog::export(&app.db).await.unwrap();
    // The dev journey loses its last stage (and the stage's owners with it), the person
    // `pm-growth` goes (a DRI), and a persona loses its slides.
    let yaml = yaml.replacen(
        "  - key: advocate-expand\n    name: Advocate and Expand\n    goal: Brings it to the team and becomes a champion\n",
        "",
        1,
    );
    assert!(!yaml.contains("key: advocate-expand"), "{yaml}");
    let mut out = Vec::new();
    // Skips a block: the lines after `start` that are indented deeper than it.
    let mut skip_deeper_than: Option<usize> = None;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(depth) = skip_deeper_than {
            if indent > depth {
                continue;
            }
            skip_deeper_than = None;
        }
        if line == "    advocate-expand:" || line == "- slug: pm-growth" {
            skip_deeper_than = Some(indent);
            continue;
        }
        if line == "      dri: pm-growth" {
            continue;
        }
        out.push(line);
    }
    let yaml = out.join("\n") + "\n";
    let plan = catalog::plan_yaml(&app.db, &yaml, true).await.unwrap();
    let deleted: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.action == Action::Delete)
        .map(|s| format!("{} {}", s.kind, s.key))
        .collect();
    assert!(
        deleted.contains(&"stage dev-journey/advocate-expand".to_owned()),
        "{deleted:?}"
    );
    assert!(
        deleted.contains(&"person pm-growth".to_owned()),
        "{deleted:?}"
    );
    apply(&app, &yaml, true).await.unwrap();
    let data = app
        .data(
            r#"{ journey(slug: "dev-journey") { stages { key position } } }"#,
            json!({}),
        )
        .await;
    let keys: Vec<&str> = data["journey"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["discover", "evaluate", "activate", "adopt"]);
    let again = catalog::plan_yaml(&app.db, &yaml, true).await.unwrap();
    assert!(!again.has_changes(), "{}", again.text());
}
