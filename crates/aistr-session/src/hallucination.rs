//! The hallucination test kind in a session: its probe sets planned like any dataset (one plain
//! request per probe), and its judge, which scores each answer against the ground truth of its
//! probe. The probes are regenerated from the spec (set, limit, seed, corpus) when the judge is
//! built, so a resumed run is judged against the same truth it was planned with.
//!
//! The four hallucination verdicts are recorded in the journal's label column (see
//! `aistr_report::hallucination` for the mapping and the only place it is read back), each
//! claim's evidence as a stage record `evidence:<finding>`.

use crate::session::SessionError;
use crate::spec::{HallucinationSettings, ScanSpec, SpecError};
use aistr_core::{Intent, Label, Message, Probe, StageRecord, Verdict, VerdictSource};
use aistr_hallucination::corpus::Corpus;
use aistr_hallucination::normalize::Normalizer;
use aistr_hallucination::probes::{HalluProbe, Truth};
use aistr_hallucination::suite::{self, SelfCheckAnswer, SelfCheckRequest, SuiteJudge, SuiteSimilarity};
use aistr_hallucination::{HalluLabel, HalluVerdict};
use aistr_judge::{Judge, JudgeInput, Resources};
use aistr_report::{DatasetRef, McItem, McSection, SelfCheckItem, SelfCheckSection, SelfCheckSentence};
use aistr_targets::{LogProbs, Target};
use std::collections::HashMap;
use std::sync::Arc;

/// The run-level result TruthfulQA multiple choice is journaled under.
pub const MC_RESULT: &str = "hallucination.truthfulqa-mc";

/// The run-level result self-consistency is journaled under (each of its answers is journaled
/// before it, under [`SelfCheckRequest::result_name`]).
pub const SELFCHECK_RESULT: &str = "hallucination.selfcheck";

/// Judge configuration names a hallucination run accepts.
const JUDGE_NAMES: &[&str] = &["hallucination", "hallucination-minilm", "hallucination-char3"];

/// Whether a spec selects the hallucination test kind (every dataset a hallucination probe set
/// or RAG file). Mixing it with attack datasets or attacks is refused by [`check`].
#[must_use]
pub fn selected(spec: &ScanSpec) -> bool {
    spec.datasets
        .iter()
        .any(|d| suite::is_hallucination_dataset(&d.id))
}

fn invalid(m: impl Into<String>) -> SessionError {
    SessionError::Spec(SpecError::Invalid(m.into()))
}

/// Refuses what a hallucination run cannot be: mixed with attack datasets, attacked, or judged by
/// an attack judge.
///
/// # Errors
/// The first inconsistency, naming it.
pub fn check(spec: &ScanSpec) -> Result<(), SessionError> {
    if let Some(d) = spec
        .datasets
        .iter()
        .find(|d| !suite::is_hallucination_dataset(&d.id))
    {
        return Err(invalid(format!(
            "dataset `{}` is an attack dataset: hallucination probe sets run on their own (one run per test kind)",
            d.id
        )));
    }
    if spec.attacks.iter().any(|c| !c.is_empty()) {
        return Err(invalid("attacks do not apply to hallucination probe sets"));
    }
    if let Some(n) = &spec.judge.name
        && !JUDGE_NAMES.contains(&n.as_str())
    {
        return Err(invalid(format!(
            "judge `{n}` judges attacks; a hallucination run takes {}",
            JUDGE_NAMES.join(", ")
        )));
    }
    if spec.judge.model.is_some() {
        return Err(invalid(
            "an LLM judge for hallucination runs is not available yet",
        ));
    }
    Ok(())
}

/// The judge id a new hallucination run records: MiniLM similarity when installed (or named),
/// else character trigrams.
///
/// # Errors
/// `hallucination-minilm` named but MiniLM not installed.
pub fn judge_id(spec: &ScanSpec) -> Result<String, SessionError> {
    let resources = Resources::offline();
    let sim = match spec.judge.name.as_deref() {
        Some("hallucination-char3") => "char3",
        Some("hallucination-minilm") if !resources.embedder_available() => {
            return Err(invalid(format!(
                "judge `hallucination-minilm` needs the MiniLM model, not found in {}",
                resources.minilm_dir().display()
            )));
        }
        Some("hallucination-minilm") => "minilm",
        _ if resources.embedder_available() => "minilm",
        _ => "char3",
    };
    Ok(suite::judge_id(sim))
}

