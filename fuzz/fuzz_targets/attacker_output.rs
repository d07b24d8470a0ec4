//! What an attacker model writes is untrusted text: the readers must be total and bounded.
#![no_main]
use aistr_attacks::attacker_output::{MAX_ITEMS, MAX_PROMPT_CHARS, extract_list, extract_prompt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(p) = extract_prompt(&text) {
        assert!(!p.trim().is_empty() && p.chars().count() <= MAX_PROMPT_CHARS);
    }
    let items = extract_list(&text);
    assert!(items.len() <= MAX_ITEMS);
});
