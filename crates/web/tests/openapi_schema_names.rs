//! OpenAPI component names must be unique across the API modules.
//!
//! utoipa names a component after the Rust type, without its module, and
//! when two types share a name the last one collected silently replaces
//! the other. The 422 body of the roster import was once documented as the
//! transfer import's outcome that way, and schemathesis caught it in CI.
//! This test reads the sources and fails on the second type of a name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The schema name of every `ToSchema` type in `source`: the type name, or
/// the `#[schema(as = …)]` override.
fn schema_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut pending = false;
    let mut rename: Option<String> = None;
    for line in source.lines() {
        let line = line.trim();
        if line.starts_with("#[derive(") && line.contains("ToSchema") {
            pending = true;
            rename = None;
            continue;
        }
        if !pending {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#[schema(as = ") {
            rename = rest.split([')', ',']).next().map(|s| s.trim().to_owned());
            continue;
        }
        let decl = line.strip_prefix("pub ").or(Some(line)).and_then(|l| {
            l.strip_prefix("struct ")
                .or_else(|| l.strip_prefix("enum "))
        });
        if let Some(decl) = decl {
            let ident: String = decl
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.push(rename.take().unwrap_or(ident));
            pending = false;
        }
    }
    names
}

#[test]
fn every_schema_name_is_used_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 5, "no sources found under {}", root.display());
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("readable source");
        for name in schema_names(&source) {
            let rel = file.strip_prefix(&root).unwrap_or(file);
            seen.entry(name)
                .or_default()
                .push(rel.display().to_string());
        }
    }
    assert!(seen.len() > 50, "too few schemas found: {}", seen.len());
    let clashes: Vec<_> = seen.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(
        clashes.is_empty(),
        "OpenAPI schema names used by more than one type (rename one): {clashes:?}"
    );
}

#[test]
fn the_scanner_sees_derives_and_renames() {
    let src = "#[derive(Debug, ToSchema)]\npub struct A {}\n#[derive(utoipa::ToSchema)]\n#[schema(as = Bee)]\nenum B {}\n#[derive(Debug)]\nstruct C;";
    assert_eq!(schema_names(src), vec!["A".to_owned(), "Bee".to_owned()]);
}