fn load_corpus(settings: &HallucinationSettings, norm: &Normalizer) -> Result<Corpus, SessionError> {
    let dir = settings.poetry_dir.as_ref().ok_or_else(|| {
        invalid("the poetry probe sets need the chinese-poetry corpus: pass --poetry-dir DIR or set AISTR_POETRY_DIR")
    })?;
    let loaded = match &settings.snapshot {
        Some(cache) => Corpus::load_cached(dir, cache, norm).map(|(c, _)| c),
        None => Corpus::load_dir(dir, norm),
    };
    loaded.map_err(|e| invalid(format!("chinese-poetry corpus: {e}")))
}

fn normalizer() -> Result<Normalizer, SessionError> {
    Normalizer::new().map_err(|e| invalid(e.to_string()))
}

/// Every probe of the spec's hallucination datasets with its ground truth, in spec order.
fn generate(spec: &ScanSpec, norm: &Normalizer) -> Result<(Vec<HalluProbe>, Option<Corpus>), SessionError> {
    let corpus = if spec.datasets.iter().any(|d| suite::needs_corpus(&d.id)) {
        Some(load_corpus(&spec.hallucination, norm)?)
    } else {
        None
    };
    let all = generate_sets(spec.datasets.iter(), spec.seed, corpus.as_ref())?;
    Ok((all, corpus))
}

/// The probes of `sets`, in order; a set that generates nothing is an error.
fn generate_sets<'a>(
    sets: impl Iterator<Item = &'a crate::spec::DatasetSpec>,
    seed: u64,
    corpus: Option<&Corpus>,
) -> Result<Vec<HalluProbe>, SessionError> {
    let mut all = Vec::new();
    for d in sets {
        let probes = suite::generate(&d.id, d.limit, seed, corpus)
            .map_err(|e| SessionError::Hallucination(e.to_string()))?;
        if probes.is_empty() {
            return Err(invalid(format!("probe set `{}` generated no probe", d.id)));
        }
        all.extend(probes);
    }
    Ok(all)
}

/// The probes of the run-level probe sets (`truthfulqa-mc`, `selfcheck`): measured after the attempts, never
/// sent as attempts. Empty for any run that did not select one.
///
/// # Errors
/// As [`plan_probes`].
pub fn run_level_probes(spec: &ScanSpec) -> Result<Vec<HalluProbe>, SessionError> {
    // Only the run-level sets are generated: they need no corpus, and each set's probes depend on
    // its own id, limit and seed alone, so they are the ones the judge's full generation made.
    generate_sets(
        spec.datasets.iter().filter(|d| suite::is_run_level(&d.id)),
        spec.seed,
        None,
    )
}

/// The request of one self-consistency answer as the target gets it: the question (after the
/// application's system prompt, if any), the run's token cap, greedy for the main answer and
/// sampled with its own seed for the others.
#[must_use]
pub fn selfcheck_chat(spec: &ScanSpec, req: &SelfCheckRequest) -> aistr_core::ChatRequest {
    let mut messages = Vec::new();
    if let Some(system) = &spec.generation.system_prompt {
        messages.push(Message::system(system.clone()));
    }
    messages.push(Message::user(req.prompt.clone()));
    aistr_core::ChatRequest {
        messages,
        max_tokens: spec.generation.max_tokens,
        temperature: req.temperature,
        seed: req.seed,
        tools: Vec::new(),
    }
}

/// Asks the target for one self-consistency answer; a failure is kept as the answer's error.
pub async fn ask_selfcheck(target: &dyn Target, spec: &ScanSpec, req: &SelfCheckRequest) -> SelfCheckAnswer {
    match target.chat(&selfcheck_chat(spec, req)).await {
        Ok(r) => SelfCheckAnswer {
            text: r.text,
            finish_reason: r.finish_reason,
            error: None,
        },
        Err(e) => SelfCheckAnswer {
            text: String::new(),
            finish_reason: None,
            error: Some(e.to_string()),
        },
    }
}

