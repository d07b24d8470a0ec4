//! `aistr judge`: measure judge configurations against human labels (`eval`), list the
//! registered stages (`stages`) and judge a stored run's answers again into a linked run (`rerun`). The measuring lives in `aistr_judge::evaluate`; an LLM judge is
//! built by the session from the same endpoint flags a scan takes, and only when one is named.

use crate::cli::{JudgeArgs, JudgeCommand, JudgeEvalArgs, JudgeRerunArgs};
use crate::exit::{self, CliError, CmdResult};
use aistr_judge::eval::{EvalRow, parse_csv, parse_jsonl};
use aistr_judge::evaluate::{calibration_file, evaluate, predictions_jsonl, render_table};
use aistr_judge::{LlmBackend, Resources};
use aistr_targets::{EndpointKind, EndpointSpec};
use anyhow::{Context, anyhow, bail};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

pub fn run(args: JudgeArgs) -> CmdResult {
    match args.command {
        JudgeCommand::Eval(a) => eval(&a),
        JudgeCommand::Stages => stages(),
        JudgeCommand::Rerun(a) => rerun(&a),
    }
}

/// `aistr judge rerun`: the session journals the re-judged run; this writes its report.json and
/// prints the summary and the `aistr compare` line.
fn rerun(a: &JudgeRerunArgs) -> CmdResult {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let source = crate::commands::report::open_run(&a.db, &a.run).await?;
        let journal = Arc::clone(source.journal());
        let session = aistr_session::rejudge(journal, &a.run, &a.judge, a.run_id.clone()).await?;
        let report = session.finish().await?;
        let out = a.out.clone().unwrap_or_else(|| {
            let mut dir = source
                .spec()
                .report_dir
                .clone()
                .unwrap_or_else(|| "aistr-out".into())
                .into_os_string();
            dir.push("-rejudged");
            dir.into()
        });
        let path = crate::output::write_report_json(&out, &report)?;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "\n{}", aistr_report::render_terminal(&report));
        let _ = writeln!(
            err,
            "re-judged run {} with `{}` into run {} (nothing re-sent)\nreport: {}\ncompare: aistr compare {} {} --db {}",
            a.run,
            session.judge_id(),
            session.run_id(),
            path.display(),
            a.run,
            session.run_id(),
            a.db.display()
        );
        Ok(exit::OK)
    })
}

/// The judge model the flags name, or `None` when they name none. With a model name and a base URL
/// and no kind, the kind is openai (as `--llm-model`/`--llm-base-url` always meant).
fn judge_model(a: &JudgeEvalArgs) -> anyhow::Result<Option<EndpointSpec>> {
    let flags = &a.llm;
    let kind = if a.llm_local {
        Some(EndpointKind::Local)
    } else {
        flags
            .kind
            .or_else(|| (flags.model.is_some() || flags.base_url.is_some()).then_some(EndpointKind::Openai))
    };
    let Some(kind) = kind else { return Ok(None) };
    if kind == EndpointKind::Openai {
        if flags.model.is_none() {
            bail!("--judge-base-url (--llm-base-url) needs --judge-model (--llm-model)");
        }
        if flags.base_url.is_none() {
            bail!("--judge-model (--llm-model) needs --judge-base-url (--llm-base-url), or use --llm-local");
        }
    }
    let mut spec = EndpointSpec::of_kind(kind);
    flags.apply_to(&mut spec);
    Ok(Some(spec))
}

fn llm_backend(a: &JudgeEvalArgs) -> anyhow::Result<Option<Arc<dyn LlmBackend>>> {
    judge_model(a)?
        .map(|m| aistr_session::judge::llm_backend(&m).map_err(|e| anyhow!(e)))
        .transpose()
}

fn stages() -> CmdResult {
    let mut out = std::io::stdout().lock();
    for s in aistr_judge::stages::REGISTRY {
        writeln!(out, "{:<18} {:?}\t{}", s.id, s.kind, s.summary).map_err(anyhow::Error::from)?;
    }
    writeln!(
        out,
        "\nconfigurations: learned (default), rules, embedded, rules+embedded, rules-v0; add +jailguard or +llm"
    )
    .map_err(anyhow::Error::from)?;
    Ok(exit::OK)
}

fn read_rows(path: &Path) -> anyhow::Result<Vec<EvalRow>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    Ok(if is_csv {
        parse_csv(&text)?
    } else {
        parse_jsonl(&text)?
    })
}

