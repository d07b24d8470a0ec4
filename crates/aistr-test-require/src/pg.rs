//! A throwaway PostgreSQL cluster for tests: `initdb` in a fresh directory, `pg_ctl start` on a
//! free loopback port with trust authentication and `fsync` off, and `pg_ctl stop` plus removal of
//! the directory on drop. It uses the PostgreSQL programs of Debian's packages (`.ci/run` installs
//! `postgresql`), found on `PATH` or in `/usr/lib/postgresql/<version>/bin`. PostgreSQL refuses to
//! run as root, so under root the programs run as the `postgres` user (via `setpriv`), which the
//! Debian package creates.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running cluster; stopped and deleted when dropped.
#[derive(Debug)]
pub struct PgCluster {
    root: PathBuf,
    data: PathBuf,
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
    port: u16,
}

impl PgCluster {
    /// Starts a cluster. Without PostgreSQL's programs: under CI a panic (`.ci/run` installs them),
    /// elsewhere a note and `None`.
    ///
    /// # Panics
    /// Under CI when PostgreSQL is not installed; anywhere when it is installed but cannot start.
    #[must_use]
    pub fn start_or_skip() -> Option<Self> {
        let Some(bin) = find_bin_dir() else {
            let _ = crate::missing(
                "PostgreSQL (initdb, pg_ctl)",
                "initdb on PATH or in /usr/lib/postgresql/*/bin",
            );
            return None;
        };
        Some(Self::start_in(&bin).unwrap_or_else(|e| panic!("starting a test PostgreSQL: {e}")))
    }

    fn start_in(bin: &Path) -> Result<Self, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root = std::env::temp_dir().join(format!(
            "aistr-pg-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        let run_as = if is_root() {
            let ids = postgres_user()
                .ok_or("running as root, and there is no `postgres` user to run PostgreSQL as")?;
            std::os::unix::fs::chown(&root, Some(ids.0), Some(ids.1))
                .map_err(|e| format!("chown {}: {e}", root.display()))?;
            Some(ids)
        } else {
            None
        };
        let data = root.join("data");
        let mut cluster = Self {
            root,
            data,
            bin: bin.to_path_buf(),
            run_as,
            port: 0,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data.display().to_string(),
                "-U",
                "aistr",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        // A free port can be taken between our probe and the server's bind: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port()?;
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200",
                cluster.port,
                cluster.data.display()
            );
            let log = cluster.root.join("server.log").display().to_string();
            match cluster.run(
                "pg_ctl",
                &[
                    "-D",
                    &cluster.data.display().to_string(),
                    "-l",
                    &log,
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    &options,
                    "start",
                ],
            ) {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
                    last = format!("{e}\n{server_log}");
                }
            }
        }
        Err(last)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.run_as {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(program)
            .args(args)
            .current_dir(&self.root)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The URL of the cluster's `postgres` database.
    #[must_use]
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The URL of database `name` in the cluster (see [`PgCluster::create_database`]).
    #[must_use]
    pub fn url_for(&self, name: &str) -> String {
        format!("postgres://aistr@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates an empty database `name` (letters, digits and `_`).
    ///
    /// # Panics
    /// When `name` is not a plain identifier or `createdb` fails.
    pub fn create_database(&self, name: &str) -> String {
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        let port = self.port.to_string();
        self.run("createdb", &["-h", "127.0.0.1", "-p", &port, "-U", "aistr", name])
            .unwrap_or_else(|e| panic!("{e}"));
        self.url_for(name)
    }

    /// The port the server listens on (127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = self.run(
                "pg_ctl",
                &[
                    "-D",
                    &self.data.display().to_string(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    if let Some(initdb) = crate::find_program("initdb")
        && let Ok(real) = std::fs::canonicalize(&initdb)
        && let Some(dir) = real.parent()
        && dir.join("pg_ctl").exists()
        && dir.join("postgres").exists()
    {
        return Some(dir.to_path_buf());
    }
    // Debian keeps the server programs off PATH, one directory per major version: the newest.
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, d)| d)
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// The `postgres` user's uid and gid from `/etc/passwd`.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&"postgres") && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_starts_answers_on_its_port_and_is_gone_after_drop() {
        let Some(pg) = PgCluster::start_or_skip() else {
            return;
        };
        let port = pg.port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        let url = pg.create_database("t1");
        assert!(url.ends_with("/t1"), "{url}");
        let root = pg.root.clone();
        drop(pg);
        assert!(!root.exists(), "the cluster's directory is removed");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the server stopped"
        );
    }
}