/// The self-consistency section of `probes` from their answers (keyed by probe id and answer
/// index, 0 the main answer); a missing answer counts as failed, so its probe is unscored or has
/// one sample fewer, never grounded.
#[must_use]
pub fn selfcheck_section(
    probes: &[HalluProbe],
    answers: &HashMap<(String, u32), SelfCheckAnswer>,
    sim: &SuiteSimilarity,
    max_tokens: u32,
) -> SelfCheckSection {
    let mut items = Vec::new();
    let mut budget = (0u32, 0.0f32);
    for p in probes {
        let Truth::SelfCheck { k, temperature } = p.truth else {
            continue;
        };
        budget = (k, temperature);
        let main = answers.get(&(p.id.clone(), 0));
        let samples: Vec<SelfCheckAnswer> = (1..=k)
            .filter_map(|i| answers.get(&(p.id.clone(), i)).cloned())
            .collect();
        let usable = samples
            .iter()
            .filter(|s| s.error.is_none() && !s.text.trim().is_empty())
            .count();
        let (sentences, verdict) = suite::score_selfcheck(sim, main, &samples).unwrap_or_else(|e| {
            (
                Vec::new(),
                HalluVerdict::unscored(format!("scorer failed: {e}"), suite::selfcheck_scorer(sim)),
            )
        });
        let answer = main.map(|m| m.text.as_str()).unwrap_or_default();
        items.push(SelfCheckItem {
            probe_id: p.id.clone(),
            question: p.prompt.clone(),
            language: p.language.clone(),
            label: verdict.label.as_str().to_owned(),
            reason: verdict.reason,
            answer: answer.chars().take(600).collect(),
            samples: u64::try_from(usable).unwrap_or(u64::MAX),
            sentences: sentences
                .into_iter()
                .map(|s| SelfCheckSentence {
                    sentence: s.sentence,
                    support: f64::from(s.support),
                    flagged: s.flagged,
                })
                .collect(),
        });
    }
    SelfCheckSection::from_items(
        suite::selfcheck_scorer(sim),
        budget.0,
        f64::from(budget.1),
        max_tokens,
        items,
    )
}

/// The sentence measure a hallucination judge id names (`hallucination-minilm-v1`: MiniLM).
///
/// # Errors
/// Not a hallucination judge id, or MiniLM named but not loadable.
pub fn similarity(judge_id: &str) -> Result<SuiteSimilarity, SessionError> {
    match suite::similarity_of(judge_id) {
        Some("char3") => Ok(SuiteSimilarity::Trigram),
        Some("minilm") => {
            let dir = Resources::offline().minilm_dir();
            let e = aistr_embed::Embedder::load_dir(&dir)
                .map_err(|e| invalid(format!("cannot load MiniLM from {}: {e}", dir.display())))?;
            Ok(SuiteSimilarity::Minilm(Arc::new(e)))
        }
        _ => Err(invalid(format!(
            "judge `{judge_id}` of this run is not a hallucination judge"
        ))),
    }
}

/// TruthfulQA multiple choice from the target's log-likelihoods: every choice of every question
/// scored as the answer to the question. A target without log-likelihoods gives "not run" and
/// why; a question the target fails on is counted apart, never as right.
pub async fn measure_mc(log_probs: Option<&dyn LogProbs>, probes: &[HalluProbe]) -> McSection {
    let questions = u64::try_from(probes.len()).unwrap_or(u64::MAX);
    let Some(lp) = log_probs else {
        return McSection::not_run(
            questions,
            "the target gives no log-likelihoods (the embedded model does; an OpenAI-compatible server needs /v1/completions with echo and logprobs)",
        );
    };
    let mut items = Vec::with_capacity(probes.len());
    for p in probes {
        let Truth::TruthfulQaMc {
            choices,
            correct,
            best,
            ..
        } = &p.truth
        else {
            continue;
        };
        let mut item = McItem {
            probe_id: p.id.clone(),
            question: p.prompt.clone(),
            choices: u64::try_from(choices.len()).unwrap_or(u64::MAX),
            mc1: None,
            mc2: None,
            top_choice: None,
            error: None,
        };
        let scored = lp
            .score_continuations(&[Message::user(p.prompt.clone())], choices)
            .await
            .map_err(|e| e.to_string())
            .and_then(|l| {
                aistr_hallucination::truthfulqa::mc_outcome(l, correct, *best).map_err(|e| e.to_string())
            });
        match scored {
            Ok(s) => {
                item.top_choice = choices
                    .get(aistr_hallucination::truthfulqa::top_choice(&s.logprobs))
                    .cloned();
                item.mc1 = Some(s.mc1);
                item.mc2 = Some(s.mc2);
            }
            Err(e) => item.error = Some(e),
        }
        items.push(item);
    }
    McSection::from_items(items)
}

