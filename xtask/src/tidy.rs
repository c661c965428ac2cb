//! Tidy checks that run as ordinary tests: file headers and stubs.

use crate::cmd::root;
use crate::release::{rust_files, stubs_in_shipped_code};

#[test]
fn tidy_every_source_file_opens_with_a_doc_line() {
    let root = root();
    let missing: Vec<String> = rust_files(&root)
        .into_iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|file| file.strip_prefix(&root).unwrap_or(&file).display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a leading `//!` line:\n{}", missing.join("\n"));
}

#[test]
fn tidy_no_stubs_in_shipped_code() {
    let stubs = stubs_in_shipped_code(&root());
    assert!(stubs.is_empty(), "{}", stubs.join("\n"));
}

#[test]
fn tidy_architecture_document_names_every_crate() {
    let root = root();
    let architecture = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md exists");
    let entries = std::fs::read_dir(root.join("crates")).expect("crates/ exists");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        assert!(
            architecture.contains(&format!("`{name}`")),
            "docs/ARCHITECTURE.md does not describe `{name}`"
        );
    }
}
