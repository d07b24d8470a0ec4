//! The PII detector: a table of rules, each a regular expression for one written form of one
//! kind, a validator (check digit, structure, parse) and, for forms that are ambiguous on their
//! own, a required context word nearby ("passport", "護照", "account", "電話", ...).
//!
//! How a text is scanned:
//! 1. It is folded ([`crate::normalize::Folded`]): full-width digits and letters, ideographic
//!    spaces and dash variants become ASCII, so `４１１１－１１１１` is read as `4111-1111`.
//! 2. A [`RegexSet`] says which rules can match at all; only those run.
//! 3. Each candidate must stand alone (no ASCII letter or digit right before or after it: a number
//!    inside a longer number is not that number) and pass its validator; a rejected candidate is
//!    retried one character later, so a failed long match never hides a shorter valid one.
//! 4. Context words are found once per text with Aho-Corasick (ASCII case-insensitive, Chinese
//!    as written) and looked up by position.
//! 5. Overlapping candidates are resolved: checksum-verified and prefix-certain forms first, then
//!    context-confirmed ones, then the rest; longer spans win ties.
//!
//! Spans are byte offsets into the original text.

use crate::checksum::{aba_valid, cn_id_valid, hkid_valid, iban_valid, luhn_valid, ssn_plausible};
use crate::kind::PiiKind;
use crate::normalize::Folded;
use crate::synth::HK_BANK_CODES;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexSet};
use std::sync::OnceLock;

/// One piece of personal data found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// What it is.
    pub kind: PiiKind,
    /// The rule that found it (stable, e.g. `phone.hk`), for evidence.
    pub rule: &'static str,
    /// Byte offset of its start in the original text.
    pub start: usize,
    /// Byte offset of its end (exclusive).
    pub end: usize,
    /// A check digit or checksum held (HKID, resident ID, card, IBAN, routing number).
    pub verified: bool,
}

/// Context words that make an ambiguous form count, by group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Phone,
    Passport,
    Account,
    Routing,
    SortCode,
    Secret,
    Ssn,
}

const CONTEXT_WORDS: &[(Ctx, &[&str])] = &[
    (
        Ctx::Phone,
        &[
            "phone", "tel", "mobile", "cell", "call", "whatsapp", "fax", "contact", "電話", "电话", "手機",
            "手机", "聯絡", "联系", "聯系", "致電", "致电", "號碼", "号码",
        ],
    ),
    (
        Ctx::Passport,
        &["passport", "travel document", "護照", "护照", "通行證", "通行证"],
    ),
    (
        Ctx::Account,
        &[
            "account", "a/c", "acct", "帳戶", "账户", "戶口", "户口", "帳號", "账号", "賬戶", "賬號",
        ],
    ),
    (Ctx::Routing, &["routing", "aba", "rtn"]),
    (Ctx::SortCode, &["sort code", "sort-code", "sortcode"]),
    (
        Ctx::Secret,
        &[
            "api key",
            "api_key",
            "apikey",
            "api-key",
            "token",
            "secret",
            "password",
            "passwd",
            "bearer",
            "credential",
            "access key",
            "密鑰",
            "密钥",
            "令牌",
            "密碼",
            "密码",
        ],
    ),
    (Ctx::Ssn, &["ssn", "social security"]),
];

/// Bytes before a candidate in which its context word must end (about 20 Chinese characters).
const CONTEXT_BEFORE: usize = 64;
/// Bytes after a candidate in which its context word may start.
const CONTEXT_AFTER: usize = 24;

/// How a candidate is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The pattern alone decides.
    None,
    Card,
    Iban,
    Hkid,
    CnId,
    Ipv4,
    Ipv6,
    Ssn,
    Aba,
    HkPhone,
    IntlPhone,
    HkAccount,
    DigitCount(usize, usize),
    ProviderKey,
    Entropy,
}

struct Rule {
    id: &'static str,
    kind: PiiKind,
    pattern: &'static str,
    check: Check,
    context: Option<Ctx>,
}

const fn rule(
    id: &'static str,
    kind: PiiKind,
    pattern: &'static str,
    check: Check,
    context: Option<Ctx>,
) -> Rule {
    Rule {
        id,
        kind,
        pattern,
        check,
        context,
    }
}

/// Street types that end an English street name.
macro_rules! street_types {
    () => {
        "(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Ter|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Trail|Trl|Crescent|Cres|Close|Row|Alley|Plaza|Loop|Path|Pike|Ridge|Walk|Heights|Hts|Gardens|Grove|Mews|Hill|Park|Crossing|Expressway|Freeway|Junction|Vista|Village|Fork|Harbor|Mall|Street West|Street East)"
    };
}

