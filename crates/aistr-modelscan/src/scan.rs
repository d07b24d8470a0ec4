//! The dispatcher: walks paths, sniffs each file's format from its bytes, runs the matching
//! parser, recurses into containers (zip, tar) with a depth limit and a shared decompression
//! budget, and collects one [`FileReport`] per file and per inspected member.
//!
//! Containers are listed before their members; a container's verdict is the worst of its own
//! findings and its members' verdicts, so a malicious `data.pkl` makes the `.pt` malicious.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

use crate::error::ModelscanError;
use crate::model::{FileReport, Format, Limits, ScanReport, ScanStatus, Severity, Verdict};
use crate::src::{Node, PErr, Src};
use crate::{gguf, keras, npy, onnx, pickle, safetensors, tar, zip};

/// Model-card facts gathered while scanning (GGUF `general.*`, safetensors `__metadata__`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelCard {
    /// Key/value facts, e.g. `general.name`, `general.license`.
    pub fields: BTreeMap<String, String>,
}

/// A scan's reports plus the model-card facts per path.
#[derive(Debug, Clone, Default)]
pub struct ScanOutput {
    /// The per-file reports.
    pub report: ScanReport,
    /// Model-card facts keyed by report path.
    pub cards: BTreeMap<String, ModelCard>,
}

const HEAD: usize = 4096;

struct Ctx<'l> {
    limits: &'l Limits,
    deadline: Instant,
    decompressed: u64,
    out: Vec<FileReport>,
    cards: BTreeMap<String, ModelCard>,
}

fn read_head(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; HEAD];
    let mut n = 0;
    while n < HEAD {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(n);
    Ok(head)
}

fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut by the head boundary is still text.
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

/// Identifies a format from the first bytes (and, only for Python source, the name).
pub fn sniff(head: &[u8], total: Option<u64>, name: &str) -> Format {
    if zip::looks_like_zip(head) {
        Format::Zip
    } else if head.starts_with(npy::MAGIC) {
        Format::Npy
    } else if head.starts_with(gguf::MAGIC) {
        Format::Gguf
    } else if head.starts_with(keras::HDF5_MAGIC) {
        Format::Hdf5
    } else if head.starts_with(b"7z\xBC\xAF\x27\x1C") {
        Format::SevenZip
    } else if tar::looks_like(head) {
        Format::Tar
    } else if safetensors::looks_like(head, total) {
        Format::Safetensors
    } else if pickle::looks_like_pickle(head) {
        Format::Pickle
    } else if onnx::looks_like(head) {
        Format::Onnx
    } else if is_text(head) {
        let first = head.iter().find(|b| !b.is_ascii_whitespace());
        let lower = name.to_ascii_lowercase();
        if matches!(first, Some(b'{' | b'[')) {
            Format::Json
        } else if lower.ends_with(".py")
            || (head.starts_with(b"#!") && head.windows(6).any(|w| w == b"python"))
        {
            Format::PythonSource
        } else {
            Format::Text
        }
    } else {
        Format::Unknown
    }
}

fn base_name(path: &str) -> &str {
    let last = path.rsplit('!').next().unwrap_or(path);
    last.rsplit(['/', '\\']).next().unwrap_or(last)
}

