//! A small buffered byte source shared by the streaming parsers, plus the parse-error type
//! they all return.
//!
//! Every parser reads through [`Src`] so that lengths found in a file are never used to size an
//! allocation: large payloads are *skipped* in fixed-size chunks, and only bounded prefixes are
//! ever copied out. A length that runs past the end of the input simply ends as
//! [`PErr::Truncated`].

use std::io::{self, Read};
use std::time::Instant;

use crate::model::{Finding, Format, ScanStatus, Severity};

const BUF: usize = 64 * 1024;

/// Why a parser stopped early. Every variant maps to a not-clean status.
#[derive(Debug)]
pub(crate) enum PErr {
    /// The input ended in the middle of a structure.
    Truncated(String),
    /// The bytes do not follow the format.
    Malformed(String),
    /// A configured bound was reached.
    Limit(String),
    /// The wall-clock budget ran out.
    Timeout,
    /// The operating system failed a read.
    Io(io::Error),
}

impl PErr {
    /// Records this error on a node: a low-severity explanation plus the matching status.
    pub(crate) fn record(self, node: &mut Node) {
        match self {
            PErr::Truncated(d) => node.fail(ScanStatus::Error, "truncated", format!("input ends early: {d}")),
            PErr::Malformed(d) => node.fail(ScanStatus::Error, "parse_error", d),
            PErr::Limit(d) => node.fail(ScanStatus::Incomplete, "limit_exceeded", d),
            PErr::Timeout => node.fail(
                ScanStatus::Incomplete,
                "limit_exceeded",
                "time budget for this file exhausted (--max-time)".to_string(),
            ),
            PErr::Io(e) => node.fail(ScanStatus::Error, "io_error", e.to_string()),
        }
    }
}

impl From<io::Error> for PErr {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            PErr::Truncated(e.to_string())
        } else if e.kind() == io::ErrorKind::TimedOut {
            PErr::Timeout
        } else {
            PErr::Io(e)
        }
    }
}

/// Result alias for the parsers.
pub(crate) type PResult<T> = Result<T, PErr>;

/// The result being built for one file or member.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) path: String,
    pub(crate) format: Format,
    pub(crate) status: ScanStatus,
    pub(crate) findings: Vec<Finding>,
    dedup: std::collections::HashSet<(String, String)>,
    dropped: usize,
}

/// Findings kept per file; repeated identical findings are merged anyway.
const MAX_FINDINGS: usize = 256;

impl Node {
    pub(crate) fn new(path: String, format: Format) -> Self {
        Node {
            path,
            format,
            status: ScanStatus::Complete,
            findings: Vec::new(),
            dedup: Default::default(),
            dropped: 0,
        }
    }

    /// Adds a finding once (same kind + detail are merged).
    pub(crate) fn add(&mut self, kind: &str, severity: Severity, detail: impl Into<String>) {
        let detail = detail.into();
        if !self.dedup.insert((kind.to_string(), detail.clone())) {
            return;
        }
        if self.findings.len() >= MAX_FINDINGS {
            // Keep the worst ones: replace an info/low finding if this one is worse.
            if let Some(pos) = self
                .findings
                .iter()
                .position(|f| f.severity < severity && f.severity <= Severity::Low)
            {
                self.findings[pos] = Finding::new(kind, severity, detail);
            }
            self.dropped += 1;
            return;
        }
        self.findings.push(Finding::new(kind, severity, detail));
    }

    /// Marks the scan as not complete and explains why.
    pub(crate) fn fail(&mut self, status: ScanStatus, kind: &str, detail: String) {
        if status > self.status {
            self.status = status;
        }
        self.add(kind, Severity::Low, detail);
    }

    /// Finalises into a report.
    pub(crate) fn finish(mut self) -> crate::model::FileReport {
        if self.dropped > 0 {
            self.findings.push(Finding::new(
                "findings_truncated",
                Severity::Info,
                format!("{} further findings were not listed", self.dropped),
            ));
        }
        let verdict = crate::model::verdict_for(self.status, &self.findings);
        crate::model::FileReport {
            path: self.path,
            format: self.format,
            verdict,
            status: self.status,
            findings: self.findings,
        }
    }
}

/// A buffered reader with bounded helpers and an absolute offset.
pub(crate) struct Src<'a> {
    inner: &'a mut dyn Read,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    offset: u64,
    deadline: Option<Instant>,
    ticks: u32,
}

impl<'a> Src<'a> {
    pub(crate) fn new(inner: &'a mut dyn Read, deadline: Option<Instant>) -> Self {
        Src {
            inner,
            buf: vec![0; BUF],
            pos: 0,
            end: 0,
            offset: 0,
            deadline,
            ticks: 0,
        }
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Checks the deadline every few thousand calls.
    pub(crate) fn tick(&mut self) -> PResult<()> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(4096)
            && let Some(d) = self.deadline
            && Instant::now() > d
        {
            return Err(PErr::Timeout);
        }
        Ok(())
    }

