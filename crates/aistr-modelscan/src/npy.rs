//! numpy `.npy` arrays: header parsing, and object arrays, whose payload is a pickle.
//!
//! `np.load(..., allow_pickle=True)` unpickles object arrays, so their payload goes through the
//! pickle walker. Plain numeric arrays are data; we only check the header and the byte count.

use crate::model::{Limits, Severity};
use crate::pickle;
use crate::src::{Node, PErr, PResult, Src};

/// The npy magic prefix.
pub const MAGIC: &[u8] = b"\x93NUMPY";

/// The parts of an npy header we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The raw `descr` value text.
    pub descr: String,
    /// Whether the dtype holds Python objects (payload is a pickle).
    pub object: bool,
    /// Array shape.
    pub shape: Vec<u64>,
    /// Bytes per element when known (simple dtypes).
    pub itemsize: Option<u64>,
}

fn dict_value<'a>(h: &'a str, key: &str) -> Option<&'a str> {
    let k1 = format!("'{key}':");
    let k2 = format!("\"{key}\":");
    let at = h
        .find(&k1)
        .map(|i| i + k1.len())
        .or_else(|| h.find(&k2).map(|i| i + k2.len()))?;
    Some(h[at..].trim_start())
}

/// Parses the header dictionary text (`{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`).
pub fn parse_header(h: &str) -> Result<NpyHeader, String> {
    let d = dict_value(h, "descr").ok_or("npy header has no 'descr'")?;
    let descr = if let Some(rest) = d.strip_prefix('\'').or_else(|| d.strip_prefix('"')) {
        rest.split(['\'', '"']).next().unwrap_or("").to_string()
    } else if d.starts_with('[') {
        // Structured dtype: keep the text up to the matching bracket (bounded by the header).
        let mut depth = 0i32;
        let mut end = d.len();
        for (i, c) in d.char_indices() {
            match c {
                '[' | '(' => depth += 1,
                ']' | ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        d[..end].to_string()
    } else {
        return Err("npy 'descr' is neither a string nor a list".into());
    };
    let object = if descr.starts_with('[') {
        descr.contains("'O'") || descr.contains("|O") || descr.contains("\"O\"")
    } else {
        descr.trim_start_matches(['<', '>', '|', '=']).starts_with('O')
    };
    let s = dict_value(h, "shape").ok_or("npy header has no 'shape'")?;
    let s = s.strip_prefix('(').ok_or("npy 'shape' is not a tuple")?;
    let inner = s.split(')').next().ok_or("npy 'shape' is not closed")?;
    let mut shape = Vec::new();
    for part in inner.split(',') {
        let p = part.trim().trim_end_matches('L');
        if p.is_empty() {
            continue;
        }
        shape.push(
            p.parse::<u64>()
                .map_err(|_| format!("npy shape element {p:?} is not a number"))?,
        );
        if shape.len() > 64 {
            return Err("npy shape has more than 64 dimensions".into());
        }
    }
    let itemsize = if descr.starts_with('[') || object {
        None
    } else {
        let t = descr.trim_start_matches(['<', '>', '|', '=']);
        let (kind, num) = t.split_at(t.find(|c: char| c.is_ascii_digit()).unwrap_or(t.len()));
        let n: Option<u64> = num.split('[').next().and_then(|x| x.parse().ok());
        match (kind, n) {
            ("U", Some(n)) => n.checked_mul(4),
            (_, Some(n)) => Some(n),
            ("?", None) | ("b", None) | ("B", None) => Some(1),
            _ => None,
        }
    };
    Ok(NpyHeader {
        descr,
        object,
        shape,
        itemsize,
    })
}

/// Scans an npy stream; `total` is the stream length when known.
pub(crate) fn scan(src: &mut Src<'_>, total: Option<u64>, limits: &Limits, node: &mut Node) -> PResult<()> {
    let mut magic = [0u8; 6];
    src.exact(&mut magic)?;
    if magic != MAGIC {
        return Err(PErr::Malformed("npy magic missing".into()));
    }
    let major = src.u8()?;
    let _minor = src.u8()?;
    let hlen = match major {
        1 => u64::from(src.le_u16()?),
        2 | 3 => u64::from(src.le_u32()?),
        v => return Err(PErr::Malformed(format!("unsupported npy version {v}"))),
    };
    let header = src.vec(hlen, 1 << 20, "npy header")?;
    let text = String::from_utf8_lossy(&header);
    let h = parse_header(&text).map_err(PErr::Malformed)?;
    if h.object {
        node.add(
            "object_array",
            Severity::Info,
            format!(
                "dtype {} stores Python objects: the payload is a pickle, walked below",
                h.descr
            ),
        );
        let summary = pickle::walk_one(src, limits, node)?;
        let _ = summary;
        if src.peek()?.is_some() {
            node.add(
                "trailing_data",
                Severity::Low,
                "bytes follow the object-array pickle; numpy ignores them",
            );
        }
        return Ok(());
    }
    let Some(itemsize) = h.itemsize else {
        node.add(
            "npy_structured",
            Severity::Info,
            format!("structured dtype {} without objects", h.descr),
        );
        return Ok(());
    };
    let want = h
        .shape
        .iter()
        .try_fold(itemsize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| PErr::Malformed("npy shape × itemsize overflows".into()))?;
    if let Some(total) = total {
        let have = total.saturating_sub(src.offset());
        if have < want {
            return Err(PErr::Truncated(format!(
                "npy data holds {have} bytes, shape needs {want}"
            )));
        }
        if have > want {
            node.add(
                "trailing_data",
                Severity::Low,
                format!("{} bytes after the array data", have - want),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let h = parse_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.shape, vec![2, 3]);
        assert_eq!(h.itemsize, Some(8));
        assert!(!h.object);
        let h = parse_header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(h.object);
        let h = parse_header("{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (), }")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(h.object);
        assert!(parse_header("{'descr': '<f8', 'shape': (x,)}").is_err());
        let h = parse_header("{'descr': '<U3', 'fortran_order': False, 'shape': (), }")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.itemsize, Some(12));
    }
}
