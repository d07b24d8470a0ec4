//! The ground truth: every Tang shi and Song ci of the chinese-poetry corpus, normalised once and
//! indexed by clause, so a quoted line can be looked up exactly (a hash probe per clause) or
//! approximately (a scan of the clauses of nearby length, one edit allowed).
//!
//! The index lives in memory and is built from the corpus files in a fraction of a second in an
//! optimised build (see the `bench_verifier` example for the measured time and size); nothing is
//! cached on disk, so there is no stale index to invalidate. Only [`Corpus::load_dir`] reads
//! files.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::HalluError;
use crate::normalize::{Normalizer, han_runs, strip_apparatus};

/// Which collection a poem comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Collection {
    /// 全唐诗 (traditional characters in the source).
    TangShi,
    /// 全宋词 (simplified characters in the source).
    SongCi,
}

impl Collection {
    /// `tang-shi` or `song-ci`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Collection::TangShi => "tang-shi",
            Collection::SongCi => "song-ci",
        }
    }
}

/// A poem as the source files hold it (before normalisation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RawPoem {
    /// Poet as written in the source (may name several, separated by `、`).
    pub author: String,
    /// Title (Tang) …
    #[serde(default)]
    pub title: Option<String>,
    /// … or tune name (Song ci).
    #[serde(default)]
    pub rhythmic: Option<String>,
    /// Lines (usually one couplet each), with punctuation and editorial notes.
    pub paragraphs: Vec<String>,
}

/// A normalised poem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poem {
    /// Collection.
    pub collection: Collection,
    /// Author ids (usually one).
    pub authors: Vec<u32>,
    /// Title or tune name, simplified.
    pub title: String,
    /// Lines, simplified, notes removed, punctuation kept (for evidence and probes).
    pub lines: Vec<String>,
    /// Matching keys: the Han characters of the whole poem; a second entry holds the
    /// alternative readings (`一作…`) when the source gives any.
    pub readings: Vec<String>,
}

/// A poet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Name, simplified.
    pub name: String,
    /// Poems by this author (ids).
    pub poems: Vec<u32>,
    /// `无名氏`, `不详` and the like: no attribution can be checked against it.
    pub anonymous: bool,
}

/// Where a clause sits: poem, reading, byte offset in the reading, length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClauseRef {
    /// Poem id.
    pub poem: u32,
    /// Index into [`Poem::readings`].
    pub reading: u8,
    /// Byte offset into the reading.
    pub start: u32,
    /// Length in characters.
    pub chars: u8,
}

/// The indexed corpus.
#[derive(Debug)]
pub struct Corpus {
    poems: Vec<Poem>,
    authors: Vec<Author>,
    author_ids: HashMap<String, u32>,
    clauses: Vec<ClauseRef>,
    /// `(hash of clause key, clause id)`, sorted.
    by_hash: Vec<(u64, u32)>,
    /// Clause ids by character length, with their characters laid out flat for scanning.
    by_len: HashMap<usize, LenBucket>,
}

#[derive(Debug, Default)]
struct LenBucket {
    ids: Vec<u32>,
    chars: Vec<char>,
}

const ANONYMOUS: &[&str] = &["无名氏", "不详", "佚名", "失名", "阙名"];

/// Files of the corpus directory (as in `shared/data/chinese-poetry`).
pub const TANG_FILE: &str = "quan_tang_shi.poet.tang.all.jsonl.gz";
/// The Song ci file.
pub const SONG_FILE: &str = "song_ci.ci.song.all.jsonl.gz";

/// Stable 64-bit FNV-1a (the index must not depend on a per-process random seed).
pub(crate) fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A poem after normalisation and before indexing: what a [snapshot](Corpus::load_cached)
/// stores, so that a start-up never pays for the OpenCC conversion again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NormPoem {
    collection: Collection,
    authors: Vec<String>,
    title: String,
    lines: Vec<String>,
    /// The lines with the alternative readings (`一作…`) applied, joined by `|`, if any.
    variant: Option<String>,
}

