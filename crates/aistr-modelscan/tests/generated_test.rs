//! Our own fixtures (written by `tests/fixtures/generate.py`), hostile inputs generated at test
//! time (zip bomb, a million nested MARKs, a million FRAMEs), the real benign models the project
//! installs, the AI-BOM round trip and the CLI run functions.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aistr_modelscan::{
    BomJob, BomOutcome, Format, Limits, ModelscanOptions, OutputFormat, ScanStatus, Verdict, build_bom,
    run_bom, run_modelscan, scan_bytes, scan_file, verify_bom,
};

fn gen_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated")
}

fn verdict(name: &str) -> (Verdict, Format) {
    let out = scan_file(&gen_dir().join(name), name, &Limits::default());
    (out.report.files[0].verdict, out.report.files[0].format)
}

#[test]
fn generated_fixtures() {
    let expect: &[(&str, Verdict, Format)] = &[
        ("benign_state_dict_p2.pkl", Verdict::Clean, Format::Pickle),
        ("benign_state_dict_p4.pkl", Verdict::Clean, Format::Pickle),
        ("benign_torch_zip.pt", Verdict::Clean, Format::PytorchZip),
        ("benign_legacy_stream.pt", Verdict::Clean, Format::PytorchLegacy),
        ("benign_legacy.tar", Verdict::Clean, Format::PytorchTar),
        ("benign_float.npy", Verdict::Clean, Format::Npy),
        ("benign_clean.keras", Verdict::Clean, Format::Keras),
        ("benign_model.onnx", Verdict::Clean, Format::Onnx),
        ("benign_tiny.gguf", Verdict::Clean, Format::Gguf),
        ("benign_tiny.safetensors", Verdict::Clean, Format::Safetensors),
        ("evil_torch_zip.pt", Verdict::Malicious, Format::PytorchZip),
        ("evil_object.npy", Verdict::Malicious, Format::Npy),
        ("evil_npz.npz", Verdict::Malicious, Format::Npz),
        ("evil_traversal.zip", Verdict::Malicious, Format::Zip),
        ("evil_nested.zip", Verdict::Malicious, Format::Zip),
        ("evil_template.gguf", Verdict::Malicious, Format::Gguf),
        ("evil_custom_op.onnx", Verdict::Suspicious, Format::Onnx),
        ("evil_external_data.onnx", Verdict::Malicious, Format::Onnx),
        ("evil_lambda.keras", Verdict::Malicious, Format::Keras),
        (
            "evil_hidden_tail.safetensors",
            Verdict::Suspicious,
            Format::Safetensors,
        ),
        ("evil_legacy.h5", Verdict::Malicious, Format::Hdf5),
        ("evil_modeling.py", Verdict::Suspicious, Format::PythonSource),
        ("hostile_deep_nesting.zip", Verdict::Inconclusive, Format::Zip),
        ("hostile_truncated.pkl", Verdict::Inconclusive, Format::Pickle),
        (
            "hostile_trailing_garbage.pkl",
            Verdict::Inconclusive,
            Format::Pickle,
        ),
        ("hostile_huge_string.gguf", Verdict::Inconclusive, Format::Gguf),
        (
            "hostile_overlap.safetensors",
            Verdict::Inconclusive,
            Format::Safetensors,
        ),
    ];
    let mut bad = Vec::new();
    for (name, v, f) in expect {
        let got = verdict(name);
        if got != (*v, *f) {
            bad.push(format!("{name}: expected {v:?}/{f:?}, got {got:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn zip_with(name: &str, data: &[u8], deflate: bool) -> Vec<u8> {
    // A minimal single-entry zip writer (local header, data, central directory, end record).
    let (method, body) = if deflate {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        (8u16, e.finish().unwrap())
    } else {
        (0u16, data.to_vec())
    };
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let crc = crc.sum();
    let mut v = Vec::new();
    let local = |v: &mut Vec<u8>| {
        v.extend(0x0403_4b50u32.to_le_bytes());
        v.extend([20, 0, 0, 0]);
        v.extend(method.to_le_bytes());
        v.extend([0, 0, 0, 0]);
        v.extend(crc.to_le_bytes());
        v.extend((body.len() as u32).to_le_bytes());
        v.extend((data.len() as u32).to_le_bytes());
        v.extend((name.len() as u16).to_le_bytes());
        v.extend(0u16.to_le_bytes());
        v.extend(name.as_bytes());
    };
    local(&mut v);
    v.extend(&body);
    let cd_off = v.len() as u32;
    v.extend(0x0201_4b50u32.to_le_bytes());
    v.extend([20, 3, 20, 0, 0, 0]);
    v.extend(method.to_le_bytes());
    v.extend([0, 0, 0, 0]);
    v.extend(crc.to_le_bytes());
    v.extend((body.len() as u32).to_le_bytes());
    v.extend((data.len() as u32).to_le_bytes());
    v.extend((name.len() as u16).to_le_bytes());
    v.extend([0u8; 12]); // extra len, comment len, disk, internal attrs, external attrs
    v.extend(0u32.to_le_bytes());
    v.extend(name.as_bytes());
    let cd_size = v.len() as u32 - cd_off;
    v.extend(0x0605_4b50u32.to_le_bytes());
    v.extend([0, 0, 0, 0, 1, 0, 1, 0]);
    v.extend(cd_size.to_le_bytes());
    v.extend(cd_off.to_le_bytes());
    v.extend([0, 0]);
    v
}

#[test]
fn zip_bomb_is_inconclusive_quickly() {
    // 64 MiB of zeros deflates to ~64 KiB: a ratio of ~1000:1.
    let zeros = vec![0u8; 64 << 20];
    let mut payload = b"\x80\x04]".to_vec();
    payload.extend_from_slice(&zeros);
    let bomb = zip_with("data.pkl", &payload, true);
    drop(zeros);
    // The precondition, whichever deflate backend feature unification picks: above the 200:1 cap.
    assert!(bomb.len() < (64 << 20) / 400, "{} compressed bytes", bomb.len());
    let t = Instant::now();
    let r = scan_bytes("bomb.zip", &bomb, &Limits::default());
    assert!(t.elapsed() < Duration::from_secs(10));
    let top = &r.files[0];
    assert_eq!(r.worst(), Verdict::Inconclusive, "{r:?}");
    assert!(top.findings.iter().any(|f| f.kind == "zip_bomb"), "{top:?}");
}

#[test]
fn decompressed_budget_is_enforced() {
    let bomb = zip_with("a.bin", &vec![7u8; 4 << 20], true);
    let limits = Limits {
        max_decompressed: 1 << 20,
        max_ratio: u64::MAX,
        ..Limits::default()
    };
    let r = scan_bytes("b.zip", &bomb, &limits);
    assert_eq!(r.worst(), Verdict::Inconclusive, "{r:?}");
}

#[test]
fn million_nested_marks_and_frames_end_inconclusive() {
    let mut marks = b"\x80\x04".to_vec();
    marks.extend(std::iter::repeat_n(b'(', 1_000_000));
    marks.push(b'.');
    let limits = Limits {
        max_stack: 100_000,
        ..Limits::default()
    };
    let t = Instant::now();
    let r = scan_bytes("marks.pkl", &marks, &limits);
    assert_eq!(r.files[0].verdict, Verdict::Inconclusive);
    assert_eq!(r.files[0].status, ScanStatus::Incomplete);

    let mut frames = b"\x80\x04".to_vec();
    for _ in 0..1_000_000 {
        frames.push(0x95);
        frames.extend(9u64.to_le_bytes());
    }
    let r = scan_bytes("frames.pkl", &frames, &Limits::default());
    // A million FRAME opcodes and no value: truncated/empty stack → inconclusive, never clean.
    assert_eq!(r.files[0].verdict, Verdict::Inconclusive);
    let r = scan_bytes(
        "frames.pkl",
        &frames,
        &Limits {
            max_opcodes: 1000,
            ..Limits::default()
        },
    );
    // The opcode limit is reported; the walk then goes on (for imports) to the truncated end.
    assert_eq!(r.files[0].verdict, Verdict::Inconclusive);
    assert!(
        r.files[0]
            .findings
            .iter()
            .any(|f| f.kind == "limit_exceeded" && f.detail.contains("more than 1000 pickle opcodes")),
        "{:?}",
        r.files[0]
    );
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn time_budget_is_enforced() {
    let mut p = b"\x80\x04".to_vec();
    for _ in 0..2_000_000 {
        p.extend(b"K\x010");
    }
    p.extend(b"N.");
    let r = scan_bytes(
        "slow.pkl",
        &p,
        &Limits {
            max_time: Duration::ZERO,
            ..Limits::default()
        },
    );
    assert_eq!(r.files[0].verdict, Verdict::Inconclusive);
    assert!(
        r.files[0]
            .findings
            .iter()
            .any(|f| f.detail.contains("time budget")),
        "{:?}",
        r.files[0]
    );
}

#[test]
fn real_benign_models_scan_clean() {
    for rel in [
        "all-MiniLM-L6-v2/model.safetensors",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    ] {
        let Some(p) = aistr_test_require::require_model_or_skip(rel) else {
            continue;
        };
        let t = Instant::now();
        let out = scan_file(&p, rel, &Limits::default());
        let top = &out.report.files[0];
        assert_eq!(top.verdict, Verdict::Clean, "{top:?}");
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "header-only work should be quick"
        );
        if rel.ends_with(".gguf") {
            let card = &out.cards[rel];
            assert!(card.fields.contains_key("general.name"), "{card:?}");
        }
    }
}

#[test]
fn bom_round_trip_detects_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("model");
    std::fs::create_dir(&root).unwrap();
    std::fs::copy(gen_dir().join("benign_tiny.gguf"), root.join("m.gguf")).unwrap();
    std::fs::copy(gen_dir().join("evil_torch_zip.pt"), root.join("w.pt")).unwrap();
    std::fs::write(root.join("README.md"), "hello\n").unwrap();
    let bom = build_bom(&root, &Limits::default()).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    let comps = bom["components"].as_array().unwrap();
    assert_eq!(comps.len(), 3);
    let gguf = comps.iter().find(|c| c["bom-ref"] == "file:m.gguf").unwrap();
    assert_eq!(gguf["type"], "machine-learning-model");
    assert_eq!(gguf["name"], "tiny");
    assert_eq!(gguf["licenses"][0]["license"]["name"], "apache-2.0");
    assert_eq!(gguf["hashes"][0]["alg"], "SHA-256");
    assert_eq!(gguf["hashes"][0]["content"].as_str().unwrap().len(), 64);
    let pt = comps.iter().find(|c| c["bom-ref"] == "file:w.pt").unwrap();
    let props = pt["properties"].as_array().unwrap();
    assert!(
        props
            .iter()
            .any(|p| p["name"] == "aistr:verdict" && p["value"] == "malicious")
    );
    assert!(
        pt["components"].as_array().is_some_and(|m| !m.is_empty()),
        "members are nested"
    );
    let readme = comps.iter().find(|c| c["bom-ref"] == "file:README.md").unwrap();
    assert_eq!(readme["type"], "file");

    let bom_path = dir.path().join("bom.json");
    assert!(verify_bom(&bom, &bom_path, &root).unwrap().is_empty());
    std::fs::write(root.join("README.md"), "changed\n").unwrap();
    std::fs::remove_file(root.join("m.gguf")).unwrap();
    std::fs::write(root.join("extra.bin"), "x").unwrap();
    let problems: Vec<String> = verify_bom(&bom, &bom_path, &root)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("hash differs: README.md")));
    assert!(problems.iter().any(|p| p.starts_with("missing: m.gguf")));
    assert!(problems.iter().any(|p| p.starts_with("extra: extra.bin")));
}

#[test]
fn run_functions() {
    let dir = tempfile::tempdir().unwrap();
    let args = ModelscanOptions {
        paths: vec![gen_dir().join("evil_torch_zip.pt")],
        format: OutputFormat::Json,
        out: None,
        verbose: false,
        limits: Limits::default(),
    };
    let mut buf = Vec::new();
    assert_eq!(run_modelscan(&args, &mut buf).unwrap(), Verdict::Malicious);
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["files"].as_array().unwrap().len(), 2);

    let clean = ModelscanOptions {
        paths: vec![gen_dir().join("benign_tiny.gguf")],
        format: OutputFormat::Sarif,
        ..args.clone()
    };
    let mut buf = Vec::new();
    assert_eq!(run_modelscan(&clean, &mut buf).unwrap(), Verdict::Clean);
    let inconclusive = ModelscanOptions {
        paths: vec![gen_dir().join("hostile_truncated.pkl")],
        format: OutputFormat::Text,
        ..args.clone()
    };
    assert_eq!(
        run_modelscan(&inconclusive, &mut Vec::new()).unwrap(),
        Verdict::Inconclusive
    );
    let missing = ModelscanOptions {
        paths: vec![dir.path().join("nope")],
        ..args.clone()
    };
    assert!(run_modelscan(&missing, &mut Vec::new()).is_err());

    let out = dir.path().join("bom.json");
    let limits = Limits::default();
    let bom = BomJob::Write {
        path: gen_dir().join("benign_tiny.gguf"),
        out: Some(out.clone()),
    };
    assert_eq!(
        run_bom(&bom, &limits, &mut Vec::new()).unwrap(),
        BomOutcome::Written
    );
    let verify = BomJob::Verify {
        bom: out.clone(),
        path: gen_dir().join("benign_tiny.gguf"),
    };
    assert_eq!(
        run_bom(&verify, &limits, &mut Vec::new()).unwrap(),
        BomOutcome::Verified
    );
    let wrong = BomJob::Verify {
        bom: out,
        path: gen_dir().join("benign_float.npy"),
    };
    assert_eq!(
        run_bom(&wrong, &limits, &mut Vec::new()).unwrap(),
        BomOutcome::Mismatch
    );
}

