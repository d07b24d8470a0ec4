//! safetensors header validation (own parser, so it can be fuzzed and bounded).
//!
//! Checks: the header length is capped and fits the file, the header is a JSON object, every
//! tensor has a known dtype, a shape and `data_offsets` whose span equals shape × dtype size,
//! spans do not overlap and tile the data section without gaps, and `__metadata__` is a map of
//! strings without code-like content. The tensor bytes themselves are never read.

use serde_json::{Map, Value};

use crate::model::{Limits, Severity};
use crate::src::{Node, PErr, PResult, Src};

/// Bits per element of each safetensors dtype.
fn dtype_bits(d: &str) -> Option<u64> {
    Some(match d {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" | "E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        _ => return None,
    })
}

/// Whether bytes start like a safetensors file of total length `total` (when known).
pub fn looks_like(head: &[u8], total: Option<u64>) -> bool {
    if head.len() < 10 {
        return false;
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&head[..8]);
    let n = u64::from_le_bytes(n);
    n >= 2 && head[8] == b'{' && total.is_none_or(|t| n <= t.saturating_sub(8))
}

const CODE_HINTS: &[&str] = &[
    "__import__",
    "import os",
    "subprocess",
    "eval(",
    "exec(",
    "os.system",
    "<script",
];

/// Scans a safetensors stream. `total` is the file length when known.
pub(crate) fn scan(
    src: &mut Src<'_>,
    total: Option<u64>,
    limits: &Limits,
    node: &mut Node,
) -> PResult<Vec<(String, String)>> {
    let n = src.le_u64()?;
    if n > limits.max_header_bytes {
        return Err(PErr::Limit(format!(
            "safetensors header of {n} bytes (cap {})",
            limits.max_header_bytes
        )));
    }
    if let Some(t) = total
        && n > t.saturating_sub(8)
    {
        return Err(PErr::Truncated(format!(
            "header length {n} exceeds the file ({t} bytes)"
        )));
    }
    let header = src.vec(n, limits.max_header_bytes, "safetensors header")?;
    let map: Map<String, Value> = serde_json::from_slice(&header)
        .map_err(|e| PErr::Malformed(format!("safetensors header is not a JSON object: {e}")))?;
    let mut metadata = Vec::new();
    let mut spans: Vec<(u64, u64, String)> = Vec::new();
    for (name, v) in &map {
        if name == "__metadata__" {
            let m = v
                .as_object()
                .ok_or_else(|| PErr::Malformed("__metadata__ is not an object".into()))?;
            for (k, val) in m {
                let s = val
                    .as_str()
                    .ok_or_else(|| PErr::Malformed(format!("__metadata__[{k:?}] is not a string")))?;
                if let Some(hint) = CODE_HINTS.iter().find(|h| s.contains(*h)) {
                    node.add(
                        "metadata_code",
                        Severity::Medium,
                        format!("__metadata__[{k:?}] contains code-like text ({hint:?}); safetensors never runs it, but tools that template or eval metadata would"),
                    );
                }
                if s.len() > 1 << 16 {
                    node.add(
                        "metadata_large",
                        Severity::Low,
                        format!("__metadata__[{k:?}] is {} bytes", s.len()),
                    );
                }
                if metadata.len() < 64 {
                    metadata.push((k.clone(), s.chars().take(256).collect()));
                }
            }
            continue;
        }
        let t = v
            .as_object()
            .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} is not an object")))?;
        let dtype = t
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} has no dtype")))?;
        let bits = dtype_bits(dtype)
            .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} has unknown dtype {dtype:?}")))?;
        let shape = t
            .get("shape")
            .and_then(Value::as_array)
            .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} has no shape")))?;
        let mut numel: u64 = 1;
        for d in shape {
            let d = d
                .as_u64()
                .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} has a non-integer dimension")))?;
            numel = numel
                .checked_mul(d)
                .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} shape overflows")))?;
        }
        let offs = t
            .get("data_offsets")
            .and_then(Value::as_array)
            .filter(|a| a.len() == 2)
            .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} has no [begin, end] data_offsets")))?;
        let (b, e) = match (offs[0].as_u64(), offs[1].as_u64()) {
            (Some(b), Some(e)) if e >= b => (b, e),
            _ => {
                return Err(PErr::Malformed(format!(
                    "tensor {name:?} has invalid data_offsets"
                )));
            }
        };
        let bits_total = numel
            .checked_mul(bits)
            .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} size overflows")))?;
        if bits_total % 8 != 0 || bits_total / 8 != e - b {
            return Err(PErr::Malformed(format!(
                "tensor {name:?}: {} bytes in data_offsets but shape × {dtype} needs {} bits",
                e - b,
                bits_total
            )));
        }
        if t.keys()
            .any(|k| !matches!(k.as_str(), "dtype" | "shape" | "data_offsets"))
        {
            node.add(
                "unexpected_field",
                Severity::Low,
                format!("tensor {name:?} carries fields beyond dtype/shape/data_offsets"),
            );
        }
        spans.push((b, e, name.clone()));
    }
    spans.sort();
    let mut cursor = 0u64;
    for (b, e, name) in &spans {
        if *b < cursor {
            return Err(PErr::Malformed(format!(
                "tensor {name:?} overlaps the previous tensor"
            )));
        }
        if *b > cursor {
            return Err(PErr::Malformed(format!(
                "gap of {} bytes before tensor {name:?}",
                b - cursor
            )));
        }
        cursor = *e;
    }
    match total {
        Some(t) => {
            let data = t - 8 - n;
            if cursor > data {
                return Err(PErr::Truncated(format!(
                    "tensors need {cursor} data bytes, file has {data}"
                )));
            }
            if cursor < data {
                node.add(
                    "trailing_data",
                    Severity::Medium,
                    format!(
                        "{} bytes after the last tensor are not described by the header (hidden payload?)",
                        data - cursor
                    ),
                );
            }
        }
        None => {
            let have = src.drain(cursor.saturating_add(1))?;
            if have < cursor {
                return Err(PErr::Truncated(format!(
                    "tensors need {cursor} data bytes, stream has {have}"
                )));
            }
        }
    }
    node.add(
        "safetensors_header",
        Severity::Info,
        format!("{} tensors, {} data bytes, header validated", spans.len(), cursor),
    );
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Format, Verdict};

    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend(std::iter::repeat_n(0u8, data));
        v
    }

    fn run(bytes: &[u8]) -> crate::model::FileReport {
        let mut r: &[u8] = bytes;
        let mut s = Src::new(&mut r, None);
        let mut node = Node::new("t".into(), Format::Safetensors);
        if let Err(e) = scan(&mut s, Some(bytes.len() as u64), &Limits::default(), &mut node) {
            e.record(&mut node);
        }
        node.finish()
    }

    #[test]
    fn valid_and_invalid_headers() {
        let ok = file(
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}"#,
            8,
        );
        assert!(looks_like(&ok, Some(ok.len() as u64)));
        assert_eq!(run(&ok).verdict, Verdict::Clean);
        let overlap = file(
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            8,
        );
        assert_eq!(run(&overlap).verdict, Verdict::Inconclusive);
        let badsize = file(r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8);
        assert_eq!(run(&badsize).verdict, Verdict::Inconclusive);
        let short = file(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 4);
        assert_eq!(run(&short).verdict, Verdict::Inconclusive);
        let code = file(r#"{"__metadata__":{"x":"__import__('os')"}}"#, 0);
        assert_eq!(run(&code).verdict, Verdict::Suspicious);
        let dtype = file(r#"{"a":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}}"#, 8);
        assert_eq!(run(&dtype).verdict, Verdict::Inconclusive);
    }
}
