//! Checks that the workspace has the shape ARCHITECTURE.md describes. The rules are read from the
//! document itself (the block between `<!-- deps:begin -->` and `<!-- deps:end -->`), the facts
//! from `cargo metadata`, so the document and the code cannot drift apart unnoticed:
//!
//! - every workspace crate has a rule, and depends (normal and build dependencies) only on the
//!   workspace crates its rule allows;
//! - the allowed edges form no cycle;
//! - a crate marked `io-free` reaches none of the forbidden IO crates (`tokio`, `reqwest`, `sqlx`)
//!   through any dependency, dev-dependencies included (what `cargo tree -p CRATE` shows);
//! - `test-only` crates are only ever dev-dependencies (or dependencies of other test-only crates);
//! - only `cli` crates depend on clap.
//!
//! Rule syntax, one crate a line: `crate: dep, dep [io-free] [cli] [test-only]` (`-` for no
//! workspace dependency).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Crates an IO-free crate must never reach.
pub const FORBIDDEN_IN_IO_FREE: &[&str] = &["tokio", "reqwest", "sqlx"];

/// The rule for one crate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// Workspace crates it may depend on.
    pub allowed: BTreeSet<String>,
    /// Must not reach tokio, reqwest or sqlx.
    pub io_free: bool,
    /// May depend on clap (a command-line front end).
    pub cli: bool,
    /// Only ever a dev-dependency.
    pub test_only: bool,
}

/// Parses the rules block of ARCHITECTURE.md.
///
/// # Errors
/// No block, or a line that does not read.
pub fn parse_rules(doc: &str) -> Result<BTreeMap<String, Rule>, String> {
    let start = doc
        .find("<!-- deps:begin -->")
        .ok_or("ARCHITECTURE.md has no `<!-- deps:begin -->` block")?;
    let end = doc[start..]
        .find("<!-- deps:end -->")
        .ok_or("the deps block is not closed with `<!-- deps:end -->`")?;
    let mut rules = BTreeMap::new();
    for (i, line) in doc[start..start + end].lines().enumerate().skip(1) {
        let line = line.trim();
        if line.is_empty() || line.starts_with("```") || line.starts_with('#') {
            continue;
        }
        let (name, rest) = line
            .split_once(':')
            .ok_or_else(|| format!("deps block line {}: `{line}` is not `crate: deps`", i + 1))?;
        let mut rule = Rule::default();
        for word in rest.split([',', ' ']).map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "-" => {}
                "[io-free]" => rule.io_free = true,
                "[cli]" => rule.cli = true,
                "[test-only]" => rule.test_only = true,
                w if w.starts_with('[') => return Err(format!("deps block line {}: unknown tag {w}", i + 1)),
                w => {
                    rule.allowed.insert(w.to_owned());
                }
            }
        }
        if rules.insert(name.trim().to_owned(), rule).is_some() {
            return Err(format!("deps block: `{}` has two rules", name.trim()));
        }
    }
    Ok(rules)
}

/// How a package depends on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DepKind {
    /// `[dependencies]`.
    Normal,
    /// `[build-dependencies]`.
    Build,
    /// `[dev-dependencies]`.
    Dev,
}

/// The dependency graph of a workspace, by package name.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Workspace member names.
    pub members: BTreeSet<String>,
    /// `package → [(dependency, kind)]`, for every package in the resolved graph.
    pub edges: BTreeMap<String, BTreeSet<(String, DepKind)>>,
}