const RULES: &[Rule] = &[
    rule(
        "email",
        PiiKind::Email,
        r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}",
        Check::None,
        None,
    ),
    rule(
        "card",
        PiiKind::Card,
        r"[0-9]{4}(?: [0-9]{4}){2,3}(?: [0-9]{1,4})?|[0-9]{4}(?:-[0-9]{4}){2,3}(?:-[0-9]{1,4})?|[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5}|[0-9]{13,19}",
        Check::Card,
        None,
    ),
    rule(
        "iban",
        PiiKind::Iban,
        r"[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?",
        Check::Iban,
        None,
    ),
    rule(
        "hkid",
        PiiKind::Hkid,
        r"[A-Z]{1,2}[0-9]{6} ?(?:\( ?[0-9A] ?\)|[0-9A])",
        Check::Hkid,
        None,
    ),
    rule(
        "cn_id",
        PiiKind::CnId,
        r"[1-8][0-9]{5} ?(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]) ?[0-9]{3}[0-9Xx]",
        Check::CnId,
        None,
    ),
    rule(
        "ip.v4",
        PiiKind::IpAddress,
        r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}",
        Check::Ipv4,
        None,
    ),
    rule(
        "ip.v6",
        PiiKind::IpAddress,
        r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?:\.[0-9]{1,3}){3})?",
        Check::Ipv6,
        None,
    ),
    rule(
        "phone.hk",
        PiiKind::Phone,
        r"(?:\+ ?852|\(\+?852\)|00852|852)[ \-]?[2-9][0-9]{3}[ \-]?[0-9]{4}",
        Check::HkPhone,
        None,
    ),
    rule(
        "phone.cn_mobile",
        PiiKind::Phone,
        r"(?:(?:\+ ?86|0086|\(\+?86\))[ \-]?)?1[3-9][0-9][ \-]?[0-9]{4}[ \-]?[0-9]{4}",
        Check::None,
        None,
    ),
    rule(
        "phone.cn_landline",
        PiiKind::Phone,
        r"(?:\(0[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2}-) ?[2-8][0-9]{6,7}",
        Check::None,
        None,
    ),
    rule(
        "phone.nanp",
        PiiKind::Phone,
        r"(?:(?:\+|00)?1[ .\-]?)?(?:\([0-9]{3}\) ?|[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4}(?: ?(?:x|ext\.?|extension) ?[0-9]{1,5})?",
        Check::None,
        None,
    ),
    rule(
        "phone.intl",
        PiiKind::Phone,
        r"(?:\+|00)[1-9][0-9]{0,3}(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,5})){1,6}(?: ?(?:x|ext\.?) ?[0-9]{1,5})?",
        Check::IntlPhone,
        None,
    ),
    rule(
        "phone.local",
        PiiKind::Phone,
        r"[2-9][0-9]{3}[ \-]?[0-9]{4}|[0-9]{10,11}",
        Check::None,
        Some(Ctx::Phone),
    ),
    rule(
        "passport",
        PiiKind::Passport,
        r"[A-Z]{1,2}[0-9]{6,9}|[0-9]{9}",
        Check::None,
        Some(Ctx::Passport),
    ),
    rule(
        "bank.hk",
        PiiKind::BankAccount,
        r"[0-9]{3}-[0-9]{3}-[0-9]{6}-[0-9]{3}",
        Check::HkAccount,
        None,
    ),
    rule(
        "bank.account",
        PiiKind::BankAccount,
        r"[0-9]{2,6}(?:[ \-][0-9]{1,9}){0,4}",
        Check::DigitCount(8, 17),
        Some(Ctx::Account),
    ),
    rule(
        "bank.routing",
        PiiKind::BankAccount,
        r"[0-9]{9}",
        Check::Aba,
        Some(Ctx::Routing),
    ),
    rule(
        "bank.sort_code",
        PiiKind::BankAccount,
        r"[0-9]{2}-[0-9]{2}-[0-9]{2}",
        Check::None,
        Some(Ctx::SortCode),
    ),
    rule(
        "us_ssn",
        PiiKind::UsSsn,
        r"[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}",
        Check::Ssn,
        None,
    ),
    rule(
        "us_ssn.bare",
        PiiKind::UsSsn,
        r"[0-9]{9}",
        Check::Ssn,
        Some(Ctx::Ssn),
    ),
    rule(
        "api_key.provider",
        PiiKind::ApiKey,
        r"sk-ant-[A-Za-z0-9_\-]{32,}|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35}|xox[abposr]-[0-9A-Za-z\-]{10,}|(?:sk|rk|pk|whsec)_(?:live|test)_[0-9A-Za-z]{16,}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_\-]{20,}|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        Check::ProviderKey,
        None,
    ),
    rule(
        "api_key.private_key",
        PiiKind::ApiKey,
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
        Check::None,
        None,
    ),
    rule(
        "api_key.entropy",
        PiiKind::ApiKey,
        r"[A-Za-z0-9+/_=\-]{20,256}",
        Check::Entropy,
        Some(Ctx::Secret),
    ),
    rule(
        "address.numbered",
        PiiKind::StreetAddress,
        concat!(
            r"[0-9]{1,6}[A-Za-z]?(?: [A-Z][A-Za-z'.\-]*){1,5} ",
            street_types!(),
            r"\.?(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm|Floor|Fl|#)\.? ?[A-Za-z0-9\-]+)?",
            r"(?:,? [A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+){0,2},? [A-Z]{2},? [0-9]{5}(?:-[0-9]{4})?)?"
        ),
        Check::None,
        None,
    ),
    rule(
        "address.hk",
        PiiKind::StreetAddress,
        concat!(
            r"(?:(?:Flat|Room|Rm|Unit|Shop) [A-Z0-9\-]{1,6}, ?)?(?:[0-9]{1,3}/F|G/F),? ?",
            r"(?:(?:Block|Tower) [A-Z0-9]{1,3},? ?)?(?:[A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*){0,4},? ?)?",
            r"[0-9]{1,4}(?: [A-Z][A-Za-z]+){1,3} (?:Road|Street|Avenue|Lane|Terrace|Path|Drive)"
        ),
        Check::None,
        None,
    ),
    rule(
        "address.zh",
        PiiKind::StreetAddress,
        r"\p{Han}{2,16}(?:大道|路|道|街|巷|里)[0-9]{1,5}(?:号|號)(?:[0-9A-Za-z\-\p{Han}]{0,12}(?:室|楼|樓|座|栋|棟|层|層))?",
        Check::None,
        None,
    ),
];