impl Ctx<'_> {
    fn reserve(&mut self, path: &str) -> usize {
        self.out.push(FileReport {
            path: path.to_string(),
            format: Format::Unknown,
            verdict: Verdict::Inconclusive,
            status: ScanStatus::Incomplete,
            findings: Vec::new(),
        });
        self.out.len() - 1
    }

    fn complete(&mut self, slot: usize, node: Node, members: Verdict) -> Verdict {
        let mut r = node.finish();
        r.verdict = r.verdict.max(members);
        let v = r.verdict;
        self.out[slot] = r;
        v
    }

    /// Scans something we can seek in (a file, or a buffered nested archive).
    fn seekable<R: Read + Seek>(&mut self, path: String, r: &mut R, len: u64, depth: usize) -> Verdict {
        let head = match r.seek(SeekFrom::Start(0)).and_then(|_| read_head(r)) {
            Ok(h) => h,
            Err(e) => return self.io_failure(path, e),
        };
        if zip::looks_like_zip(&head) {
            return self.zip(path, r, len, depth);
        }
        if let Err(e) = r.seek(SeekFrom::Start(0)) {
            return self.io_failure(path, e);
        }
        let fmt = sniff(&head, Some(len), base_name(&path));
        self.dispatch(path, fmt, r, Some(len), depth)
    }

    fn io_failure(&mut self, path: String, e: io::Error) -> Verdict {
        let slot = self.reserve(&path);
        let mut node = Node::new(path, Format::Unknown);
        PErr::from(e).record(&mut node);
        self.complete(slot, node, Verdict::Clean)
    }

    /// Scans a forward-only stream (an archive member).
    fn stream(&mut self, path: String, r: &mut dyn Read, size: Option<u64>, depth: usize) -> Verdict {
        let head = match read_head(r) {
            Ok(h) => h,
            Err(e) => return self.io_failure(path, e),
        };
        let fmt = sniff(&head, size, base_name(&path));
        if fmt == Format::Zip {
            let slot = self.reserve(&path);
            let mut node = Node::new(path.clone(), Format::Zip);
            if depth >= self.limits.max_depth {
                node.fail(
                    ScanStatus::Incomplete,
                    "limit_exceeded",
                    format!(
                        "nested archive beyond the depth limit of {}",
                        self.limits.max_depth
                    ),
                );
                return self.complete(slot, node, Verdict::Clean);
            }
            let mut buf = head;
            let cap = self.limits.max_nested_bytes;
            let res = r
                .take(cap.saturating_add(1).saturating_sub(buf.len() as u64))
                .read_to_end(&mut buf);
            if let Err(e) = res {
                PErr::from(e).record(&mut node);
                return self.complete(slot, node, Verdict::Clean);
            }
            if buf.len() as u64 > cap {
                node.fail(
                    ScanStatus::Incomplete,
                    "limit_exceeded",
                    format!("nested archive larger than --max-nested-bytes ({cap})"),
                );
                return self.complete(slot, node, Verdict::Clean);
            }
            // The nested archive reports itself; drop the placeholder.
            self.out.remove(slot);
            let len = buf.len() as u64;
            return self.seekable(path, &mut Cursor::new(buf), len, depth);
        }
        let mut chained = Cursor::new(head).chain(r);
        self.dispatch(path, fmt, &mut chained, size, depth)
    }

    fn dispatch(
        &mut self,
        path: String,
        fmt: Format,
        r: &mut dyn Read,
        size: Option<u64>,
        depth: usize,
    ) -> Verdict {
        let slot = self.reserve(&path);
        let mut node = Node::new(path.clone(), fmt);
        let mut members = Verdict::Clean;
        let deadline = Some(self.deadline);
        let mut src = Src::new(r, deadline);
        let limits = self.limits;
        let res: Result<(), PErr> = match fmt {
            Format::Pickle => pickle::walk_stream(&mut src, limits, &mut node).map(|_| ()),
            Format::Npy => npy::scan(&mut src, size, limits, &mut node),
            Format::Safetensors => safetensors::scan(&mut src, size, limits, &mut node).map(|meta| {
                if !meta.is_empty() {
                    let card = self.cards.entry(path.clone()).or_default();
                    for (k, v) in meta {
                        card.fields.insert(format!("safetensors.{k}"), v);
                    }
                }
            }),
            Format::Gguf => gguf::scan(&mut src, size, limits, &mut node).map(|info| {
                let card = self.cards.entry(path.clone()).or_default();
                card.fields
                    .insert("gguf.version".into(), info.version.to_string());
                card.fields
                    .insert("gguf.tensor_count".into(), info.tensor_count.to_string());
                for (k, v) in info.strings {
                    if k.starts_with("general.") {
                        card.fields.insert(k, v.chars().take(512).collect());
                    }
                }
            }),
            Format::Onnx => onnx::scan(&mut src, limits, &mut node),
            Format::Hdf5 => keras::scan_h5(&mut src, limits, &mut node),
            Format::Json => json(&mut src, limits, &mut node),
            Format::Text => {
                node.add(
                    "not_a_model",
                    Severity::Info,
                    "plain text; no model loader executes it",
                );
                Ok(())
            }
            Format::PythonSource => {
                node.add(
                    "python_source",
                    Severity::Medium,
                    "Python source shipped with a model runs in-process when loaded with trust_remote_code or imported by a custom object",
                );
                Ok(())
            }
            Format::SevenZip => {
                node.status = ScanStatus::Unsupported;
                node.add(
                    "opaque_archive",
                    Severity::Medium,
                    "7z archive: no model loader reads 7z, and its contents cannot be inspected here; treat as an untrusted delivery vehicle",
                );
                Ok(())
            }
            Format::Tar => {
                let r = self.tar(&path, &mut src, depth, &mut node);
                members = r.1;
                r.0
            }
            _ => {
                node.fail(
                    ScanStatus::Unsupported,
                    "unknown_format",
                    "format not recognised from the bytes; nothing can be said about it".into(),
                );
                Ok(())
            }
        };
        if let Err(e) = res {
            e.record(&mut node);
        }
        self.complete(slot, node, members)
    }

    fn tar(
        &mut self,
        path: &str,
        src: &mut Src<'_>,
        depth: usize,
        node: &mut Node,
    ) -> (Result<(), PErr>, Verdict) {
        let mut worst = Verdict::Clean;
        let mut count = 0usize;
        let res = (|| -> Result<(), PErr> {
            while let Some(h) = tar::next_header(src)? {
                count += 1;
                if count > self.limits.max_entries {
                    return Err(PErr::Limit(format!(
                        "more than {} tar members",
                        self.limits.max_entries
                    )));
                }
                tar::check_header(&h, node);
                let padded = h.size.div_ceil(512) * 512;
                if h.typeflag != b'0' && h.typeflag != 0 {
                    src.skip(padded, "tar member")?;
                    continue;
                }
                let start = src.offset();
                let mpath = format!("{path}!{}", h.name);
                if tar::is_torch_member(&h.name) {
                    node.format = Format::PytorchTar;
                    let slot = self.reserve(&mpath);
                    let mut mnode = Node::new(mpath.clone(), Format::Pickle);
                    let mut take = (&mut *src).take(h.size);
                    let mut msrc = Src::new(&mut take, Some(self.deadline));
                    let r = match h.name.as_str() {
                        "storages" => tar::walk_storages(&mut msrc, self.limits, &mut mnode),
                        "tensors" => tar::walk_tensors(&mut msrc, self.limits, &mut mnode),
                        _ => pickle::walk_stream(&mut msrc, self.limits, &mut mnode).map(|_| ()),
                    };
                    let r = r.and_then(|_| {
                        if msrc.peek()?.is_some() {
                            mnode.add(
                                "trailing_data",
                                Severity::Medium,
                                "bytes after the records the legacy loader reads",
                            );
                        }
                        Ok(())
                    });
                    if let Err(e) = r {
                        e.record(&mut mnode);
                    }
                    worst = worst.max(self.complete(slot, mnode, Verdict::Clean));
                } else {
                    let mut take = (&mut *src).take(h.size);
                    worst = worst.max(self.stream(mpath, &mut take, Some(h.size), depth + 1));
                }
                let used = src.offset() - start;
                src.skip(padded.saturating_sub(used), "tar member")?;
            }
            Ok(())
        })();
        (res, worst)
    }

    fn zip<R: Read + Seek>(&mut self, path: String, r: &mut R, len: u64, depth: usize) -> Verdict {
        let slot = self.reserve(&path);
        let mut node = Node::new(path.clone(), Format::Zip);
        let mut worst = Verdict::Clean;
        let dir = match zip::read_directory(r, len, self.limits.max_entries) {
            Ok(d) => d,
            Err(e) => {
                e.record(&mut node);
                return self.complete(slot, node, worst);
            }
        };
        if let Some(why) = &dir.recovered_from_local {
            node.add(
                "zip_directory_damaged",
                Severity::Medium,
                format!("central directory unusable ({why}); entries recovered from local headers. Zip readers disagree on such files, which is how scanners get bypassed"),
            );
        }
        if dir.prefix_bytes > 0 {
            node.add(
                "zip_prefix_data",
                Severity::Medium,
                format!(
                    "{} bytes precede the archive (polyglot or self-extractor)",
                    dir.prefix_bytes
                ),
            );
        }
        let names: Vec<&str> = dir.entries.iter().map(|e| e.name.as_str()).collect();
        let torch_roots: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_suffix("data.pkl"))
            .filter(|p| p.is_empty() || p.ends_with('/'))
            .map(str::to_string)
            .collect();
        let keras = names.contains(&"config.json")
            && (names.contains(&"metadata.json") || names.contains(&"model.weights.h5"));
        let files: Vec<&&str> = names.iter().filter(|n| !n.ends_with('/')).collect();
        let npz = !files.is_empty() && files.iter().all(|n| n.ends_with(".npy"));
        node.format = if !torch_roots.is_empty() {
            Format::PytorchZip
        } else if keras {
            Format::Keras
        } else if npz {
            Format::Npz
        } else {
            Format::Zip
        };
        let mut skipped = 0u64;
        for e in &dir.entries {
            if let Some(why) = zip::unsafe_name(&e.name) {
                node.add(
                    "zip_path_traversal",
                    Severity::High,
                    format!("entry {:?}: {why}", e.name),
                );
            }
            if e.is_symlink() {
                node.add(
                    "zip_symlink",
                    Severity::High,
                    format!("entry {:?} is a symbolic link", e.name),
                );
            }
            if e.flags & 0x0060 != 0 {
                node.add(
                    "zip_unusual_flags",
                    Severity::Medium,
                    format!(
                        "entry {:?} sets flag bits 0x{:04x} (patched data / strong encryption): Python's zipfile refuses it while other readers load it",
                        e.name,
                        e.flags & 0x0060
                    ),
                );
            }
            if e.is_dir() {
                continue;
            }
            let is_tensor_data = torch_roots.iter().any(|root| {
                e.name.strip_prefix(root.as_str()).is_some_and(|rest| {
                    rest.starts_with("data/")
                        || matches!(
                            rest,
                            "version"
                                | ".format_version"
                                | ".storage_alignment"
                                | "byteorder"
                                | ".data/version"
                                | ".data/serialization_id"
                        )
                })
            }) || (node.format == Format::Keras && e.name == "model.weights.h5");
            if is_tensor_data {
                skipped += 1;
                continue;
            }
            if dir.recovered_from_local.is_none() {
                match zip::local_mismatch(r, e, len) {
                    Ok(Some(m)) => node.add("zip_header_mismatch", Severity::Medium, m),
                    Ok(None) => {}
                    Err(err) => {
                        err.record(&mut node);
                        continue;
                    }
                }
            }
            let budget = self.limits.max_decompressed.saturating_sub(self.decompressed);
            if budget == 0 {
                node.fail(
                    ScanStatus::Incomplete,
                    "limit_exceeded",
                    format!(
                        "decompression budget of {} bytes used up; remaining entries not scanned",
                        self.limits.max_decompressed
                    ),
                );
                break;
            }
            if let Err(err) = zip::data_start(r, e, len) {
                err.record(&mut node);
                continue;
            }
            let mpath = format!("{path}!{}", e.name);
            let opened = match zip::open(&mut *r, e) {
                Ok(o) => o,
                Err(err) => {
                    err.record(&mut node);
                    continue;
                }
            };
            let mut g = zip::Guarded::new(opened, e.compressed, budget, self.limits.max_ratio);
            let v = if e.encrypted() {
                // We cannot decrypt. If the bytes are plaintext anyway, the flag is a trick.
                let head = read_head(&mut g).unwrap_or_default();
                let fmt = sniff(&head, Some(e.uncompressed), &e.name);
                if matches!(fmt, Format::Unknown) {
                    node.fail(
                        ScanStatus::Incomplete,
                        "encrypted_entry",
                        format!("entry {:?} is encrypted and cannot be inspected", e.name),
                    );
                    Verdict::Clean
                } else {
                    node.add(
                        "zip_fake_encryption",
                        Severity::Medium,
                        format!("entry {:?} is flagged encrypted but holds plaintext {}: loaders that ignore the flag read it while strict scanners skip it", e.name, fmt.as_str()),
                    );
                    let mut chained = Cursor::new(head).chain(&mut g);
                    self.stream(mpath, &mut chained, Some(e.uncompressed), depth + 1)
                }
            } else {
                self.stream(mpath, &mut g, Some(e.uncompressed), depth + 1)
            };
            worst = worst.max(v);
            // Finish the member so the CRC and the bomb checks cover every byte.
            let drained = io::copy(&mut g, &mut io::sink());
            self.decompressed = self.decompressed.saturating_add(g.produced());
            if let Some(t) = g.tripped.take() {
                node.fail(
                    ScanStatus::Incomplete,
                    "zip_bomb",
                    format!("entry {:?}: {t}", e.name),
                );
            } else if let Err(err) = drained {
                node.fail(
                    ScanStatus::Error,
                    "parse_error",
                    format!("entry {:?}: {err}", e.name),
                );
            } else if g.crc() != e.crc && !e.encrypted() {
                node.add(
                    "zip_crc_mismatch",
                    Severity::Medium,
                    format!("entry {:?}: CRC-32 differs from the directory; strict readers refuse it, lenient ones load it", e.name),
                );
            }
        }
        if skipped > 0 {
            node.add(
                "tensor_data",
                Severity::Info,
                format!(
                    "{skipped} raw tensor/metadata entries are data the loader never unpickles; not parsed"
                ),
            );
        }
        let n = self.out.len() - slot - 1;
        if n > 0 {
            node.add(
                "members",
                Severity::Info,
                format!("{n} members scanned; worst member verdict: {}", worst.as_str()),
            );
        }
        self.complete(slot, node, worst)
    }
}