impl Graph {
    /// Reads the JSON of `cargo metadata --format-version 1` (with dependencies resolved).
    ///
    /// # Errors
    /// The JSON lacks the fields cargo writes.
    pub fn from_metadata(json: &serde_json::Value) -> Result<Self, String> {
        let packages = json["packages"].as_array().ok_or("metadata has no packages")?;
        let name_of: BTreeMap<&str, &str> = packages
            .iter()
            .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
            .collect();
        let members = json["workspace_members"]
            .as_array()
            .ok_or("metadata has no workspace_members")?
            .iter()
            .filter_map(|id| name_of.get(id.as_str()?).map(|n| (*n).to_owned()))
            .collect();
        let nodes = json["resolve"]["nodes"]
            .as_array()
            .ok_or("metadata has no resolve graph (run without --no-deps)")?;
        let mut edges: BTreeMap<String, BTreeSet<(String, DepKind)>> = BTreeMap::new();
        for node in nodes {
            let Some(from) = node["id"].as_str().and_then(|id| name_of.get(id)) else {
                continue;
            };
            let out = edges.entry((*from).to_owned()).or_default();
            for dep in node["deps"].as_array().into_iter().flatten() {
                let Some(to) = dep["pkg"].as_str().and_then(|id| name_of.get(id)) else {
                    continue;
                };
                for k in dep["dep_kinds"].as_array().into_iter().flatten() {
                    let kind = match k["kind"].as_str() {
                        Some("dev") => DepKind::Dev,
                        Some("build") => DepKind::Build,
                        _ => DepKind::Normal,
                    };
                    out.insert(((*to).to_owned(), kind));
                }
            }
        }
        Ok(Self { members, edges })
    }

    fn deps(&self, of: &str) -> impl Iterator<Item = &(String, DepKind)> {
        self.edges.get(of).into_iter().flatten()
    }

