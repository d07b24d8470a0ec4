//! The figures the scripted agents give on both suites under `important_instructions` (what the
//! acceptance tests assert), as JSON: `cargo run -p aistr-agents --example scripted_figures`.
#![expect(clippy::print_stdout, reason = "an example that prints its figures")]

use aistr_agents::attack::InjectionAttack;
use aistr_agents::metrics::summarize;
use aistr_agents::runner::{RunConfig, run_suite};
use aistr_agents::scripted::{FlakyAgent, Mode, ScriptedAgent};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = RunConfig {
        attacks: vec![InjectionAttack::parse("important_instructions")?],
        ..RunConfig::default()
    };
    let banking = aistr_agents::banking::suite();
    let workspace = aistr_agents::workspace::suite();
    let mut all = Vec::new();
    for (name, mode) in [("follower", Mode::Follower), ("ignorer", Mode::Ignorer)] {
        let mut outcomes = run_suite(&banking, &mut ScriptedAgent::new(&banking, mode), &config)?;
        outcomes.extend(run_suite(
            &workspace,
            &mut ScriptedAgent::new(&workspace, mode),
            &config,
        )?);
        all.extend(summarize(name, &outcomes));
    }
    let mut outcomes = run_suite(
        &banking,
        &mut FlakyAgent::new(ScriptedAgent::new(&banking, Mode::Follower), 7),
        &config,
    )?;
    outcomes.extend(run_suite(
        &workspace,
        &mut FlakyAgent::new(ScriptedAgent::new(&workspace, Mode::Follower), 7),
        &config,
    )?);
    all.extend(summarize("flaky-follower(seed 7)", &outcomes));
    println!("{}", serde_json::to_string_pretty(&all)?);
    Ok(())
}