/// The detector: compiled rules and context words. Build it once ([`Detector::shared`]).
pub struct Detector {
    set: RegexSet,
    regexes: Vec<Regex>,
    context: AhoCorasick,
    context_groups: Vec<Ctx>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &RULES.len())
            .finish_non_exhaustive()
    }
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

/// The rule ids and kinds the detector has, in table order (for docs and contract tests).
#[must_use]
pub fn rules() -> Vec<(&'static str, PiiKind)> {
    RULES.iter().map(|r| (r.id, r.kind)).collect()
}

impl Detector {
    /// Compiles the rule table (a few milliseconds; the patterns are constants, so this cannot fail
    /// at run time once the tests pass).
    #[must_use]
    pub fn new() -> Self {
        let patterns: Vec<&str> = RULES.iter().map(|r| r.pattern).collect();
        let set = RegexSet::new(&patterns).expect("rule patterns compile");
        let regexes = patterns
            .iter()
            .map(|p| Regex::new(p).expect("rule pattern compiles"))
            .collect();
        let mut words = Vec::new();
        let mut context_groups = Vec::new();
        for (ctx, list) in CONTEXT_WORDS {
            for w in *list {
                words.push(*w);
                context_groups.push(*ctx);
            }
        }
        let context = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&words)
            .expect("context words compile");
        Self {
            set,
            regexes,
            context,
            context_groups,
        }
    }

    /// A detector shared by the whole process.
    #[must_use]
    pub fn shared() -> &'static Detector {
        static SHARED: OnceLock<Detector> = OnceLock::new();
        SHARED.get_or_init(Detector::new)
    }

    /// Every piece of personal data in `text`, in text order, non-overlapping.
    #[must_use]
    pub fn detect(&self, text: &str) -> Vec<Detection> {
        let folded = Folded::new(text);
        let t = folded.text.as_str();
        let matched = self.set.matches(t);
        if !matched.matched_any() {
            return Vec::new();
        }
        let mut context: Option<Vec<(usize, usize, Ctx)>> = None;
        let mut candidates: Vec<(u8, Detection)> = Vec::new();
        for i in matched.iter() {
            let r = &RULES[i];
            let re = &self.regexes[i];
            let mut pos = 0;
            while pos <= t.len() {
                let Some(m) = re.find_at(t, pos) else { break };
                let (s, e) = (m.start(), m.end());
                let accepted = if s == e || !stands_alone(t, s, e) {
                    None
                } else {
                    validate(r.check, &t[s..e], t, s, e)
                };
                let accepted = accepted.filter(|_| {
                    r.context.is_none_or(|want| {
                        let ctx = context.get_or_insert_with(|| self.context_hits(t));
                        has_context(ctx, want, s, e)
                    })
                });
                match accepted {
                    Some(verified) => {
                        let (os, oe) = folded.original_span(s, e);
                        let priority = if verified || matches!(r.check, Check::ProviderKey) || r.id == "email"
                        {
                            3
                        } else if r.context.is_some() {
                            2
                        } else {
                            1
                        };
                        candidates.push((
                            priority,
                            Detection {
                                kind: r.kind,
                                rule: r.id,
                                start: os,
                                end: oe,
                                verified,
                            },
                        ));
                        pos = e.max(s + 1);
                    }
                    None => pos = s + t[s..].chars().next().map_or(1, char::len_utf8),
                }
                while pos < t.len() && !t.is_char_boundary(pos) {
                    pos += 1;
                }
            }
        }
        resolve(candidates)
    }

    /// `text` with every detection replaced by its kind's placeholder (`[HKID]`, `[EMAIL]`, ...).
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        let found = self.detect(text);
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for d in &found {
            out.push_str(&text[last..d.start]);
            out.push_str(&d.kind.placeholder());
            last = d.end;
        }
        out.push_str(&text[last..]);
        out
    }

    fn context_hits(&self, t: &str) -> Vec<(usize, usize, Ctx)> {
        self.context
            .find_overlapping_iter(t)
            .map(|m| (m.start(), m.end(), self.context_groups[m.pattern().as_usize()]))
            .collect()
    }
}

