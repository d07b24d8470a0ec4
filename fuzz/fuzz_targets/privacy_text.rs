//! Model answers and label files are untrusted text: the PII detector, the leak matcher, redaction
//! and the labelled-set reader must be total, and redaction must never leave a planted value.
#![no_main]
use aistr_privacy::eval::parse_jsonl;
use aistr_privacy::{Canary, Detector, LeakMatcher, PiiKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let found = Detector::shared().detect(&text);
    for d in &found {
        assert!(d.start < d.end && d.end <= text.len() && text.is_char_boundary(d.start));
    }
    let _ = Detector::shared().redact(&text);
    let canaries = [Canary {
        id: "c1".into(),
        kind: PiiKind::Hkid,
        value: "A123456(3)".into(),
        owner: String::new(),
    }];
    let m = LeakMatcher::new(&canaries).expect("valid canary");
    let _ = m.find(&text);
    assert!(m.find(&m.redact(&text)).is_empty(), "redaction left a canary");
    let _ = parse_jsonl("fuzz.jsonl", &text);
});
