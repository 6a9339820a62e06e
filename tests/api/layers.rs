//! The layering of the source tree: data flows `http -> graphql -> domain`, and each layer uses
//! only those to its right. Read off the source files, so a stray `use` fails here.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Each `(file, line)` under `dir` that names one of `forbidden` as a path (`name::`).
fn uses(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let paths: Vec<String> = forbidden.iter().map(|f| format!("{f}::")).collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    lines_with(dir, &paths)
}

/// Each `(file, line)` under `dir` whose code (not comments) contains one of `needles`.
fn lines_with(dir: &str, needles: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    assert!(root.is_dir(), "{} is missing", root.display());
    let mut hits = Vec::new();
    for file in rust_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if needles.iter().any(|f| code.contains(f)) {
                hits.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    hits
}

#[test]
fn the_domain_knows_nothing_of_graphql_http_or_the_command_line() {
    let hits = uses(
        "src/domain",
        &[
            "async_graphql",
            "axum",
            "clap",
            "tower_http",
            "crate::graphql",
            "crate::http",
            "crate::auth",
        ],
    );
    assert!(
        hits.is_empty(),
        "the domain layer reaches out:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_graphql_adapter_does_not_reach_back_into_the_transport() {
    let hits = uses("src/graphql", &["axum", "crate::http", "tower_http"]);
    assert!(
        hits.is_empty(),
        "graphql uses the transport:\n{}",
        hits.join("\n")
    );
}

#[test]
fn only_the_domain_writes_history_and_opens_write_transactions() {
    for dir in ["src/graphql", "src/catalog"] {
        let hits = lines_with(
            dir,
            &["audit::write", "begin_write", ".begin()", "commit()"],
        );
        assert!(
            hits.is_empty(),
            "writes outside the domain:\n{}",
            hits.join("\n")
        );
    }
}
