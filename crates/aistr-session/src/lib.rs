//! The scan session: the one API through which every front end (the `aistr` CLI today; a server,
//! workers and a guardrail proxy later) starts, continues and reports a scan. A front end turns
//! its input into a [`ScanSpec`], then:
//!
//! ```text
//! Session::new(journal, spec, run_id)   plan every attempt into the journal, send nothing
//! Session::resume(journal, run_id)      reopen a journaled run (old runs read via `legacy`)
//! session.execute(progress, cancel)     build target / attacker / judge from the spec, send what is
//!                                       still planned, journal each result; stop on cancel
//! session.finish()                      the report, computed from the journal
//! ```
//!
//! The session prints nothing and reads no configuration file: progress goes to the
//! [`ProgressSink`] the front end supplies, cancellation comes through a
//! [`CancellationToken`](tokio_util::sync::CancellationToken), the journal is any
//! [`RunJournal`](aistr_store::RunJournal). Things the report's reader must know go to
//! [`Session::warn`] and come out first in the report's warnings.
//!
//! A run derived from another (re-judging stored answers with another judge) is a spec with
//! [`ScanSpec::origin`] set; new kinds of tests are new, versioned sections of the spec.

pub mod agents;
pub mod hallucination;
pub mod judge;
pub mod legacy;
pub mod memorisation;
pub mod privacy;
mod rejudge;
mod report;
mod session;
pub mod spec;
pub mod worker;

pub use agents::AgentsSpec;
pub use aistr_attacker::L3Settings;
pub use memorisation::MemorisationSpec;
pub use privacy::PrivacySpec;
pub use rejudge::rejudge;
pub use session::{
    ExecuteOutcome, ExecutionStart, NoProgress, PlannedScan, ProgressSink, QUEUED, Session, SessionError,
    SharedJournal, new_run_id,
};
pub use spec::{
    DatasetSpec, Generation, HallucinationSettings, JudgeChoice, Reporting, RunOrigin, SCAN_SPEC_VERSION,
    ScanSpec, SpecError, parse_chain,
};
pub use tokio_util::sync::CancellationToken;
pub use worker::{WorkerOptions, WorkerSummary, work};

/// Reads a run's stored `config_json`: a [`ScanSpec`] (refused when a newer aistr wrote it), or the
/// configuration shape of aistr before the spec existed, converted.
///
/// # Errors
/// [`SessionError::Spec`] for a newer spec; [`SessionError::CorruptSpec`] when it reads as neither.
pub fn read_stored_spec(config_json: &str) -> Result<ScanSpec, SessionError> {
    let value: serde_json::Value =
        serde_json::from_str(config_json).map_err(|e| SessionError::CorruptSpec(e.to_string()))?;
    let corrupt = |e: serde_json::Error| SessionError::CorruptSpec(e.to_string());
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) => {
            let found = u32::try_from(v).unwrap_or(u32::MAX);
            if found > SCAN_SPEC_VERSION {
                return Err(SpecError::TooNew { found }.into());
            }
            serde_json::from_value(value).map_err(corrupt)
        }
        None if value.get("resolved").is_some() => Ok(serde_json::from_value::<legacy::StoredConfig>(value)
            .map_err(corrupt)?
            .into_spec()),
        None => Err(SessionError::CorruptSpec(
            "neither a scan spec nor an older aistr's configuration".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_specs_read_by_shape_and_version() {
        let spec = ScanSpec::new(
            aistr_targets::EndpointSpec::openai("http://h/v1", "m"),
            vec![DatasetSpec {
                id: "jbb-harmful".into(),
                limit: None,
            }],
        );
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(read_stored_spec(&json).unwrap(), spec);
        let newer = json.replace(&format!("\"version\":{SCAN_SPEC_VERSION}"), "\"version\":99");
        assert!(matches!(
            read_stored_spec(&newer),
            Err(SessionError::Spec(SpecError::TooNew { found: 99 }))
        ));
        for bad in ["{}", "[]", "not json", r#"{"resolved": 3}"#] {
            assert!(
                matches!(read_stored_spec(bad), Err(SessionError::CorruptSpec(_))),
                "{bad}"
            );
        }
    }
}