fn normalise(collection: Collection, raw: &RawPoem, norm: &Normalizer) -> NormPoem {
    let author_names = norm.simplify(&raw.author);
    let authors = author_names
        .split(['、', ',', '，', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let title = norm.simplify(
        raw.title
            .as_deref()
            .or(raw.rhythmic.as_deref())
            .unwrap_or_default(),
    );
    let mut lines = Vec::with_capacity(raw.paragraphs.len());
    let mut variant = String::new();
    let mut has_variant = false;
    for p in &raw.paragraphs {
        let (line, alt) = strip_apparatus(p);
        let line = norm.simplify(&line);
        match alt {
            Some(a) => {
                variant.push_str(&norm.simplify(&a));
                has_variant = true;
            }
            None => variant.push_str(&line),
        }
        variant.push('|');
        lines.push(line);
    }
    NormPoem {
        collection,
        authors,
        title,
        lines,
        variant: has_variant.then_some(variant),
    }
}

/// How [`Corpus::load_cached`] got its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// Read from a snapshot matching the corpus files.
    Hit,
    /// Built from the corpus files and saved as a snapshot.
    Built,
    /// Built from the corpus files; the snapshot could not be saved (why).
    NotSaved(String),
}

impl Corpus {
    /// Reads and indexes the two gzipped JSON-Lines files in `dir`.
    pub fn load_dir(dir: &Path, norm: &Normalizer) -> Result<Corpus, HalluError> {
        Ok(Corpus::from_normalised(read_dir_normalised(dir, norm)?))
    }

    /// Like [`Corpus::load_dir`], through a snapshot file: when `cache` holds a snapshot of the
    /// same corpus files (content hash) made by the same normalisation, it is read instead of the
    /// corpus (no OpenCC conversion: a fraction of a second); otherwise the corpus is read and
    /// the snapshot (re)written atomically. A stale, foreign or corrupt snapshot is ignored and
    /// replaced; failing to write one is reported, not an error.
    pub fn load_cached(
        dir: &Path,
        cache: &Path,
        norm: &Normalizer,
    ) -> Result<(Corpus, CacheStatus), HalluError> {
        let fingerprint = corpus_fingerprint(dir, norm)?;
        if let Ok(bytes) = std::fs::read(cache)
            && let Some(poems) = snapshot::decode(&bytes, fingerprint)
        {
            return Ok((Corpus::from_normalised(poems), CacheStatus::Hit));
        }
        let poems = read_dir_normalised(dir, norm)?;
        let status = match snapshot::write_atomically(cache, &snapshot::encode(&poems, fingerprint)) {
            Ok(()) => CacheStatus::Built,
            Err(e) => CacheStatus::NotSaved(format!("{}: {e}", cache.display())),
        };
        Ok((Corpus::from_normalised(poems), status))
    }

    /// Indexes poems given in memory (tests, user corpora).
    #[must_use]
    pub fn from_records(records: Vec<(Collection, RawPoem)>, norm: &Normalizer) -> Corpus {
        Corpus::from_normalised(records.iter().map(|(c, raw)| normalise(*c, raw, norm)).collect())
    }

    fn from_normalised(poems: Vec<NormPoem>) -> Corpus {
        let mut c = Corpus {
            poems: Vec::with_capacity(poems.len()),
            authors: Vec::new(),
            author_ids: HashMap::new(),
            clauses: Vec::new(),
            by_hash: Vec::new(),
            by_len: HashMap::new(),
        };
        for p in poems {
            c.add(p);
        }
        c.by_hash.sort_unstable();
        c
    }

    fn add(&mut self, p: NormPoem) {
        let poem_id = u32::try_from(self.poems.len()).unwrap_or(u32::MAX);
        let mut authors = Vec::with_capacity(p.authors.len());
        for name in &p.authors {
            let id = self.author_id(name);
            self.authors[id as usize].poems.push(poem_id);
            authors.push(id);
        }
        let mut primary = String::new();
        for line in &p.lines {
            primary.push_str(line);
            primary.push('|');
        }
        let mut readings = Vec::new();
        for (ri, text) in std::iter::once(primary).chain(p.variant.clone()).enumerate() {
            let mut key = String::with_capacity(text.len());
            for run in han_runs(&text) {
                let start = u32::try_from(key.len()).unwrap_or(u32::MAX);
                key.push_str(run);
                let chars = run.chars().count();
                if let Ok(n) = u8::try_from(chars) {
                    let id = u32::try_from(self.clauses.len()).unwrap_or(u32::MAX);
                    self.clauses.push(ClauseRef {
                        poem: poem_id,
                        reading: u8::try_from(ri).unwrap_or(0),
                        start,
                        chars: n,
                    });
                    self.by_hash.push((fnv(run), id));
                    let bucket = self.by_len.entry(chars).or_default();
                    bucket.ids.push(id);
                    bucket.chars.extend(run.chars());
                }
            }
            readings.push(key);
        }
        self.poems.push(Poem {
            collection: p.collection,
            authors,
            title: p.title,
            lines: p.lines,
            readings,
        });
    }

    fn author_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.author_ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.authors.len()).unwrap_or(u32::MAX);
        self.authors.push(Author {
            name: name.to_owned(),
            poems: Vec::new(),
            anonymous: ANONYMOUS.contains(&name),
        });
        self.author_ids.insert(name.to_owned(), id);
        id
    }

    /// The matching key of a clause.
    #[must_use]
    pub fn clause_text(&self, r: &ClauseRef) -> &str {
        let reading = &self.poems[r.poem as usize].readings[usize::from(r.reading)];
        let start = r.start as usize;
        let len: usize = reading[start..]
            .chars()
            .take(usize::from(r.chars))
            .map(char::len_utf8)
            .sum();
        &reading[start..start + len]
    }

    /// Every poem.
    #[must_use]
    pub fn poems(&self) -> &[Poem] {
        &self.poems
    }

    /// One poem.
    #[must_use]
    pub fn poem(&self, id: u32) -> &Poem {
        &self.poems[id as usize]
    }

    /// Every author.
    #[must_use]
    pub fn authors(&self) -> &[Author] {
        &self.authors
    }

    /// One author.
    #[must_use]
    pub fn author(&self, id: u32) -> &Author {
        &self.authors[id as usize]
    }

    /// The author with this (normalised) name.
    #[must_use]
    pub fn author_named(&self, name: &str) -> Option<u32> {
        self.author_ids.get(name).copied()
    }

    /// The names of a poem's authors, joined by `、`.
    #[must_use]
    pub fn author_names(&self, poem: u32) -> String {
        let p = self.poem(poem);
        p.authors
            .iter()
            .map(|&a| self.author(a).name.as_str())
            .collect::<Vec<_>>()
            .join("、")
    }

    /// Number of indexed clauses.
    #[must_use]
    pub fn clause_count(&self) -> usize {
        self.clauses.len()
    }

    /// Approximate heap size of the index in bytes (texts, clause table, hash and scan arrays).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        let texts: usize = self
            .poems
            .iter()
            .map(|p| {
                p.title.len()
                    + p.lines.iter().map(String::len).sum::<usize>()
                    + p.readings.iter().map(String::len).sum::<usize>()
                    + p.authors.len() * 4
            })
            .sum();
        let authors: usize = self
            .authors
            .iter()
            .map(|a| a.name.len() * 2 + a.poems.len() * 4 + 48)
            .sum();
        let buckets: usize = self
            .by_len
            .values()
            .map(|b| b.ids.len() * 4 + b.chars.len() * 4)
            .sum();
        texts
            + authors
            + self.clauses.len() * std::mem::size_of::<ClauseRef>()
            + self.by_hash.len() * 16
            + buckets
    }

    /// Clauses whose key is exactly `key`.
    pub fn exact(&self, key: &str) -> impl Iterator<Item = &ClauseRef> + '_ {
        let h = fnv(key);
        let from = self.by_hash.partition_point(|&(x, _)| x < h);
        let owned = key.to_owned();
        self.by_hash[from..]
            .iter()
            .take_while(move |&&(x, _)| x == h)
            .map(|&(_, id)| &self.clauses[id as usize])
            .filter(move |r| self.clause_text(r) == owned)
    }

    /// Clauses at edit distance exactly 1 from `key` (one substitution, insertion or deletion),
    /// by scanning the clauses of length `n - 1`, `n` and `n + 1`. At most `limit` are returned.
    #[must_use]
    pub fn within_one_edit(&self, key: &str, limit: usize) -> Vec<&ClauseRef> {
        let q: Vec<char> = key.chars().collect();
        let n = q.len();
        let mut out = Vec::new();
        for len in [n, n + 1, n.saturating_sub(1)] {
            if len == 0 || (len == n.saturating_sub(1) && n <= 1) {
                continue;
            }
            let Some(b) = self.by_len.get(&len) else { continue };
            for (i, c) in b.chars.chunks_exact(len).enumerate() {
                let hit = if len == n {
                    hamming_one(&q, c)
                } else {
                    one_indel(&q, c)
                };
                if hit {
                    out.push(&self.clauses[b.ids[i] as usize]);
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
        }
        out
    }
}

/// Equal length, exactly one position differs.
fn hamming_one(a: &[char], b: &[char]) -> bool {
    let mut diff = 0;
    for (x, y) in a.iter().zip(b) {
        if x != y {
            diff += 1;
            if diff > 1 {
                return false;
            }
        }
    }
    diff == 1
}

/// Lengths differ by one and the longer becomes the shorter by deleting one character.
fn one_indel(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    if long.len() != short.len() + 1 {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    short[prefix..] == long[prefix + 1..]
}

fn read_dir_normalised(dir: &Path, norm: &Normalizer) -> Result<Vec<NormPoem>, HalluError> {
    let mut out = Vec::with_capacity(80_000);
    for (file, collection) in [(TANG_FILE, Collection::TangShi), (SONG_FILE, Collection::SongCi)] {
        read_jsonl_gz(&dir.join(file), collection, norm, &mut out)?;
    }
    Ok(out)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> HalluError + '_ {
    move |source| HalluError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_jsonl_gz(
    path: &Path,
    collection: Collection,
    norm: &Normalizer,
    out: &mut Vec<NormPoem>,
) -> Result<(), HalluError> {
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(io_error(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawPoem = serde_json::from_str(&line).map_err(|e| HalluError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(normalise(collection, &raw, norm));
    }
    Ok(())
}

/// What a snapshot must match: the corpus files' contents, this crate's version and the
/// normalisation (its variant table, a version bumped with any change to it, and the OpenCC
/// conversion of a sample text, which changes with the conversion dictionaries).
fn corpus_fingerprint(dir: &Path, norm: &Normalizer) -> Result<u64, HalluError> {
    let mut h = fnv(snapshot::FORMAT) ^ fnv(env!("CARGO_PKG_VERSION")).rotate_left(7);
    h ^= norm.fingerprint().rotate_left(13);
    for file in [TANG_FILE, SONG_FILE] {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(io_error(&path))?;
        h = h.rotate_left(17) ^ fnv_bytes(&bytes) ^ (bytes.len() as u64);
    }
    Ok(h)
}

/// A fast content hash (eight bytes per step): detects a changed corpus file, not an adversary.
fn fnv_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The snapshot file: `FORMAT`, the fingerprint (8 bytes, little-endian), then the normalised
/// poems as length-prefixed strings, uncompressed (decompressing would cost more than the
/// snapshot saves). Decoding is bounded and never trusts a length.
mod snapshot {
    use std::path::Path;

    use super::{Collection, NormPoem};

    /// Magic and format version.
    pub(super) const FORMAT: &str = "aistr-poetry-snapshot-v1\n";
    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn put_u32(out: &mut Vec<u8>, n: usize) {
        out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
    }

    pub(super) fn encode(poems: &[NormPoem], fingerprint: u64) -> Vec<u8> {
        let mut body = Vec::with_capacity(24 << 20);
        put_u32(&mut body, poems.len());
        for p in poems {
            body.push(match p.collection {
                Collection::TangShi => 0,
                Collection::SongCi => 1,
            });
            put_u32(&mut body, p.authors.len());
            for a in &p.authors {
                put_str(&mut body, a);
            }
            put_str(&mut body, &p.title);
            put_u32(&mut body, p.lines.len());
            for l in &p.lines {
                put_str(&mut body, l);
            }
            match &p.variant {
                Some(v) => {
                    body.push(1);
                    put_str(&mut body, v);
                }
                None => body.push(0),
            }
        }
        let mut out = Vec::with_capacity(body.len() + 64);
        out.extend_from_slice(FORMAT.as_bytes());
        out.extend_from_slice(&fingerprint.to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    struct Reader<'b> {
        buf: &'b [u8],
    }

    impl<'b> Reader<'b> {
        fn take(&mut self, n: usize) -> Option<&'b [u8]> {
            if n > self.buf.len() {
                return None;
            }
            let (a, b) = self.buf.split_at(n);
            self.buf = b;
            Some(a)
        }
        fn u8(&mut self) -> Option<u8> {
            self.take(1).map(|b| b[0])
        }
        fn u32(&mut self) -> Option<usize> {
            let b = self.take(4)?;
            usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
        }
        fn string(&mut self) -> Option<String> {
            let n = self.u32()?;
            String::from_utf8(self.take(n)?.to_vec()).ok()
        }
        /// A count, bounded by what is left (every element takes at least `min` bytes).
        fn count(&mut self, min: usize) -> Option<usize> {
            let n = self.u32()?;
            (n.saturating_mul(min) <= self.buf.len()).then_some(n)
        }
    }

    /// The poems of a snapshot, if it is one made for `fingerprint` and reads cleanly.
    pub(super) fn decode(bytes: &[u8], fingerprint: u64) -> Option<Vec<NormPoem>> {
        let rest = bytes.strip_prefix(FORMAT.as_bytes())?;
        let (fp, body) = rest.split_at_checked(8)?;
        if u64::from_le_bytes(fp.try_into().ok()?) != fingerprint {
            return None;
        }
        let mut r = Reader { buf: body };
        let n = r.count(14)?;
        let mut poems = Vec::with_capacity(n);
        for _ in 0..n {
            let collection = match r.u8()? {
                0 => Collection::TangShi,
                1 => Collection::SongCi,
                _ => return None,
            };
            let na = r.count(4)?;
            let authors = (0..na).map(|_| r.string()).collect::<Option<Vec<_>>>()?;
            let title = r.string()?;
            let nl = r.count(4)?;
            let lines = (0..nl).map(|_| r.string()).collect::<Option<Vec<_>>>()?;
            let variant = match r.u8()? {
                0 => None,
                1 => Some(r.string()?),
                _ => return None,
            };
            poems.push(NormPoem {
                collection,
                authors,
                title,
                lines,
                variant,
            });
        }
        r.buf.is_empty().then_some(poems)
    }

    /// Writes `bytes` to a temporary file beside `path`, then renames it into place, so that a
    /// concurrent reader sees the old snapshot or the new one, never half of one.
    pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

/// The copy of the corpus that ships in the repository (MIT, attribution in NOTICE), found where
/// this crate was built from: a source checkout always has its ground truth.
#[must_use]
pub fn bundled_corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/chinese-poetry")
}

/// Where the corpus is looked for when no directory is given: `$AISTR_POETRY_DIR`, else
/// `../shared/data/chinese-poetry` above the current directory or any of its parents, else the
/// copy bundled in the source tree ([`bundled_corpus_dir`]).
#[must_use]
pub fn default_corpus_dir(env_value: Option<&std::ffi::OsStr>, cwd: &Path) -> Option<PathBuf> {
    if let Some(v) = env_value.filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(v));
    }
    cwd.ancestors()
        .map(|a| a.join("shared/data/chinese-poetry"))
        .chain(std::iter::once(bundled_corpus_dir()))
        .find(|p| p.join(TANG_FILE).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn raw(author: &str, title: &str, lines: &[&str]) -> RawPoem {
        RawPoem {
            author: author.into(),
            title: Some(title.into()),
            rhythmic: None,
            paragraphs: lines.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn exact_and_one_edit_lookups() {
        let n = Normalizer::new().expect("opencc");
        let c = Corpus::from_records(
            vec![
                (
                    Collection::TangShi,
                    raw(
                        "王之渙",
                        "登鸛雀樓",
                        &["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"],
                    ),
                ),
                (
                    Collection::TangShi,
                    raw(
                        "賀知章、源乾曜",
                        "某詩",
                        &["水急客舟（一作「行」）疾，山花拂面香。"],
                    ),
                ),
            ],
            &n,
        );
        assert_eq!(c.poems().len(), 2);
        assert_eq!(c.author_names(1), "贺知章、源乾曜");
        let hits: Vec<_> = c.exact("黄河入海流").collect();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].poem, 0);
        assert_eq!(c.exact("水急客行疾").count(), 1, "alternative reading indexed");
        assert_eq!(c.exact("黄河入海").count(), 0);
        let near = c.within_one_edit("黄河入江流", 10);
        assert_eq!(near.len(), 1);
        assert_eq!(c.clause_text(near[0]), "黄河入海流");
        assert_eq!(c.within_one_edit("黄河入流", 10).len(), 1, "deletion");
        assert_eq!(c.within_one_edit("黄河东入海流", 10).len(), 1, "insertion");
        assert!(c.within_one_edit("青山入江去", 10).is_empty());
    }

    #[test]
    fn edit_helpers() {
        let v = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(hamming_one(&v("abc"), &v("abd")));
        assert!(!hamming_one(&v("abc"), &v("abc")));
        assert!(!hamming_one(&v("abc"), &v("xbd")));
        assert!(one_indel(&v("abc"), &v("abxc")));
        assert!(one_indel(&v("abxc"), &v("abc")));
        assert!(!one_indel(&v("abc"), &v("axyc")));
    }

    fn write_corpus(dir: &Path, tang: &[RawPoem]) {
        use std::io::Write;
        for (file, poems) in [(TANG_FILE, tang), (SONG_FILE, &[][..])] {
            let f = std::fs::File::create(dir.join(file)).expect("create");
            let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            for p in poems {
                let v = serde_json::json!({"author": p.author, "title": p.title, "paragraphs": p.paragraphs});
                writeln!(gz, "{v}").expect("write");
            }
            gz.finish().expect("finish");
        }
    }

    #[test]
    fn snapshots_are_reused_only_for_the_same_corpus() {
        let n = Normalizer::new().expect("opencc");
        let dir = tempfile::tempdir().expect("tmp");
        let cache = dir.path().join("cache/poetry.snapshot");
        let poems = [
            raw(
                "王之渙",
                "登鸛雀樓",
                &["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"],
            ),
            raw("某", "某詩", &["水急客舟（一作「行」）疾，山花拂面香。"]),
        ];
        write_corpus(dir.path(), &poems);
        let direct = Corpus::load_dir(dir.path(), &n).expect("load");
        let (built, status) = Corpus::load_cached(dir.path(), &cache, &n).expect("build");
        assert_eq!(status, CacheStatus::Built);
        let (hit, status) = Corpus::load_cached(dir.path(), &cache, &n).expect("hit");
        assert_eq!(status, CacheStatus::Hit);
        for c in [&built, &hit] {
            assert_eq!(c.poems(), direct.poems());
            assert_eq!(c.clause_count(), direct.clause_count());
            assert_eq!(c.exact("水急客行疾").count(), 1);
            assert_eq!(c.within_one_edit("黄河入江流", 4).len(), 1);
        }
        // A changed corpus invalidates the snapshot.
        write_corpus(dir.path(), &poems[..1]);
        let (c, status) = Corpus::load_cached(dir.path(), &cache, &n).expect("rebuild");
        assert_eq!((status, c.poems().len()), (CacheStatus::Built, 1));
        // A corrupt or truncated snapshot is ignored and replaced, never trusted.
        let good = std::fs::read(&cache).expect("read");
        for bad in [good[..good.len() / 2].to_vec(), b"garbage".to_vec(), Vec::new()] {
            std::fs::write(&cache, &bad).expect("write");
            let (c, status) = Corpus::load_cached(dir.path(), &cache, &n).expect("rebuild");
            assert_eq!((status, c.poems().len()), (CacheStatus::Built, 1));
        }
        // A snapshot that cannot be written is reported, and the corpus still loads.
        let blocked = dir.path().join(TANG_FILE).join("x");
        let (_, status) = Corpus::load_cached(dir.path(), &blocked, &n).expect("load");
        assert!(matches!(status, CacheStatus::NotSaved(_)), "{status:?}");
    }

    #[test]
    fn snapshot_decoding_is_bounded() {
        let poems = vec![NormPoem {
            collection: Collection::SongCi,
            authors: vec!["苏轼".into()],
            title: "水调歌头".into(),
            lines: vec!["明月几时有，把酒问青天。".into()],
            variant: None,
        }];
        let bytes = snapshot::encode(&poems, 42);
        assert_eq!(snapshot::decode(&bytes, 42).as_deref(), Some(&poems[..]));
        assert_eq!(snapshot::decode(&bytes, 43), None, "another fingerprint");
        // A body claiming four billion poems is rejected without allocating for them.
        let mut forged = snapshot::FORMAT.as_bytes().to_vec();
        forged.extend_from_slice(&42u64.to_le_bytes());
        forged.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(snapshot::decode(&forged, 42), None);
        // Every truncation of a good snapshot is rejected.
        for cut in 0..bytes.len() {
            assert_eq!(snapshot::decode(&bytes[..cut], 42), None, "cut at {cut}");
        }
    }

    #[test]
    fn corpus_dir_from_env_or_parents() {
        let dir = tempfile::tempdir().expect("tmp");
        let data = dir.path().join("shared/data/chinese-poetry");
        std::fs::create_dir_all(&data).expect("mkdir");
        std::fs::write(data.join(TANG_FILE), b"").expect("write");
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).expect("mkdir");
        assert_eq!(default_corpus_dir(None, &deep), Some(data));
        assert_eq!(
            default_corpus_dir(Some(std::ffi::OsStr::new("/x")), &deep),
            Some(PathBuf::from("/x"))
        );
    }
}
