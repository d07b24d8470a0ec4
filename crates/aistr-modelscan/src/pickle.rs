//! A non-executing pickle opcode walker (protocols 0–5).
//!
//! It keeps a *symbolic* stack and memo, just precise enough to resolve what each import and
//! call refers to: `GLOBAL`/`INST` carry their names inline, `STACK_GLOBAL` takes two strings
//! from the stack (possibly fetched through the memo, which is how denylist scanners were
//! bypassed), and `REDUCE`/`NEWOBJ`/`OBJ`/`BUILD` are call sites. Nothing is ever executed and
//! nothing the file says sizes an allocation: strings above a cap are skipped, the stack, memo,
//! retained bytes, opcode count and time are all bounded.
//!
//! A bound that is hit does not end the walk: padding a pickle past a bound must not hide the
//! payload behind it. The limit is recorded (the scan is then *incomplete*, never clean) and the
//! walker goes on in *lenient* mode: it still decodes every opcode and judges every import it can
//! name (`GLOBAL`, `INST`, `STACK_GLOBAL` on strings still known, memo lookups of what was stored),
//! while values the bound dropped read as [`V::Lost`] instead of failing the parse. Only the time
//! budget, truncation and invalid bytes end a walk.

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
    /// A value a bound dropped (lenient mode only): unknown, so never the ground for a finding.
    Lost,
}

/// Strings memoized after the memo filled up are still kept, the most recent 2^16 to 2^17 of
/// them, so `STACK_GLOBAL` through the memo resolves after a memo limit.
const LATE_MEMO_STRINGS: usize = 1 << 16;
/// After the retained-bytes budget is spent, strings up to this length (names) are still kept.
const LATE_NAME_BYTES: usize = 128;

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
    /// Strings memoized once `memo` was full, in two generations of at most
    /// [`LATE_MEMO_STRINGS`]: when the young one fills up, the old one is dropped.
    late_memo: HashMap<u64, V>,
    late_memo_old: HashMap<u64, V>,
    /// Distinct memo keys stored so far, the key `MEMOIZE` uses (also counts dropped entries).
    memo_len: u64,
    retained: u64,
    /// A bound was hit: keep walking for imports, reading dropped values as [`V::Lost`].
    lenient: bool,
    summary: PickleSummary,
}

impl<'l> Walker<'l> {
    fn new(limits: &'l Limits) -> Self {
        Walker {
            limits,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            late_memo: HashMap::new(),
            late_memo_old: HashMap::new(),
            memo_len: 0,
            retained: 0,
            lenient: false,
            summary: PickleSummary::default(),
        }
    }

    /// Records that a bound was hit (the scan becomes incomplete) and switches to lenient mode.
    fn hit_limit(&mut self, node: &mut Node, detail: String) {
        PErr::Limit(format!("{detail}; the rest was walked for imports only")).record(node);
        self.lenient = true;
    }

    fn push(&mut self, v: V, node: &mut Node) {
        if self.stack.len() >= self.limits.max_stack {
            if !self.lenient {
                let d = format!("pickle stack deeper than {} items", self.limits.max_stack);
                self.hit_limit(node, d);
            }
            // Drop the older half: what sits deep in the stack is least likely to be used next.
            let half = self.stack.len().div_ceil(2);
            self.stack.drain(..half);
            for m in &mut self.marks {
                *m = m.saturating_sub(half);
            }
        }
        self.stack.push(v);
    }

