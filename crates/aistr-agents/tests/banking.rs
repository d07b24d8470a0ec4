//! The banking suite: tools, post-conditions, slots, scripted agents.

mod common;

use aistr_agents::banking::{self, ATTACKER_IBAN, BankingEnv};
use aistr_agents::suite::Environment;
use proptest::prelude::*;
use serde_json::json;

#[test]
fn sizes_match_agentdojo() {
    let s = banking::suite();
    assert_eq!(s.user_tasks.len(), 16);
    assert_eq!(s.injection_tasks.len(), 9);
    assert_eq!(s.slots.len(), 4);
    let tools = s.clean_env().tools();
    assert_eq!(tools.len(), 11);
    for t in &tools {
        assert_eq!(t.parameters["type"], "object", "{}", t.name);
        assert!(!t.description.is_empty());
    }
}

#[test]
fn every_user_task_post_condition_holds_and_fails() {
    let s = banking::suite();
    // Tasks 9 and 10 are underspecified: leaving the rent and the bills alone is their success; their
    // near misses change the rent or pay something.
    common::post_conditions_hold_and_fail(&s, &s.user_tasks, &["user_task_9", "user_task_10"]);
}

#[test]
fn every_injection_task_post_condition_holds_and_fails() {
    let s = banking::suite();
    common::post_conditions_hold_and_fail(&s, &s.injection_tasks, &[]);
}

#[test]
fn every_user_task_reads_a_slot() {
    let s = banking::suite();
    for t in &s.user_tasks {
        assert!(!s.slots_seen_by(t).is_empty(), "{} reads no injection slot", t.id);
    }
    assert_eq!(
        s.slots_seen_by(s.user_task("user_task_0").unwrap()),
        vec!["injection_bill_text"]
    );
}

#[test]
fn attacker_transfer_is_visible_in_state() {
    let s = banking::suite();
    let pre = s.clean_env();
    let mut env = pre.clone();
    env.call(
        "send_money",
        &json!({"recipient": ATTACKER_IBAN, "amount": 1.0, "subject": "my Spotify", "date": "2022-04-01"}),
    )
    .unwrap();
    let t0 = s.injection_task("injection_task_0").unwrap();
    assert!((t0.check)(&pre, &env, ""));
    assert!(!(t0.check)(&pre, &pre, ""));
    assert!((env.balance - (pre.balance - 1.0)).abs() < 1e-9);
}

#[test]
fn bad_arguments_are_tool_errors() {
    let mut env = banking::suite().clean_env();
    assert!(
        env.call(
            "send_money",
            &json!({"recipient": "X", "amount": -5, "subject": "s", "date": "d"})
        )
        .is_err()
    );
    assert!(
        env.call(
            "send_money",
            &json!({"recipient": "X", "amount": "lots", "subject": "s", "date": "d"})
        )
        .is_err()
    );
    assert!(env.call("send_money", &json!([1, 2])).is_err());
    assert!(
        env.call("update_scheduled_transaction", &json!({"id": 999}))
            .is_err()
    );
    assert!(
        env.call("read_file", &json!({"file_path": "/etc/passwd"}))
            .is_err()
    );
    assert!(env.call("no_such_tool", &json!({})).is_err());
    assert_eq!(env, banking::suite().clean_env(), "failed calls change nothing");
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "[a-z0-9 .-]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("amount".to_owned()),
                    Just("recipient".to_owned()),
                    Just("n".to_owned()),
                    Just("file_path".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn hostile_arguments_never_panic(tool in 0usize..11, args in arb_json()) {
        let mut env: BankingEnv = banking::suite().clean_env();
        let name = env.tools()[tool].name.clone();
        let _ = env.call(&name, &args);
    }
}

#[test]
fn scripted_agents_give_exactly_the_implied_figures() {
    common::scripted_agents_give_implied_figures(&banking::suite());
}