fn json(src: &mut Src<'_>, limits: &Limits, node: &mut Node) -> Result<(), PErr> {
    let mut buf = Vec::new();
    let n = (&mut *src)
        .take(limits.max_json_bytes.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(PErr::from)?;
    if n as u64 > limits.max_json_bytes {
        return Err(PErr::Limit(format!(
            "JSON document larger than {} bytes",
            limits.max_json_bytes
        )));
    }
    let v: Value = serde_json::from_slice(&buf).map_err(|e| PErr::Malformed(format!("invalid JSON: {e}")))?;
    let name = node
        .path
        .rsplit('!')
        .next()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    if keras::is_keras_config(&v) || name == "config.json" && v.get("class_name").is_some() {
        keras::lint_config(&name, &v, node);
    }
    if let Some(o) = v.as_object() {
        match o.get("chat_template") {
            Some(Value::String(t)) => gguf::lint_chat_template("chat_template", t, node),
            Some(Value::Array(a)) => {
                for t in a
                    .iter()
                    .filter_map(|x| x.get("template"))
                    .filter_map(Value::as_str)
                {
                    gguf::lint_chat_template("chat_template", t, node);
                }
            }
            _ => {}
        }
        if let Some(m) = o.get("auto_map") {
            node.add(
                "remote_code",
                Severity::Medium,
                format!("auto_map {m} points loaders at repository Python code (trust_remote_code)"),
            );
        }
        if o.get("safe_mode").and_then(Value::as_bool) == Some(false) {
            node.add("keras_unsafe_mode", Severity::Medium, "safe_mode is disabled");
        }
    }
    Ok(())
}

fn scan_one(path: &Path, display: String, limits: &Limits, out: &mut ScanOutput) {
    let mut ctx = Ctx {
        limits,
        deadline: Instant::now() + limits.max_time,
        decompressed: 0,
        out: Vec::new(),
        cards: BTreeMap::new(),
    };
    match File::open(path).and_then(|f| f.metadata().map(|m| (f, m.len()))) {
        Ok((mut f, len)) => {
            ctx.seekable(display, &mut f, len, 0);
        }
        Err(e) => {
            ctx.io_failure(display, e);
        }
    }
    out.report.files.extend(ctx.out);
    out.cards.extend(ctx.cards);
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), ModelscanError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| ModelscanError::Io(path.to_path_buf(), e))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| ModelscanError::Io(path.to_path_buf(), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let m = std::fs::symlink_metadata(&p).map_err(|e| ModelscanError::Io(p.clone(), e))?;
            if m.file_type().is_symlink() && std::fs::metadata(&p).is_ok_and(|t| t.is_dir()) {
                continue; // never follow directory links (loops)
            }
            collect(&p, files)?;
        }
    } else {
        files.push(path.to_path_buf());
    }
    Ok(())
}

