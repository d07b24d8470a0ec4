//! Fixture tests: every picklescan and modelscan sample (MIT / Apache-2.0, see the licence files
//! next to them) must get the verdict its provenance implies. Malicious samples, the 45
//! published picklescan advisory bypasses included, must be malicious or suspicious; benign ones
//! clean; invalid or undecryptable ones inconclusive (never clean).
//!
//! These are live payloads: they are only ever read as bytes.

use std::path::{Path, PathBuf};

use aistr_modelscan::{Limits, Verdict, scan_file};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Expect {
    Clean,
    Flagged,
    Inconclusive,
}

fn expectation(name: &str) -> Expect {
    const BENIGN: &[&str] = &[
        "benign0_v0.pkl",
        "benign0_v3.pkl",
        "benign0_v4.pkl",
        "new_pytorch_model.bin",
        "pytorch_model.bin",
        "int_array.npy",
        "int_arrays.npz",
        "int_arrays_compressed.npz",
        "object_array.npy",
        "object_arrays.npz",
        "object_arrays_compressed.npz",
    ];
    // Not parseable or not inspectable at all: fail closed.
    const INVALID: &[&str] = &[
        "bad_pytorch.pt",
        "not_a_pickle.bin",
        "benign_password_protected.zip",
        "password_protected.zip",
    ];
    if BENIGN.contains(&name) {
        Expect::Clean
    } else if INVALID.contains(&name) {
        Expect::Inconclusive
    } else {
        Expect::Flagged
    }
}

fn check_dir(dir: &Path) -> (usize, Vec<String>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut n = 0;
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".txt") || name.ends_with(".tsv") || name == "LICENSE" || f.is_dir() {
            continue;
        }
        n += 1;
        let out = scan_file(&f, &name, &Limits::default());
        let top = &out.report.files[0];
        let ok = match expectation(&name) {
            Expect::Clean => top.verdict == Verdict::Clean,
            Expect::Flagged => matches!(top.verdict, Verdict::Malicious | Verdict::Suspicious),
            Expect::Inconclusive => top.verdict == Verdict::Inconclusive,
        };
        if !ok {
            failures.push(format!(
                "{name}: expected {:?}, got {} ({}) findings: {:?}",
                expectation(&name),
                top.verdict.as_str(),
                top.format.as_str(),
                out.report
                    .files
                    .iter()
                    .flat_map(|r| r.findings.iter().map(|x| format!("{} {}", x.kind, x.detail)))
                    .collect::<Vec<_>>()
            ));
        }
    }
    (n, failures)
}

#[test]
fn picklescan_fixtures() {
    let (n1, mut fail) = check_dir(&fixtures().join("picklescan/data"));
    let (n2, f2) = check_dir(&fixtures().join("picklescan/data2"));
    fail.extend(f2);
    assert!(n1 + n2 >= 105, "expected the full fixture set, found {}", n1 + n2);
    assert!(fail.is_empty(), "{} failures:\n{}", fail.len(), fail.join("\n"));
}

#[test]
fn all_advisory_bypasses_are_flagged() {
    let dir = fixtures().join("picklescan/data2");
    let mut ghsa = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("GHSA-") {
            continue;
        }
        ghsa += 1;
        let v = scan_file(&p, &name, &Limits::default()).report.worst();
        assert!(
            matches!(v, Verdict::Malicious | Verdict::Suspicious),
            "{name}: {v:?}"
        );
    }
    assert_eq!(ghsa, 45);
}

#[test]
fn modelscan_fixtures() {
    let (n, fail) = check_dir(&fixtures().join("modelscan"));
    assert_eq!(n, 2);
    assert!(fail.is_empty(), "{}", fail.join("\n"));
}

#[test]
fn members_are_listed_in_json() {
    let p = fixtures().join("picklescan/data/malicious1.zip");
    let out = scan_file(&p, "malicious1.zip", &Limits::default());
    let json: serde_json::Value =
        serde_json::from_str(&aistr_modelscan::render_json(&out.report).unwrap()).unwrap();
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{json}");
    assert_eq!(files[1]["path"], "malicious1.zip!data.pkl");
    assert_eq!(files[1]["verdict"], "malicious");
    assert_eq!(
        files[0]["verdict"], "malicious",
        "containers inherit their worst member"
    );
}

#[test]
fn torch_zip_is_recognised_and_clean() {
    let p = fixtures().join("picklescan/data/new_pytorch_model.bin");
    let out = scan_file(&p, "m.bin", &Limits::default());
    assert_eq!(out.report.files[0].format, aistr_modelscan::Format::PytorchZip);
    let p = fixtures().join("picklescan/data/pytorch_model.bin");
    let out = scan_file(&p, "m.bin", &Limits::default());
    assert_eq!(out.report.files[0].format, aistr_modelscan::Format::PytorchLegacy);
    assert_eq!(out.report.files[0].verdict, Verdict::Clean);
}
