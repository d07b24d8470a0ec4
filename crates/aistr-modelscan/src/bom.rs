//! AI-BOM: a CycloneDX 1.5 ML-BOM written by hand with serde_json, and its verification.
//!
//! One component per file under the root (type `machine-learning-model` for model formats,
//! `file` otherwise) with its SHA-256, detected format, scan verdict/status as properties,
//! archive members as nested components, and model-card fields where the file tells us (GGUF
//! `general.*`, safetensors `__metadata__`). `verify` recomputes hashes and reports changed,
//! missing and extra files.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::ModelscanError;
use crate::model::{FileReport, Limits, Severity};
use crate::scan::{ModelCard, list_files, scan_file};

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, ModelscanError> {
    let mut f = File::open(path).map_err(|e| ModelscanError::Io(path.to_path_buf(), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| ModelscanError::Io(path.to_path_buf(), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Files under `root` with their BOM-relative names (`/`-separated; a file root is its name).
pub fn relative_files(root: &Path) -> Result<Vec<(String, PathBuf)>, ModelscanError> {
    let files = list_files(&[root.to_path_buf()])?;
    let is_dir = root.is_dir();
    Ok(files
        .into_iter()
        .map(|p| {
            let rel = if is_dir {
                p.strip_prefix(root).unwrap_or(&p).to_path_buf()
            } else {
                PathBuf::from(p.file_name().unwrap_or(p.as_os_str()))
            };
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            (name, p)
        })
        .collect())
}

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({"name": name, "value": value.into()})
}

fn report_props(r: &FileReport) -> Vec<Value> {
    let mut p = vec![
        prop("aistr:format", r.format.as_str()),
        prop("aistr:verdict", r.verdict.as_str()),
        prop("aistr:status", r.status.as_str()),
        prop(
            "aistr:findings",
            r.findings
                .iter()
                .filter(|f| f.severity > Severity::Info)
                .count()
                .to_string(),
        ),
    ];
    for f in r
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .take(20)
    {
        p.push(prop(
            "aistr:finding",
            format!("{} {}: {}", f.severity.as_str(), f.kind, f.detail),
        ));
    }
    p
}

fn model_card(card: &ModelCard, component: &mut serde_json::Map<String, Value>) {
    let f = &card.fields;
    let arch = f.get("general.architecture").cloned();
    let mut params = serde_json::Map::new();
    if let Some(a) = &arch {
        params.insert("architectureFamily".into(), json!(a));
        params.insert("modelArchitecture".into(), json!(a));
    }
    if let Some(t) = f.get("general.type") {
        params.insert("task".into(), json!(t));
    }
    let props: Vec<Value> = f.iter().map(|(k, v)| prop(k, v.clone())).collect();
    component.insert(
        "modelCard".into(),
        json!({"modelParameters": params, "properties": props}),
    );
    if let Some(l) = f.get("general.license") {
        component.insert("licenses".into(), json!([{"license": {"name": l}}]));
    }
    if let Some(d) = f.get("general.description") {
        component.insert("description".into(), json!(d));
    }
    if let Some(v) = f.get("general.version") {
        component.insert("version".into(), json!(v));
    }
    if let Some(a) = f.get("general.author").or_else(|| f.get("general.organization")) {
        component.insert("author".into(), json!(a));
    }
}

/// Builds a CycloneDX 1.5 ML-BOM for every file under `root`, scanning each.
pub fn build_bom(root: &Path, limits: &Limits) -> Result<Value, ModelscanError> {
    let mut components = Vec::new();
    let mut all_hashes = Sha256::new();
    for (rel, path) in relative_files(root)? {
        let sha = sha256_file(&path)?;
        all_hashes.update(rel.as_bytes());
        all_hashes.update(sha.as_bytes());
        let out = scan_file(&path, &rel, limits);
        let Some(top) = out.report.files.iter().find(|r| r.path == rel) else {
            continue;
        };
        let mut c = serde_json::Map::new();
        let kind = if top.format.is_model() {
            "machine-learning-model"
        } else {
            "file"
        };
        c.insert("type".into(), json!(kind));
        c.insert("bom-ref".into(), json!(format!("file:{rel}")));
        let card = out.cards.get(&rel);
        let display = card
            .and_then(|c| c.fields.get("general.name"))
            .cloned()
            .unwrap_or_else(|| rel.clone());
        c.insert("name".into(), json!(display));
        c.insert("hashes".into(), json!([{"alg": "SHA-256", "content": sha}]));
        let mut props = vec![prop("aistr:path", rel.clone())];
        props.extend(report_props(top));
        c.insert("properties".into(), Value::Array(props));
        if let Some(card) = card {
            model_card(card, &mut c);
        }
        let members: Vec<Value> = out
            .report
            .files
            .iter()
            .filter(|r| r.path != rel)
            .map(|m| {
                json!({
                    "type": if m.format.is_model() { "machine-learning-model" } else { "file" },
                    "bom-ref": format!("file:{}", m.path),
                    "name": m.path.clone(),
                    "properties": report_props(m),
                })
            })
            .collect();
        if !members.is_empty() {
            c.insert("components".into(), Value::Array(members));
        }
        components.push(Value::Object(c));
    }
    let digest = all_hashes.finalize();
    let mut u = [0u8; 16];
    u.copy_from_slice(&digest[..16]);
    u[6] = (u[6] & 0x0f) | 0x50; // name-based (SHA) version nibble
    u[8] = (u[8] & 0x3f) | 0x80;
    let h = hex::encode(u);
    let serial = format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    let ts = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let root_name = root.file_name().map_or_else(
        || root.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": ts,
            "tools": {"components": [{"type": "application", "name": "aistr", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {"type": "application", "name": root_name, "bom-ref": "root"}
        },
        "components": components,
    }))
}

/// One difference between a BOM and the files on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BomMismatch {
    /// The file's SHA-256 changed.
    HashDiffers {
        /// BOM-relative path.
        path: String,
        /// Hash in the BOM.
        expected: String,
        /// Hash on disk.
        actual: String,
    },
    /// Listed in the BOM, absent on disk.
    Missing {
        /// BOM-relative path.
        path: String,
    },
    /// On disk, absent from the BOM.
    Extra {
        /// BOM-relative path.
        path: String,
    },
}

impl fmt::Display for BomMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BomMismatch::HashDiffers {
                path,
                expected,
                actual,
            } => {
                write!(f, "hash differs: {path} (BOM {expected}, disk {actual})")
            }
            BomMismatch::Missing { path } => write!(f, "missing: {path} is in the BOM but not on disk"),
            BomMismatch::Extra { path } => write!(f, "extra: {path} is on disk but not in the BOM"),
        }
    }
}

