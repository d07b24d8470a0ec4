//! A bounded GGUF reader and a lint for `tokenizer.chat_template`.
//!
//! Every length in a GGUF file is a claim: strings and arrays are *skipped* unless we keep
//! them (a few `general.*` keys and the chat template, each capped), so a file that claims a
//! 2^60-byte string costs nothing but a truncation error. Tensor infos are checked against the
//! ggml block sizes, the alignment and the data section. The chat template is Jinja that
//! llama.cpp front-ends render; attribute walks such as `__class__.__mro__` are how template
//! injection escapes the sandbox, so they are flagged.

use std::collections::BTreeMap;

use crate::model::{Limits, Severity};
use crate::src::{Node, PErr, PResult, Src};

/// The GGUF magic.
pub const MAGIC: &[u8] = b"GGUF";

/// Metadata the AI-BOM and the report use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GgufInfo {
    /// GGUF version.
    pub version: u32,
    /// Number of tensors.
    pub tensor_count: u64,
    /// Kept string metadata (`general.*`, chat template), capped.
    pub strings: BTreeMap<String, String>,
}

/// (block elements, bytes per block) for ggml types.
fn ggml_type(t: u32) -> Option<(u64, u64, &'static str)> {
    Some(match t {
        0 => (1, 4, "F32"),
        1 => (1, 2, "F16"),
        2 => (32, 18, "Q4_0"),
        3 => (32, 20, "Q4_1"),
        6 => (32, 22, "Q5_0"),
        7 => (32, 24, "Q5_1"),
        8 => (32, 34, "Q8_0"),
        9 => (32, 36, "Q8_1"),
        10 => (256, 84, "Q2_K"),
        11 => (256, 110, "Q3_K"),
        12 => (256, 144, "Q4_K"),
        13 => (256, 176, "Q5_K"),
        14 => (256, 210, "Q6_K"),
        15 => (256, 292, "Q8_K"),
        16 => (256, 66, "IQ2_XXS"),
        17 => (256, 74, "IQ2_XS"),
        18 => (256, 98, "IQ3_XXS"),
        19 => (256, 50, "IQ1_S"),
        20 => (32, 18, "IQ4_NL"),
        21 => (256, 110, "IQ3_S"),
        22 => (256, 82, "IQ2_S"),
        23 => (256, 136, "IQ4_XS"),
        24 => (1, 1, "I8"),
        25 => (1, 2, "I16"),
        26 => (1, 4, "I32"),
        27 => (1, 8, "I64"),
        28 => (1, 8, "F64"),
        29 => (256, 56, "IQ1_M"),
        30 => (1, 2, "BF16"),
        34 => (256, 54, "TQ1_0"),
        35 => (256, 66, "TQ2_0"),
        39 => (32, 17, "MXFP4"),
        _ => return None,
    })
}

fn keep_key(k: &str) -> bool {
    k.starts_with("general.") || k.starts_with("tokenizer.chat_template")
}

/// Template-injection markers and how bad each is.
const TEMPLATE_PATTERNS: &[(&str, Severity)] = &[
    ("__class__", Severity::High),
    ("__globals__", Severity::High),
    ("__subclasses__", Severity::High),
    ("__builtins__", Severity::High),
    ("__import__", Severity::High),
    ("__mro__", Severity::High),
    ("__base__", Severity::High),
    ("__init__", Severity::High),
    ("__getattribute__", Severity::High),
    ("__dict__", Severity::High),
    ("__code__", Severity::High),
    ("func_globals", Severity::High),
    ("_TemplateReference__context", Severity::High),
    ("lipsum", Severity::High),
    ("popen", Severity::High),
    ("os.system", Severity::High),
    ("subprocess", Severity::High),
    ("import os", Severity::High),
    ("eval(", Severity::High),
    ("exec(", Severity::High),
    ("os.", Severity::Medium),
    ("|attr(", Severity::Medium),
    ("| attr(", Severity::Medium),
    ("\\x5f", Severity::Medium),
    ("\\u005f", Severity::Medium),
    ("getattr", Severity::Medium),
    ("request.", Severity::Medium),
    ("config.", Severity::Medium),
    ("self.", Severity::Medium),
];

