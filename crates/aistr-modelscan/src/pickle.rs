//! A non-executing pickle opcode walker (protocols 0–5).
//!
//! It keeps a *symbolic* stack and memo, just precise enough to resolve what each import and
//! call refers to: `GLOBAL`/`INST` carry their names inline, `STACK_GLOBAL` takes two strings
//! from the stack (possibly fetched through the memo, which is how denylist scanners were
//! bypassed), and `REDUCE`/`NEWOBJ`/`OBJ`/`BUILD` are call sites. Nothing is ever executed and
//! nothing the file says sizes an allocation: strings above a cap are skipped, the stack, memo,
//! retained bytes, opcode count and time are all bounded.

use std::collections::HashMap;
use std::rc::Rc;

use crate::model::{Limits, Severity};
use crate::policy::{Judgement, is_dotted_identifier, judge};
use crate::src::{Node, PErr, PResult, Src};

/// The little-endian bytes of PyTorch's legacy magic number 0x1950a86a20f9469cfc6c.
const TORCH_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

#[derive(Debug, Clone)]
enum V {
    /// A string we kept (module/attribute names are short).
    Str(Rc<str>),
    /// A string too long to keep.
    LongStr,
    Int(i64),
    TorchMagic,
    /// The object an import produced.
    Global(Rc<(String, String)>),
    /// The result of calling something.
    Called,
    /// Any other value (containers, bytes, floats, None...).
    Other,
}

/// What one walked pickle looked like, for callers that interpret pickle streams.
#[derive(Debug, Default, Clone)]
pub struct PickleSummary {
    /// Highest protocol announced by PROTO.
    pub protocol: u8,
    /// The pickle's value was PyTorch's legacy magic number.
    pub torch_magic: bool,
    /// The pickle's value was a plain integer.
    pub result_int: Option<i64>,
    /// Every import, in order, as `module.name` (capped).
    pub imports: Vec<String>,
    /// Opcodes walked.
    pub opcodes: u64,
}

/// Whether a byte can start a pickle: PROTO, or a protocol-0/1 opcode that legacy pickles begin with.
pub fn looks_like_pickle(head: &[u8]) -> bool {
    match head {
        [0x80, p, ..] => *p <= 5,
        // Protocol 0/1 pickles: a mark, a global, a list/dict/tuple, or a simple value, and the
        // stream must end with STOP; we can only check plausible first opcodes here.
        [
            b'(' | b'c' | b'}' | b']' | b')' | b'N' | b'I' | b'J' | b'K' | b'L' | b'V' | b'X' | b'S' | b'U'
            | b'T' | b'l' | b'd' | b'F' | b'G',
            ..,
        ] => {
            // Avoid calling arbitrary text a pickle: require a STOP byte somewhere in the prefix
            // for very short heads, otherwise a printable first line ending with newline.
            plausible_proto0(head)
        }
        _ => false,
    }
}

fn plausible_proto0(head: &[u8]) -> bool {
    // Walk a few opcodes of the prefix; reject if an invalid opcode shows up early.
    let mut buf: &[u8] = head;
    let mut src = Src::new(&mut buf, None);
    let limits = Limits::default();
    let mut node = Node::new(String::new(), crate::model::Format::Pickle);
    let mut w = Walker::new(&limits);
    match w.walk(&mut src, &mut node) {
        Ok(()) => true,
        // At least one whole opcode parsed before the prefix ran out.
        Err(PErr::Truncated(_)) => w.summary.opcodes >= 2,
        Err(_) => false,
    }
}

struct Walker<'l> {
    limits: &'l Limits,
    stack: Vec<V>,
    marks: Vec<usize>,
    memo: HashMap<u64, V>,
    retained: u64,
    summary: PickleSummary,
}

impl<'l> Walker<'l> {
    fn new(limits: &'l Limits) -> Self {
        Walker {
            limits,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            retained: 0,
            summary: PickleSummary::default(),
        }
    }

