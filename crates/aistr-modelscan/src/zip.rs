//! A defensive zip reader of our own.
//!
//! Model zips (PyTorch `.pt`/`.bin`, `.npz`, `.keras`) are opened by several different readers
//! (Python's `zipfile`, PyTorch's miniz-based reader, numpy), and published scanner bypasses
//! live in the gaps between them: flag bits one reader refuses and another ignores, damaged
//! central directories, wrong CRCs. So this reader is deliberately lenient about what it *reads*
//! (it falls back to local headers, ignores flag bits, keeps going on CRC mismatch) and strict
//! about what it *reports*: every such oddity becomes a finding. Sizes come from the file but
//! are only used to bound reads, never to size allocations.

use std::io::{self, Read, Seek, SeekFrom};

use crate::src::{PErr, PResult};

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const LOC64_SIG: u32 = 0x0706_4b50;
const CEN_SIG: u32 = 0x0201_4b50;
const LOC_SIG: u32 = 0x0403_4b50;

/// One entry as described by the central directory (or a recovered local header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// Entry name, lossily decoded.
    pub name: String,
    /// General-purpose flag bits.
    pub flags: u16,
    /// Compression method (0 stored, 8 deflate).
    pub method: u16,
    /// Compressed size.
    pub compressed: u64,
    /// Declared uncompressed size.
    pub uncompressed: u64,
    /// Offset of the local header.
    pub local_offset: u64,
    /// Declared CRC-32.
    pub crc: u32,
    /// External attributes (Unix mode in the high 16 bits when made on Unix).
    pub external_attr: u32,
    /// Host system that made the entry (3 = Unix).
    pub made_by_host: u8,
}

impl ZipEntry {
    /// Flag bit 0: traditional encryption.
    pub fn encrypted(&self) -> bool {
        self.flags & 0x0001 != 0
    }

    /// Unix symlink per the external attributes.
    pub fn is_symlink(&self) -> bool {
        self.made_by_host == 3 && (self.external_attr >> 16) & 0o170_000 == 0o120_000
    }

    /// Directory entry.
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }
}

/// The entries of an archive and how they were found.
#[derive(Debug, Clone, Default)]
pub struct ZipDirectory {
    /// Entries in directory order.
    pub entries: Vec<ZipEntry>,
    /// Why the central directory could not be used, if entries came from local headers.
    pub recovered_from_local: Option<String>,
    /// Bytes found before the first entry (self-extractor stub or polyglot prefix).
    pub prefix_bytes: u64,
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}
fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// Whether the bytes start like a zip (local header, or an empty archive's EOCD).
pub fn looks_like_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

fn read_at<R: Read + Seek>(r: &mut R, at: u64, out: &mut [u8]) -> io::Result<()> {
    r.seek(SeekFrom::Start(at))?;
    r.read_exact(out)
}

/// Reads the directory: the central directory if it is sound, else a scan of local headers.
pub(crate) fn read_directory<R: Read + Seek>(
    r: &mut R,
    len: u64,
    max_entries: usize,
) -> PResult<ZipDirectory> {
    match read_central(r, len, max_entries) {
        Ok(d) => Ok(d),
        Err(PErr::Limit(m)) => Err(PErr::Limit(m)),
        Err(e) => {
            let why = match e {
                PErr::Truncated(d) | PErr::Malformed(d) => d,
                PErr::Io(e) => e.to_string(),
                other => format!("{other:?}"),
            };
            let mut d = scan_local(r, len, max_entries)?;
            if d.entries.is_empty() {
                return Err(PErr::Malformed(format!("no usable zip directory ({why})")));
            }
            d.recovered_from_local = Some(why);
            Ok(d)
        }
    }
}

