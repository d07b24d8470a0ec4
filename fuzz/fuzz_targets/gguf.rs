//! Fuzzes the gguf front-end of aistr-modelscan: arbitrary bytes must never panic, hang or
//! exhaust memory, and whatever cannot be parsed must not come back clean.
#![no_main]

use aistr_modelscan::Verdict;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let v = aistr_modelscan::fuzzing::gguf(data);
    // Empty input is never a complete, clean model.
    if data.is_empty() {
        assert_ne!(v, Verdict::Clean);
    }
});
