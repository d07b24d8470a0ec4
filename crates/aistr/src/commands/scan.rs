//! `aistr scan`: resolve the configuration, plan (or reload) the run in the journal, execute it
//! against the target, then write `report.json` and print the summary.

use crate::cli::{CmdResult, ScanArgs, TargetKind};
use crate::config::{self, Resolved};
use crate::exit::{self, CliError};
use aistr_core::Level;
use aistr_engine::{ScanSettings, plan};
use aistr_report::{DatasetRef, ReportInputs, build_report, render_terminal};
use aistr_store::{Journal, NewRun};
use aistr_targets::{OpenAiConfig, OpenAiTarget, RetryPolicy, Target};
use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub fn run(args: ScanArgs) -> CmdResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

/// What the journal stores as `config_json`.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredConfig {
    pub(crate) resolved: Resolved,
    pub(crate) datasets: Vec<DatasetRef>,
}

async fn run_async(args: ScanArgs) -> CmdResult {
    let outputs = crate::commands::report::scan_outputs(&args)?;
    let (journal, run_id, resolved, datasets) = match &args.resume {
        Some(run_id) => {
            let db = args
                .db
                .clone()
                .unwrap_or_else(|| config::ScanConfig::default().db);
            let journal = Journal::open(&db)
                .await
                .map_err(|e| CliError::usage(anyhow!(e)))?;
            let run = journal
                .run(run_id)
                .await
                .map_err(|e| CliError::usage(anyhow!(e)))?;
            let stored: StoredConfig =
                serde_json::from_str(&run.config_json).context("stored run configuration is corrupt")?;
            let mut resolved = stored.resolved;
            if let Some(out) = &args.out {
                resolved.scan.out.clone_from(out);
            }
            resolved.scan.db = db;
            (journal, run_id.clone(), resolved, stored.datasets)
        }
        None => {
            let resolved = config::resolve(&args).map_err(CliError::usage)?;
            let (journal, run_id, datasets) = plan_new_run(&args, &resolved).await?;
            (journal, run_id, resolved, datasets)
        }
    };

    let target = build_target(&resolved).map_err(CliError::usage)?;
    let run_judge = journal.run(&run_id).await.map_err(anyhow::Error::from)?.judge;
    let judge =
        crate::commands::judge::judge_for_run(&run_judge, &resolved.judge).map_err(CliError::usage)?;
    let pending = journal.pending(&run_id).await.map_err(anyhow::Error::from)?;
    let total = journal
        .attempts(&run_id)
        .await
        .map_err(anyhow::Error::from)?
        .len();
    let already = total.saturating_sub(pending.len());
    eprintln!(
        "aistr: run {run_id}: {} attempts planned, {already} already recorded, {} to send ({} target `{}`)",
        total,
        pending.len(),
        target.info().kind,
        target.info().model
    );

    let bar = progress_bar(
        &args,
        u64::try_from(total).unwrap_or(0),
        u64::try_from(already).unwrap_or(0),
    );
    let progress_bar = bar.clone();
    let progress: aistr_engine::ProgressFn = Arc::new(move |_| progress_bar.inc(1));
    journal
        .set_status(&run_id, "running")
        .await
        .map_err(anyhow::Error::from)?;

    let l3 = if pending.iter().any(|a| a.level == Level::L3) {
        let attacker = build_attacker(&resolved, &target).map_err(CliError::usage)?;
        let info = attacker.info();
        eprintln!("aistr: L3 attacker: {} `{}`", info.kind, info.model);
        Some(aistr_engine::L3Runtime {
            attacker_name: format!("{}:{}", info.kind, info.model),
            attacker,
            settings: resolved.l3.clone(),
        })
    } else {
        None
    };
    let execution = aistr_engine::execute_with(
        &journal,
        &run_id,
        Arc::clone(&target),
        judge,
        pending,
        Some(progress),
        l3,
    );
    let interrupted = tokio::select! {
        result = execution => { result.map_err(anyhow::Error::from)?; false }
        _ = tokio::signal::ctrl_c() => true,
    };
    bar.finish_and_clear();
    let status = if interrupted { "interrupted" } else { "finished" };
    journal
        .set_status(&run_id, status)
        .await
        .map_err(anyhow::Error::from)?;

    let report = write_report(&journal, &run_id, &resolved, datasets).await?;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\n{}", render_terminal(&report));
    let _ = writeln!(err, "report: {}", resolved.scan.out.join("report.json").display());
    drop(err);
    let gate = outputs
        .finish(&journal, &run_id, &resolved.scan.out, &report)
        .await?;
    let mut err = std::io::stderr().lock();
    if interrupted {
        let _ = writeln!(
            err,
            "interrupted: resume with `aistr scan --resume {run_id} --db {}`",
            resolved.scan.db.display()
        );
        return Ok(exit::INTERRUPTED);
    }
    if report.overall.scored == 0 && report.over_refusal.as_ref().is_none_or(|o| o.scored == 0) {
        let _ = writeln!(
            err,
            "error: no answer could be scored (see the unscored reasons in the journal)"
        );
        return Ok(exit::NOTHING_SCORED);
    }
    Ok(gate.unwrap_or(exit::OK))
}