fn read_central<R: Read + Seek>(r: &mut R, len: u64, max_entries: usize) -> PResult<ZipDirectory> {
    // Find the EOCD in the last 64 KiB + 22 bytes.
    let tail_len = len.min(65_557);
    if tail_len < 22 {
        return Err(PErr::Truncated("file too short for a zip end record".into()));
    }
    let mut tail = vec![0u8; tail_len as usize];
    read_at(r, len - tail_len, &mut tail)?;
    let pos = (0..=tail.len() - 22)
        .rev()
        .find(|&i| le32(&tail, i) == EOCD_SIG)
        .ok_or_else(|| PErr::Malformed("zip end-of-central-directory record not found".into()))?;
    let eocd_at = len - tail_len + pos as u64;
    let e = &tail[pos..];
    let mut count = u64::from(le16(e, 10));
    let mut cd_size = u64::from(le32(e, 12));
    let mut cd_off = u64::from(le32(e, 16));
    let mut cd_end_at = eocd_at;
    // A zip64 locator may precede the end record even when the classic fields are not
    // saturated (PyTorch always writes one); the central directory then ends at the zip64 record.
    if eocd_at >= 20 {
        let mut loc = [0u8; 20];
        read_at(r, eocd_at - 20, &mut loc)?;
        if le32(&loc, 0) == LOC64_SIG {
            let declared = le64(&loc, 8);
            let mut z = [0u8; 56];
            let mut found = None;
            for at in [Some(declared), (eocd_at - 20).checked_sub(56)]
                .into_iter()
                .flatten()
            {
                if at.checked_add(56).is_some_and(|end| end <= len) {
                    read_at(r, at, &mut z)?;
                    if le32(&z, 0) == EOCD64_SIG {
                        found = Some(at);
                        break;
                    }
                }
            }
            let at = found.ok_or_else(|| {
                PErr::Malformed("zip64 end record not found where the locator points".into())
            })?;
            if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_off == 0xFFFF_FFFF {
                count = le64(&z, 32);
                cd_size = le64(&z, 40);
                cd_off = le64(&z, 48);
            }
            cd_end_at = at;
        }
    }
    if count > max_entries as u64 {
        return Err(PErr::Limit(format!(
            "zip declares {count} entries (cap {max_entries})"
        )));
    }
    // Self-extractors and polyglots shift every offset by a prefix.
    let cd_start = cd_end_at
        .checked_sub(cd_size)
        .ok_or_else(|| PErr::Malformed("central directory larger than the file".into()))?;
    let prefix = cd_start
        .checked_sub(cd_off)
        .ok_or_else(|| PErr::Malformed("central directory offset beyond its position".into()))?;
    if cd_size > 64 << 20 {
        return Err(PErr::Limit(format!("central directory of {cd_size} bytes")));
    }
    let mut cd = vec![0u8; cd_size as usize];
    read_at(r, cd_start, &mut cd)?;
    let mut entries = Vec::new();
    let mut i = 0usize;
    for _ in 0..count {
        if le32(&cd, i) != CEN_SIG || i + 46 > cd.len() {
            return Err(PErr::Malformed(format!(
                "central directory entry {} is damaged",
                entries.len()
            )));
        }
        let h = &cd[i..];
        let nlen = le16(h, 28) as usize;
        let xlen = le16(h, 30) as usize;
        let clen = le16(h, 32) as usize;
        if 46 + nlen + xlen + clen > h.len() {
            return Err(PErr::Truncated(
                "central directory entry runs past the directory".into(),
            ));
        }
        let name = String::from_utf8_lossy(&h[46..46 + nlen]).into_owned();
        let mut entry = ZipEntry {
            name,
            flags: le16(h, 8),
            method: le16(h, 10),
            crc: le32(h, 16),
            compressed: u64::from(le32(h, 20)),
            uncompressed: u64::from(le32(h, 24)),
            external_attr: le32(h, 38),
            local_offset: u64::from(le32(h, 42)),
            made_by_host: h[5],
        };
        apply_zip64_extra(&mut entry, &h[46 + nlen..46 + nlen + xlen]);
        entry.local_offset = entry.local_offset.saturating_add(prefix);
        entries.push(entry);
        i += 46 + nlen + xlen + clen;
    }
    Ok(ZipDirectory {
        entries,
        recovered_from_local: None,
        prefix_bytes: prefix,
    })
}

