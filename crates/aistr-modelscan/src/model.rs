//! The scan vocabulary: formats, severities, findings, verdicts, statuses and limits.
//!
//! Kept in one small module so that the parsers, the renderers and the AI-BOM all agree on the
//! same serialised names (the JSON contract of issue 7 is built from these types).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a file (or archive member) was recognised as, from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A raw pickle stream (`.pkl`, joblib, `data.pkl`, ...).
    Pickle,
    /// A legacy (pre-1.6, non-zip) `torch.save` stream: several pickles then raw storage bytes.
    PytorchLegacy,
    /// A PyTorch zip checkpoint (`archive/data.pkl` + `archive/data/N`).
    PytorchZip,
    /// A very old PyTorch tar checkpoint (`sys_info`, `pickle`, `storages`, `tensors`).
    PytorchTar,
    /// Any other zip container.
    Zip,
    /// A numpy `.npy` array.
    Npy,
    /// A numpy `.npz` archive (zip of `.npy`).
    Npz,
    /// A safetensors file.
    Safetensors,
    /// A GGUF file (llama.cpp).
    Gguf,
    /// An ONNX protobuf model.
    Onnx,
    /// A Keras v3 `.keras` zip.
    Keras,
    /// An HDF5 file (legacy Keras `.h5`).
    Hdf5,
    /// A JSON document (configs, tokenizers, Keras `config.json`).
    Json,
    /// Plain UTF-8 text that no model loader executes.
    Text,
    /// Python source (executed by `trust_remote_code` loaders).
    PythonSource,
    /// Raw tensor bytes inside a recognised container.
    TensorData,
    /// A 7z archive (recognised, not opened).
    SevenZip,
    /// A tar archive that is not a PyTorch checkpoint.
    Tar,
    /// Nothing we recognise.
    Unknown,
}

impl Format {
    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pickle => "pickle",
            Format::PytorchLegacy => "pytorch_legacy",
            Format::PytorchZip => "pytorch_zip",
            Format::PytorchTar => "pytorch_tar",
            Format::Zip => "zip",
            Format::Npy => "npy",
            Format::Npz => "npz",
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
            Format::Onnx => "onnx",
            Format::Keras => "keras",
            Format::Hdf5 => "hdf5",
            Format::Json => "json",
            Format::Text => "text",
            Format::PythonSource => "python_source",
            Format::TensorData => "tensor_data",
            Format::SevenZip => "seven_zip",
            Format::Tar => "tar",
            Format::Unknown => "unknown",
        }
    }

    /// Whether this format holds model weights or a model graph (used by the AI-BOM).
    pub fn is_model(self) -> bool {
        matches!(
            self,
            Format::Pickle
                | Format::PytorchLegacy
                | Format::PytorchZip
                | Format::PytorchTar
                | Format::Npy
                | Format::Npz
                | Format::Safetensors
                | Format::Gguf
                | Format::Onnx
                | Format::Keras
                | Format::Hdf5
        )
    }
}

/// How bad a finding is. `high` and `critical` make a file malicious, `medium` suspicious;
/// `low`/`info` never change the verdict on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Context only.
    Info,
    /// Worth knowing; also used for "could not finish" findings (the status carries the weight).
    Low,
    /// Suspicious: not on the allowlist, or a risky construct with legitimate uses.
    Medium,
    /// Malicious: a known code-execution, file, network or process primitive.
    High,
    /// Malicious, and directly executes code (eval/exec/system...).
    Critical,
}

impl Severity {
    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One observation with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// A stable machine name, e.g. `dangerous_import`, `limit_exceeded`, `zip_path_traversal`.
    pub kind: String,
    /// Human explanation: what was seen, where, and why it matters.
    pub detail: String,
    /// How bad it is.
    pub severity: Severity,
}

impl Finding {
    /// Builds a finding.
    pub fn new(kind: &str, severity: Severity, detail: impl Into<String>) -> Self {
        Finding {
            kind: kind.to_string(),
            detail: detail.into(),
            severity,
        }
    }
}

/// The per-file answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fully parsed, nothing outside the allowlist.
    Clean,
    /// The scan did not finish (limit, parse error, unknown format): never treat as clean.
    Inconclusive,
    /// Something not on the allowlist or a risky construct.
    Suspicious,
    /// A known dangerous primitive.
    Malicious,
}

impl Verdict {
    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Suspicious => "suspicious",
            Verdict::Malicious => "malicious",
        }
    }
}

/// Whether the parser reached the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanStatus {
    /// Every byte that matters was parsed.
    Complete,
    /// A limit (size, opcodes, time, depth, ratio...) stopped the scan, or only a heuristic ran.
    Incomplete,
    /// The bytes are malformed or truncated.
    Error,
    /// The format is unknown or recognised but not supported.
    Unsupported,
}