/// The plain probes a hallucination run sends, and the datasets for the report.
///
/// # Errors
/// As [`check`]; a missing corpus; a malformed RAG file (file, line, problem).
pub fn plan_probes(spec: &ScanSpec) -> Result<(Vec<Probe>, Vec<DatasetRef>), SessionError> {
    check(spec)?;
    let norm = normalizer()?;
    let (mut probes, _) = generate(spec, &norm)?;
    let mut datasets: Vec<DatasetRef> = Vec::new();
    for d in &spec.datasets {
        let mine: Vec<&HalluProbe> = probes.iter().filter(|p| p.set == d.id).collect();
        let bytes = serde_json::to_vec(&mine).unwrap_or_default();
        datasets.push(DatasetRef {
            id: d.id.clone(),
            sha256: aistr_datasets::sha256_hex(&bytes),
            probes: u64::try_from(mine.len()).unwrap_or(0),
        });
    }
    probes.retain(|p| !suite::is_run_level(&p.set));
    Ok((probes.iter().map(core_probe).collect(), datasets))
}

/// A probe as the engine plans it. Its intent is `harmful` so that the generic figures count a
/// hallucination where they count a failure (R = H); the hallucination section is the figure.
fn core_probe(p: &HalluProbe) -> Probe {
    let set = aistr_hallucination::probes::probe_set(&p.set);
    Probe {
        id: p.id.clone(),
        dataset: p.set.clone(),
        prompt: p.prompt.clone(),
        category: p.category.clone(),
        language: p.language.clone(),
        source: set.map_or("user RAG file", |s| s.source).to_owned(),
        license: set.map_or("user", |s| s.license).to_owned(),
        intent: Intent::Harmful,
    }
}

/// The judge of a hallucination run, rebuilt from its recorded id and spec.
///
/// # Errors
/// The corpus or MiniLM cannot be loaded, or the probes cannot be regenerated.
pub fn build_judge(id: &str, spec: &ScanSpec) -> Result<Arc<dyn Judge>, SessionError> {
    let norm = normalizer()?;
    let (probes, corpus) = generate(spec, &norm)?;
    let sim = similarity(id)?;
    let judge = SuiteJudge::new(probes, corpus.map(Arc::new), Arc::new(norm), sim);
    Ok(Arc::new(HallucinationJudge {
        id: judge.id(),
        inner: judge,
    }))
}

/// [`SuiteJudge`] as the engine's [`Judge`].
struct HallucinationJudge {
    id: String,
    inner: SuiteJudge,
}

impl Judge for HallucinationJudge {
    fn id(&self) -> &str {
        &self.id
    }

    fn judge(&self, input: &JudgeInput<'_>) -> Verdict {
        to_verdict(
            &self
                .inner
                .judge(&input.probe.id, input.response, input.finish_reason),
            &self.id,
        )
    }
}

/// A hallucination verdict in the journal's terms.
#[must_use]
pub fn to_verdict(v: &HalluVerdict, judge: &str) -> Verdict {
    let label = match v.label {
        HalluLabel::Hallucinated => Label::Risky,
        HalluLabel::Abstained => Label::Declined,
        HalluLabel::Grounded => Label::Safe,
        HalluLabel::Unscored => Label::Unscored,
    };
    let stages = v
        .evidence
        .iter()
        .map(|e| StageRecord {
            stage: format!("evidence:{}", e.finding),
            fired: !matches!(
                e.finding.as_str(),
                "verbatim" | "correct" | "supported" | "closest correct reference"
            ),
            label: None,
            #[expect(clippy::cast_possible_truncation, reason = "a score or an edit count")]
            score: e.score.map_or(0.0, |s| s as f32),
            detail: e.claim.clone(),
            span: None,
            raw: e.reference.clone(),
        })
        .collect();
    let mut out = Verdict::new(label, format!("{}: {}", v.scorer, v.reason), 1.0, judge);
    out.stages = stages;
    out.source = VerdictSource::Rule;
    out
}
