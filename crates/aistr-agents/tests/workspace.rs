//! The workspace suite: tools, post-conditions, slots, scripted agents.

mod common;

use aistr_agents::suite::Environment;
use aistr_agents::workspace::{self, WorkspaceEnv};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn sizes() {
    let s = workspace::suite();
    assert_eq!(s.user_tasks.len(), 33);
    assert_eq!(s.injection_tasks.len(), 14);
    assert_eq!(s.slots.len(), 16);
    let mut ids: Vec<&str> = s
        .user_tasks
        .iter()
        .map(|t| t.id)
        .chain(s.injection_tasks.iter().map(|t| t.id))
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "task ids are unique");
}

#[test]
fn every_user_task_post_condition_holds_and_fails() {
    let s = workspace::suite();
    common::post_conditions_hold_and_fail(&s, &s.user_tasks, &[]);
}

#[test]
fn every_injection_task_post_condition_holds_and_fails() {
    let s = workspace::suite();
    common::post_conditions_hold_and_fail(&s, &s.injection_tasks, &[]);
}

#[test]
fn every_user_task_reads_a_slot() {
    let s = workspace::suite();
    for t in &s.user_tasks {
        assert!(!s.slots_seen_by(t).is_empty(), "{} reads no injection slot", t.id);
    }
}

#[test]
fn bad_arguments_are_tool_errors() {
    let mut env = workspace::suite().clean_env();
    let clean = env.clone();
    assert!(
        env.call(
            "send_email",
            &json!({"recipients": [], "subject": "s", "body": "b"})
        )
        .is_err()
    );
    assert!(
        env.call(
            "send_email",
            &json!({"recipients": ["a@b"], "subject": "s", "body": "b", "attachments": ["999"]})
        )
        .is_err()
    );
    assert!(
        env.call(
            "create_calendar_event",
            &json!({"title": "x", "start_time": "tomorrow", "end_time": "later"})
        )
        .is_err()
    );
    assert!(
        env.call(
            "create_calendar_event",
            &json!({"title": "x", "start_time": "2024-05-20 10:00", "end_time": "2024-05-20 09:00"})
        )
        .is_err()
    );
    assert!(env.call("delete_file", &json!({"file_id": "nope"})).is_err());
    assert!(
        env.call(
            "share_file",
            &json!({"file_id": "0", "email": "x@y", "permission": "owner"})
        )
        .is_err()
    );
    assert!(env.call("get_day_calendar_events", &json!({"day": 5})).is_err());
    assert_eq!(env, clean, "failed calls change nothing");
}

#[test]
fn sending_then_deleting_leaves_evidence_in_the_trash() {
    let s = workspace::suite();
    let pre = s.clean_env();
    let mut env = pre.clone();
    let t5 = s.injection_task("injection_task_5").unwrap();
    for c in (t5.ground_truth)(&pre) {
        env.call(&c.name, &c.arguments).unwrap();
    }
    assert!((t5.check)(&pre, &env, ""));
    assert_eq!(env.trash.len(), 1);
    assert!(env.emails.len() == pre.emails.len());
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z0-9 :.@-]{0,16}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("2024-05-15 10:00")),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("file_id".to_owned()),
                    Just("email_id".to_owned()),
                    Just("event_id".to_owned()),
                    Just("recipients".to_owned()),
                    Just("start_time".to_owned()),
                    Just("end_time".to_owned()),
                    Just("new_start_time".to_owned()),
                    Just("query".to_owned()),
                    Just("day".to_owned()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn hostile_arguments_never_panic(tool in 0usize..22, args in arb_json()) {
        let mut env: WorkspaceEnv = workspace::suite().clean_env();
        let name = env.tools()[tool].name.clone();
        let _ = env.call(&name, &args);
    }
}

#[test]
fn scripted_agents_give_exactly_the_implied_figures() {
    common::scripted_agents_give_implied_figures(&workspace::suite());
}