    fn pop(&mut self, op: &str) -> PResult<V> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            if self.lenient {
                return Ok(V::Lost);
            }
            return Err(PErr::Malformed(format!("pickle stack underflow at {op}")));
        }
        self.stack
            .pop()
            .ok_or_else(|| PErr::Malformed(format!("pickle stack underflow at {op}")))
    }

    fn top(&self, op: &str) -> PResult<V> {
        match self.stack.last() {
            Some(v) => Ok(v.clone()),
            None if self.lenient => Ok(V::Lost),
            None => Err(PErr::Malformed(format!("pickle stack empty at {op}"))),
        }
    }

    fn push_mark(&mut self, node: &mut Node) {
        if self.marks.len() >= self.limits.max_stack {
            if !self.lenient {
                let d = format!("more than {} nested MARKs", self.limits.max_stack);
                self.hit_limit(node, d);
            }
            let half = self.marks.len().div_ceil(2);
            self.marks.drain(..half);
        }
        self.marks.push(self.stack.len());
    }

    fn pop_mark(&mut self, op: &str) -> PResult<Vec<V>> {
        let m = match self.marks.pop() {
            Some(m) => m,
            // The mark was dropped by a bound: everything left may belong to it.
            None if self.lenient => 0,
            None => return Err(PErr::Malformed(format!("{op} without MARK"))),
        };
        if m > self.stack.len() {
            if self.lenient {
                return Ok(Vec::new());
            }
            return Err(PErr::Malformed(format!("{op}: corrupt mark")));
        }
        Ok(self.stack.split_off(m))
    }

    fn memo_get(&self, key: u64) -> Option<&V> {
        self.memo
            .get(&key)
            .or_else(|| self.late_memo.get(&key))
            .or_else(|| self.late_memo_old.get(&key))
    }

    fn late_memo_put(&mut self, key: u64, v: V) {
        if self.late_memo.len() >= LATE_MEMO_STRINGS && !self.late_memo.contains_key(&key) {
            self.late_memo_old = std::mem::take(&mut self.late_memo);
        }
        self.late_memo.insert(key, v);
    }

    /// Malformed structure that a bound may have caused: an error unless lenient.
    fn structure(&self, detail: &str) -> PResult<()> {
        if self.lenient {
            Ok(())
        } else {
            Err(PErr::Malformed(detail.to_string()))
        }
    }

    fn string(&mut self, bytes: Vec<u8>, node: &mut Node) -> V {
        let s = String::from_utf8_lossy(&bytes);
        self.retain_str(&s, node)
    }

    fn retain_str(&mut self, s: &str, node: &mut Node) -> V {
        let budget = self.limits.max_retained_bytes;
        if self.retained + s.len() as u64 > budget {
            if self.retained <= budget {
                let d = format!("more than {budget} bytes of pickle strings retained");
                self.hit_limit(node, d);
                // Past the budget only names are kept, up to a second budget of the same size.
                self.retained = budget + 1;
            }
            if s.len() > LATE_NAME_BYTES || self.retained + s.len() as u64 > 2 * budget {
                return V::Lost;
            }
        }
        self.retained += s.len() as u64;
        V::Str(Rc::from(s))
    }

    /// Reads a length-prefixed string argument, keeping it only when short.
    fn counted_string(&mut self, src: &mut Src<'_>, n: u64, what: &str, node: &mut Node) -> PResult<V> {
        if n > self.limits.max_string_bytes {
            src.skip(n, what)?;
            return Ok(V::LongStr);
        }
        let b = src.vec(n, self.limits.max_string_bytes, what)?;
        Ok(self.string(b, node))
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
            // An import is judged where it happens; a dropped value is unknown, not evidence.
            V::Global(_) | V::Lost => {}
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
            if self.summary.opcodes > self.limits.max_opcodes && !self.lenient {
                let d = format!("more than {} pickle opcodes", self.limits.max_opcodes);
                self.hit_limit(node, d);
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
                b'(' => self.push_mark(node),
                b'0' => {
                    self.pop("POP")?;
                }
                b'1' => {
                    self.pop_mark("POP_MARK")?;
                }
                b'2' => {
                    let v = self.top("DUP")?;
                    self.push(v, node);
                }
                b'F' => {
                    src.line(l)?;
                    self.push(V::Other, node);
                }
                b'I' => {
                    let line = src.line(l)?;
                    let s = String::from_utf8_lossy(&line);
                    let v = s.trim().parse::<i64>().map(V::Int).unwrap_or(V::Other);
                    self.push(v, node);
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
                    self.push(v, node);
                }
                b'J' => {
                    let n = src.le_u32()? as i32;
                    self.push(V::Int(n.into()), node);
                }
                b'K' => {
                    let n = src.u8()?;
                    self.push(V::Int(n.into()), node);
                }
                b'M' => {
                    let n = src.le_u16()?;
                    self.push(V::Int(n.into()), node);
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        u64::from(src.u8()?)
                    } else {
                        u64::from(src.le_u32()?)
                    };
                    if n > l {
                        if !self.lenient {
                            self.hit_limit(node, format!("LONG of {n} bytes"));
                        }
                        src.skip(n, "LONG")?;
                        self.push(V::Other, node);
                        continue;
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
                    self.push(v, node);
                }
                b'N' | 0x88 | 0x89 | b')' | b']' | b'}' | 0x8f => self.push(V::Other, node),
                b'G' => {
                    src.skip(8, "BINFLOAT")?;
                    self.push(V::Other, node);
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
                    let v = self.string(unescape_py(t), node);
                    self.push(v, node);
                }
                b'V' => {
                    let line = src.line(l)?;
                    let v = self.string(unescape_py(&line), node);
                    self.push(v, node);
                }
                b'T' | b'X' => {
                    let n = u64::from(src.le_u32()?);
                    let v = self.counted_string(src, n, "string", node)?;
                    self.push(v, node);
                }
                b'U' | 0x8c => {
                    let n = u64::from(src.u8()?);
                    let v = self.counted_string(src, n, "string", node)?;
                    self.push(v, node);
                }
                0x8d => {
                    let n = src.le_u64()?;
                    let v = self.counted_string(src, n, "BINUNICODE8", node)?;
                    self.push(v, node);
                }
                b'B' => {
                    let n = u64::from(src.le_u32()?);
                    src.skip(n, "BINBYTES")?;
                    self.push(V::Other, node);
                }
                b'C' => {
                    let n = u64::from(src.u8()?);
                    src.skip(n, "SHORT_BINBYTES")?;
                    self.push(V::Other, node);
                }
                0x8e | 0x96 => {
                    let n = src.le_u64()?;
                    src.skip(n, "BINBYTES8/BYTEARRAY8")?;
                    self.push(V::Other, node);
                }
                0x97 | 0x98 => {
                    if op == 0x97 {
                        node.add(
                            "out_of_band_buffer",
                            Severity::Info,
                            "NEXT_BUFFER: data supplied out of band by the loader",
                        );
                        self.push(V::Other, node);
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
                        self.structure("SETITEMS with an odd number of items")?;
                    }
                    self.top("SETITEMS")?;
                }
                b'l' | b't' | b'd' | 0x91 => {
                    let items = self.pop_mark("LIST/TUPLE/DICT/FROZENSET")?;
                    if op == b'd' && items.len() % 2 != 0 {
                        self.structure("DICT with an odd number of items")?;
                    }
                    self.push(V::Other, node);
                }
                0x85..=0x87 => {
                    for _ in 0..(op - 0x84) {
                        self.pop("TUPLEn")?;
                    }
                    self.push(V::Other, node);
                }
                b'c' => {
                    let module = utf8_arg(src.line(l)?, "GLOBAL", at)?;
                    let name = utf8_arg(src.line(l)?, "GLOBAL", at)?;
                    let v = self.import(&module, &name, "GLOBAL", node);
                    self.push(v, node);
                }
                0x93 => {
                    let name = self.pop("STACK_GLOBAL")?;
                    let module = self.pop("STACK_GLOBAL")?;
                    match (&module, &name) {
                        (V::Str(m), V::Str(n)) => {
                            let (m, n) = (m.clone(), n.clone());
                            let v = self.import(&m, &n, "STACK_GLOBAL", node);
                            self.push(v, node);
                        }
                        (V::Lost, _) | (_, V::Lost) => {
                            node.add(
                                "unresolved_import",
                                Severity::Low,
                                format!(
                                    "STACK_GLOBAL at offset {at} after a limit: its module/name were dropped by the bound ({} / {}), so this import cannot be named",
                                    describe(&module),
                                    describe(&name)
                                ),
                            );
                            self.push(V::Lost, node);
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
                            self.push(V::Global(Rc::new(("?".into(), "?".into()))), node);
                        }
                    }
                }
                b'i' => {
                    let module = utf8_arg(src.line(l)?, "INST", at)?;
                    let name = utf8_arg(src.line(l)?, "INST", at)?;
                    self.pop_mark("INST")?;
                    self.import(&module, &name, "INST", node);
                    self.push(V::Called, node);
                }
                b'o' => {
                    let mut items = self.pop_mark("OBJ")?;
                    if items.is_empty() {
                        self.structure("OBJ without a class")?;
                        items.push(V::Lost);
                    }
                    let cls = items.swap_remove(0);
                    self.call(&cls, "OBJ", node);
                    self.push(V::Called, node);
                }
                b'R' => {
                    self.pop("REDUCE")?;
                    let callee = self.pop("REDUCE")?;
                    self.call(&callee, "REDUCE", node);
                    self.push(V::Called, node);
                }
                0x81 => {
                    self.pop("NEWOBJ")?;
                    let cls = self.pop("NEWOBJ")?;
                    self.call(&cls, "NEWOBJ", node);
                    self.push(V::Called, node);
                }
                0x92 => {
                    self.pop("NEWOBJ_EX")?;
                    self.pop("NEWOBJ_EX")?;
                    let cls = self.pop("NEWOBJ_EX")?;
                    self.call(&cls, "NEWOBJ_EX", node);
                    self.push(V::Called, node);
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
                    self.push(V::Other, node);
                }
                b'Q' => {
                    self.pop("BINPERSID")?;
                    self.push(V::Other, node);
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
                    let v = match self.memo_get(key) {
                        Some(v) => v.clone(),
                        None if self.lenient => V::Lost,
                        None => {
                            return Err(PErr::Malformed(format!(
                                "memo key {key} read at offset {at} was never stored (the real loader raises here)"
                            )));
                        }
                    };
                    self.push(v, node);
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
                        // MEMOIZE stores under the memo's size, counting what a bound dropped.
                        _ => self.memo_len,
                    };
                    let v = self.top("PUT")?;
                    if self.memo_get(key).is_none() {
                        // Exact until the memo fills up; then a key neither map kept counts as new.
                        self.memo_len += 1;
                    }
                    if self.memo.len() < self.limits.max_memo || self.memo.contains_key(&key) {
                        self.memo.insert(key, v);
                    } else {
                        if !self.lenient {
                            let d = format!("more than {} memo entries", self.limits.max_memo);
                            self.hit_limit(node, d);
                        }
                        if matches!(v, V::Str(_)) {
                            self.late_memo_put(key, v);
                        }
                    }
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
                    self.push(
                        V::Global(Rc::new(("copyreg.extension".into(), code.to_string()))),
                        node,
                    );
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
        V::Lost => "value dropped by a limit",
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
        if count == limits.max_pickles_per_stream + 1 {
            // Recorded once; the rest is still walked (within the time budget) for its imports.
            PErr::Limit(format!(
                "more than {} concatenated pickles; the rest was walked for imports only",
                limits.max_pickles_per_stream
            ))
            .record(node);
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
    fn made_up_class_under_a_model_package_is_suspicious() {
        for p in [
            &b"\x80\x02ctorch.nn.modules.linear\nBackdoor\n)\x81."[..],
            b"\x80\x02csklearn.linear_model._base\nLinearBackdoor\n)\x81.",
        ] {
            let r = scan(p);
            assert_eq!(r.verdict, Verdict::Suspicious, "{r:?}");
            assert!(r.findings.iter().any(|f| f.kind == "unknown_import"), "{r:?}");
        }
        // The real classes at the same places stay clean.
        for p in [
            &b"\x80\x02ctorch.nn.modules.linear\nLinear\n)\x81."[..],
            b"\x80\x02csklearn.linear_model._base\nLinearRegression\n)\x81.",
        ] {
            assert_eq!(scan(p).verdict, Verdict::Clean);
        }
    }

    #[test]
    fn huge_counted_string_is_truncated_not_allocated() {
        let r = scan(b"\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x10.");
        assert_eq!(r.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn deep_marks_hit_the_limit_and_the_walk_goes_on() {
        let mut p = b"\x80\x04".to_vec();
        p.extend(std::iter::repeat_n(b'(', 2000));
        p.extend(b"cos\nsystem\n");
        let limits = Limits {
            max_stack: 1000,
            ..Limits::default()
        };
        let mut r: &[u8] = &p;
        let mut src = Src::new(&mut r, None);
        let mut node = Node::new("t".into(), Format::Pickle);
        let e = walk_stream(&mut src, &limits, &mut node);
        assert!(matches!(e, Err(PErr::Truncated(_))), "{e:?}");
        let r = node.finish();
        assert_eq!(r.status, ScanStatus::Incomplete);
        assert!(r.findings.iter().any(|f| f.kind == "limit_exceeded"), "{r:?}");
        assert!(r.findings.iter().any(|f| f.detail.contains("os.system")), "{r:?}");
    }

    /// `n` memoized integers (each `K 1`, MEMOIZE, POP) after PROTO 4.
    fn memo_padding(n: usize) -> Vec<u8> {
        let mut p = b"\x80\x04".to_vec();
        for _ in 0..n {
            p.extend(b"K\x01\x940");
        }
        p
    }

    fn scan_with(bytes: &[u8], limits: &Limits) -> crate::model::FileReport {
        let mut r: &[u8] = bytes;
        let mut src = Src::new(&mut r, None);
        let mut node = Node::new("t".into(), Format::Pickle);
        if let Err(e) = walk_stream(&mut src, limits, &mut node) {
            e.record(&mut node);
        }
        node.finish()
    }

    fn small_memo() -> Limits {
        Limits {
            max_memo: 10,
            ..Limits::default()
        }
    }

    #[test]
    fn payload_after_the_memo_limit_is_named() {
        // Names memoized after the limit, fetched back through the memo, then STACK_GLOBAL.
        let mut p = memo_padding(20);
        p.extend(b"\x8c\x02os\x94\x8c\x06system\x9400");
        p.extend(b"h\x14h\x15\x93\x8c\x02ls\x85R.");
        let r = scan_with(&p, &small_memo());
        assert_eq!(r.verdict, Verdict::Malicious, "{r:?}");
        assert_eq!(r.status, ScanStatus::Incomplete);
        assert!(
            r.findings
                .iter()
                .any(|f| f.kind == "dangerous_import" && f.detail.contains("os.system"))
        );
        assert!(r.findings.iter().any(|f| f.kind == "limit_exceeded"));
    }

    #[test]
    fn padding_alone_stays_inconclusive() {
        let mut p = memo_padding(20);
        // Read back a key the bound dropped, build a list, call nothing: unknown, not evidence.
        p.extend(b"h\x0f]\x94(h\x11h\x12e.");
        let r = scan_with(&p, &small_memo());
        assert_eq!(r.verdict, Verdict::Inconclusive, "{r:?}");
        assert!(r.findings.iter().all(|f| f.severity <= Severity::Low), "{r:?}");
    }

    #[test]
    fn unresolvable_import_after_the_limit_is_not_called_malicious() {
        // Two keys the bound dropped (integers, never kept) read back as STACK_GLOBAL's operands.
        let mut p = memo_padding(20);
        p.extend(b"h\x0eh\x0f\x93.");
        let r = scan_with(&p, &small_memo());
        assert_eq!(r.verdict, Verdict::Inconclusive, "{r:?}");
        assert!(r.findings.iter().any(|f| f.kind == "unresolved_import"), "{r:?}");
    }

    #[test]
    fn opcode_limit_does_not_hide_a_global() {
        let mut p = memo_padding(50);
        p.extend(b"cos\nsystem\n(S'id'\ntR.");
        let limits = Limits {
            max_opcodes: 20,
            ..Limits::default()
        };
        let r = scan_with(&p, &limits);
        assert_eq!(r.verdict, Verdict::Malicious, "{r:?}");
        assert!(r.findings.iter().any(|f| f.detail.contains("os.system")));
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_pickle(b"\x80\x04\x95"));
        assert!(looks_like_pickle(b"cos\nsystem\n"));
        assert!(!looks_like_pickle(b"Lorem ipsum dolor sit amet"));
        assert!(!looks_like_pickle(b"\x80\x09"));
    }
}
