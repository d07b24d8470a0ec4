//! `aistr list targets|datasets|attacks`: what this build can do, for people and (with `--json`) scripts.

use crate::cli::{ListArgs, ListWhat};
use crate::exit::{self, CmdResult};
use std::io::Write;

pub fn run(args: &ListArgs) -> CmdResult {
    let mut out = std::io::stdout().lock();
    let text = match (args.what, args.json) {
        (ListWhat::Attacks, true) => {
            serde_json::to_string_pretty(&aistr_attacks::list_json()).map_err(anyhow::Error::from)?
        }
        (ListWhat::Attacks, false) => {
            let mut s = String::new();
            for a in aistr_attacks::registry() {
                let sp = &a.spec;
                s.push_str(&format!(
                    "{:<34} {}  {:<22} [{}]  {}\n",
                    sp.id,
                    sp.level,
                    sp.family,
                    sp.languages.join(","),
                    sp.description
                ));
            }
            s
        }
        (ListWhat::Datasets, json) => {
            let mut rows: Vec<serde_json::Value> = aistr_datasets::builtin()
                .iter()
                .map(|d| {
                    let n = d.jsonl.lines().filter(|l| !l.trim().is_empty()).count();
                    serde_json::json!({"id": d.id, "rows": n, "language": d.language, "license": d.license,
                                       "source": d.source, "description": d.description, "kind": "attack"})
                })
                .collect();
            // The hallucination probe sets are generated (seeded) from their ground truth: `rows`
            // is what `--suite hallucination` sends by default (0 = not in a scan yet).
            rows.extend(aistr_hallucination::probes::PROBE_SETS.iter().map(|p| {
                let n = aistr_hallucination::suite::SUITE_SETS
                    .iter()
                    .find(|(id, _)| *id == p.id)
                    .map_or(0, |(_, n)| *n);
                serde_json::json!({"id": p.id, "rows": n, "language": p.languages, "license": p.license,
                                   "source": p.source, "description": p.description, "kind": "hallucination",
                                   "scoring": p.scoring, "suite": aistr_hallucination::suite::SUITE})
            }));
            if json {
                serde_json::to_string_pretty(&rows).map_err(anyhow::Error::from)?
            } else {
                rows.iter()
                    .map(|r| {
                        format!(
                            "{:<18} {:>4} rows  {:<5}  {:<10} {}\n",
                            r["id"].as_str().unwrap_or(""),
                            r["rows"],
                            r["language"].as_str().unwrap_or(""),
                            r["license"].as_str().unwrap_or(""),
                            r["description"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            }
        }
        (ListWhat::Targets, json) => {
            let rows = serde_json::json!([
                {"id": "openai", "description": "Any OpenAI-compatible chat-completions API (OpenAI, vLLM, Ollama, llama.cpp server)", "available": true},
                {"id": "local", "description": "Embedded SmolLM2-135M-Instruct on the CPU (the default)", "available": cfg!(feature = "local")},
                {"id": "anthropic", "description": "Anthropic's Messages API (tool use, streaming)", "available": true},
                {"id": "http", "description": "A generic HTTP application: request template, response extractor, one session per conversation ([target.http])", "available": true},
            ]);
            if json {
                serde_json::to_string_pretty(&rows).map_err(anyhow::Error::from)?
            } else {
                rows.as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        format!(
                            "{:<8} {}{}\n",
                            r["id"].as_str().unwrap_or(""),
                            r["description"].as_str().unwrap_or(""),
                            if r["available"] == true {
                                ""
                            } else {
                                " (not in this build)"
                            }
                        )
                    })
                    .collect()
            }
        }
    };
    writeln!(out, "{}", text.trim_end()).map_err(anyhow::Error::from)?;
    Ok(exit::OK)
}