    fn push(&mut self, v: V) -> PResult<()> {
        if self.stack.len() >= self.limits.max_stack {
            return Err(PErr::Limit(format!(
                "pickle stack deeper than {} items",
                self.limits.max_stack
            )));
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self, op: &str) -> PResult<V> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(PErr::Malformed(format!("pickle stack underflow at {op}")));
        }
        self.stack
            .pop()
            .ok_or_else(|| PErr::Malformed(format!("pickle stack underflow at {op}")))
    }

    fn top(&self, op: &str) -> PResult<&V> {
        self.stack
            .last()
            .ok_or_else(|| PErr::Malformed(format!("pickle stack empty at {op}")))
    }

    fn pop_mark(&mut self, op: &str) -> PResult<Vec<V>> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| PErr::Malformed(format!("{op} without MARK")))?;
        if m > self.stack.len() {
            return Err(PErr::Malformed(format!("{op}: corrupt mark")));
        }
        Ok(self.stack.split_off(m))
    }

    fn string(&mut self, bytes: Vec<u8>) -> V {
        let s = String::from_utf8_lossy(&bytes);
        self.retain_str(&s)
    }

    fn retain_str(&mut self, s: &str) -> V {
        if self.retained + s.len() as u64 > self.limits.max_retained_bytes {
            return V::LongStr;
        }
        self.retained += s.len() as u64;
        V::Str(Rc::from(s))
    }

    /// Reads a length-prefixed string argument, keeping it only when short.
    fn counted_string(&mut self, src: &mut Src<'_>, n: u64, what: &str) -> PResult<V> {
        if n > self.limits.max_string_bytes {
            src.skip(n, what)?;
            return Ok(V::LongStr);
        }
        let b = src.vec(n, self.limits.max_string_bytes, what)?;
        Ok(self.string(b))
    }

    fn import(&mut self, module: &str, name: &str, via: &str, node: &mut Node) -> V {
        let full = format!("{module}.{name}");
        if self.summary.imports.len() < 4096 {
            self.summary.imports.push(full.clone());
        }
        if !is_dotted_identifier(module) || !is_dotted_identifier(name) {
            node.add(
                "malformed_import",
                Severity::Medium,
                format!(
                    "{via} imports {full:?}: not a valid dotted Python name (type confusion or memo trickery)"
                ),
            );
        } else {
            match judge(module, name) {
                Judgement::Allowed => node.add(
                    "allowlisted_import",
                    Severity::Info,
                    format!("{full} ({via}) is a known-safe reconstruction callable"),
                ),
                Judgement::Denied(sev, why) => {
                    node.add("dangerous_import", sev, format!("{full} ({via}) {why}"))
                }
                Judgement::Unknown => node.add(
                    "unknown_import",
                    Severity::Medium,
                    format!(
                        "{full} ({via}) is not on the allowlist of known-safe callables; loading this file would import and may call it"
                    ),
                ),
            }
        }
        V::Global(Rc::new((module.to_string(), name.to_string())))
    }

    fn call(&mut self, callee: &V, op: &str, node: &mut Node) {
        match callee {
            V::Global(_) => {}
            V::Called => node.add(
                "computed_call",
                Severity::Medium,
                format!("{op} calls a value produced by an earlier call (gadget chaining)"),
            ),
            _ => node.add(
                "computed_call",
                Severity::Medium,
                format!("{op} calls a value that is not an imported callable"),
            ),
        }
    }

    /// Walks one pickle up to and including STOP.
    fn walk(&mut self, src: &mut Src<'_>, node: &mut Node) -> PResult<()> {
        let l = self.limits.max_string_bytes;
        loop {
            src.tick()?;
            self.summary.opcodes += 1;
            if self.summary.opcodes > self.limits.max_opcodes {
                return Err(PErr::Limit(format!(
                    "more than {} pickle opcodes",
                    self.limits.max_opcodes
                )));
            }
            let at = src.offset();
            let op = src.u8()?;
            match op {
                b'.' => {
                    let v = self.pop("STOP")?;
                    self.summary.torch_magic = matches!(v, V::TorchMagic);
                    self.summary.result_int = if let V::Int(i) = v { Some(i) } else { None };
                    return Ok(());
                }
                b'(' => {
                    if self.marks.len() >= self.limits.max_stack {
                        return Err(PErr::Limit(format!(
                            "more than {} nested MARKs",
                            self.limits.max_stack
                        )));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    self.pop("POP")?;
                }
                b'1' => {
                    self.pop_mark("POP_MARK")?;
                }
                b'2' => {
                    let v = self.top("DUP")?.clone();
                    self.push(v)?;
                }
                b'F' => {
                    src.line(l)?;
                    self.push(V::Other)?;
                }
                b'I' => {
                    let line = src.line(l)?;
                    let s = String::from_utf8_lossy(&line);
                    let v = s.trim().parse::<i64>().map(V::Int).unwrap_or(V::Other);
                    self.push(v)?;
                }
                b'L' => {
                    let line = src.line(l)?;
                    let s = String::from_utf8_lossy(&line);
                    let t = s.trim().trim_end_matches('L');
                    let v = if t.eq_ignore_ascii_case("0x1950a86a20f9469cfc6c")
                        || t == "119547037146038801333356"
                    {
                        V::TorchMagic
                    } else {
                        t.parse::<i64>().map(V::Int).unwrap_or(V::Other)
                    };
                    self.push(v)?;
                }
                b'J' => {
                    let n = src.le_u32()? as i32;
                    self.push(V::Int(n.into()))?;
                }
                b'K' => {
                    let n = src.u8()?;
                    self.push(V::Int(n.into()))?;
                }
                b'M' => {
                    let n = src.le_u16()?;
                    self.push(V::Int(n.into()))?;
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        u64::from(src.u8()?)
                    } else {
                        u64::from(src.le_u32()?)
                    };
                    if n > l {
                        return Err(PErr::Limit(format!("LONG of {n} bytes")));
                    }
                    let b = src.vec(n, l, "LONG")?;
                    let v = if b == TORCH_MAGIC {
                        V::TorchMagic
                    } else if b.len() <= 8 {
                        let mut x: i64 = if b.last().is_some_and(|&h| h & 0x80 != 0) {
                            -1
                        } else {
                            0
                        };
                        for &byte in b.iter().rev() {
                            x = (x << 8) | i64::from(byte);
                        }
                        V::Int(x)
                    } else {
                        V::Other
                    };
                    self.push(v)?;
                }
                b'N' | 0x88 | 0x89 | b')' | b']' | b'}' | 0x8f => self.push(V::Other)?,
                b'G' => {
                    src.skip(8, "BINFLOAT")?;
                    self.push(V::Other)?;
                }
                b'S' => {
                    let line = src.line(l)?;
                    let mut t: &[u8] = &line;
                    if t.len() >= 2 && (t[0] == b'\'' || t[0] == b'"') && t[t.len() - 1] == t[0] {
                        t = &t[1..t.len() - 1];
                    } else {
                        return Err(PErr::Malformed(format!(
                            "STRING argument not quoted at offset {at}"
                        )));
                    }
                    let v = self.string(unescape_py(t));
                    self.push(v)?;
                }
                b'V' => {
                    let line = src.line(l)?;
                    let v = self.string(unescape_py(&line));
                    self.push(v)?;
                }
                b'T' | b'X' => {
                    let n = u64::from(src.le_u32()?);
                    let v = self.counted_string(src, n, "string")?;
                    self.push(v)?;
                }
                b'U' | 0x8c => {
                    let n = u64::from(src.u8()?);
                    let v = self.counted_string(src, n, "string")?;
                    self.push(v)?;
                }
                0x8d => {
                    let n = src.le_u64()?;
                    let v = self.counted_string(src, n, "BINUNICODE8")?;
                    self.push(v)?;
                }
                b'B' => {
                    let n = u64::from(src.le_u32()?);
                    src.skip(n, "BINBYTES")?;
                    self.push(V::Other)?;
                }
                b'C' => {
                    let n = u64::from(src.u8()?);
                    src.skip(n, "SHORT_BINBYTES")?;
                    self.push(V::Other)?;
                }
                0x8e | 0x96 => {
                    let n = src.le_u64()?;
                    src.skip(n, "BINBYTES8/BYTEARRAY8")?;
                    self.push(V::Other)?;
                }
                0x97 | 0x98 => {
                    if op == 0x97 {
                        node.add(
                            "out_of_band_buffer",
                            Severity::Info,
                            "NEXT_BUFFER: data supplied out of band by the loader",
                        );
                        self.push(V::Other)?;
                    } else {
                        self.top("READONLY_BUFFER")?;
                    }
                }
                b'a' => {
                    self.pop("APPEND")?;
                    self.top("APPEND")?;
                }
                b'e' | 0x90 => {
                    self.pop_mark("APPENDS/ADDITEMS")?;
                    self.top("APPENDS/ADDITEMS")?;
                }
                b's' => {
                    self.pop("SETITEM")?;
                    self.pop("SETITEM")?;
                    self.top("SETITEM")?;
                }
                b'u' => {
                    let items = self.pop_mark("SETITEMS")?;
                    if items.len() % 2 != 0 {
                        return Err(PErr::Malformed("SETITEMS with an odd number of items".into()));
                    }
                    self.top("SETITEMS")?;
                }
                b'l' | b't' | b'd' | 0x91 => {
                    let items = self.pop_mark("LIST/TUPLE/DICT/FROZENSET")?;
                    if op == b'd' && items.len() % 2 != 0 {
                        return Err(PErr::Malformed("DICT with an odd number of items".into()));
                    }
                    self.push(V::Other)?;
                }
                0x85..=0x87 => {
                    for _ in 0..(op - 0x84) {
                        self.pop("TUPLEn")?;
                    }
                    self.push(V::Other)?;
                }
                b'c' => {
                    let module = utf8_arg(src.line(l)?, "GLOBAL", at)?;
                    let name = utf8_arg(src.line(l)?, "GLOBAL", at)?;
                    let v = self.import(&module, &name, "GLOBAL", node);
                    self.push(v)?;
                }
                0x93 => {
                    let name = self.pop("STACK_GLOBAL")?;
                    let module = self.pop("STACK_GLOBAL")?;
                    match (&module, &name) {
                        (V::Str(m), V::Str(n)) => {
                            let (m, n) = (m.clone(), n.clone());
                            let v = self.import(&m, &n, "STACK_GLOBAL", node);
                            self.push(v)?;
                        }
                        _ => {
                            node.add(
                                "dynamic_import",
                                Severity::Critical,
                                format!(
                                    "STACK_GLOBAL at offset {at} takes its module/name from values that are not literal strings ({} / {}): the import target is computed at load time",
                                    describe(&module),
                                    describe(&name)
                                ),
                            );
                            self.push(V::Global(Rc::new(("?".into(), "?".into()))))?;
                        }
                    }
                }
                b'i' => {
                    let module = utf8_arg(src.line(l)?, "INST", at)?;
                    let name = utf8_arg(src.line(l)?, "INST", at)?;
                    self.pop_mark("INST")?;
                    self.import(&module, &name, "INST", node);
                    self.push(V::Called)?;
                }
                b'o' => {
                    let mut items = self.pop_mark("OBJ")?;
                    if items.is_empty() {
                        return Err(PErr::Malformed("OBJ without a class".into()));
                    }
                    let cls = items.swap_remove(0);
                    self.call(&cls, "OBJ", node);
                    self.push(V::Called)?;
                }
                b'R' => {
                    self.pop("REDUCE")?;
                    let callee = self.pop("REDUCE")?;
                    self.call(&callee, "REDUCE", node);
                    self.push(V::Called)?;
                }
                0x81 => {
                    self.pop("NEWOBJ")?;
                    let cls = self.pop("NEWOBJ")?;
                    self.call(&cls, "NEWOBJ", node);
                    self.push(V::Called)?;
                }
                0x92 => {
                    self.pop("NEWOBJ_EX")?;
                    self.pop("NEWOBJ_EX")?;
                    let cls = self.pop("NEWOBJ_EX")?;
                    self.call(&cls, "NEWOBJ_EX", node);
                    self.push(V::Called)?;
                }
                b'b' => {
                    self.pop("BUILD")?;
                    if let V::Global(g) = self.top("BUILD")? {
                        let detail = format!(
                            "BUILD at offset {at} sets state on the imported object {}.{} itself, overwriting module or class attributes for later imports",
                            g.0, g.1
                        );
                        node.add("attribute_overwrite", Severity::Critical, detail);
                    }
                }
                b'P' => {
                    src.line(l)?;
                    self.push(V::Other)?;
                }
                b'Q' => {
                    self.pop("BINPERSID")?;
                    self.push(V::Other)?;
                }
                b'g' | b'h' | b'j' => {
                    let key = match op {
                        b'g' => {
                            let line = src.line(l)?;
                            String::from_utf8_lossy(&line)
                                .trim()
                                .parse::<u64>()
                                .map_err(|_| {
                                    PErr::Malformed(format!("GET with a non-numeric key at offset {at}"))
                                })?
                        }
                        b'h' => u64::from(src.u8()?),
                        _ => u64::from(src.le_u32()?),
                    };
                    let v = self.memo.get(&key).cloned().ok_or_else(|| {
                        PErr::Malformed(format!("memo key {key} read at offset {at} was never stored (the real loader raises here)"))
                    })?;
                    self.push(v)?;
                }
                b'p' | b'q' | b'r' | 0x94 => {
                    let key = match op {
                        b'p' => {
                            let line = src.line(l)?;
                            String::from_utf8_lossy(&line)
                                .trim()
                                .parse::<u64>()
                                .map_err(|_| {
                                    PErr::Malformed(format!("PUT with a non-numeric key at offset {at}"))
                                })?
                        }
                        b'q' => u64::from(src.u8()?),
                        b'r' => u64::from(src.le_u32()?),
                        _ => self.memo.len() as u64,
                    };
                    let v = self.top("PUT")?.clone();
                    if self.memo.len() >= self.limits.max_memo && !self.memo.contains_key(&key) {
                        return Err(PErr::Limit(format!(
                            "more than {} memo entries",
                            self.limits.max_memo
                        )));
                    }
                    self.memo.insert(key, v);
                }
                0x80 => {
                    let p = src.u8()?;
                    if p > 5 {
                        return Err(PErr::Malformed(format!("unsupported pickle protocol {p}")));
                    }
                    self.summary.protocol = self.summary.protocol.max(p);
                }
                0x95 => {
                    src.le_u64()?;
                }
                0x82..=0x84 => {
                    let code = match op {
                        0x82 => u64::from(src.u8()?),
                        0x83 => u64::from(src.le_u16()?),
                        _ => u64::from(src.le_u32()?),
                    };
                    node.add(
                        "extension_import",
                        Severity::Medium,
                        format!(
                            "EXT opcode at offset {at} imports extension-registry code {code}: the callable depends on copyreg registrations in the loading process and cannot be checked statically"
                        ),
                    );
                    self.push(V::Global(Rc::new(("copyreg.extension".into(), code.to_string()))))?;
                }
                other => {
                    return Err(PErr::Malformed(format!(
                        "invalid pickle opcode 0x{other:02x} at offset {at}"
                    )));
                }
            }
        }
    }
}

