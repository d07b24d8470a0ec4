//! `aistr review`: the human review queue. `export RUN` writes the verdicts a person should check
//! (flagged `needs_review`, or all with `--all`) as a JSONL or CSV sheet with an empty
//! `human_label` column; `import FILE` applies the filled-in labels to the journal, keeping the
//! machine verdict, and says how many verdicts are now human, model or rule. `export --redact`
//! replaces planted canaries and detected PII by their kind, so the sheet can leave the team.

use crate::cli::{ReviewArgs, ReviewCommand, ReviewExportArgs, ReviewImportArgs};
use crate::exit::{self, CliError, CmdResult};
use aistr_core::{Label, VerdictSource};
use aistr_store::{AttemptRecord, Journal};
use anyhow::{Context, anyhow};
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn run(args: ReviewArgs) -> CmdResult {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        match args.command {
            ReviewCommand::Export(a) => export(&a).await,
            ReviewCommand::Import(a) => import(&a).await,
        }
    })
}

fn db_path(db: Option<&PathBuf>) -> PathBuf {
    db.cloned()
        .unwrap_or_else(|| PathBuf::from(crate::commands::scan::DEFAULT_DB))
}

const COLUMNS: &[&str] = &[
    "run",
    "seq",
    "probe_id",
    "intent",
    "method",
    "request",
    "response",
    "machine_label",
    "confidence",
    "source",
    "reason",
    "stages_fired",
    "human_label",
    "note",
];

fn sheet_row(run: &str, a: &AttemptRecord) -> Option<Vec<String>> {
    let r = a.result.as_ref()?;
    let v = &r.verdict;
    let fired: Vec<&str> = v
        .stages
        .iter()
        .filter(|s| s.fired)
        .map(|s| s.stage.as_str())
        .collect();
    let sent = a
        .planned
        .request
        .messages
        .last()
        .map_or("", |m| m.content.as_str());
    Some(vec![
        run.to_owned(),
        a.planned.seq.to_string(),
        a.planned.probe.id.clone(),
        serde_json::to_string(&a.planned.probe.intent)
            .unwrap_or_default()
            .trim_matches('"')
            .to_owned(),
        a.planned.method.clone(),
        sent.to_owned(),
        r.response_text.clone().unwrap_or_default(),
        v.label.as_str().to_owned(),
        format!("{:.3}", v.confidence),
        v.source.as_str().to_owned(),
        v.reason.clone(),
        fired.join("|"),
        String::new(),
        String::new(),
    ])
}

async fn export(a: &ReviewExportArgs) -> CmdResult {
    let attempts = if a.redact {
        // Through the session, which knows the run's planted canaries and redacts the way the
        // report files are redacted.
        let session = crate::commands::report::open_run(&db_path(a.db.as_ref()), &a.run).await?;
        session.report_attempts(true).await?
    } else {
        let journal = Journal::open(&db_path(a.db.as_ref()))
            .await
            .map_err(|e| CliError::usage(anyhow!(e)))?;
        journal
            .run(&a.run)
            .await
            .map_err(|e| CliError::usage(anyhow!(e)))?;
        journal.attempts(&a.run).await.map_err(anyhow::Error::from)?
    };
    let picked: Vec<Vec<String>> = attempts
        .iter()
        .filter(|r| {
            r.result.as_ref().is_some_and(|res| {
                a.all || (res.verdict.needs_review && res.verdict.source != VerdictSource::Human)
            })
        })
        .filter_map(|r| sheet_row(&a.run, r))
        .collect();
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("review-{}.jsonl", a.run)));
    write_sheet(&out, &picked)?;
    eprintln!(
        "aistr: wrote {} verdicts to review to {} (fill in `human_label`: risky, declined, safe or unscored)",
        picked.len(),
        out.display()
    );
    Ok(exit::OK)
}