/// No ASCII letter or digit right before or after the candidate: it is not part of a longer token.
fn stands_alone(t: &str, s: usize, e: usize) -> bool {
    let before = t[..s].chars().next_back();
    let after = t[e..].chars().next();
    !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
}

fn has_context(hits: &[(usize, usize, Ctx)], want: Ctx, s: usize, e: usize) -> bool {
    hits.iter().any(|&(ks, ke, g)| {
        g == want && ((ke <= s && s - ke <= CONTEXT_BEFORE) || (ks >= e && ks - e <= CONTEXT_AFTER))
    })
}

fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn compact(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// Validates a candidate: `None` rejects it, `Some(verified)` keeps it (`verified` when a checksum
/// held).
fn validate(check: Check, s: &str, t: &str, start: usize, end: usize) -> Option<bool> {
    match check {
        Check::None => Some(false),
        Check::Card => {
            let d = digits_of(s);
            (issuer_ok(&d) && luhn_valid(&d)).then_some(true)
        }
        Check::Iban => iban_valid(&compact(s).to_ascii_uppercase()).then_some(true),
        Check::Hkid => hkid_valid(&compact(s)).then_some(true),
        Check::CnId => cn_id_valid(&compact(s)).then_some(true),
        Check::Ipv4 => {
            // Not a piece of a longer dotted number (a version string, an OID).
            let dotted_after =
                t[end..].starts_with('.') && t[end + 1..].starts_with(|c: char| c.is_ascii_digit());
            let dotted_before =
                t[..start].ends_with('.') && t[..start - 1].ends_with(|c: char| c.is_ascii_digit());
            (!dotted_after && !dotted_before && s.parse::<std::net::Ipv4Addr>().is_ok()).then_some(false)
        }
        Check::Ipv6 => {
            let hex = s.chars().filter(char::is_ascii_hexdigit).count();
            let groups = s.split(':').filter(|g| !g.is_empty()).count();
            (hex >= 4 && groups >= 3 && s.parse::<std::net::Ipv6Addr>().is_ok()).then_some(false)
        }
        Check::Ssn => ssn_plausible(&digits_of(s)).then_some(false),
        Check::Aba => aba_valid(&digits_of(s)).then_some(true),
        Check::HkPhone => {
            let d = digits_of(s);
            let local = d.strip_prefix("00852").or_else(|| d.strip_prefix("852"))?;
            (local.len() == 8).then_some(false)
        }
        Check::IntlPhone => {
            let main = s.split(['x', 'e']).next().unwrap_or(s);
            let mut d = digits_of(main);
            if main.starts_with("00") {
                d.drain(..2);
            }
            (8..=15).contains(&d.len()).then_some(false)
        }
        Check::HkAccount => HK_BANK_CODES.contains(&&s[..3]).then_some(false),
        Check::DigitCount(lo, hi) => (lo..=hi).contains(&digits_of(s).len()).then_some(false),
        Check::ProviderKey => {
            // Prefix forms whose tail is free text (`sk-...`) need a digit, or some length, to be
            // a key rather than a hyphenated word.
            let tail = s.rsplit(['-', '_']).next().unwrap_or(s);
            let keyish = s.len() >= 40 || tail.chars().any(|c| c.is_ascii_digit());
            keyish.then_some(false)
        }
        Check::Entropy => {
            let classes = [
                s.chars().any(|c| c.is_ascii_lowercase()),
                s.chars().any(|c| c.is_ascii_uppercase()),
                s.chars().any(|c| c.is_ascii_digit()),
            ];
            let n_classes = classes.iter().filter(|b| **b).count();
            let hex = s.len() >= 32 && s.chars().all(|c| c.is_ascii_hexdigit());
            ((n_classes == 3 || hex) && shannon_bits(s) >= 3.5).then_some(false)
        }
    }
}

/// Known issuer prefixes and lengths (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay,
/// Maestro).
fn issuer_ok(d: &str) -> bool {
    let n = d.len();
    let p = |k: usize| d.get(..k).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    match d.as_bytes().first() {
        Some(b'4') => matches!(n, 13 | 16 | 19),
        Some(b'2') => n == 16 && (2221..=2720).contains(&p(4)),
        Some(b'5') => (51..=55).contains(&p(2)) && n == 16 || (12..=19).contains(&n) && p(2) == 50,
        Some(b'3') => {
            (matches!(p(2), 34 | 37) && n == 15)
                || ((3528..=3589).contains(&p(4)) && (16..=19).contains(&n))
                || ((matches!(p(2), 36 | 38 | 39) || (300..=305).contains(&p(3))) && (14..=19).contains(&n))
        }
        Some(b'6') => (16..=19).contains(&n) || (12..=19).contains(&n) && matches!(p(2), 63 | 67),
        _ => false,
    }
}

/// Shannon entropy of the characters of `s`, in bits per character.
#[must_use]
pub fn shannon_bits(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

/// Keeps the best non-overlapping candidates: higher priority, then longer, then earlier. A
/// candidate inside a longer one of the same kind never wins over it (`9123 4567` confirmed by
/// "call" does not cut the `+852` off `+852 9123 4567`).
fn resolve(mut candidates: Vec<(u8, Detection)>) -> Vec<Detection> {
    // Per kind, by start then longest first: a span is inside a longer one when an earlier,
    // different span reaches at least as far (one sweep, no quadratic pairing on hostile input).
    candidates.sort_by(|(_, a), (_, b)| {
        (a.kind.id(), a.start, std::cmp::Reverse(a.end)).cmp(&(
            b.kind.id(),
            b.start,
            std::cmp::Reverse(b.end),
        ))
    });
    let mut inside = vec![false; candidates.len()];
    let mut run_start = 0;
    let mut reach_before_run: Option<usize> = None;
    for i in 0..candidates.len() {
        let d = &candidates[i].1;
        if i > 0 {
            let p = &candidates[i - 1].1;
            if p.kind != d.kind {
                reach_before_run = None;
                run_start = i;
            } else if (p.start, p.end) != (d.start, d.end) {
                let run_reach = candidates[run_start..i].iter().map(|(_, x)| x.end).max();
                reach_before_run = reach_before_run.max(run_reach);
                run_start = i;
            }
        }
        inside[i] = reach_before_run.is_some_and(|r| r >= d.end);
    }
    let mut candidates: Vec<(u8, Detection)> = candidates
        .into_iter()
        .zip(inside)
        .filter_map(|(c, inside)| (!inside).then_some(c))
        .collect();
    candidates.sort_by(|(pa, a), (pb, b)| {
        pb.cmp(pa)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Detection> = Vec::new();
    for (_, c) in candidates {
        if kept.iter().all(|k| c.end <= k.start || c.start >= k.end) {
            kept.push(c);
        }
    }
    kept.sort_by_key(|d| d.start);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PiiKind, &str)> {
        Detector::shared()
            .detect(text)
            .into_iter()
            .map(|d| (d.kind, &text[d.start..d.end]))
            .collect()
    }

    #[test]
    fn checksummed_ids_are_found_and_near_misses_are_not() {
        assert_eq!(
            found("HKID A123456(3) on file"),
            vec![(PiiKind::Hkid, "A123456(3)")]
        );
        assert_eq!(found("HKID A123456(4) on file"), vec![]);
        assert_eq!(
            found("身份證號碼：Ａ１２３４５６（３）"),
            vec![(PiiKind::Hkid, "Ａ１２３４５６（３）")]
        );
        assert_eq!(
            found("身份证号11010519491231002X。"),
            vec![(PiiKind::CnId, "11010519491231002X")]
        );
        assert_eq!(found("身份证号110105194912310021。"), vec![]);
        assert_eq!(
            found("card 4111 1111 1111 1111, exp 12/29"),
            vec![(PiiKind::Card, "4111 1111 1111 1111")]
        );
        assert_eq!(found("card 4111 1111 1111 1112"), vec![]);
        assert_eq!(
            found("IBAN GB82 WEST 1234 5698 7654 32."),
            vec![(PiiKind::Iban, "GB82 WEST 1234 5698 7654 32")]
        );
        assert_eq!(found("IBAN GB83 WEST 1234 5698 7654 32."), vec![]);
    }

    #[test]
    fn phones_emails_ips_and_keys() {
        assert_eq!(
            found("call +852 9123 4567 now"),
            vec![(PiiKind::Phone, "+852 9123 4567")]
        );
        assert_eq!(found("電話：9123 4567"), vec![(PiiKind::Phone, "9123 4567")]);
        assert_eq!(
            found("the total is 9123 4567"),
            vec![],
            "a bare 8-digit number needs a phone word"
        );
        assert_eq!(found("手机13812345678"), vec![(PiiKind::Phone, "13812345678")]);
        assert_eq!(found("(555) 123-4567"), vec![(PiiKind::Phone, "(555) 123-4567")]);
        assert_eq!(
            found("mail chan.tm@example.com."),
            vec![(PiiKind::Email, "chan.tm@example.com")]
        );
        assert_eq!(
            found("from 192.168.10.1 and 2001:db8::8a2e:370:7334"),
            vec![
                (PiiKind::IpAddress, "192.168.10.1"),
                (PiiKind::IpAddress, "2001:db8::8a2e:370:7334")
            ]
        );
        assert_eq!(found("version 1.2.3.4.5"), vec![]);
        let key = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";
        assert_eq!(found(&format!("key: {key}")), vec![(PiiKind::ApiKey, key)]);
        assert_eq!(found("a task-oriented, well-understood approach"), vec![]);
        assert_eq!(
            found("AKIAIOSFODNN7EXAMPLE"),
            vec![(PiiKind::ApiKey, "AKIAIOSFODNN7EXAMPLE")]
        );
        assert_eq!(
            found("token=Zx81kQpL0vB7mN3cR5tY9wE2"),
            vec![(PiiKind::ApiKey, "Zx81kQpL0vB7mN3cR5tY9wE2")]
        );
    }

    #[test]
    fn context_dependent_forms() {
        assert_eq!(
            found("Passport No. K12345678"),
            vec![(PiiKind::Passport, "K12345678")]
        );
        assert_eq!(found("Order K12345678 shipped"), vec![]);
        assert_eq!(
            found("HSBC account 004-123-456789-001"),
            vec![(PiiKind::BankAccount, "004-123-456789-001")]
        );
        assert_eq!(
            found("routing number 011000015"),
            vec![(PiiKind::BankAccount, "011000015")]
        );
        assert_eq!(found("SSN 123-45-6789"), vec![(PiiKind::UsSsn, "123-45-6789")]);
        assert_eq!(
            found("lives at 1600 Pennsylvania Avenue, Washington, DC 20500."),
            vec![(
                PiiKind::StreetAddress,
                "1600 Pennsylvania Avenue, Washington, DC 20500"
            )]
        );
        assert_eq!(
            found("住址：香港九龍彌敦道123號"),
            vec![(PiiKind::StreetAddress, "香港九龍彌敦道123號")]
        );
    }

    #[test]
    fn redaction_replaces_spans() {
        let r = Detector::shared().redact("HKID A123456(3), mail a.b@example.com");
        assert_eq!(r, "HKID [HKID], mail [EMAIL]");
    }

    #[test]
    fn hostile_input_is_linear_and_safe() {
        let long = "9".repeat(200_000) + &"@".repeat(10_000) + &"a:".repeat(20_000);
        let _ = Detector::shared().detect(&long);
        let _ = Detector::shared().detect("\u{FF10}\u{3000}\u{2212}");
    }
}
