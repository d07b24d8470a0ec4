//! The workspace itself has the shape ARCHITECTURE.md documents (what `cargo xtask deps` checks).

#[test]
fn the_workspace_matches_architecture_md() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let violations = xtask::check_workspace(&root).expect("cargo metadata and ARCHITECTURE.md read");
    assert!(
        violations.is_empty(),
        "the dependency graph breaks ARCHITECTURE.md's rules:\n{}",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