fn is_csv(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn write_sheet(out: &Path, rows: &[Vec<String>]) -> Result<(), CliError> {
    if is_csv(out) {
        let mut w = csv::Writer::from_path(out).with_context(|| format!("cannot write {}", out.display()))?;
        w.write_record(COLUMNS).map_err(anyhow::Error::from)?;
        for r in rows {
            w.write_record(r).map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
    } else {
        let mut f = std::fs::File::create(out).with_context(|| format!("cannot write {}", out.display()))?;
        for r in rows {
            let obj: serde_json::Map<String, serde_json::Value> = COLUMNS
                .iter()
                .zip(r)
                .map(|(k, v)| {
                    let val = if *k == "seq" {
                        v.parse::<i64>()
                            .map_or(serde_json::Value::Null, serde_json::Value::from)
                    } else {
                        v.clone().into()
                    };
                    ((*k).to_owned(), val)
                })
                .collect();
            writeln!(f, "{}", serde_json::Value::Object(obj)).map_err(anyhow::Error::from)?;
        }
    }
    Ok(())
}

/// One filled-in sheet row.
#[derive(Debug, PartialEq)]
struct Decision {
    run: String,
    seq: i64,
    label: Label,
    note: String,
}

fn read_decisions(path: &Path) -> anyhow::Result<(Vec<Decision>, usize)> {
    let mut out = Vec::new();
    let mut blank = 0;
    let mut push = |run: Option<String>,
                    seq: Option<i64>,
                    label: Option<String>,
                    note: Option<String>,
                    line: usize|
     -> anyhow::Result<()> {
        let label = label.map(|l| l.trim().to_lowercase()).unwrap_or_default();
        if label.is_empty() {
            blank += 1;
            return Ok(());
        }
        let label = Label::parse(&label).ok_or_else(|| {
            anyhow!("line {line}: human_label `{label}` is not risky/declined/safe/unscored")
        })?;
        let run = run.ok_or_else(|| anyhow!("line {line}: missing `run`"))?;
        let seq = seq.ok_or_else(|| anyhow!("line {line}: missing or bad `seq`"))?;
        out.push(Decision {
            run,
            seq,
            label,
            note: note.unwrap_or_default(),
        });
        Ok(())
    };
    if is_csv(path) {
        let mut r =
            csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
        let h = r.headers()?.clone();
        let col = |n: &str| h.iter().position(|x| x == n);
        let (run, seq, label, note) = (col("run"), col("seq"), col("human_label"), col("note"));
        for (i, rec) in r.records().enumerate() {
            let rec = rec?;
            let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::to_owned);
            push(
                get(run),
                get(seq).and_then(|s| s.trim().parse().ok()),
                get(label),
                get(note),
                i + 2,
            )?;
        }
    } else {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).with_context(|| format!("line {}", i + 1))?;
            let s = |k: &str| v.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
            let seq = v
                .get("seq")
                .and_then(|x| x.as_i64().or_else(|| x.as_str().and_then(|s| s.parse().ok())));
            push(s("run"), seq, s("human_label"), s("note"), i + 1)?;
        }
    }
    Ok((out, blank))
}

async fn import(a: &ReviewImportArgs) -> CmdResult {
    let (decisions, blank) = read_decisions(&a.file).map_err(CliError::usage)?;
    let journal = Journal::open(&db_path(a.db.as_ref()))
        .await
        .map_err(|e| CliError::usage(anyhow!(e)))?;
    let mut applied = 0;
    let mut missing = 0;
    let mut runs: Vec<String> = Vec::new();
    for d in &decisions {
        if journal
            .apply_human_label(&d.run, d.seq, d.label, &d.note)
            .await
            .map_err(anyhow::Error::from)?
        {
            applied += 1;
        } else {
            missing += 1;
        }
        if !runs.contains(&d.run) {
            runs.push(d.run.clone());
        }
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "aistr: applied {applied} human labels ({blank} rows left blank, {missing} did not match a judged attempt)"
    );
    for run in &runs {
        let attempts = journal.attempts(run).await.map_err(anyhow::Error::from)?;
        let count = |s: VerdictSource| {
            attempts
                .iter()
                .filter(|a| a.result.as_ref().is_some_and(|r| r.verdict.source == s))
                .count()
        };
        let _ = writeln!(
            err,
            "run {run}: verdicts by source: human {}, model {}, rule {}",
            count(VerdictSource::Human),
            count(VerdictSource::Model),
            count(VerdictSource::Rule)
        );
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_filled_sheets_and_skips_blank_rows() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("s.jsonl");
        std::fs::write(&j, "{\"run\":\"r\",\"seq\":3,\"human_label\":\"Risky\",\"note\":\"partial\"}\n{\"run\":\"r\",\"seq\":4,\"human_label\":\"\"}\n").unwrap();
        let (d, blank) = read_decisions(&j).unwrap();
        assert_eq!(
            d,
            vec![Decision {
                run: "r".into(),
                seq: 3,
                label: Label::Risky,
                note: "partial".into()
            }]
        );
        assert_eq!(blank, 1);
        let c = dir.path().join("s.csv");
        std::fs::write(&c, "run,seq,human_label,note\nr,7,safe,\nr,8,nonsense,\n").unwrap();
        assert!(read_decisions(&c).unwrap_err().to_string().contains("nonsense"));
        std::fs::write(&c, "run,seq,human_label\nr,7,safe\n").unwrap();
        assert_eq!(read_decisions(&c).unwrap().0[0].seq, 7);
    }
}