/// The judge configurations named on the command line (`--judge` repeatable, comma lists, `all`).
fn config_names(a: &JudgeEvalArgs, resources: &Resources) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for j in &a.judges {
        for n in j.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if n == "all" {
                names.extend(aistr_judge::pipeline::COMPARED.iter().map(|s| (*s).to_owned()));
            } else {
                names.push(n.to_owned());
            }
        }
    }
    if names.is_empty() {
        names.push(resources.default_judge_name().to_owned());
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn eval(a: &JudgeEvalArgs) -> CmdResult {
    if a.task == crate::cli::EvalTask::Hallucination {
        return crate::commands::judge_hallucination::eval(a);
    }
    let rows = read_rows(&a.labels).map_err(CliError::usage)?;
    if rows.is_empty() {
        return Err(CliError::usage(anyhow!("{} has no rows", a.labels.display())));
    }
    let resources = Resources::offline()
        .with_minilm_dir(a.models_dir.as_ref().map(|d| d.join("all-MiniLM-L6-v2")))
        .with_learned_weights(a.learned_weights.clone());
    let rubric = Some(a.judge_rubric.as_str()).filter(|r| !r.is_empty());
    let rubric = aistr_session::judge::rubric(rubric).map_err(|e| CliError::usage(anyhow!(e)))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let llm = {
        let _guard = runtime.enter();
        llm_backend(a).map_err(CliError::usage)?
    };
    let resources = resources.with_llm(llm).with_llm_rubric(rubric);
    let names = config_names(a, &resources);
    let mut results = Vec::new();
    for name in &names {
        let judge = aistr_judge::build(name, &resources).map_err(|e| CliError::usage(anyhow!(e)))?;
        results.push(runtime.block_on(evaluate(
            judge.as_ref(),
            name,
            &rows,
            &aistr_attacks::decode_answer,
        )));
    }
    let labels = a.labels.display().to_string();
    if let Some(path) = &a.predictions {
        write(path, &predictions_jsonl(&rows, &results))?;
    }
    if let Some(path) = &a.calibration_out {
        let bytes = std::fs::read(&a.labels).with_context(|| format!("cannot read {labels}"))?;
        let file = calibration_file(
            &labels,
            &aistr_datasets::sha256_hex(&bytes),
            &rows,
            &results,
            a.calibration_held_out,
        );
        write(
            path,
            &(serde_json::to_string_pretty(&file).map_err(anyhow::Error::from)? + "\n"),
        )?;
    }
    let text = if a.json {
        let doc = serde_json::json!({
            "labels": labels,
            "rows": rows.len(),
            "positive_class": "risky",
            "configurations": results,
        });
        serde_json::to_string_pretty(&doc).map_err(anyhow::Error::from)?
    } else {
        render_table(&labels, rows.len(), &results)
    };
    writeln!(std::io::stdout().lock(), "{text}").map_err(anyhow::Error::from)?;
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(flags: &[&str]) -> JudgeEvalArgs {
        #[derive(Parser)]
        struct P {
            #[command(flatten)]
            a: JudgeEvalArgs,
        }
        let mut argv = vec!["x", "--labels", "l.jsonl"];
        argv.extend(flags);
        P::try_parse_from(argv).unwrap().a
    }

    #[test]
    fn no_judge_flags_means_no_judge_model() {
        assert!(
            judge_model(&parse(&[])).unwrap().is_none(),
            "nothing may be built"
        );
        assert!(llm_backend(&parse(&[])).unwrap().is_none());
    }

    #[test]
    fn old_and_new_spellings_name_the_same_openai_judge() {
        let old = judge_model(&parse(&["--llm-model", "m", "--llm-base-url", "http://j/v1"])).unwrap();
        let new = judge_model(&parse(&[
            "--judge-target",
            "openai",
            "--judge-model",
            "m",
            "--judge-base-url",
            "http://j/v1",
        ]))
        .unwrap();
        assert_eq!(old, new);
        assert_eq!(old, Some(EndpointSpec::openai("http://j/v1", "m")));
        let local = judge_model(&parse(&["--llm-local"])).unwrap().unwrap();
        assert_eq!(local.kind, EndpointKind::Local);
        for (flags, message) in [
            (&["--llm-base-url", "http://j/v1"][..], "needs --judge-model"),
            (&["--llm-model", "m"][..], "needs --judge-base-url"),
        ] {
            let e = judge_model(&parse(flags)).unwrap_err().to_string();
            assert!(e.contains(message), "{e}");
        }
    }
}