/// Compares a BOM with the files under `root`.
pub fn verify_bom(bom: &Value, bom_path: &Path, root: &Path) -> Result<Vec<BomMismatch>, ModelscanError> {
    let bad = |m: &str| ModelscanError::Bom(bom_path.to_path_buf(), m.to_string());
    if bom.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(bad("bomFormat is not CycloneDX"));
    }
    let comps = bom
        .get("components")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no components array"))?;
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for c in comps {
        let path = c
            .get("properties")
            .and_then(Value::as_array)
            .and_then(|ps| {
                ps.iter()
                    .find(|p| p.get("name").and_then(Value::as_str) == Some("aistr:path"))
            })
            .and_then(|p| p.get("value"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a component has no aistr:path property"))?;
        let hash = c
            .get("hashes")
            .and_then(Value::as_array)
            .and_then(|hs| {
                hs.iter()
                    .find(|h| h.get("alg").and_then(Value::as_str) == Some("SHA-256"))
            })
            .and_then(|h| h.get("content"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a component has no SHA-256 hash"))?;
        expected.insert(path.to_string(), hash.to_ascii_lowercase());
    }
    let mut out = Vec::new();
    let on_disk: BTreeMap<String, PathBuf> = if root.exists() {
        relative_files(root)?.into_iter().collect()
    } else {
        BTreeMap::new()
    };
    for (path, want) in &expected {
        match on_disk.get(path) {
            None => out.push(BomMismatch::Missing { path: path.clone() }),
            Some(p) => {
                let got = sha256_file(p)?;
                if &got != want {
                    out.push(BomMismatch::HashDiffers {
                        path: path.clone(),
                        expected: want.clone(),
                        actual: got,
                    });
                }
            }
        }
    }
    for path in on_disk.keys() {
        if !expected.contains_key(path) {
            out.push(BomMismatch::Extra { path: path.clone() });
        }
    }
    Ok(out)
}
