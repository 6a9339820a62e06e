//! `persona-graph export`, `plan` and `apply`: the catalog as a reviewed YAML file.
//!
//! `plan` exits 0 when the file matches the catalog, 2 when applying it would change
//! something, 1 on an error (Terraform's `-detailed-exitcode`), so CI can gate on it.

use crate::catalog::plan::Plan;
use crate::catalog::{self, ApplyOptions, SeedError};
use clap::{Args, ValueEnum};
use sea_orm::DatabaseConnection;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

/// Options of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Write the catalog to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Options of `plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The catalog file (`-` for standard input).
    pub file: PathBuf,
    /// Also delete what the file leaves out (otherwise it is listed as kept).
    #[arg(long)]
    pub prune: bool,
    /// How the plan is printed.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// Options of `apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The catalog file (`-` for standard input).
    pub file: PathBuf,
    /// Also delete what the file leaves out (otherwise it is kept).
    #[arg(long)]
    pub prune: bool,
    /// Refuse, changing nothing, unless the catalog is still at this version (the one a
    /// plan names).
    #[arg(long)]
    pub expect_version: Option<i64>,
    /// A plan saved by `plan --format json`: refuse unless it was made for this very file and
    /// the catalog is still at its version.
    #[arg(long, conflicts_with = "expect_version")]
    pub plan: Option<PathBuf>,
    /// Apply without showing the plan and asking first (asked only on a terminal).
    #[arg(long, short)]
    pub yes: bool,
    /// How the applied plan is printed.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Lines like Terraform's, grouped by kind, and a summary line.
    Text,
    /// The plan as one JSON object.
    Json,
}

/// What a file command printed and how it exits.
#[derive(Debug, Default)]
pub struct Outcome {
    /// For scripts: the catalog, the plan.
    pub stdout: String,
    /// For people: what was done, or why not.
    pub stderr: String,
    /// The process's exit code.
    pub code: i32,
}

impl Outcome {
    fn failed(err: &SeedError) -> Self {
        let mut stderr = String::from("error: ");
        match err {
            SeedError::Invalid(problems) => {
                stderr.push_str(&format!(
                    "the catalog file is invalid ({} problems):\n",
                    problems.len()
                ));
                for p in problems {
                    stderr.push_str(&format!("  - {p}\n"));
                }
            }
            other => {
                stderr.push_str(&other.to_string());
                stderr.push('\n');
            }
        }
        Self {
            stdout: String::new(),
            stderr,
            code: 1,
        }
    }
}

fn read_file(path: &PathBuf) -> Result<String, SeedError> {
    let unreadable = |e: std::io::Error| SeedError::Unreadable(format!("{}: {e}", path.display()));
    let limit = catalog::MAX_FILE_BYTES as u64 + 1;
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(limit)
            .read_to_string(&mut text)
            .map_err(unreadable)?;
    } else {
        std::fs::File::open(path)
            .map_err(unreadable)?
            .take(limit)
            .read_to_string(&mut text)
            .map_err(unreadable)?;
    }
    Ok(text)
}