/// A list of `n` distinct memoized strings, the way `pickle.dumps` writes a big vocabulary
/// (protocol 4: EMPTY_LIST, MEMOIZE, then MARK, strings each MEMOIZEd, APPENDS in batches).
fn memo_padded_list(n: usize) -> Vec<u8> {
    let mut p = b"\x80\x04]\x94".to_vec();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        p.push(b'(');
        for i in chunk {
            let s = format!("t{i}");
            p.push(0x8c);
            p.push(u8::try_from(s.len()).expect("short"));
            p.extend(s.as_bytes());
            p.push(0x94);
        }
        p.push(b'e');
    }
    p
}

/// Issue 12: padding a pickle past `Limits::max_memo` (1,000,000) must not hide the payload.
#[test]
fn payload_after_a_million_memo_entries_is_named() {
    let n = 1_200_000;
    assert!(n > Limits::default().max_memo);
    // The payload's names are memoized after the limit and fetched back with LONG_BINGET, as a
    // pickler does for a name it has written before.
    let (os_key, system_key) = (n as u32 + 1, n as u32 + 2);
    let mut evil = memo_padded_list(n);
    evil.extend(b"0\x8c\x02os\x94\x8c\x06system\x9400");
    evil.push(b'j');
    evil.extend(os_key.to_le_bytes());
    evil.push(b'j');
    evil.extend(system_key.to_le_bytes());
    evil.extend(b"\x93\x8c\x0ctouch /tmp/x\x85R.");
    let r = scan_bytes("padded.pkl", &evil, &Limits::default());
    let f = &r.files[0];
    assert_eq!(f.verdict, Verdict::Malicious, "{f:?}");
    assert_eq!(f.status, ScanStatus::Incomplete, "the limit is still reported");
    assert!(
        f.findings
            .iter()
            .any(|x| x.kind == "dangerous_import" && x.detail.contains("os.system")),
        "{f:?}"
    );
    assert!(f.findings.iter().any(|x| x.kind == "limit_exceeded"), "{f:?}");

    // The same padding with a GLOBAL (protocol 0/2 style import) instead.
    let mut evil = memo_padded_list(n);
    evil.extend(b"cos\nsystem\n(S'id'\ntR.");
    let f = &scan_bytes("padded2.pkl", &evil, &Limits::default()).files[0];
    assert_eq!(f.verdict, Verdict::Malicious, "{f:?}");
    assert!(f.findings.iter().any(|x| x.detail.contains("os.system")), "{f:?}");

    // The padding alone (a big list of strings) hits the same limit and stays inconclusive.
    let mut benign = memo_padded_list(n);
    benign.push(b'.');
    let f = &scan_bytes("big.pkl", &benign, &Limits::default()).files[0];
    assert_eq!(f.verdict, Verdict::Inconclusive, "{f:?}");
    assert_eq!(f.status, ScanStatus::Incomplete);
}
