//! `cargo xtask release-check`: what must hold before a release. Packages
//! every publishable crate, checks that versions, licences and docs agree,
//! and runs the tidy tests.

use std::path::Path;

use serde_json::Value;

use crate::cmd::{cargo, root};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!(
            "unexpected argument '{extra}': `cargo xtask release-check` takes none"
        ));
    }
    let metadata =
        cargo(&["metadata", "--no-deps", "--format-version", "1", "--locked"]).output()?;
    let metadata: Value =
        serde_json::from_str(&metadata).map_err(|e| format!("cargo metadata is not JSON: {e}"))?;
    let packages = metadata["packages"].as_array().ok_or("cargo metadata lists no packages")?;

    let mut problems = Vec::new();
    let publishable: Vec<&Value> = packages.iter().filter(|p| is_publishable(p)).collect();
    let version = publishable.first().and_then(|p| p["version"].as_str()).unwrap_or("");
    for package in &publishable {
        problems.extend(check_package(package, version));
    }
    if !root().join("docs/ARCHITECTURE.md").is_file() {
        problems.push("docs/ARCHITECTURE.md is missing".to_string());
    }
    problems.extend(crate::release::stubs_in_shipped_code(&root()));
    if !problems.is_empty() {
        return Err(format!("release check failed:\n  {}", problems.join("\n  ")));
    }

    cargo(&["test", "--quiet", "-p", "xtask", "--locked", "tidy"]).run()?;
    let mut argv = vec!["package", "--workspace", "--no-verify", "--allow-dirty", "--locked"];
    for package in packages.iter().filter(|p| !is_publishable(p)) {
        argv.extend(["--exclude", package["name"].as_str().unwrap_or_default()]);
    }
    cargo(&argv).run()?;
    eprintln!("xtask release-check: {} crates ready at version {version}", publishable.len());
    Ok(())
}

fn is_publishable(package: &Value) -> bool {
    // `publish = false` shows as an empty list of registries.
    !matches!(package["publish"].as_array(), Some(registries) if registries.is_empty())
}

fn check_package(package: &Value, version: &str) -> Vec<String> {
    let name = package["name"].as_str().unwrap_or("?");
    let mut problems = Vec::new();
    if package["version"].as_str() != Some(version) {
        problems.push(format!("{name}: version {} differs from {version}", package["version"]));
    }
    if package["license"].as_str() != Some("MIT") {
        problems.push(format!("{name}: licence {} is not MIT", package["license"]));
    }
    if package["description"].as_str().is_none_or(str::is_empty) {
        problems.push(format!("{name}: no description"));
    }
    let manifest = Path::new(package["manifest_path"].as_str().unwrap_or(""));
    let dir = manifest.parent().unwrap_or(Path::new("."));
    if !dir.join("README.md").is_file() {
        problems.push(format!("{name}: no README.md"));
    }
    for dependency in package["dependencies"].as_array().into_iter().flatten() {
        let is_ours = dependency["path"].is_string();
        let requirement = dependency["req"].as_str().unwrap_or("");
        if is_ours && dependency["kind"].is_null() && requirement.trim_start_matches('^') != version
        {
            problems.push(format!(
                "{name}: depends on {} {requirement}, expected {version}",
                dependency["name"]
            ));
        }
    }
    let lib = dir.join("src/lib.rs");
    if lib.is_file() {
        let text = std::fs::read_to_string(&lib).unwrap_or_default();
        if !text.starts_with("//!") {
            problems.push(format!("{name}: src/lib.rs has no crate docs"));
        }
        if !text.contains("#![deny(missing_docs)]") {
            problems.push(format!("{name}: src/lib.rs does not deny missing docs"));
        }
    }
    problems
}

/// The macros that mark unfinished code, spelt so that this file does not
/// match itself.
const STUB_MACROS: [&str; 2] = [concat!("todo", "!("), concat!("unimplemented", "!(")];

/// `todo!` and `unimplemented!` in code that ships (library and binary
/// sources, not tests).
pub(crate) fn stubs_in_shipped_code(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files(root) {
        let relative = file.strip_prefix(root).unwrap_or(&file).to_string_lossy().to_string();
        let shipped = relative.contains("/src/") && !relative.contains("/tests/");
        if !shipped {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if STUB_MACROS.iter().any(|stub| code.contains(stub)) {
                found.push(format!("{relative}:{}: stub in shipped code", number + 1));
            }
        }
    }
    found
}

/// Every `.rs` file of the workspace that git would track.
pub(crate) fn rust_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.join("crates"), root.join("xtask")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if name == "target" || name.starts_with('.') {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path);
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
