//! Entry points for the cargo-fuzz targets in `fuzz/`: one per parser, each running a single
//! parser over arbitrary bytes with tight limits. They must never panic, hang or allocate
//! beyond the limits; the verdict is returned so a target can assert invariants.

use std::time::Duration;

use crate::model::{Format, Limits, Verdict};
use crate::src::{Node, Src};

fn limits() -> Limits {
    Limits {
        max_opcodes: 100_000,
        max_stack: 10_000,
        max_memo: 10_000,
        max_retained_bytes: 1 << 20,
        max_string_bytes: 1 << 16,
        max_decompressed: 8 << 20,
        max_nested_bytes: 4 << 20,
        max_header_bytes: 4 << 20,
        max_array_len: 100_000,
        max_graph_nodes: 100_000,
        max_json_bytes: 4 << 20,
        max_heuristic_bytes: 4 << 20,
        max_time: Duration::from_secs(5),
        ..Limits::default()
    }
}

fn run(
    data: &[u8],
    fmt: Format,
    f: impl FnOnce(&mut Src<'_>, &Limits, &mut Node) -> Result<(), crate::src::PErr>,
) -> Verdict {
    let mut r: &[u8] = data;
    let mut src = Src::new(&mut r, None);
    let mut node = Node::new("fuzz".into(), fmt);
    let l = limits();
    if let Err(e) = f(&mut src, &l, &mut node) {
        e.record(&mut node);
    }
    node.finish().verdict
}

/// Pickle stream walker.
pub fn pickle(data: &[u8]) -> Verdict {
    run(data, Format::Pickle, |s, l, n| {
        crate::pickle::walk_stream(s, l, n).map(|_| ())
    })
}

/// Zip containers (and everything reachable inside them) through the dispatcher.
pub fn zip(data: &[u8]) -> Verdict {
    let mut v = b"PK\x03\x04".to_vec();
    v.extend_from_slice(data);
    crate::scan::scan_bytes("fuzz.zip", &v, &limits()).worst()
}

/// safetensors header validation.
pub fn safetensors(data: &[u8]) -> Verdict {
    let total = Some(data.len() as u64);
    run(data, Format::Safetensors, |s, l, n| {
        crate::safetensors::scan(s, total, l, n).map(|_| ())
    })
}

/// GGUF reader.
pub fn gguf(data: &[u8]) -> Verdict {
    let total = Some(data.len() as u64);
    run(data, Format::Gguf, |s, l, n| {
        crate::gguf::scan(s, total, l, n).map(|_| ())
    })
}

/// ONNX protobuf walker.
pub fn onnx(data: &[u8]) -> Verdict {
    run(data, Format::Onnx, crate::onnx::scan)
}

/// Keras config lint (via the JSON path).
pub fn keras_config(data: &[u8]) -> Verdict {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return Verdict::Inconclusive;
    };
    let mut node = Node::new("config.json".into(), Format::Json);
    crate::keras::lint_config("config.json", &v, &mut node);
    node.finish().verdict
}

/// Any bytes through the full dispatcher (format sniffing included).
pub fn any(data: &[u8]) -> Verdict {
    crate::scan::scan_bytes("fuzz", data, &limits()).worst()
}