/// GLOBAL/INST arguments must be UTF-8: CPython fails the load before importing otherwise.
fn utf8_arg(b: Vec<u8>, op: &str, at: u64) -> PResult<String> {
    String::from_utf8(b).map_err(|_| {
        PErr::Malformed(format!(
            "{op} at offset {at} has a non-UTF-8 argument; the loader rejects it"
        ))
    })
}

fn describe(v: &V) -> &'static str {
    match v {
        V::Str(_) => "string",
        V::LongStr => "oversized string",
        V::Int(_) | V::TorchMagic => "integer",
        V::Global(_) => "imported object",
        V::Called => "call result",
        V::Other => "non-string value",
    }
}

/// Decodes the backslash escapes of protocol-0 STRING/UNICODE arguments (enough for names).
fn unescape_py(raw: &[u8]) -> Vec<u8> {
    if !raw.contains(&b'\\') {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            let c = raw[i + 1];
            let hex = |len: usize| -> Option<u32> {
                let s = raw.get(i + 2..i + 2 + len)?;
                u32::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
            };
            let (ch, adv) = match c {
                b'n' => (Some('\n' as u32), 2),
                b't' => (Some('\t' as u32), 2),
                b'r' => (Some('\r' as u32), 2),
                b'\\' => (Some('\\' as u32), 2),
                b'\'' => (Some('\'' as u32), 2),
                b'"' => (Some('"' as u32), 2),
                b'x' => (hex(2), 4),
                b'u' => (hex(4), 6),
                b'U' => (hex(8), 10),
                _ => (None, 1),
            };
            if let Some(cp) = ch.and_then(char::from_u32) {
                let mut b = [0; 4];
                out.extend_from_slice(cp.encode_utf8(&mut b).as_bytes());
                i += adv;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// Walks one pickle from `src`, recording findings on `node`.
pub(crate) fn walk_one(src: &mut Src<'_>, limits: &Limits, node: &mut Node) -> PResult<PickleSummary> {
    let mut w = Walker::new(limits);
    w.walk(src, node)?;
    Ok(w.summary)
}

/// How a stream of pickles ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// Clean end of input after the last STOP.
    Eof,
    /// Legacy torch stream: the remaining bytes are raw storage data.
    TorchStorage,
}

/// Walks every pickle in a stream: a plain pickle, concatenated pickles (all of which a custom
/// loader could read), or a legacy `torch.save` stream (magic, protocol, sys_info, model, keys,
/// then raw storage bytes). Returns whether the stream was a legacy torch file.
pub(crate) fn walk_stream(src: &mut Src<'_>, limits: &Limits, node: &mut Node) -> PResult<StreamEnd> {
    let first = walk_one(src, limits, node)?;
    if first.torch_magic {
        for what in ["protocol version", "sys_info", "model", "storage keys"] {
            if src.peek()?.is_none() {
                return Err(PErr::Truncated(format!(
                    "legacy torch stream ends before its {what} pickle"
                )));
            }
            walk_one(src, limits, node).map_err(|e| match e {
                PErr::Malformed(d) => PErr::Malformed(format!("legacy torch {what} pickle: {d}")),
                other => other,
            })?;
        }
        node.format = crate::model::Format::PytorchLegacy;
        node.add(
            "raw_storage",
            Severity::Info,
            "legacy torch.save stream: bytes after the five pickles are raw tensor storage, which the loader never unpickles",
        );
        return Ok(StreamEnd::TorchStorage);
    }
    let mut count = 1;
    while src.peek()?.is_some() {
        count += 1;
        if count > limits.max_pickles_per_stream {
            return Err(PErr::Limit(format!(
                "more than {} concatenated pickles",
                limits.max_pickles_per_stream
            )));
        }
        let at = src.offset();
        node.add(
            "concatenated_pickle",
            Severity::Info,
            "more bytes follow STOP: a loader that calls pickle.load repeatedly reads them, so they are walked too",
        );
        walk_one(src, limits, node).map_err(|e| match e {
            PErr::Malformed(d) => PErr::Malformed(format!(
                "data after STOP at offset {at} is not a valid pickle: {d}"
            )),
            other => other,
        })?;
    }
    Ok(StreamEnd::Eof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Format, ScanStatus, Verdict};

    fn scan(bytes: &[u8]) -> crate::model::FileReport {
        let mut r: &[u8] = bytes;
        let mut src = Src::new(&mut r, None);
        let mut node = Node::new("t".into(), Format::Pickle);
        if let Err(e) = walk_stream(&mut src, &Limits::default(), &mut node) {
            e.record(&mut node);
        }
        node.finish()
    }

    #[test]
    fn protocol0_global_reduce_is_malicious() {
        let r = scan(b"cos\nsystem\n(S'ls'\ntR.");
        assert_eq!(r.verdict, Verdict::Malicious);
        assert!(r.findings.iter().any(|f| f.detail.contains("os.system")));
    }

    #[test]
    fn stack_global_through_memo_resolves() {
        // 'os' -> memo 2, 'system' -> memo 3, decoys 'torch','LongStorage'; GET 2 GET 3 STACK_GLOBAL
        let p = b"Vos\np2\n0Vsystem\np3\n0Vtorch\np0\n0VLongStorage\np1\n0g2\ng3\n\x93(Vx\ntR.";
        let r = scan(p);
        assert_eq!(r.verdict, Verdict::Malicious, "{r:?}");
        assert!(r.findings.iter().any(|f| f.detail.contains("os.system")));
    }

    #[test]
    fn benign_list_is_clean() {
        let r = scan(b"\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x01a\x94\x8c\x01b\x94e.");
        assert_eq!(r.verdict, Verdict::Clean, "{r:?}");
        assert_eq!(r.status, ScanStatus::Complete);
    }

    #[test]
    fn truncation_is_inconclusive() {
        let r = scan(b"\x80\x04]\x94(\x8c\x01a");
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(r.status, ScanStatus::Error);
    }

    #[test]
    fn dynamic_stack_global_is_flagged() {
        // STACK_GLOBAL on (int, str)
        let r = scan(b"\x80\x04K*\x8c\x02os\x93.");
        assert_eq!(r.verdict, Verdict::Malicious);
        assert!(r.findings.iter().any(|f| f.kind == "dynamic_import"));
    }

    #[test]
    fn build_on_global_is_flagged() {
        let r = scan(b"\x80\x04\x8c\x05torch\x8c\x06_utils\x93}b.");
        assert_eq!(r.verdict, Verdict::Malicious);
        assert!(r.findings.iter().any(|f| f.kind == "attribute_overwrite"));
    }

    #[test]
    fn unknown_import_is_suspicious() {
        let r = scan(b"\x80\x02cmypkg.mod\nThing\n)R.");
        assert_eq!(r.verdict, Verdict::Suspicious);
    }

    #[test]
    fn huge_counted_string_is_truncated_not_allocated() {
        let r = scan(b"\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x10.");
        assert_eq!(r.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn deep_marks_hit_the_limit() {
        let mut p = b"\x80\x04".to_vec();
        p.extend(std::iter::repeat_n(b'(', 2000));
        let limits = Limits {
            max_stack: 1000,
            ..Limits::default()
        };
        let mut r: &[u8] = &p;
        let mut src = Src::new(&mut r, None);
        let mut node = Node::new("t".into(), Format::Pickle);
        let e = walk_stream(&mut src, &limits, &mut node);
        assert!(matches!(e, Err(PErr::Limit(_))));
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_pickle(b"\x80\x04\x95"));
        assert!(looks_like_pickle(b"cos\nsystem\n"));
        assert!(!looks_like_pickle(b"Lorem ipsum dolor sit amet"));
        assert!(!looks_like_pickle(b"\x80\x09"));
    }
}
