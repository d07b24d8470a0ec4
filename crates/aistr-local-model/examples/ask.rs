//! Asks the local model one question from the command line, greedy:
//! `cargo run -p aistr-local-model --example ask -- "What is the capital of France?"`.
//! The model is found as `default_model_path()` says (set AISTR_LOCAL_MODEL to try another file).

use aistr_local_model::{LocalModel, Message, default_model_path};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let question: Vec<String> = std::env::args().skip(1).collect();
    let question = if question.is_empty() {
        "Hello! Who are you?".to_owned()
    } else {
        question.join(" ")
    };
    let mut model = LocalModel::load(&default_model_path())?;
    let g = model.chat(&[Message::user(question)], 96, 0.0, 0)?;
    eprintln!(
        "[{} prompt + {} completion tokens, {}]",
        g.prompt_tokens, g.completion_tokens, g.finish_reason
    );
    eprintln!("{}", g.text);
    Ok(())
}
