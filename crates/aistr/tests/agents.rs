//! `aistr scan --suite agents-workspace` through the real binary, against a loopback
//! OpenAI-compatible server whose answers are aistr-agents' scripted follower (it obeys every
//! injected instruction) speaking native tool calls. The flags `--limit`, `--agent-injections`,
//! `--agent-attacks` and `--agent-budget` shape the plan; report.json's agents section carries
//! exactly the figures the same agent played in-process implies, and the terminal says them.

mod common;

use aistr_agents::runner::RunConfig;
use aistr_agents::scripted::Mode;
use aistr_agents::workspace;
use aistr_test_support::MockServer;
use aistr_test_support::agents::{implied, scripted_server};
use common::{aistr, report, run, stderr};
use serde_json::Value;

const USERS: usize = 3;
const INJECTIONS: usize = 2;
const BUDGET: usize = 12;

fn counts(rate: &Value) -> (u64, u64) {
    (rate["k"].as_u64().unwrap(), rate["n"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_workspace_suite_through_the_binary_reports_what_the_follower_implies() {
    let server = MockServer::start(scripted_server(workspace::suite, Mode::Follower, None)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    let mut c = aistr();
    c.args(["scan", "--target", "openai", "--base-url", &server.base_url()])
        .args(["--model", "scripted", "--no-progress", "--judge", "rules"])
        .args(["--suite", "agents-workspace", "--limit", &USERS.to_string()])
        .args(["--agent-injections", &INJECTIONS.to_string()])
        .args(["--agent-attacks", "direct", "--agent-budget", &BUDGET.to_string()])
        .args(["--run-id", "ws1", "--format", "json"])
        .arg("--db")
        .arg(dir.path().join("j.db"))
        .arg("--out")
        .arg(&out_dir);
    let out = run(c).await;
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));

    // The same agent over the same episodes, in-process.
    let suite = workspace::suite();
    let config = RunConfig {
        attacks: vec![aistr_agents::attack::InjectionAttack::parse("direct").unwrap()],
        budget: BUDGET,
        ..Default::default()
    };
    let implied = implied(&suite, &config, Mode::Follower, USERS, INJECTIONS);
    let attacked = implied.attacks[0].targeted_asr.n;
    assert!(attacked > 0, "the plan has attacked episodes");

    let r = report(&out_dir);
    let agents = &r["agents"];
    let episodes = implied.benign_episodes + implied.attacks.iter().map(|a| a.episodes).sum::<u64>();
    assert_eq!(agents["episodes"], episodes, "{agents}");
    assert_eq!(agents["unscored"], 0, "{agents}");
    let m = &agents["suites"][0];
    assert_eq!(m["suite"], "workspace");
    let utility = counts(&m["benign_utility"]);
    assert_eq!(
        utility,
        (implied.benign_utility.k, implied.benign_utility.n),
        "{m}"
    );
    assert_eq!(utility.1, USERS as u64);
    let a = &m["attacks"][0];
    assert_eq!(a["attack"], "direct");
    assert_eq!(
        counts(&a["targeted_asr"]),
        (implied.attacks[0].targeted_asr.k, attacked),
        "{a}"
    );
    assert_eq!(
        counts(&a["utility_under_attack"]),
        (
            implied.attacks[0].utility_under_attack.k,
            implied.attacks[0].utility_under_attack.n
        ),
        "{a}"
    );
    assert!(
        implied.attacks[0].targeted_asr.k > 0,
        "the follower lands attacks"
    );
    // The tools went over the wire and the model's calls came back as tool messages.
    assert!(
        server
            .requests()
            .iter()
            .any(|r| !r.body["tools"].as_array().is_none_or(Vec::is_empty))
    );
    assert!(server.requests().iter().any(|r| {
        r.body["messages"]
            .as_array()
            .is_some_and(|ms| ms.iter().any(|m| m["role"] == "tool"))
    }));
    // The summary goes to stderr (stdout stays for machine output).
    let terminal = stderr(&out);
    assert!(terminal.contains("targeted ASR"), "{terminal}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_agent_attack_fails_before_anything_is_sent() {
    let server = MockServer::start(scripted_server(workspace::suite, Mode::Ignorer, None)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = aistr();
    c.args(["scan", "--target", "openai", "--base-url", &server.base_url()])
        .args(["--model", "scripted", "--no-progress"])
        .args(["--suite", "agents-banking", "--agent-attacks", "no_such_attack"])
        .arg("--db")
        .arg(dir.path().join("j.db"))
        .arg("--out")
        .arg(dir.path().join("out"));
    let out = run(c).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no_such_attack"), "{}", stderr(&out));
    assert!(server.requests().is_empty(), "nothing sent");
}
