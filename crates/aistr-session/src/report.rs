//! Assembling a run's [`Report`] from the journal and the run's spec: what the spec contributes
//! (settings, minimum samples, level weights), why levels were not run, and the judge's measured
//! error for the calibrated figures. The figures themselves are computed by `aistr-report`.

use crate::spec::ScanSpec;
use aistr_core::{AttemptRecord, Level, RunRecord};
use aistr_report::{DatasetRef, JudgeCalibration, Report, ReportInputs, build_report};
use aistr_targets::EndpointKind;

/// Why each level the run has no attempt of was not run.
fn levels_not_run(run_levels: &[Level]) -> Vec<(Level, String)> {
    Level::ALL
        .into_iter()
        .filter(|l| !run_levels.contains(l))
        .map(|l| {
            let why = match l {
                Level::L1 => "no plain baseline in this run (--no-baseline)",
                Level::L2 => "no blind-box attack selected (--attacks)",
                Level::L3 => "no attacker-model attack selected",
                Level::L4 => "white-box gradient attacks are not implemented; they need the target's weights",
            };
            (l, why.to_owned())
        })
        .collect()
}

/// The LLM judge's identity for the report (never a secret), or null without one.
fn judge_identity(spec: &ScanSpec) -> serde_json::Value {
    match &spec.judge.model {
        None => serde_json::Value::Null,
        Some(m) => match m.kind {
            EndpointKind::Openai => {
                serde_json::json!({"kind": "openai", "model": m.model, "base_url": m.base_url})
            }
            EndpointKind::Local => serde_json::json!({"kind": "local", "model": m.model}),
            EndpointKind::Anthropic | EndpointKind::Http => m.identity(),
        },
    }
}

/// The settings block of `report.json`.
fn settings(spec: &ScanSpec, run_levels: &[Level]) -> serde_json::Value {
    let l3 = run_levels.contains(&Level::L3);
    serde_json::json!({
        "max_tokens": spec.generation.max_tokens,
        "temperature": spec.generation.temperature,
        "seed": spec.seed,
        "system_prompt": spec.generation.system_prompt,
        "level_weights": spec.reporting.level_weights,
        "timeout_secs": spec.target.timeout_secs,
        "max_retries": spec.target.max_retries,
        "concurrency": spec.target.concurrency,
        "rpm": spec.target.rpm,
        "attacker": if l3 { spec.attacker.identity() } else { serde_json::Value::Null },
        "l3": l3.then(|| serde_json::to_value(&spec.l3).unwrap_or_default()),
        "judge_model": judge_identity(spec),
    })
}

/// The shipped measurement of this judge's error, if there is one (see `aistr_judge::calibration`).
fn calibration_for(judge: &str) -> Option<JudgeCalibration> {
    let c = aistr_judge::calibration::lookup(judge)?;
    let dev = &aistr_judge::calibration::shipped().dev_set;
    Some(JudgeCalibration {
        judge: judge.to_owned(),
        confusion: c.confusion,
        dev_sha256: dev.sha256.clone(),
        self_labelled: dev.self_labelled,
        held_out: dev.held_out,
    })
}

/// The report of a run: its journaled attempts under its spec. `warnings` (things the session
/// noticed, e.g. a fallback) come first among the report's warnings.
/// The hallucination results measured once per run, as journaled.
#[derive(Debug, Default)]
pub(crate) struct RunLevelHallucination {
    pub(crate) truthfulqa_mc: Option<aistr_report::McSection>,
    pub(crate) selfcheck: Option<aistr_report::SelfCheckSection>,
}

pub(crate) fn assemble(
    run: &RunRecord,
    attempts: &[AttemptRecord],
    spec: &ScanSpec,
    datasets: Vec<DatasetRef>,
    warnings: &[String],
    memorisation: Option<aistr_report::MemorisationSection>,
    run_level: RunLevelHallucination,
) -> Report {
    let mut run_levels: Vec<Level> = attempts.iter().map(|a| a.planned.level).collect();
    run_levels.sort();
    run_levels.dedup();
    let mut report = build_report(&ReportInputs {
        run,
        attempts,
        datasets,
        settings: settings(spec, &run_levels),
        taxonomy: aistr_datasets::taxonomy().name.clone(),
        min_samples: spec.reporting.min_samples,
        min_per: spec.reporting.sampling.clone(),
        level_weights: spec.reporting.level_weights.clone(),
        levels_not_run: levels_not_run(&run_levels),
        calibration: calibration_for(&run.judge),
    });
    if spec.privacy.is_some()
        && let Some(p) = &mut report.privacy
    {
        p.memorisation =
            Some(memorisation.unwrap_or_else(|| crate::privacy::memorisation_not_measured(&spec.target)));
    }
    if let Some(h) = &mut report.hallucination {
        h.truthfulqa_mc = run_level.truthfulqa_mc;
        h.selfcheck = run_level.selfcheck;
    }
    if !warnings.is_empty() {
        let mut all = warnings.to_vec();
        all.append(&mut report.warnings);
        report.warnings = all;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_without_attempts_says_why() {
        let why = levels_not_run(&[Level::L1, Level::L3]);
        assert_eq!(
            why.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            [Level::L2, Level::L4]
        );
        assert!(why[1].1.contains("not implemented"));
    }

    #[test]
    fn settings_name_the_attacker_only_when_l3_ran_and_never_a_secret() {
        let mut spec = ScanSpec::new(
            aistr_targets::EndpointSpec {
                api_key_env: Some("SECRET_VAR".into()),
                ..aistr_targets::EndpointSpec::openai("http://h/v1", "m")
            },
            vec![],
        );
        spec.judge.model = Some(aistr_targets::EndpointSpec::openai("http://j/v1", "jm"));
        let s = settings(&spec, &[Level::L1]);
        assert!(s["attacker"].is_null() && s["l3"].is_null());
        assert_eq!(
            s["judge_model"],
            serde_json::json!({"kind": "openai", "model": "jm", "base_url": "http://j/v1"})
        );
        let s = settings(&spec, &[Level::L1, Level::L3]);
        assert_eq!(s["attacker"]["kind"], "local");
        assert_eq!(s["l3"]["query_budget"], 12);
        assert!(!s.to_string().contains("SECRET_VAR"));
    }
}
