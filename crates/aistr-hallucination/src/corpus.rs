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

impl Corpus {
    /// Reads and indexes the two gzipped JSON-Lines files in `dir`.
    pub fn load_dir(dir: &Path, norm: &Normalizer) -> Result<Corpus, HalluError> {
        let mut records = Vec::new();
        for (file, collection) in [(TANG_FILE, Collection::TangShi), (SONG_FILE, Collection::SongCi)] {
            let path = dir.join(file);
            read_jsonl_gz(&path, collection, &mut records)?;
        }
        Ok(Corpus::from_records(records, norm))
    }

    /// Indexes poems given in memory (tests, user corpora).
    #[must_use]
    pub fn from_records(records: Vec<(Collection, RawPoem)>, norm: &Normalizer) -> Corpus {
        let mut c = Corpus {
            poems: Vec::with_capacity(records.len()),
            authors: Vec::new(),
            author_ids: HashMap::new(),
            clauses: Vec::new(),
            by_hash: Vec::new(),
            by_len: HashMap::new(),
        };
        for (collection, raw) in records {
            c.add(collection, &raw, norm);
        }
        c.by_hash = c
            .clauses
            .iter()
            .enumerate()
            .map(|(i, r)| (fnv(c.clause_text(r)), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        c.by_hash.sort_unstable();
        let mut by_len: HashMap<usize, LenBucket> = HashMap::new();
        for (i, r) in c.clauses.iter().enumerate() {
            let b = by_len.entry(usize::from(r.chars)).or_default();
            b.ids.push(u32::try_from(i).unwrap_or(u32::MAX));
            b.chars.extend(c.clause_text(r).chars());
        }
        c.by_len = by_len;
        c
    }

    fn add(&mut self, collection: Collection, raw: &RawPoem, norm: &Normalizer) {
        let poem_id = u32::try_from(self.poems.len()).unwrap_or(u32::MAX);
        let author_names = norm.simplify(&raw.author);
        let mut authors = Vec::new();
        for name in author_names
            .split(['、', ',', '，', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let id = self.author_id(name);
            self.authors[id as usize].poems.push(poem_id);
            authors.push(id);
        }
        let title = norm.simplify(
            raw.title
                .as_deref()
                .or(raw.rhythmic.as_deref())
                .unwrap_or_default(),
        );
        let mut lines = Vec::with_capacity(raw.paragraphs.len());
        let mut primary = String::new();
        let mut variant = String::new();
        let mut has_variant = false;
        for p in &raw.paragraphs {
            let (line, alt) = strip_apparatus(p);
            let line = norm.simplify(&line);
            let alt = alt.map(|a| norm.simplify(&a));
            primary.push_str(&line);
            primary.push('|');
            match &alt {
                Some(a) => {
                    variant.push_str(a);
                    has_variant = true;
                }
                None => variant.push_str(&line),
            }
            variant.push('|');
            lines.push(line);
        }
        let mut readings = Vec::new();
        for (ri, text) in std::iter::once(primary)
            .chain(has_variant.then_some(variant))
            .enumerate()
        {
            let mut key = String::with_capacity(text.len());
            for run in han_runs(&text) {
                let start = u32::try_from(key.len()).unwrap_or(u32::MAX);
                key.push_str(run);
                let chars = run.chars().count();
                if let Ok(chars) = u8::try_from(chars) {
                    self.clauses.push(ClauseRef {
                        poem: poem_id,
                        reading: u8::try_from(ri).unwrap_or(0),
                        start,
                        chars,
                    });
                }
            }
            readings.push(key);
        }
        self.poems.push(Poem {
            collection,
            authors,
            title,
            lines,
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

fn read_jsonl_gz(
    path: &Path,
    collection: Collection,
    out: &mut Vec<(Collection, RawPoem)>,
) -> Result<(), HalluError> {
    let file = std::fs::File::open(path).map_err(|source| HalluError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|source| HalluError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawPoem = serde_json::from_str(&line).map_err(|e| HalluError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push((collection, raw));
    }
    Ok(())
}

/// Where the corpus is looked for when no directory is given: `$AISTR_POETRY_DIR`, else
/// `../shared/data/chinese-poetry` above the current directory or any of its parents.
#[must_use]
pub fn default_corpus_dir(env_value: Option<&std::ffi::OsStr>, cwd: &Path) -> Option<PathBuf> {
    if let Some(v) = env_value.filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(v));
    }
    cwd.ancestors()
        .map(|a| a.join("shared/data/chinese-poetry"))
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