async fn plan_new_run(
    args: &ScanArgs,
    resolved: &Resolved,
) -> Result<(Journal, String, Vec<DatasetRef>), CliError> {
    let scan = &resolved.scan;
    let mut probes = Vec::new();
    let mut datasets = Vec::new();
    for entry in &scan.datasets {
        let ds = aistr_datasets::load(entry.id()).map_err(|e| CliError::usage(anyhow!(e)))?;
        let picked = aistr_datasets::sample(&ds.probes, entry.limit().or(scan.limit), scan.seed);
        datasets.push(DatasetRef {
            id: ds.id.clone(),
            sha256: ds.sha256.clone(),
            probes: u64::try_from(picked.len()).unwrap_or(0),
        });
        probes.extend(picked);
    }
    let mut chains: Vec<Vec<String>> = Vec::new();
    if scan.attacks.is_empty() || scan.baseline {
        chains.push(Vec::new());
    }
    for c in &scan.attacks {
        let steps = c.steps();
        if !steps.is_empty() && !chains.contains(&steps) {
            chains.push(steps);
        }
    }
    let judge = crate::commands::judge::scan_judge_id(&resolved.judge).map_err(CliError::usage)?;
    let settings = ScanSettings {
        max_tokens: scan.max_tokens,
        temperature: scan.temperature,
        seed: scan.seed,
        system_prompt: scan.system_prompt.clone(),
    };
    let attempts = plan(&probes, &chains, &settings).map_err(|e| CliError::usage(anyhow!(e)))?;
    let journal = Journal::open(&scan.db)
        .await
        .map_err(|e| CliError::usage(anyhow!(e)))?;
    let run_id = args.run_id.clone().unwrap_or_else(new_run_id);
    let target_json = serde_json::to_string(&target_identity(resolved)).map_err(anyhow::Error::from)?;
    let stored = StoredConfig {
        resolved: resolved.clone(),
        datasets: datasets.clone(),
    };
    let new_run = NewRun {
        id: run_id.clone(),
        config_json: serde_json::to_string(&stored).map_err(anyhow::Error::from)?,
        target_json,
        datasets_json: serde_json::to_string(&datasets).map_err(anyhow::Error::from)?,
        judge,
    };
    journal
        .create_run(&new_run, &attempts)
        .await
        .map_err(|e| match e {
            aistr_store::StoreError::RunExists(_) => CliError::usage(anyhow!(e)),
            other => CliError::from(anyhow!(other)),
        })?;
    Ok((journal, run_id, datasets))
}

fn target_identity(resolved: &Resolved) -> serde_json::Value {
    model_identity(&resolved.target)
}

/// Who a configured model is (target or attacker), for journals and reports; never a secret.
fn model_identity(t: &crate::config::TargetConfig) -> serde_json::Value {
    match t.kind {
        TargetKind::Openai => {
            serde_json::json!({"kind": "openai", "model": t.model, "base_url": t.base_url, "stream": t.stream})
        }
        TargetKind::Local => {
            serde_json::json!({"kind": "local", "model": local_model_path(t).display().to_string()})
        }
    }
}

/// The L3 attacker's identity for the report (never a secret), or null when no L3 attack ran.
fn attacker_identity(resolved: &Resolved, levels: &[Level]) -> serde_json::Value {
    if !levels.contains(&Level::L3) {
        return serde_json::Value::Null;
    }
    model_identity(&resolved.attacker)
}

fn local_model_path(t: &crate::config::TargetConfig) -> std::path::PathBuf {
    match &t.model {
        Some(p) => std::path::PathBuf::from(p),
        None => default_local_path(),
    }
}

#[cfg(feature = "local")]
fn default_local_path() -> std::path::PathBuf {
    aistr_local_model::default_model_path()
}

#[cfg(not(feature = "local"))]
fn default_local_path() -> std::path::PathBuf {
    std::path::PathBuf::from("models/SmolLM2-135M-Instruct.Q8_0.gguf")
}

/// The L3 attacker exactly as configured. When it is the same local model as the target, the
/// loaded model is shared (one copy in memory; calls take turns on it, none holds it while waiting).
fn build_attacker(resolved: &Resolved, target: &Arc<dyn Target>) -> anyhow::Result<Arc<dyn Target>> {
    let a = &resolved.attacker;
    if a.kind == TargetKind::Local
        && resolved.target.kind == TargetKind::Local
        && a.model == resolved.target.model
    {
        return Ok(Arc::clone(target));
    }
    let as_target = Resolved {
        target: a.clone(),
        ..resolved.clone()
    };
    build_target(&as_target).context("cannot build the L3 attacker")
}