fn apply_zip64_extra(e: &mut ZipEntry, mut extra: &[u8]) {
    while extra.len() >= 4 {
        let id = le16(extra, 0);
        let size = le16(extra, 2) as usize;
        let Some(body) = extra.get(4..4 + size) else {
            return;
        };
        if id == 0x0001 {
            let mut at = 0;
            if e.uncompressed == 0xFFFF_FFFF && body.len() >= at + 8 {
                e.uncompressed = le64(body, at);
                at += 8;
            }
            if e.compressed == 0xFFFF_FFFF && body.len() >= at + 8 {
                e.compressed = le64(body, at);
                at += 8;
            }
            if e.local_offset == 0xFFFF_FFFF && body.len() >= at + 8 {
                e.local_offset = le64(body, at);
            }
        }
        extra = &extra[4 + size..];
    }
}

/// Recovers entries by walking local headers from the start of the file.
fn scan_local<R: Read + Seek>(r: &mut R, len: u64, max_entries: usize) -> PResult<ZipDirectory> {
    let mut entries = Vec::new();
    let mut at = 0u64;
    while at + 30 <= len {
        let mut h = [0u8; 30];
        read_at(r, at, &mut h)?;
        if le32(&h, 0) != LOC_SIG {
            break;
        }
        if entries.len() >= max_entries {
            return Err(PErr::Limit(format!("more than {max_entries} zip entries")));
        }
        let nlen = u64::from(le16(&h, 26));
        let xlen = u64::from(le16(&h, 28));
        let mut name = vec![0u8; nlen as usize];
        read_at(r, at + 30, &mut name)?;
        let flags = le16(&h, 6);
        let compressed = u64::from(le32(&h, 18));
        if flags & 0x0008 != 0 && compressed == 0 {
            // Sizes live in a trailing data descriptor we cannot locate reliably.
            return Err(PErr::Malformed(
                "local header without sizes (data descriptor) and no central directory".into(),
            ));
        }
        entries.push(ZipEntry {
            name: String::from_utf8_lossy(&name).into_owned(),
            flags,
            method: le16(&h, 8),
            crc: le32(&h, 14),
            compressed,
            uncompressed: u64::from(le32(&h, 22)),
            local_offset: at,
            external_attr: 0,
            made_by_host: 0,
        });
        at = at.saturating_add(30 + nlen + xlen + compressed);
    }
    Ok(ZipDirectory {
        entries,
        recovered_from_local: None,
        prefix_bytes: 0,
    })
}

/// Differences between an entry's local header and its central-directory record.
pub(crate) fn local_mismatch<R: Read + Seek>(r: &mut R, e: &ZipEntry, len: u64) -> PResult<Option<String>> {
    if e.local_offset.saturating_add(30) > len {
        return Err(PErr::Truncated(format!(
            "local header of {:?} beyond end of file",
            e.name
        )));
    }
    let mut h = [0u8; 30];
    read_at(r, e.local_offset, &mut h)?;
    if le32(&h, 0) != LOC_SIG {
        return Err(PErr::Malformed(format!("local header of {:?} missing", e.name)));
    }
    let nlen = usize::from(le16(&h, 26));
    let mut name = vec![0u8; nlen];
    read_at(r, e.local_offset + 30, &mut name)?;
    let lname = String::from_utf8_lossy(&name);
    if lname != e.name {
        return Ok(Some(format!(
            "local header names {lname:?} but the central directory names {:?}",
            e.name
        )));
    }
    if le16(&h, 8) != e.method {
        return Ok(Some(format!(
            "{:?}: local and central compression methods differ",
            e.name
        )));
    }
    Ok(None)
}