    /// Every package `of` reaches through normal and build dependencies, plus (when `with_dev`)
    /// through its own dev-dependencies; with the first path found to each.
    fn reach(&self, of: &str, with_dev: bool) -> BTreeMap<String, Vec<String>> {
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut stack: Vec<(String, Vec<String>)> = self
            .deps(of)
            .filter(|(_, k)| with_dev || *k != DepKind::Dev)
            .map(|(d, _)| (d.clone(), vec![of.to_owned(), d.clone()]))
            .collect();
        while let Some((p, path)) = stack.pop() {
            if seen.contains_key(&p) {
                continue;
            }
            for (d, k) in self.deps(&p) {
                if *k != DepKind::Dev && !seen.contains_key(d) {
                    let mut next = path.clone();
                    next.push(d.clone());
                    stack.push((d.clone(), next));
                }
            }
            seen.insert(p, path);
        }
        seen
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a graph against the rules; empty when the workspace has the documented shape.
#[must_use]
pub fn check(rules: &BTreeMap<String, Rule>, graph: &Graph) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut v = |s: String| out.push(Violation(s));
    for m in &graph.members {
        if !rules.contains_key(m) {
            v(format!("{m} has no rule in ARCHITECTURE.md's deps block"));
        }
    }
    for name in rules.keys() {
        if !graph.members.contains(name) {
            v(format!(
                "ARCHITECTURE.md has a rule for {name}, which is not a workspace crate"
            ));
        }
    }
    for (name, rule) in rules {
        for a in &rule.allowed {
            if !rules.contains_key(a) {
                v(format!("{name} is allowed {a}, which has no rule"));
            }
        }
        for (dep, kind) in graph.deps(name) {
            let internal = graph.members.contains(dep);
            if internal && *kind != DepKind::Dev && !rule.allowed.contains(dep) {
                v(format!(
                    "{name} depends on {dep}, which ARCHITECTURE.md does not allow"
                ));
            }
            // A test-only crate may build on another one (the loopback server re-exports the
            // skip-or-fail rule); everyone else takes them as dev-dependencies only.
            if internal
                && *kind != DepKind::Dev
                && !rule.test_only
                && rules.get(dep).is_some_and(|r| r.test_only)
            {
                v(format!(
                    "{name} depends on {dep} outside dev-dependencies; it is test-only"
                ));
            }
            if dep == "clap" && !rule.cli {
                v(format!(
                    "{name} depends on clap; only command-line front ends may"
                ));
            }
        }
        if rule.io_free {
            let reached = graph.reach(name, true);
            for f in FORBIDDEN_IN_IO_FREE {
                if let Some(path) = reached.get(*f) {
                    v(format!(
                        "{name} must stay IO-free but reaches {f}: {}",
                        path.join(" → ")
                    ));
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(rules) {
        v(format!(
            "the allowed dependencies form a cycle: {}",
            cycle.join(" → ")
        ));
    }
    out
}

fn find_cycle(rules: &BTreeMap<String, Rule>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        rules: &BTreeMap<String, Rule>,
        state: &mut BTreeMap<String, bool>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        path.push(n.to_owned());
        match state.get(n) {
            Some(false) => {
                let at = path.iter().position(|p| p == n).unwrap_or(0);
                return Some(path[at..].to_vec());
            }
            Some(true) => {
                path.pop();
                return None;
            }
            None => {}
        }
        state.insert(n.to_owned(), false);
        for d in rules.get(n).map(|r| &r.allowed).into_iter().flatten() {
            if let Some(c) = visit(d, rules, state, path) {
                return Some(c);
            }
        }
        state.insert(n.to_owned(), true);
        path.pop();
        None
    }
    let mut state = BTreeMap::new();
    rules
        .keys()
        .find_map(|n| visit(n, rules, &mut state, &mut Vec::new()))
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .ok_or_else(|| "rustc -vV names no host".to_owned())
}

/// Runs `cargo metadata` on the workspace at `root` and checks it against `root/ARCHITECTURE.md`.
///
/// # Errors
/// Cargo or the document cannot be read.
pub fn check_workspace(root: &std::path::Path) -> Result<Vec<Violation>, String> {
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md"))
        .map_err(|e| format!("{}: {e}", root.join("ARCHITECTURE.md").display()))?;
    let rules = parse_rules(&doc)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // The graph of the platform we build on: resolving every platform would need crates (Windows
    // consoles, ...) that are never downloaded here, and `--offline` must work.
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host_triple()?,
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    Ok(check(&rules, &Graph::from_metadata(&json)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULES: &str = "intro\n<!-- deps:begin -->\n```\ncore: - [io-free]\nreport: core [io-free]\nstore: core\nsupport: - [test-only]\nbin: core, report, store [cli]\n```\n<!-- deps:end -->\n";

    /// A metadata document: `(package, [(dep, kind)])`, every package a workspace member unless
    /// listed in `external`.
    fn metadata(pkgs: &[(&str, &[(&str, &str)])], external: &[&str]) -> serde_json::Value {
        let id = |n: &str| format!("{n} 0.1.0 (path+file:///w/{n})");
        let mut names: Vec<&str> = pkgs.iter().map(|(n, _)| *n).collect();
        names.extend(external);
        json!({
            "packages": names.iter().map(|n| json!({"id": id(n), "name": n})).collect::<Vec<_>>(),
            "workspace_members": pkgs.iter().map(|(n, _)| id(n)).filter(|i| !external.iter().any(|e| i.starts_with(&format!("{e} ")))).collect::<Vec<_>>(),
            "resolve": {"nodes": pkgs.iter().map(|(n, deps)| json!({
                "id": id(n),
                "deps": deps.iter().map(|(d, k)| json!({"pkg": id(d), "dep_kinds": [{"kind": if *k == "normal" { serde_json::Value::Null } else { json!(k) }}]})).collect::<Vec<_>>()
            })).collect::<Vec<_>>()}
        })
    }

    fn good() -> Vec<(&'static str, &'static [(&'static str, &'static str)])> {
        vec![
            ("core", &[]),
            ("report", &[("core", "normal"), ("support", "dev")]),
            ("store", &[("core", "normal"), ("sqlx", "normal")]),
            ("support", &[("tokio", "normal")]),
            (
                "bin",
                &[
                    ("core", "normal"),
                    ("report", "normal"),
                    ("store", "normal"),
                    ("clap", "normal"),
                ],
            ),
            ("sqlx", &[("tokio", "normal")]),
            ("tokio", &[]),
            ("clap", &[]),
        ]
    }

    fn violations(pkgs: &[(&str, &[(&str, &str)])]) -> Vec<String> {
        let rules = parse_rules(RULES).unwrap();
        let graph = Graph::from_metadata(&metadata(pkgs, &["sqlx", "tokio", "clap"])).unwrap();
        check(&rules, &graph).into_iter().map(|v| v.0).collect()
    }

    #[test]
    fn rules_parse_with_tags() {
        let rules = parse_rules(RULES).unwrap();
        assert!(rules["core"].io_free && rules["core"].allowed.is_empty());
        assert!(rules["bin"].cli && rules["bin"].allowed.contains("store"));
        assert!(rules["support"].test_only);
        assert!(parse_rules("no block").is_err());
        assert!(parse_rules("<!-- deps:begin -->\nx: y [weird]\n<!-- deps:end -->").is_err());
    }

    /// Dev-dependencies may pull IO into an IO-free crate's dev tree only if they avoid the
    /// forbidden crates: here the test-support crate brings tokio into `report`'s tree.
    #[test]
    fn a_good_shape_passes_except_what_it_should_not() {
        let v = violations(&good());
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("report must stay IO-free but reaches tokio: report → support → tokio"));
        let mut fixed = good();
        fixed[1] = ("report", &[("core", "normal")]);
        assert_eq!(violations(&fixed), Vec::<String>::new());
    }

    #[test]
    fn a_deliberately_wrong_edge_fails() {
        let mut g = good();
        g[1] = ("report", &[("core", "normal"), ("store", "normal")]);
        let v = violations(&g);
        assert!(
            v.iter()
                .any(|m| m == "report depends on store, which ARCHITECTURE.md does not allow"),
            "{v:?}"
        );
        assert!(
            v.iter()
                .any(|m| m.contains("report must stay IO-free but reaches sqlx: report → store → sqlx")),
            "{v:?}"
        );
    }

    #[test]
    fn test_only_crates_clap_new_crates_and_cycles_are_caught() {
        let mut g = good();
        g[1] = ("report", &[("core", "normal")]);
        g[2] = (
            "store",
            &[("core", "normal"), ("support", "normal"), ("clap", "normal")],
        );
        g.push(("newcrate", &[]));
        let v = violations(&g);
        for want in [
            "store depends on support, which ARCHITECTURE.md does not allow",
            "store depends on support outside dev-dependencies; it is test-only",
            "store depends on clap; only command-line front ends may",
            "newcrate has no rule in ARCHITECTURE.md's deps block",
        ] {
            assert!(v.iter().any(|m| m == want), "missing `{want}` in {v:?}");
        }
        let cyclic = parse_rules("<!-- deps:begin -->\na: b\nb: a\n<!-- deps:end -->").unwrap();
        assert!(find_cycle(&cyclic).is_some());
        assert!(find_cycle(&parse_rules(RULES).unwrap()).is_none());
    }

    /// The IO-free crates' way to the skip-or-fail rule: a std-only test crate they take as a
    /// dev-dependency, which the loopback-server crate builds on.
    #[test]
    fn an_io_free_test_crate_serves_io_free_crates_and_other_test_crates() {
        let rules = parse_rules(
            "<!-- deps:begin -->\ncore: - [io-free]\nreport: core [io-free]\nreq: core [io-free] [test-only]\n\
             support: req [test-only]\n<!-- deps:end -->",
        )
        .unwrap();
        let pkgs: &[(&str, &[(&str, &str)])] = &[
            ("core", &[]),
            ("report", &[("core", "normal"), ("req", "dev")]),
            ("req", &[("core", "normal")]),
            ("support", &[("req", "normal"), ("tokio", "normal")]),
            ("tokio", &[]),
        ];
        let graph = Graph::from_metadata(&metadata(pkgs, &["tokio"])).unwrap();
        let names = |g: &Graph| check(&rules, g).into_iter().map(|v| v.0).collect::<Vec<_>>();
        assert_eq!(names(&graph), Vec::<String>::new());
        // Through the server crate instead, the report's tree would reach tokio.
        let pkgs: &[(&str, &[(&str, &str)])] = &[
            ("core", &[]),
            ("report", &[("core", "normal"), ("support", "dev")]),
            ("req", &[("core", "normal")]),
            ("support", &[("req", "normal"), ("tokio", "normal")]),
            ("tokio", &[]),
        ];
        let graph = Graph::from_metadata(&metadata(pkgs, &["tokio"])).unwrap();
        let v = names(&graph);
        assert!(
            v.iter()
                .any(|m| m.contains("report must stay IO-free but reaches tokio")),
            "{v:?}"
        );
    }
}
