//! ONNX models, read with a minimal streaming protobuf wire-format reader (no protoc, no
//! generated code).
//!
//! Only the fields that carry risk are decoded: external-data locations on tensors (a path the
//! runtime opens; absolute or `..` paths read arbitrary files), operator domains on nodes,
//! opsets and local functions (a non-standard domain means a custom-op native library), and
//! subgraphs (nested through node attributes). Everything else, including `raw_data`, is
//! skipped by length. Node counts, nesting depth and string sizes are bounded.

use crate::model::{Limits, Severity};
use crate::src::{Node, PErr, PResult, Src};
use crate::zip::unsafe_name;

/// Operator domains implemented by onnxruntime itself (no custom native library).
const KNOWN_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
    "com.ms.internal.nhwc",
    "org.pytorch.aten",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Msg {
    Model,
    Graph,
    Node,
    Attribute,
    Tensor,
    SparseTensor,
    StringEntry,
    OpsetId,
    Function,
    TrainingInfo,
}

struct Walk<'l> {
    limits: &'l Limits,
    graphs: u64,
    nodes: u64,
    tensors: u64,
    external: u64,
}

fn varint(src: &mut Src<'_>) -> PResult<u64> {
    let mut out = 0u64;
    for i in 0..10 {
        let b = src.u8()?;
        out |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(PErr::Malformed("protobuf varint longer than 10 bytes".into()))
}

/// Whether the first bytes parse as the start of an ONNX `ModelProto`.
pub fn looks_like(head: &[u8]) -> bool {
    // ir_version (field 1, varint) first, in the range ONNX has used.
    if head.len() < 4 || head[0] != 0x08 || head[1] == 0 || head[1] > 20 {
        return false;
    }
    // The next tag must be another ModelProto field with the right wire type.
    let tag = head[2];
    let (field, wt) = (tag >> 3, tag & 7);
    matches!((field, wt), (2..=4 | 6 | 7 | 8 | 14 | 20 | 25, 2) | (5, 0))
}

impl Walk<'_> {
    fn string(&mut self, src: &mut Src<'_>, n: u64) -> PResult<Option<String>> {
        if n > 4096 {
            src.skip(n, "protobuf string")?;
            return Ok(None);
        }
        Ok(Some(
            String::from_utf8_lossy(&src.vec(n, 4096, "protobuf string")?).into_owned(),
        ))
    }

    /// Walks a message of `len` bytes (None = until end of input).
    fn msg(
        &mut self,
        src: &mut Src<'_>,
        kind: Msg,
        len: Option<u64>,
        depth: u32,
        node: &mut Node,
    ) -> PResult<()> {
        if depth > 64 {
            return Err(PErr::Limit("ONNX messages nested deeper than 64".into()));
        }
        let end = len.map(|l| src.offset().saturating_add(l));
        let mut key: Option<String> = None;
        let mut value: Option<String> = None;
        let mut domain: Option<String> = None;
        let mut op_type: Option<String> = None;
        let mut data_location = 0u64;
        loop {
            match end {
                Some(e) if src.offset() >= e => {
                    if src.offset() > e {
                        return Err(PErr::Malformed("protobuf field overruns its message".into()));
                    }
                    break;
                }
                None if src.peek()?.is_none() => break,
                _ => {}
            }
            src.tick()?;
            let tag = varint(src)?;
            let (field, wt) = (tag >> 3, tag & 7);
            match wt {
                0 => {
                    let v = varint(src)?;
                    if kind == Msg::Tensor && field == 14 {
                        data_location = v;
                    }
                }
                1 => src.skip(8, "fixed64")?,
                5 => src.skip(4, "fixed32")?,
                2 => {
                    let n = varint(src)?;
                    if let Some(e) = end
                        && src.offset().saturating_add(n) > e
                    {
                        return Err(PErr::Malformed("protobuf length runs past its message".into()));
                    }
                    let sub = match (kind, field) {
                        (Msg::Model, 7) => Some(Msg::Graph),
                        (Msg::Model, 8) | (Msg::Function, 9) => Some(Msg::OpsetId),
                        (Msg::Model, 14) => Some(Msg::StringEntry),
                        (Msg::Model, 20) => Some(Msg::TrainingInfo),
                        (Msg::Model, 25) => Some(Msg::Function),
                        (Msg::TrainingInfo, 1 | 3) => Some(Msg::Graph),
                        (Msg::Graph, 1) | (Msg::Function, 7) => Some(Msg::Node),
                        (Msg::Graph, 5) => Some(Msg::Tensor),
                        (Msg::Graph, 15) => Some(Msg::SparseTensor),
                        (Msg::SparseTensor, 1 | 2) => Some(Msg::Tensor),
                        (Msg::Node, 5) => Some(Msg::Attribute),
                        (Msg::Attribute, 6 | 11) => Some(Msg::Graph),
                        (Msg::Attribute, 5 | 10) => Some(Msg::Tensor),
                        (Msg::Attribute, 22 | 23) => Some(Msg::SparseTensor),
                        (Msg::Tensor, 13) => Some(Msg::StringEntry),
                        _ => None,
                    };
                    if let Some(sub) = sub {
                        if sub == Msg::Node {
                            self.nodes += 1;
                            if self.nodes > self.limits.max_graph_nodes {
                                return Err(PErr::Limit(format!(
                                    "ONNX graph has more than {} nodes",
                                    self.limits.max_graph_nodes
                                )));
                            }
                        }
                        if sub == Msg::Tensor {
                            self.tensors += 1;
                        }
                        if sub == Msg::Graph {
                            self.graphs += 1;
                        }
                        self.msg(src, sub, Some(n), depth + 1, node)?;
                        continue;
                    }
                    let want = matches!(
                        (kind, field),
                        (Msg::Node, 4 | 7)
                            | (Msg::OpsetId, 1)
                            | (Msg::Function, 10)
                            | (Msg::StringEntry, 1 | 2)
                    );
                    if want {
                        let s = self.string(src, n)?;
                        match (kind, field) {
                            (Msg::Node, 4) => op_type = s,
                            (Msg::Node, 7) | (Msg::OpsetId, 1) | (Msg::Function, 10) => domain = s,
                            (Msg::StringEntry, 1) => key = s,
                            _ => value = s,
                        }
                    } else {
                        src.skip(n, "protobuf field")?;
                    }
                }
                other => {
                    return Err(PErr::Malformed(format!(
                        "protobuf wire type {other} not supported"
                    )));
                }
            }
        }
        match kind {
            Msg::Node | Msg::OpsetId | Msg::Function => {
                let d = domain.unwrap_or_default();
                if !KNOWN_DOMAINS.contains(&d.as_str()) {
                    let what = match kind {
                        Msg::Node => format!("operator {:?}", op_type.unwrap_or_default()),
                        Msg::OpsetId => "opset import".to_string(),
                        _ => "local function".to_string(),
                    };
                    node.add(
                        "custom_op_domain",
                        Severity::Medium,
                        format!("{what} uses domain {d:?}: custom operators are native code loaded from a separate library"),
                    );
                }
            }
            Msg::Tensor if data_location == 1 => {
                node.add(
                    "external_data",
                    Severity::Info,
                    "a tensor stores its data in an external file",
                );
            }
            Msg::StringEntry => {
                if key.as_deref() == Some("location")
                    && let Some(v) = value
                {
                    self.external += 1;
                    if let Some(why) = unsafe_name(&v) {
                        node.add(
                            "external_data_path",
                            Severity::High,
                            format!("external data location {v:?} is an {why}: loading reads a file outside the model directory"),
                        );
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Scans an ONNX model stream.
pub(crate) fn scan(src: &mut Src<'_>, limits: &Limits, node: &mut Node) -> PResult<()> {
    let mut w = Walk {
        limits,
        graphs: 0,
        nodes: 0,
        tensors: 0,
        external: 0,
    };
    w.msg(src, Msg::Model, None, 0, node)?;
    if w.graphs == 0 {
        return Err(PErr::Malformed("ONNX model has no graph".into()));
    }
    node.add(
        "onnx_graph",
        Severity::Info,
        format!(
            "{} nodes, {} tensors, {} external-data references",
            w.nodes, w.tensors, w.external
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Format, Verdict};

    fn ld(field: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![(field << 3) | 2, body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    fn model(node_domain: &str, location: &str) -> Vec<u8> {
        let mut n = ld(4, b"Relu");
        n.extend(ld(7, node_domain.as_bytes()));
        let mut entry = ld(1, b"location");
        entry.extend(ld(2, location.as_bytes()));
        let mut t = ld(8, b"w");
        t.extend(ld(13, &entry));
        t.extend([0x70, 1]); // data_location = EXTERNAL (field 14 varint)
        let mut g = ld(1, &n);
        g.extend(ld(5, &t));
        let mut m = vec![0x08, 0x08];
        m.extend(ld(2, b"pytorch"));
        m.extend(ld(7, &g));
        m
    }

    fn run(b: &[u8]) -> crate::model::FileReport {
        let mut r: &[u8] = b;
        let mut src = Src::new(&mut r, None);
        let mut node = Node::new("t".into(), Format::Onnx);
        if let Err(e) = scan(&mut src, &Limits::default(), &mut node) {
            e.record(&mut node);
        }
        node.finish()
    }

    #[test]
    fn onnx_checks() {
        let ok = model("", "weights.bin");
        assert!(looks_like(&ok));
        assert_eq!(run(&ok).verdict, Verdict::Clean);
        assert_eq!(run(&model("com.evil", "w.bin")).verdict, Verdict::Suspicious);
        assert_eq!(run(&model("", "../../etc/passwd")).verdict, Verdict::Malicious);
        let mut cut = ok.clone();
        cut.truncate(ok.len() - 3);
        assert_eq!(run(&cut).verdict, Verdict::Inconclusive);
    }
}
