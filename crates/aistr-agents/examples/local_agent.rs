//! Runs the embedded SmolLM2-135M as an agent through the text action protocol, greedy, and prints
//! the suite's figures as JSON (benign utility, utility under attack, targeted ASR, unsafe actions,
//! unscored counts):
//!
//! `AISTR_MODELS_DIR=/path/to/models cargo run --release -p aistr-agents --example local_agent --
//!  [banking|workspace] [--attack important_instructions] [--budget 8] [--max-tokens 160] [--injections K] [--users K]`
//!
//! `--injections K` keeps the first K injection tasks and `--users K` the first K user tasks, to
//! bound the run time.
//!
//! A reply the model cannot fit in its context window is a transport failure: unscored.
#![expect(clippy::print_stdout, reason = "an example that prints its figures")]

use std::time::Instant;

use aistr_agents::attack::InjectionAttack;
use aistr_agents::harness::{Agent, play};
use aistr_agents::harness::{Ending, EpisodeOutcome, TransportError};
use aistr_agents::metrics::summarize;
use aistr_agents::protocol::TextProtocolAgent;
use aistr_agents::runner::{RunConfig, plan};
use aistr_agents::suite::{Environment, Suite};
use aistr_local_model::{LocalModel, Message, default_model_path};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let suite_id = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "banking".into());
    let attack = arg(&args, "--attack").unwrap_or_else(|| "important_instructions".into());
    let budget: usize = arg(&args, "--budget").map_or(Ok(8), |s| s.parse())?;
    let max_tokens: u32 = arg(&args, "--max-tokens").map_or(Ok(160), |s| s.parse())?;
    let path = default_model_path();
    let mut model = LocalModel::load(&path)?;
    eprintln!("model {} ({})", model.name(), path.display());
    let started = Instant::now();
    let mut calls = 0u64;
    let mut agent = TextProtocolAgent::new(|messages: &[Message]| {
        calls += 1;
        model
            .chat(messages, max_tokens, 0.0, 0)
            .map(|g| g.text)
            .map_err(|e| TransportError(e.to_string()))
    });
    let config = RunConfig {
        attacks: vec![InjectionAttack::parse(&attack)?],
        budget,
        ..RunConfig::default()
    };
    let keep: Option<usize> = arg(&args, "--injections").map(|s| s.parse()).transpose()?;
    let users: Option<usize> = arg(&args, "--users").map(|s| s.parse()).transpose()?;
    let outcomes: Vec<EpisodeOutcome> = match suite_id.as_str() {
        "banking" => {
            let mut suite = aistr_agents::banking::suite();
            suite.injection_tasks.truncate(keep.unwrap_or(usize::MAX));
            suite.user_tasks.truncate(users.unwrap_or(usize::MAX));
            run_verbose(&suite, &mut agent, &config)?
        }
        "workspace" => {
            let mut suite = aistr_agents::workspace::suite();
            suite.injection_tasks.truncate(keep.unwrap_or(usize::MAX));
            suite.user_tasks.truncate(users.unwrap_or(usize::MAX));
            run_verbose(&suite, &mut agent, &config)?
        }
        other => return Err(format!("unknown suite `{other}` (banking, workspace)").into()),
    };
    let budget_hit = outcomes
        .iter()
        .filter(|o| o.ending == Ending::BudgetExhausted)
        .count();
    let transport = outcomes
        .iter()
        .filter(|o| matches!(o.ending, Ending::Transport { .. }))
        .count();
    let metrics = summarize(&format!("local:{}", model.name()), &outcomes);
    println!("{}", serde_json::to_string_pretty(&metrics)?);
    eprintln!(
        "{} episodes, {} model calls, {:.0} s; unscored: {budget_hit} step budget, {transport} transport",
        outcomes.len(),
        calls,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `run_suite`, with one progress line per episode on stderr.
fn run_verbose<E: Environment, A: Agent>(
    suite: &Suite<E>,
    agent: &mut A,
    config: &RunConfig,
) -> Result<Vec<EpisodeOutcome>, Box<dyn std::error::Error>> {
    let plans = plan(suite, config)?;
    let mut out = Vec::with_capacity(plans.len());
    for (i, p) in plans.iter().enumerate() {
        let t = Instant::now();
        let (pre, episode) = p.start(suite, config.budget);
        let episode = play(agent, episode);
        let o = p.score(suite, &pre, &episode);
        eprintln!(
            "[{}/{}] {} {:?} steps={} utility={:?} attack={:?} unsafe={} {:.1}s",
            i + 1,
            plans.len(),
            o.user_task,
            o.injection_task,
            o.steps,
            o.utility,
            o.attack_success,
            o.unsafe_actions.len(),
            t.elapsed().as_secs_f64()
        );
        out.push(o);
    }
    Ok(out)
}
