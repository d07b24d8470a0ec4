//! Keras: the `config.json` of a `.keras` zip, and a byte heuristic for legacy HDF5 `.h5`.
//!
//! Keras can rebuild `Lambda` layers from marshalled Python bytecode and resolve custom objects
//! by importing modules named in the config; `safe_mode=False` turns the guard off. There is no
//! mature pure-Rust HDF5 reader, so for `.h5` files we search the bytes for the JSON
//! `model_config` attribute and its Lambda markers, and say that it is a heuristic.

use serde_json::Value;

use crate::model::{Limits, ScanStatus, Severity};
use crate::src::{Node, PResult, Src};

/// The HDF5 signature.
pub const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Whether a JSON document looks like a Keras model/layer config.
pub fn is_keras_config(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    o.contains_key("class_name")
        && o.contains_key("config")
        && (o.contains_key("module") || o.contains_key("keras_version") || o.contains_key("registered_name"))
}

/// Lints a Keras config tree.
pub(crate) fn lint_config(where_: &str, v: &Value, node: &mut Node) {
    let mut stack = vec![(v, 0u32)];
    let mut visited = 0u64;
    while let Some((v, depth)) = stack.pop() {
        visited += 1;
        if depth > 256 || visited > 5_000_000 {
            node.fail(
                ScanStatus::Incomplete,
                "limit_exceeded",
                format!("{where_}: config too deep or too large"),
            );
            return;
        }
        match v {
            Value::Object(o) => {
                if let Some(class) = o.get("class_name").and_then(Value::as_str) {
                    let name = o
                        .get("config")
                        .and_then(|c| c.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or("?");
                    if class == "Lambda" {
                        let f = o.get("config").and_then(|c| c.get("function"));
                        let bytecode = match f {
                            Some(Value::Array(a)) => a.first().is_some_and(Value::is_string),
                            Some(Value::Object(fo)) => {
                                fo.get("class_name").and_then(Value::as_str) == Some("__lambda__")
                                    || fo.get("config").and_then(|c| c.get("code")).is_some()
                            }
                            Some(Value::String(_)) => {
                                o.get("config")
                                    .and_then(|c| c.get("function_type"))
                                    .and_then(Value::as_str)
                                    == Some("lambda")
                            }
                            _ => false,
                        };
                        if bytecode {
                            node.add(
                                "keras_lambda",
                                Severity::High,
                                format!("{where_}: Lambda layer {name:?} embeds marshalled Python bytecode, executed when the model loads with safe_mode off"),
                            );
                        } else {
                            node.add(
                                "keras_lambda",
                                Severity::Medium,
                                format!("{where_}: Lambda layer {name:?} refers to a Python function resolved at load time"),
                            );
                        }
                    }
                    if class == "__lambda__" || class == "__function__" {
                        node.add(
                            "keras_function",
                            Severity::High,
                            format!("{where_}: serialised Python function ({class}) in the config"),
                        );
                    }
                }
                if let Some(m) = o.get("module").and_then(Value::as_str)
                    && !(m == "keras"
                        || m.starts_with("keras.")
                        || m == "builtins"
                        || m.starts_with("tensorflow.keras")
                        || m.starts_with("tf_keras"))
                {
                    node.add(
                        "keras_custom_object",
                        Severity::Medium,
                        format!("{where_}: object from module {m:?} is imported when the model loads (custom object)"),
                    );
                }
                if let Some(r) = o.get("registered_name").and_then(Value::as_str)
                    && r.contains('>')
                {
                    node.add(
                        "keras_custom_object",
                        Severity::Medium,
                        format!("{where_}: custom registered object {r:?} needs user code at load time"),
                    );
                }
                if o.get("safe_mode").and_then(Value::as_bool) == Some(false) {
                    node.add(
                        "keras_unsafe_mode",
                        Severity::Medium,
                        format!("{where_}: safe_mode is disabled"),
                    );
                }
                stack.extend(o.values().map(|x| (x, depth + 1)));
            }
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, depth + 1))),
            _ => {}
        }
    }
}