fn shown(plan: &Plan, format: PlanFormat, text: &str) -> String {
    match format {
        PlanFormat::Text => plan.text(),
        PlanFormat::Json => {
            let mut json = PlanJson::from(plan);
            json.file_digest = catalog::digest(text);
            let mut s = serde_json::to_string_pretty(&json).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

/// The catalog version a saved plan was made at, if it was made for `text`.
fn saved_plan(path: &PathBuf, text: &str) -> Result<i64, SeedError> {
    let saved = std::fs::read_to_string(path)
        .map_err(|e| SeedError::Unreadable(format!("{}: {e}", path.display())))?;
    let json: serde_json::Value = serde_json::from_str(&saved).map_err(|e| {
        SeedError::Unreadable(format!(
            "{}: not a plan saved by `plan --format json`: {e}",
            path.display()
        ))
    })?;
    let (Some(version), Some(digest)) =
        (json["catalogVersion"].as_i64(), json["fileDigest"].as_str())
    else {
        return Err(SeedError::Unreadable(format!(
            "{}: not a plan saved by `plan --format json` (no catalogVersion or fileDigest)",
            path.display()
        )));
    };
    if digest != catalog::digest(text) {
        return Err(SeedError::Unreadable(format!(
            "{} was planned for another file (sha256:{digest}, this one is sha256:{}); plan this file again",
            path.display(),
            catalog::digest(text)
        )));
    }
    Ok(version)
}

/// A plan as JSON: the steps and the counts.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanJson<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    to_add: usize,
    to_change: usize,
    to_delete: usize,
    kept: usize,
    summary: String,
    /// The first 16 hex digits of the file's SHA-256: `apply --plan` checks it.
    file_digest: String,
}

impl<'a> From<&'a Plan> for PlanJson<'a> {
    fn from(plan: &'a Plan) -> Self {
        Self {
            plan,
            to_add: plan.to_add(),
            to_change: plan.to_change(),
            to_delete: plan.to_delete(),
            kept: plan.kept(),
            summary: plan.summary(),
            file_digest: String::new(),
        }
    }
}

/// `persona-graph export`.
pub async fn export(db: &DatabaseConnection, args: &ExportArgs) -> Outcome {
    let yaml = match catalog::export(db).await {
        Ok(y) => y,
        Err(e) => return Outcome::failed(&e),
    };
    match &args.output {
        None => Outcome {
            stdout: yaml,
            ..Outcome::default()
        },
        Some(path) => match std::fs::write(path, &yaml) {
            Ok(()) => Outcome {
                stderr: format!("wrote the catalog to {}\n", path.display()),
                ..Outcome::default()
            },
            Err(e) => Outcome::failed(&SeedError::Unreadable(format!("{}: {e}", path.display()))),
        },
    }
}

/// `persona-graph plan`.
pub async fn plan(db: &DatabaseConnection, args: &PlanArgs) -> Outcome {
    let text = match read_file(&args.file) {
        Ok(t) => t,
        Err(e) => return Outcome::failed(&e),
    };
    let plan = catalog::plan_yaml(db, &text, args.prune).await;
    match plan {
        Ok(plan) => Outcome {
            stdout: shown(&plan, args.format, &text),
            stderr: String::new(),
            code: if plan.has_changes() { 2 } else { 0 },
        },
        Err(e) => Outcome::failed(&e),
    }
}

/// `persona-graph apply`: on a terminal without `--yes`, shows the plan and asks first, then
/// applies it only if the catalog has not changed since.
pub async fn apply(db: &DatabaseConnection, args: &ApplyArgs) -> Outcome {
    let text = match read_file(&args.file) {
        Ok(t) => t,
        Err(e) => return Outcome::failed(&e),
    };
    let mut expect_version = args.expect_version;
    let mut shown_already = false;
    if let Some(path) = &args.plan {
        match saved_plan(path, &text) {
            Ok(v) => expect_version = Some(v),
            Err(e) => return Outcome::failed(&e),
        }
    }
    if !args.yes && std::io::stdin().is_terminal() && args.file.as_os_str() != "-" {
        let plan = match catalog::plan_yaml(db, &text, args.prune).await {
            Ok(p) => p,
            Err(e) => return Outcome::failed(&e),
        };
        if let Some(expected) = expect_version
            && expected != plan.catalog_version
        {
            return Outcome::failed(&SeedError::Stale {
                expected,
                actual: plan.catalog_version,
            });
        }
        if !plan.has_changes() {
            return Outcome {
                stdout: plan.text(),
                ..Outcome::default()
            };
        }
        print!("{}", plan.text());
        print!("\nApply these changes? Only 'yes' is accepted: ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != "yes" {
            return Outcome {
                stderr: "Apply cancelled: nothing was changed.\n".to_owned(),
                code: 1,
                ..Outcome::default()
            };
        }
        // What was shown is what is applied: a change made meanwhile refuses it.
        expect_version = Some(plan.catalog_version);
        shown_already = true;
    }
    let options = ApplyOptions {
        prune: args.prune,
        expect_version,
    };
    match catalog::apply_yaml(db, &text, &options, &catalog::file_actor()).await {
        Ok(plan) => Outcome {
            // After the prompt, the plan is on the screen already.
            stdout: if shown_already {
                String::new()
            } else {
                shown(&plan, args.format, &text)
            },
            stderr: format!(
                "Apply complete: {} added, {} changed, {} deleted (file sha256:{}).\n",
                plan.to_add(),
                plan.to_change(),
                plan.to_delete(),
                catalog::digest(&text)
            ),
            code: 0,
        },
        Err(e) => Outcome::failed(&e),
    }
}
