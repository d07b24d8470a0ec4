//! Tar archives, in particular the very old PyTorch tar checkpoint (`sys_info`, `pickle`,
//! `storages`, `tensors`), whose `storages`/`tensors` members interleave small pickles with raw
//! bytes. We walk that layout exactly, so that every pickle the legacy loader would read is
//! checked and the raw bytes are skipped by their declared sizes.

use crate::model::{Limits, Severity};
use crate::pickle;
use crate::policy::torch_storage_element_size;
use crate::src::{Node, PErr, PResult, Src};

/// One tar header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarHeader {
    /// Member name (ustar prefix joined).
    pub name: String,
    /// Member size.
    pub size: u64,
    /// Type flag byte.
    pub typeflag: u8,
    /// Link target for links.
    pub link: String,
}

/// Whether a 512-byte head is a ustar header.
pub fn looks_like(head: &[u8]) -> bool {
    head.len() >= 263 && &head[257..262] == b"ustar"
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn octal(b: &[u8]) -> Result<u64, String> {
    // GNU base-256 for large sizes.
    if b.first().is_some_and(|&c| c & 0x80 != 0) {
        let mut v: u64 = u64::from(b[0] & 0x7f);
        for &c in &b[1..] {
            v = v
                .checked_mul(256)
                .and_then(|x| x.checked_add(u64::from(c)))
                .ok_or("tar size overflows")?;
        }
        return Ok(v);
    }
    let s = cstr(b);
    let t = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if t.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(t, 8).map_err(|_| format!("tar size field {t:?} is not octal"))
}

/// Reads the next header; `None` at the end-of-archive marker.
pub(crate) fn next_header(src: &mut Src<'_>) -> PResult<Option<TarHeader>> {
    let mut h = [0u8; 512];
    if src.peek()?.is_none() {
        return Ok(None);
    }
    src.exact(&mut h)?;
    if h.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) })
        .sum();
    let declared = octal(&h[148..156]).map_err(PErr::Malformed)?;
    if sum != declared {
        return Err(PErr::Malformed("tar header checksum mismatch".into()));
    }
    let mut name = cstr(&h[0..100]);
    let prefix = cstr(&h[345..500]);
    if &h[257..262] == b"ustar" && !prefix.is_empty() {
        name = format!("{prefix}/{name}");
    }
    Ok(Some(TarHeader {
        name,
        size: octal(&h[124..136]).map_err(PErr::Malformed)?,
        typeflag: h[156],
        link: cstr(&h[157..257]),
    }))
}

/// Whether a set of member names is a legacy PyTorch tar checkpoint.
pub fn is_torch_member(name: &str) -> bool {
    matches!(name, "sys_info" | "pickle" | "storages" | "tensors")
}

fn count_pickle(src: &mut Src<'_>, limits: &Limits, node: &mut Node, what: &str) -> PResult<u64> {
    let s = pickle::walk_one(src, limits, node)?;
    let n = s
        .result_int
        .ok_or_else(|| PErr::Malformed(format!("{what}: count pickle is not an integer")))?;
    let n = u64::try_from(n).map_err(|_| PErr::Malformed(format!("{what}: negative count")))?;
    if n > limits.max_entries as u64 {
        return Err(PErr::Limit(format!(
            "{what}: {n} records (cap {})",
            limits.max_entries
        )));
    }
    Ok(n)
}

/// Walks the `storages` member: count, then per storage a pickle `(key, location, type)`, an
/// 8-byte element count and the raw elements.
pub(crate) fn walk_storages(src: &mut Src<'_>, limits: &Limits, node: &mut Node) -> PResult<()> {
    let n = count_pickle(src, limits, node, "storages")?;
    for i in 0..n {
        let s = pickle::walk_one(src, limits, node)?;
        let elsize = s
            .imports
            .iter()
            .rev()
            .find_map(|g| g.strip_prefix("torch.").and_then(torch_storage_element_size))
            .ok_or_else(|| {
                PErr::Malformed(format!("storage record {i} names no known torch storage type"))
            })?;
        let numel = src.le_u64()?;
        let bytes = numel
            .checked_mul(elsize)
            .ok_or_else(|| PErr::Malformed("storage size overflows".into()))?;
        src.skip(bytes, "legacy storage data")?;
    }
    Ok(())
}

/// Walks the `tensors` member: count, then per tensor a pickle and fixed-size geometry.
pub(crate) fn walk_tensors(src: &mut Src<'_>, limits: &Limits, node: &mut Node) -> PResult<()> {
    let n = count_pickle(src, limits, node, "tensors")?;
    for _ in 0..n {
        pickle::walk_one(src, limits, node)?;
        let ndim = src.le_u32()? as i32;
        if !(0..=64).contains(&ndim) {
            return Err(PErr::Malformed(format!("tensor record with {ndim} dimensions")));
        }
        src.skip(4 + 16 * ndim as u64 + 8, "legacy tensor geometry")?;
    }
    Ok(())
}

/// Notes on a member's header (links, unsafe names).
pub(crate) fn check_header(h: &TarHeader, node: &mut Node) {
    if let Some(why) = crate::zip::unsafe_name(&h.name) {
        node.add(
            "archive_path_traversal",
            Severity::High,
            format!("tar member {:?}: {why}", h.name),
        );
    }
    if h.typeflag == b'1' || h.typeflag == b'2' {
        node.add(
            "archive_link",
            Severity::High,
            format!("tar member {:?} is a link to {:?}", h.name, h.link),
        );
    }
}