const H5_MARKERS: &[(&[u8], &str, Severity)] = &[
    (
        b"\"class_name\": \"Lambda\"",
        "a Lambda layer (marshalled bytecode in Keras 2 .h5 files)",
        Severity::High,
    ),
    (
        b"\"class_name\":\"Lambda\"",
        "a Lambda layer (marshalled bytecode in Keras 2 .h5 files)",
        Severity::High,
    ),
    (
        b"\"function_type\": \"lambda\"",
        "a serialised lambda function",
        Severity::High,
    ),
    (
        b"\"module\": \"__main__\"",
        "a custom object from __main__",
        Severity::Medium,
    ),
];

/// Byte heuristic over an HDF5 stream. Always leaves the status incomplete: absence of markers
/// is not proof of safety.
pub(crate) fn scan_h5(src: &mut Src<'_>, limits: &Limits, node: &mut Node) -> PResult<()> {
    let mut window: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut seen_config = false;
    let mut read = 0u64;
    loop {
        if read >= limits.max_heuristic_bytes {
            node.add(
                "limit_exceeded",
                Severity::Low,
                "HDF5 heuristic stopped at --max-heuristic-bytes",
            );
            break;
        }
        let n = std::io::Read::read(src, &mut buf).map_err(crate::src::PErr::from)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        window.extend_from_slice(&buf[..n]);
        let hay = &window;
        if !seen_config && memfind(hay, b"model_config").is_some() {
            seen_config = true;
        }
        for (pat, what, sev) in H5_MARKERS {
            if memfind(hay, pat).is_some() {
                node.add(
                    "keras_h5_heuristic",
                    *sev,
                    format!("byte search (heuristic, no HDF5 parser) found {what}"),
                );
            }
        }
        // Keep an overlap so markers across chunk boundaries are still found.
        let keep = 64.min(window.len());
        window.drain(..window.len() - keep);
    }
    node.fail(
        ScanStatus::Incomplete,
        "heuristic_only",
        format!(
            "HDF5 is not parsed (no pure-Rust HDF5 reader); a byte heuristic searched {read} bytes{}. Absence of markers is not proof of safety",
            if seen_config { " and found a model_config attribute" } else { "" }
        ),
    );
    Ok(())
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Format, Verdict};

    fn lint(j: &str) -> crate::model::FileReport {
        let v: Value = serde_json::from_str(j).unwrap();
        let mut node = Node::new("t".into(), Format::Json);
        lint_config("config.json", &v, &mut node);
        node.finish()
    }

    #[test]
    fn configs() {
        let clean = r#"{"module":"keras","class_name":"Sequential","config":{"layers":[{"module":"keras.layers","class_name":"Dense","config":{"name":"d"}}]}}"#;
        assert_eq!(lint(clean).verdict, Verdict::Clean);
        let lam = r#"{"module":"keras.layers","class_name":"Lambda","config":{"name":"l","function":{"class_name":"__lambda__","config":{"code":"4wEAAAA"}}}}"#;
        assert_eq!(lint(lam).verdict, Verdict::Malicious);
        let custom = r#"{"module":"evilpkg.layers","class_name":"X","config":{}}"#;
        assert_eq!(lint(custom).verdict, Verdict::Suspicious);
        assert!(is_keras_config(&serde_json::from_str(clean).unwrap()));
    }

    #[test]
    fn h5_heuristic_is_never_clean() {
        let data = b"\x89HDF\r\n\x1a\n....model_config {\"class_name\": \"Dense\"}".to_vec();
        let mut r: &[u8] = &data;
        let mut src = Src::new(&mut r, None);
        let mut node = Node::new("t".into(), Format::Hdf5);
        scan_h5(&mut src, &Limits::default(), &mut node).unwrap();
        assert_eq!(node.finish().verdict, Verdict::Inconclusive);
        let data = b"\x89HDF\r\n\x1a\n....model_config {\"class_name\": \"Lambda\"}".to_vec();
        let mut r: &[u8] = &data;
        let mut src = Src::new(&mut r, None);
        let mut node = Node::new("t".into(), Format::Hdf5);
        scan_h5(&mut src, &Limits::default(), &mut node).unwrap();
        assert_eq!(node.finish().verdict, Verdict::Malicious);
    }
}