/// Lists the files under `paths` (directories recursively, sorted; directory symlinks skipped).
pub fn list_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ModelscanError> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    Ok(files)
}

/// Scans files and directories (recursively).
pub fn scan_paths(paths: &[PathBuf], limits: &Limits) -> Result<ScanOutput, ModelscanError> {
    let mut out = ScanOutput::default();
    for f in list_files(paths)? {
        scan_one(&f, f.display().to_string(), limits, &mut out);
    }
    Ok(out)
}

/// Scans one file on disk, reporting it under `display`.
pub fn scan_file(path: &Path, display: &str, limits: &Limits) -> ScanOutput {
    let mut out = ScanOutput::default();
    scan_one(path, display.to_string(), limits, &mut out);
    out
}

/// Scans in-memory bytes (used by tests and fuzzing).
pub fn scan_bytes(name: &str, bytes: &[u8], limits: &Limits) -> ScanReport {
    let mut ctx = Ctx {
        limits,
        deadline: Instant::now() + limits.max_time,
        decompressed: 0,
        out: Vec::new(),
        cards: BTreeMap::new(),
    };
    ctx.seekable(name.to_string(), &mut Cursor::new(bytes), bytes.len() as u64, 0);
    ScanReport { files: ctx.out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"\x80\x02}q\x00.", None, "x"), Format::Pickle);
        assert_eq!(sniff(b"GGUF\x03\x00", None, "x"), Format::Gguf);
        assert_eq!(sniff(b"{\"a\": 1}", None, "x"), Format::Json);
        assert_eq!(sniff(b"hello world\n", None, "x"), Format::Text);
        assert_eq!(sniff(b"import os\n", None, "modeling.py"), Format::PythonSource);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n", None, "x.pt"), Format::Unknown);
    }

    #[test]
    fn unknown_bytes_are_inconclusive() {
        let r = scan_bytes("x", b"\x89PNG\r\n\x1a\n\x00\x00", &Limits::default());
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.files[0].verdict, Verdict::Inconclusive);
        assert_eq!(r.files[0].status, ScanStatus::Unsupported);
    }
}