impl ScanStatus {
    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Complete => "complete",
            ScanStatus::Incomplete => "incomplete",
            ScanStatus::Error => "error",
            ScanStatus::Unsupported => "unsupported",
        }
    }
}

/// Verdict from a status and findings: high/critical → malicious, medium → suspicious,
/// otherwise anything but a complete scan → inconclusive, else clean.
pub fn verdict_for(status: ScanStatus, findings: &[Finding]) -> Verdict {
    let worst = findings.iter().map(|f| f.severity).max();
    match worst {
        Some(Severity::High | Severity::Critical) => Verdict::Malicious,
        Some(Severity::Medium) => Verdict::Suspicious,
        _ if status != ScanStatus::Complete => Verdict::Inconclusive,
        _ => Verdict::Clean,
    }
}

/// The report for one file or archive member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// Path on disk; archive members are `outer!member` (nested: `a.zip!b.zip!c.pkl`).
    pub path: String,
    /// What the bytes were recognised as.
    pub format: Format,
    /// The answer (for containers: the worst of the container and its members).
    pub verdict: Verdict,
    /// Whether the parse finished.
    pub status: ScanStatus,
    /// Everything observed, each with its explanation.
    pub findings: Vec<Finding>,
}

/// All files of one scan, containers before their members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// One entry per scanned file or member.
    pub files: Vec<FileReport>,
}

impl ScanReport {
    /// The worst verdict over all files (clean when empty).
    pub fn worst(&self) -> Verdict {
        self.files
            .iter()
            .map(|f| f.verdict)
            .max()
            .unwrap_or(Verdict::Clean)
    }
}

/// Every bound the scanner enforces. All are per top-level file unless stated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Pickle opcodes walked per pickle stream.
    pub max_opcodes: u64,
    /// Bytes of one string kept for analysis (longer strings are skipped, not stored).
    pub max_string_bytes: u64,
    /// Symbolic stack / mark-stack depth of the pickle walker.
    pub max_stack: usize,
    /// Memo entries of the pickle walker.
    pub max_memo: usize,
    /// Total bytes of strings the pickle walker retains.
    pub max_retained_bytes: u64,
    /// Concatenated pickles followed in one stream.
    pub max_pickles_per_stream: usize,
    /// Archive nesting depth (a zip in a zip is depth 2).
    pub max_depth: usize,
    /// Entries per archive.
    pub max_entries: usize,
    /// Total decompressed bytes per top-level file.
    pub max_decompressed: u64,
    /// Decompressed/compressed ratio above which a member is treated as a bomb (checked
    /// once a member has produced more than 1 MiB).
    pub max_ratio: u64,
    /// A nested archive is buffered in memory to be opened; this caps that buffer.
    pub max_nested_bytes: u64,
    /// Header bytes for safetensors / GGUF metadata / ONNX non-tensor fields.
    pub max_header_bytes: u64,
    /// Elements of one GGUF metadata array.
    pub max_array_len: u64,
    /// ONNX graph nodes (over all subgraphs).
    pub max_graph_nodes: u64,
    /// Bytes of a JSON document parsed (configs).
    pub max_json_bytes: u64,
    /// Bytes of an HDF5 file searched by the byte heuristic.
    pub max_heuristic_bytes: u64,
    /// Wall-clock budget per top-level file.
    pub max_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_opcodes: 50_000_000,
            max_string_bytes: 1 << 20,
            max_stack: 1_000_000,
            max_memo: 1_000_000,
            max_retained_bytes: 64 << 20,
            max_pickles_per_stream: 64,
            max_depth: 4,
            max_entries: 100_000,
            max_decompressed: 16 << 30,
            max_ratio: 200,
            max_nested_bytes: 256 << 20,
            max_header_bytes: 100 << 20,
            max_array_len: 16_000_000,
            max_graph_nodes: 2_000_000,
            max_json_bytes: 64 << 20,
            max_heuristic_bytes: 1 << 30,
            max_time: Duration::from_secs(120),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_precedence() {
        let f = |s| Finding::new("k", s, "d");
        assert_eq!(verdict_for(ScanStatus::Complete, &[]), Verdict::Clean);
        assert_eq!(
            verdict_for(ScanStatus::Error, &[f(Severity::Low)]),
            Verdict::Inconclusive
        );
        assert_eq!(
            verdict_for(ScanStatus::Error, &[f(Severity::Medium)]),
            Verdict::Suspicious
        );
        assert_eq!(
            verdict_for(
                ScanStatus::Incomplete,
                &[f(Severity::Medium), f(Severity::Critical)]
            ),
            Verdict::Malicious
        );
        assert_eq!(
            verdict_for(ScanStatus::Complete, &[f(Severity::Info)]),
            Verdict::Clean
        );
        assert!(Verdict::Malicious > Verdict::Suspicious);
        assert!(Verdict::Suspicious > Verdict::Inconclusive);
        assert!(Verdict::Inconclusive > Verdict::Clean);
    }
}
