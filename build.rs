//! Build script: installs the `GraphiQL`, React and React DOM builds (for `/graphiql`) and the
//! `graphql-ws` client (for `/dashboard`) pinned by `graphiql/package-lock.json` with `npm ci`
//! and embeds them into the binary, so both pages work with no internet. Without npm (or with
//! `PERSONA_GRAPH_NO_NPM=1`) the build still succeeds and the pages fall back to the same
//! pinned versions on a CDN.

use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs};

/// The npm packages whose browser builds the pages load, and the files they need from each.
/// Order matters: `GraphiQL` loads its scripts in this order (React before React DOM before
/// `GraphiQL`); the dashboard loads `graphql-ws`.
const ASSETS: &[(&str, &str)] = &[
    ("graphiql", "graphiql.min.css"),
    ("react", "umd/react.production.min.js"),
    ("react-dom", "umd/react-dom.production.min.js"),
    ("graphiql", "graphiql.min.js"),
    ("graphql-ws", "umd/graphql-ws.min.js"),
];

/// How long `npm ci` may run: a machine whose network drops packets silently would otherwise
/// stall every build for npm's own (much longer) timeouts.
const NPM_TIMEOUT: Duration = Duration::from_mins(5);

fn main() {
    println!("cargo:rerun-if-changed=graphiql/package.json");
    println!("cargo:rerun-if-changed=graphiql/package-lock.json");
    println!("cargo:rerun-if-env-changed=PERSONA_GRAPH_NO_NPM");

    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let source = manifest_dir.join("graphiql");

    // The versions come from the lockfile, not from node_modules, so the CDN fallback pins the
    // very versions an embedded build would have shipped.
    let versions = match locked_versions(&source.join("package-lock.json")) {
        Ok(v) => v,
        Err(e) => {
            // Without readable pins there is nothing to embed or to point a CDN at; failing
            // here is kinder than a page that loads unpinned code.
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };

    let embedded = if env::var("PERSONA_GRAPH_NO_NPM").is_ok_and(|v| !v.is_empty() && v != "0") {
        Err("PERSONA_GRAPH_NO_NPM is set".to_owned())
    } else {
        install(
            &source,
            &out_dir.join("graphiql-npm"),
            &out_dir.join("graphiql-assets"),
        )
    };

    let code = match &embedded {
        Ok(dir) => generate(&versions, Some(dir), ""),
        Err(reason) => {
            println!(
                "cargo:warning=GraphiQL assets are not embedded ({reason}); /graphiql will load them from a CDN"
            );
            generate(&versions, None, reason)
        }
    };
    if let Err(e) = fs::write(out_dir.join("graphiql_assets.rs"), code) {
        eprintln!("error: cannot write graphiql_assets.rs: {e}");
        std::process::exit(1);
    }
}

/// The exact version of each package of `ASSETS`, as the lockfile pins it.
fn locked_versions(lockfile: &Path) -> Result<Vec<(String, String)>, String> {
    let text = fs::read_to_string(lockfile)
        .map_err(|e| format!("cannot read {}: {e}", lockfile.display()))?;
    let lock: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", lockfile.display()))?;
    let mut versions = Vec::new();
    for (package, _) in ASSETS {
        if versions.iter().any(|(p, _)| p == package) {
            continue;
        }
        let version = lock["packages"][format!("node_modules/{package}")]["version"]
            .as_str()
            .ok_or_else(|| format!("{} does not pin {package}", lockfile.display()))?;
        versions.push(((*package).to_owned(), version.to_owned()));
    }
    Ok(versions)
}

/// Runs `npm ci` on a copy of `source` in `work` and copies the needed files to `assets`.
fn install(source: &Path, work: &Path, assets: &Path) -> Result<PathBuf, String> {
    let started = Instant::now();
    fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    for file in ["package.json", "package-lock.json"] {
        fs::copy(source.join(file), work.join(file))
            .map_err(|e| format!("cannot copy graphiql/{file}: {e}"))?;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let mut child = Command::new(npm)
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        // The lockfile pins every package by integrity, so npm's cache is as good as the
        // registry: preferring it makes rebuilds faster and lets an offline machine with a warm
        // cache still embed the assets. Short timeouts make an unreachable registry fail fast
        // instead of retrying for minutes.
        .args([
            "--prefer-offline",
            "--fetch-timeout=60000",
            "--fetch-retries=1",
            "--fetch-retry-mintimeout=2000",
            "--fetch-retry-maxtimeout=10000",
        ])
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > NPM_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "npm ci took longer than {} s",
                    NPM_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("cannot wait for npm: {e}")),
        }
    };
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        return Err(format!(
            "npm ci failed ({status}): {}",
            npm_error_summary(&stderr)
        ));
    }
    // Only the handful of files the page loads are kept; the rest of node_modules (tens of MB)
    // would just sit in target/.
    let _ = fs::remove_dir_all(assets);
    for (package, file) in ASSETS {
        let from = work.join("node_modules").join(package).join(file);
        let to = assets.join(package).join(file);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::copy(&from, &to)
            .map_err(|e| format!("npm ci did not install {package}/{file}: {e}"))?;
    }
    let _ = fs::remove_dir_all(work.join("node_modules"));
    Ok(assets.to_path_buf())
}

/// The line of npm's error output that says what went wrong, without its stack trace.
fn npm_error_summary(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| l.trim_start_matches("npm error").trim())
        .filter(|l| !l.is_empty())
        .collect();
    let code = lines
        .iter()
        .find_map(|l| l.strip_prefix("code "))
        .unwrap_or("");
    let noise = [
        "code ",
        "syscall ",
        "errno ",
        "at ",
        "A complete log",
        "{",
        "}",
    ];
    let what = lines
        .iter()
        .find(|l| !noise.iter().any(|n| l.starts_with(n)))
        .copied()
        .unwrap_or("no output");
    if code.is_empty() {
        what.to_owned()
    } else {
        format!("{code}: {what}")
    }
}

/// The Rust source `src/http/graphiql.rs` includes: the pinned versions and, when `assets` is
/// given, each file's bytes.
fn generate(versions: &[(String, String)], assets: Option<&Path>, fallback_reason: &str) -> String {
    let version_of = |package: &str| {
        versions
            .iter()
            .find(|(p, _)| p == package)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let mut code =
        String::from("// @generated by build.rs from graphiql/package-lock.json; do not edit.\n\n");
    let _ = writeln!(
        code,
        "/// True when the assets below carry the files' bytes."
    );
    let _ = writeln!(code, "pub const EMBEDDED: bool = {};", assets.is_some());
    let _ = writeln!(
        code,
        "/// Why the assets are not embedded (empty when they are)."
    );
    let _ = writeln!(
        code,
        "pub const FALLBACK_REASON: &str = {fallback_reason:?};"
    );
    let _ = writeln!(code, "/// The files the page loads, in load order.");
    let _ = writeln!(code, "pub static ASSETS: &[Asset] = &[");
    for (package, file) in ASSETS {
        let path = format!("{package}@{}/{file}", version_of(package));
        let body = match assets {
            Some(dir) => format!(
                "include_bytes!({:?})",
                dir.join(package).join(file).display().to_string()
            ),
            None => "b\"\"".to_owned(),
        };
        let _ = writeln!(code, "    Asset {{ path: {path:?}, body: {body} }},");
    }
    let _ = writeln!(code, "];");
    code
}