    fn fill(&mut self) -> PResult<bool> {
        if self.pos < self.end {
            return Ok(true);
        }
        if let Some(d) = self.deadline
            && Instant::now() > d
        {
            return Err(PErr::Timeout);
        }
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.pos = 0;
                    self.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(PErr::from(e)),
            }
        }
    }

    /// The next byte without consuming it; `None` at end of input.
    pub(crate) fn peek(&mut self) -> PResult<Option<u8>> {
        if !self.fill()? {
            return Ok(None);
        }
        Ok(Some(self.buf[self.pos]))
    }

    pub(crate) fn u8(&mut self) -> PResult<u8> {
        if !self.fill()? {
            return Err(PErr::Truncated(format!("at offset {}", self.offset)));
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        self.offset += 1;
        Ok(b)
    }

    pub(crate) fn exact(&mut self, out: &mut [u8]) -> PResult<()> {
        let mut done = 0;
        while done < out.len() {
            if !self.fill()? {
                return Err(PErr::Truncated(format!("at offset {}", self.offset)));
            }
            let n = (self.end - self.pos).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            self.offset += n as u64;
            done += n;
        }
        Ok(())
    }

    pub(crate) fn le_u16(&mut self) -> PResult<u16> {
        let mut b = [0; 2];
        self.exact(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    pub(crate) fn le_u32(&mut self) -> PResult<u32> {
        let mut b = [0; 4];
        self.exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn le_u64(&mut self) -> PResult<u64> {
        let mut b = [0; 8];
        self.exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Reads `n` bytes into a new vector; the caller must have checked `n` against a cap.
    pub(crate) fn vec(&mut self, n: u64, cap: u64, what: &str) -> PResult<Vec<u8>> {
        if n > cap {
            return Err(PErr::Limit(format!(
                "{what} of {n} bytes exceeds the {cap}-byte cap"
            )));
        }
        // Grow as bytes arrive, so a lying length costs at most what the input really holds.
        let mut out = Vec::with_capacity((n as usize).min(BUF));
        let mut left = n;
        while left > 0 {
            if !self.fill()? {
                return Err(PErr::Truncated(format!(
                    "{what} claims {n} bytes at offset {}",
                    self.offset
                )));
            }
            let k = ((self.end - self.pos) as u64).min(left) as usize;
            out.extend_from_slice(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
            self.offset += k as u64;
            left -= k as u64;
        }
        Ok(out)
    }

    /// Skips `n` bytes without storing them; errors with `Truncated` if the input is shorter.
    pub(crate) fn skip(&mut self, n: u64, what: &str) -> PResult<()> {
        let mut left = n;
        while left > 0 {
            if !self.fill()? {
                return Err(PErr::Truncated(format!(
                    "{what} claims {n} bytes at offset {}",
                    self.offset
                )));
            }
            let k = ((self.end - self.pos) as u64).min(left) as usize;
            self.pos += k;
            self.offset += k as u64;
            left -= k as u64;
        }
        Ok(())
    }

    /// Reads up to and excluding `\n`; at most `cap` bytes.
    pub(crate) fn line(&mut self, cap: u64) -> PResult<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let b = self.u8()?;
            if b == b'\n' {
                return Ok(out);
            }
            if out.len() as u64 >= cap {
                return Err(PErr::Limit(format!("text line longer than {cap} bytes")));
            }
            out.push(b);
        }
    }

    /// Reads and discards everything left, up to `cap` bytes; returns how many were read.
    pub(crate) fn drain(&mut self, cap: u64) -> PResult<u64> {
        let mut n = 0;
        while n < cap {
            if !self.fill()? {
                return Ok(n);
            }
            let k = ((self.end - self.pos) as u64).min(cap - n) as usize;
            self.pos += k;
            self.offset += k as u64;
            n += k as u64;
        }
        Ok(n)
    }
}

impl Read for Src<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.fill() {
            Ok(true) => {}
            Ok(false) => return Ok(0),
            Err(PErr::Io(e)) => return Err(e),
            Err(PErr::Timeout) => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "time budget exhausted"));
            }
            Err(e) => return Err(io::Error::other(format!("{e:?}"))),
        }
        let n = (self.end - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lying_lengths_truncate_without_allocating() {
        let data = [1u8, 2, 3];
        let mut r: &[u8] = &data;
        let mut s = Src::new(&mut r, None);
        assert!(matches!(s.vec(1 << 40, 1 << 50, "x"), Err(PErr::Truncated(_))));
        let mut r: &[u8] = &data;
        let mut s = Src::new(&mut r, None);
        assert!(matches!(s.vec(10, 5, "x"), Err(PErr::Limit(_))));
        assert!(matches!(s.skip(u64::MAX, "x"), Err(PErr::Truncated(_))));
    }

    #[test]
    fn lines_are_capped() {
        let data = b"abcdef\n";
        let mut r: &[u8] = data;
        let mut s = Src::new(&mut r, None);
        assert!(matches!(s.line(3), Err(PErr::Limit(_))));
        let mut r: &[u8] = data;
        let mut s = Src::new(&mut r, None);
        assert_eq!(s.line(10).ok(), Some(b"abcdef".to_vec()));
        assert_eq!(s.peek().ok(), Some(None));
    }
}
