//! What a model writes under the text action protocol is untrusted: the parser must be total and
//! bounded, and whatever it returns must be well-formed (an object of arguments, a sane tool name).
#![no_main]
use aistr_agents::protocol::{MAX_TOOL_NAME, Parsed, parse_action};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_action(&text) {
        Parsed::Call { tool, arguments } => {
            assert!(!tool.is_empty() && tool.len() <= MAX_TOOL_NAME);
            assert!(arguments.is_object());
        }
        Parsed::Answer(_) | Parsed::Invalid(_) => {}
    }
});
