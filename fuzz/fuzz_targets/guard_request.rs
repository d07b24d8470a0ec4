//! What a client sends the guard is untrusted bytes: the request parser and the policy parser must
//! be total (an error, never a panic), and the screens must run on whatever text they yield.
#![no_main]
use aistr_guard::request::{MAX_MESSAGES, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut body) = parse(data) {
        assert!(body.messages.len() <= MAX_MESSAGES);
        let text = body.screened_text();
        let _ = aistr_guard::detect::harm_intent(&text);
        let _ = aistr_guard::detect::decoded_forms(&text);
        body.map_texts(&|t| t.to_uppercase());
        let _ = body.chat_request();
    }
    let _ = aistr_guard::policy::parse("fuzz.toml", &String::from_utf8_lossy(data));
});