fn build_target(resolved: &Resolved) -> anyhow::Result<Arc<dyn Target>> {
    let t = &resolved.target;
    match t.kind {
        TargetKind::Openai => {
            let mut c = OpenAiConfig::new(
                t.base_url.clone().unwrap_or_default(),
                t.model.clone().unwrap_or_default(),
            );
            c.api_key_env.clone_from(&t.api_key_env);
            c.stream = t.stream;
            c.timeout = Duration::from_secs_f64(t.timeout_secs);
            c.retry = RetryPolicy {
                max_retries: t.max_retries,
                ..RetryPolicy::default()
            };
            c.concurrency = t.concurrency.unwrap_or(8);
            c.rpm = t.rpm;
            Ok(Arc::new(OpenAiTarget::new(c)?))
        }
        TargetKind::Local => build_local(resolved),
    }
}

#[cfg(feature = "local")]
fn build_local(resolved: &Resolved) -> anyhow::Result<Arc<dyn Target>> {
    let path = local_model_path(&resolved.target);
    Ok(Arc::new(aistr_targets::LocalTarget::load(
        &aistr_targets::LocalConfig { model_path: path },
    )?))
}

#[cfg(not(feature = "local"))]
fn build_local(_: &Resolved) -> anyhow::Result<Arc<dyn Target>> {
    anyhow::bail!("this aistr was built without the `local` feature; use --target openai")
}

fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_else(|_| "run".into());
    format!("{stamp}-{:04x}", rand::random::<u16>())
}

fn progress_bar(args: &ScanArgs, total: u64, done: u64) -> ProgressBar {
    let visible = !args.no_progress && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} attempts ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_position(done);
    bar
}

pub(crate) async fn write_report(
    journal: &Journal,
    run_id: &str,
    resolved: &Resolved,
    datasets: Vec<DatasetRef>,
) -> Result<aistr_report::Report, CliError> {
    let run = journal.run(run_id).await.map_err(anyhow::Error::from)?;
    let attempts = journal.attempts(run_id).await.map_err(anyhow::Error::from)?;
    let mut run_levels: Vec<Level> = attempts.iter().map(|a| a.planned.level).collect();
    run_levels.sort();
    run_levels.dedup();
    let levels_not_run = Level::ALL
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
        .collect();
    let settings = serde_json::json!({
        "max_tokens": resolved.scan.max_tokens,
        "temperature": resolved.scan.temperature,
        "seed": resolved.scan.seed,
        "system_prompt": resolved.scan.system_prompt,
        "level_weights": resolved.scan.level_weights,
        "timeout_secs": resolved.target.timeout_secs,
        "max_retries": resolved.target.max_retries,
        "concurrency": resolved.target.concurrency,
        "rpm": resolved.target.rpm,
        "attacker": attacker_identity(resolved, &run_levels),
        "l3": run_levels.contains(&Level::L3).then(|| serde_json::to_value(&resolved.l3).unwrap_or_default()),
        "judge_model": judge_identity(&resolved.judge),
    });
    let report = build_report(&ReportInputs {
        run: &run,
        attempts: &attempts,
        datasets,
        settings,
        taxonomy: aistr_datasets::taxonomy().name.clone(),
        min_samples: resolved.scan.min_samples,
        min_per: resolved.scan.sampling.clone(),
        level_weights: resolved.scan.level_weights.clone(),
        levels_not_run,
        calibration: calibration_for(&run.judge),
    });
    write_json(&resolved.scan.out, &report)?;
    Ok(report)
}

/// The LLM judge's identity for the report (never a secret), or null without one.
fn judge_identity(j: &crate::config::JudgeConfig) -> serde_json::Value {
    match j.target {
        None => serde_json::Value::Null,
        Some(TargetKind::Openai) => {
            serde_json::json!({"kind": "openai", "model": j.model, "base_url": j.base_url})
        }
        Some(TargetKind::Local) => serde_json::json!({"kind": "local", "model": j.model}),
    }
}

/// The shipped measurement of this judge's error, if there is one (see `aistr_judge::calibration`).
fn calibration_for(judge: &str) -> Option<aistr_report::JudgeCalibration> {
    let c = aistr_judge::calibration::lookup(judge)?;
    let dev = &aistr_judge::calibration::shipped().dev_set;
    Some(aistr_report::JudgeCalibration {
        judge: judge.to_owned(),
        confusion: c.confusion,
        dev_sha256: dev.sha256.clone(),
        self_labelled: dev.self_labelled,
    })
}

fn write_json(out: &Path, report: &aistr_report::Report) -> Result<(), CliError> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("report.json");
    let tmp = out.join("report.json.tmp");
    let text = serde_json::to_string_pretty(report).map_err(anyhow::Error::from)?;
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