/// Seeks to an entry's data and returns its (compressed) byte range start.
pub(crate) fn data_start<R: Read + Seek>(r: &mut R, e: &ZipEntry, len: u64) -> PResult<u64> {
    let mut h = [0u8; 30];
    if e.local_offset.saturating_add(30) > len {
        return Err(PErr::Truncated(format!(
            "local header of {:?} beyond end of file",
            e.name
        )));
    }
    read_at(r, e.local_offset, &mut h)?;
    if le32(&h, 0) != LOC_SIG {
        return Err(PErr::Malformed(format!("local header of {:?} missing", e.name)));
    }
    let start = e.local_offset + 30 + u64::from(le16(&h, 26)) + u64::from(le16(&h, 28));
    if start.saturating_add(e.compressed) > len {
        return Err(PErr::Truncated(format!(
            "data of {:?} runs past the end of the file",
            e.name
        )));
    }
    r.seek(SeekFrom::Start(start))?;
    Ok(start)
}

/// Counts decompressed bytes, enforces the ratio/size caps, and checks the CRC at the end.
pub struct Guarded<R> {
    inner: R,
    crc: flate2::Crc,
    produced: u64,
    compressed: u64,
    max_out: u64,
    max_ratio: u64,
    /// Set when a cap stopped the stream.
    pub tripped: Option<String>,
}

impl<R: Read> Guarded<R> {
    /// Wraps a member stream.
    pub fn new(inner: R, compressed: u64, max_out: u64, max_ratio: u64) -> Self {
        Guarded {
            inner,
            crc: flate2::Crc::new(),
            produced: 0,
            compressed,
            max_out,
            max_ratio,
            tripped: None,
        }
    }

    /// Bytes produced so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// CRC-32 of the bytes produced so far.
    pub fn crc(&self) -> u32 {
        self.crc.sum()
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tripped.is_some() {
            return Err(io::Error::other("decompression cap reached"));
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        self.crc.update(&buf[..n]);
        let ratio_trip = self.produced > (1 << 20) && self.produced / self.compressed.max(1) > self.max_ratio;
        if self.produced > self.max_out || ratio_trip {
            let msg = if ratio_trip {
                format!(
                    "decompression ratio above {}:1 ({} bytes from {} compressed): zip bomb",
                    self.max_ratio, self.produced, self.compressed
                )
            } else {
                format!("decompressed size above the {}-byte budget", self.max_out)
            };
            self.tripped = Some(msg);
            return Err(io::Error::other("decompression cap reached"));
        }
        Ok(n)
    }
}

/// Opens an entry's decompressed stream (stored or deflate). The reader must already be
/// positioned by [`data_start`].
pub(crate) fn open<'a, R: Read + 'a>(r: R, e: &ZipEntry) -> PResult<Box<dyn Read + 'a>> {
    let limited = r.take(e.compressed);
    match e.method {
        0 => Ok(Box::new(limited)),
        8 => Ok(Box::new(flate2::read::DeflateDecoder::new(limited))),
        m => Err(PErr::Malformed(format!(
            "{:?}: unsupported compression method {m}",
            e.name
        ))),
    }
}

/// Why a member name is dangerous to extract, if it is.
pub fn unsafe_name(name: &str) -> Option<&'static str> {
    let n = name.replace('\\', "/");
    if n.starts_with('/') {
        return Some("absolute path");
    }
    let b = n.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Some("absolute Windows drive path");
    }
    if n.split('/').any(|c| c == "..") {
        return Some("path traversal (..)");
    }
    if name.contains('\0') {
        return Some("NUL byte in name");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(unsafe_name("../../etc/passwd"), Some("path traversal (..)"));
        assert_eq!(unsafe_name("/etc/passwd"), Some("absolute path"));
        assert_eq!(unsafe_name("C:\\x"), Some("absolute Windows drive path"));
        assert_eq!(unsafe_name("a\\..\\b"), Some("path traversal (..)"));
        assert_eq!(unsafe_name("archive/data.pkl"), None);
        assert_eq!(unsafe_name("a..b/c"), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let data = b"PK\x03\x04garbage".to_vec();
        let len = data.len() as u64;
        let mut c = io::Cursor::new(data);
        assert!(read_directory(&mut c, len, 10).is_err());
    }
}