/// Lints a Jinja chat template; used for GGUF metadata and `tokenizer_config.json`.
pub(crate) fn lint_chat_template(where_: &str, template: &str, node: &mut Node) {
    for (pat, sev) in TEMPLATE_PATTERNS {
        if let Some(pos) = template.find(pat) {
            // "os." is only meaningful as an identifier, not inside words like "tokens." or "pos.".
            if *pat == "os." && pos > 0 && template.as_bytes()[pos - 1].is_ascii_alphanumeric() {
                continue;
            }
            if (*pat == "self." || *pat == "config." || *pat == "request.")
                && pos > 0
                && (template.as_bytes()[pos - 1].is_ascii_alphanumeric()
                    || template.as_bytes()[pos - 1] == b'_')
            {
                continue;
            }
            let start = template[..pos].char_indices().rev().nth(30).map_or(0, |(i, _)| i);
            let end = template[pos..]
                .char_indices()
                .nth(pat.len() + 30)
                .map_or(template.len(), |(i, _)| pos + i);
            node.add(
                "template_injection",
                *sev,
                format!(
                    "{where_} contains {pat:?}, a Jinja sandbox-escape pattern: …{}…",
                    &template[start..end]
                ),
            );
        }
    }
}

struct R<'s, 'a> {
    src: &'s mut Src<'a>,
    v1: bool,
    limits: &'s Limits,
    total: Option<u64>,
}

impl R<'_, '_> {
    fn count(&mut self) -> PResult<u64> {
        if self.v1 {
            Ok(u64::from(self.src.le_u32()?))
        } else {
            self.src.le_u64()
        }
    }

    /// Fails fast when a claimed length exceeds what is left of the file.
    fn fits(&self, n: u64) -> PResult<()> {
        if let Some(t) = self.total
            && n > t.saturating_sub(self.src.offset())
        {
            return Err(PErr::Truncated(format!(
                "a {n}-byte value at offset {} runs past the end of the {t}-byte file",
                self.src.offset()
            )));
        }
        Ok(())
    }

    fn check_header(&self) -> PResult<()> {
        if self.src.offset() > self.limits.max_header_bytes {
            return Err(PErr::Limit(format!(
                "GGUF header beyond {} bytes",
                self.limits.max_header_bytes
            )));
        }
        Ok(())
    }

    /// Reads a string, keeping at most `keep` bytes (the rest is skipped, never allocated).
    fn string(&mut self, keep: u64) -> PResult<Option<String>> {
        let n = self.count()?;
        self.fits(n)?;
        if n > keep {
            self.src.skip(n, "GGUF string")?;
            return Ok(None);
        }
        let b = self.src.vec(n, keep, "GGUF string")?;
        Ok(Some(String::from_utf8_lossy(&b).into_owned()))
    }

    fn scalar_size(t: u32) -> Option<u64> {
        Some(match t {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            _ => return None,
        })
    }

    /// Reads one value of type `t`; returns it as a string if it is a kept string.
    fn value(&mut self, t: u32, keep: u64, depth: u32) -> PResult<Option<String>> {
        self.src.tick()?;
        if let Some(sz) = Self::scalar_size(t) {
            let mut b = [0u8; 8];
            self.src.exact(&mut b[..sz as usize])?;
            if t == 4 {
                return Ok(Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_string()));
            }
            return Ok(None);
        }
        match t {
            8 => self.string(keep),
            9 => {
                if depth > 4 {
                    return Err(PErr::Limit("GGUF arrays nested deeper than 4".into()));
                }
                let it = self.src.le_u32()?;
                let n = self.count()?;
                if n > self.limits.max_array_len {
                    return Err(PErr::Limit(format!(
                        "GGUF array of {n} items (cap {})",
                        self.limits.max_array_len
                    )));
                }
                if let Some(sz) = Self::scalar_size(it) {
                    let bytes = n
                        .checked_mul(sz)
                        .ok_or_else(|| PErr::Malformed("GGUF array size overflows".into()))?;
                    self.fits(bytes)?;
                    self.src.skip(bytes, "GGUF array")?;
                } else {
                    for _ in 0..n {
                        self.value(it, 0, depth + 1)?;
                        self.check_header()?;
                    }
                }
                Ok(None)
            }
            other => Err(PErr::Malformed(format!("unknown GGUF value type {other}"))),
        }
    }
}

/// Scans a GGUF stream; `total` is the file length when known.
pub(crate) fn scan(
    src: &mut Src<'_>,
    total: Option<u64>,
    limits: &Limits,
    node: &mut Node,
) -> PResult<GgufInfo> {
    let mut magic = [0u8; 4];
    src.exact(&mut magic)?;
    if magic != *MAGIC {
        return Err(PErr::Malformed("GGUF magic missing".into()));
    }
    let version = src.le_u32()?;
    if !(1..=3).contains(&version) {
        return Err(PErr::Malformed(format!(
            "GGUF version {version} not supported (big-endian files show as a byte-swapped version)"
        )));
    }
    let mut r = R {
        src,
        v1: version == 1,
        limits,
        total,
    };
    let tensor_count = r.count()?;
    let kv_count = r.count()?;
    if tensor_count > 10_000_000 {
        return Err(PErr::Limit(format!("GGUF claims {tensor_count} tensors")));
    }
    if kv_count > 10_000_000 {
        return Err(PErr::Limit(format!("GGUF claims {kv_count} metadata entries")));
    }
    let mut info = GgufInfo {
        version,
        tensor_count,
        ..Default::default()
    };
    let mut alignment: u64 = 32;
    for _ in 0..kv_count {
        let key = r
            .string(65_535)?
            .ok_or_else(|| PErr::Malformed("GGUF metadata key longer than 65535 bytes".into()))?;
        let t = r.src.le_u32()?;
        let keep = if key.starts_with("tokenizer.chat_template") {
            r.limits.max_string_bytes
        } else if keep_key(&key) {
            4096
        } else {
            0
        };
        let v = r.value(t, keep, 0)?;
        r.check_header()?;
        if key == "general.alignment" {
            let a: u64 = v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
            if a == 0 || !a.is_power_of_two() {
                return Err(PErr::Malformed(format!(
                    "general.alignment {a} is not a power of two"
                )));
            }
            alignment = a;
        } else if key.starts_with("tokenizer.chat_template") {
            match &v {
                Some(tpl) if t == 8 => lint_chat_template(&key, tpl, node),
                None if t == 8 => node.add(
                    "limit_exceeded",
                    Severity::Medium,
                    format!(
                        "{key} is larger than {} bytes and was not linted",
                        r.limits.max_string_bytes
                    ),
                ),
                _ => {}
            }
        }
        if let Some(s) = v
            && keep_key(&key)
            && info.strings.len() < 256
        {
            info.strings.insert(key, s);
        }
    }
    let mut tensors: Vec<(u64, u64, String)> = Vec::new();
    for _ in 0..tensor_count {
        let name = r
            .string(65_535)?
            .ok_or_else(|| PErr::Malformed("GGUF tensor name too long".into()))?;
        let nd = r.src.le_u32()?;
        if nd > 8 {
            return Err(PErr::Malformed(format!("tensor {name:?} has {nd} dimensions")));
        }
        let mut dims = Vec::with_capacity(nd as usize);
        for _ in 0..nd {
            dims.push(r.count()?);
        }
        let ty = r.src.le_u32()?;
        let off = r.src.le_u64()?;
        r.check_header()?;
        r.src.tick()?;
        if off % alignment != 0 {
            return Err(PErr::Malformed(format!(
                "tensor {name:?} offset {off} is not {alignment}-aligned"
            )));
        }
        let numel = dims
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} element count overflows")))?;
        let size = match ggml_type(ty) {
            Some((block, bytes, tname)) => {
                if dims.first().is_some_and(|d0| d0 % block != 0) {
                    return Err(PErr::Malformed(format!(
                        "tensor {name:?} row is not a multiple of the {tname} block"
                    )));
                }
                (numel / block)
                    .checked_mul(bytes)
                    .ok_or_else(|| PErr::Malformed(format!("tensor {name:?} byte size overflows")))?
            }
            None => {
                node.add(
                    "unknown_tensor_type",
                    Severity::Low,
                    format!("tensor {name:?} uses ggml type {ty}; size not checked"),
                );
                0
            }
        };
        let end = off
            .checked_add(size)
            .ok_or_else(|| PErr::Malformed("tensor end overflows".into()))?;
        tensors.push((off, end, name));
    }
    let data_start = r.src.offset().div_ceil(alignment) * alignment;
    tensors.sort();
    for w in tensors.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(PErr::Malformed(format!(
                "tensors {:?} and {:?} overlap",
                w[0].2, w[1].2
            )));
        }
    }
    if let (Some(t), Some(last)) = (total, tensors.iter().map(|x| x.1).max()) {
        let data = t.saturating_sub(data_start);
        if last > data {
            return Err(PErr::Truncated(format!(
                "tensor data needs {last} bytes, file has {data}"
            )));
        }
    }
    node.add(
        "gguf_header",
        Severity::Info,
        format!("GGUF v{version}: {kv_count} metadata entries, {tensor_count} tensors validated"),
    );
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Format, Verdict};

    fn s(v: &mut Vec<u8>, x: &str) {
        v.extend((x.len() as u64).to_le_bytes());
        v.extend(x.as_bytes());
    }

    fn gguf(template: &str, claim: Option<u64>) -> Vec<u8> {
        let mut v = b"GGUF".to_vec();
        v.extend(3u32.to_le_bytes());
        v.extend(1u64.to_le_bytes()); // tensors
        v.extend(2u64.to_le_bytes()); // kv
        s(&mut v, "general.name");
        v.extend(8u32.to_le_bytes());
        match claim {
            Some(n) => v.extend(n.to_le_bytes()),
            None => s(&mut v, "tiny"),
        }
        s(&mut v, "tokenizer.chat_template");
        v.extend(8u32.to_le_bytes());
        s(&mut v, template);
        s(&mut v, "w");
        v.extend(1u32.to_le_bytes());
        v.extend(32u64.to_le_bytes());
        v.extend(0u32.to_le_bytes()); // F32
        v.extend(0u64.to_le_bytes());
        let pad = v.len().div_ceil(32) * 32 - v.len();
        v.extend(std::iter::repeat_n(0u8, pad + 128));
        v
    }

    fn run(b: &[u8]) -> (crate::model::FileReport, Option<GgufInfo>) {
        let mut r: &[u8] = b;
        let mut src = Src::new(&mut r, None);
        let mut node = Node::new("t".into(), Format::Gguf);
        let info = match scan(&mut src, Some(b.len() as u64), &Limits::default(), &mut node) {
            Ok(i) => Some(i),
            Err(e) => {
                e.record(&mut node);
                None
            }
        };
        (node.finish(), info)
    }

    #[test]
    fn clean_template_and_metadata() {
        let (r, info) = run(&gguf(
            "{% for m in messages %}{{ m['content'] }}{% endfor %}",
            None,
        ));
        assert_eq!(r.verdict, Verdict::Clean, "{r:?}");
        assert_eq!(
            info.and_then(|i| i.strings.get("general.name").cloned())
                .as_deref(),
            Some("tiny")
        );
    }

    #[test]
    fn hostile_template() {
        let (r, _) = run(&gguf("{{ ''.__class__.__mro__[1].__subclasses__() }}", None));
        assert_eq!(r.verdict, Verdict::Malicious);
    }

    #[test]
    fn huge_string_claim_is_inconclusive() {
        let (r, _) = run(&gguf("x", Some(1 << 60)));
        assert_eq!(r.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn short_data_is_inconclusive() {
        let mut b = gguf("x", None);
        b.truncate(b.len() - 100);
        let (r, _) = run(&b);
        assert_eq!(r.verdict, Verdict::Inconclusive);
    }
}
