//! The lifecycle of one scan: plan it into the journal ([`Session::new`]), or reopen one that is
//! there ([`Session::resume`]); [`Session::execute`] what is still planned, reporting progress to
//! a sink and stopping when a token is cancelled; [`Session::finish`] the report from the journal.
//! Targets, the attacker and the judge are built from the spec here and nowhere else.

use crate::judge::{self, JudgeError};
use crate::spec::{ScanSpec, SpecError};
use aistr_core::{AttemptResult, Level, NewRun, PlannedAttempt};
use aistr_engine::{ExecuteError, ExecutionSummary, L3Runtime, PlanError, ScanSettings, plan};
use aistr_judge::Resources;
use aistr_report::{DatasetRef, Report};
use aistr_store::{RunJournal, StoreError};
use aistr_targets::{Target, TargetInfo};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The journal a session writes to: any [`RunJournal`], shared.
pub type SharedJournal = Arc<dyn RunJournal>;

/// What can go wrong. [`SessionError::is_usage`] tells a front end whether the user asked for
/// something impossible (nothing was sent) or the machinery failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The spec is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A dataset could not be loaded.
    #[error(transparent)]
    Dataset(#[from] aistr_datasets::DatasetError),
    /// A hallucination probe set could not be generated (a user RAG file's malformed row: file,
    /// line and problem).
    #[error("{0}")]
    Hallucination(String),
    /// The attacks could not be planned.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The judge cannot be chosen or built.
    #[error(transparent)]
    Judge(#[from] JudgeError),
    /// The target cannot be built (bad URL, missing key variable, model file not loadable).
    #[error(transparent)]
    Target(aistr_targets::TargetError),
    /// The L3 attacker cannot be built.
    #[error("cannot build the L3 attacker: {0}")]
    Attacker(aistr_targets::TargetError),
    /// The run id is taken, or no such run exists.
    #[error(transparent)]
    Run(StoreError),
    /// The run's stored spec does not read.
    #[error("stored run configuration is corrupt: {0}")]
    CorruptSpec(String),
    /// The journal failed.
    #[error(transparent)]
    Store(StoreError),
    /// Execution failed (the journal, or an L3 conversation that cannot be replayed).
    #[error(transparent)]
    Execute(#[from] ExecuteError),
    /// The privacy suite cannot be planned (a malformed probe or record file: file, line, problem).
    #[error(transparent)]
    Privacy(#[from] crate::privacy::PrivacyError),
}

impl SessionError {
    /// True when the request was at fault (bad spec, unknown run, a target that cannot be built):
    /// nothing was sent. False when the journal or the machinery failed.
    #[must_use]
    pub fn is_usage(&self) -> bool {
        match self {
            SessionError::Spec(SpecError::Invalid(_))
            | SessionError::Dataset(_)
            | SessionError::Hallucination(_)
            | SessionError::Plan(_)
            | SessionError::Judge(_)
            | SessionError::Target(_)
            | SessionError::Attacker(_)
            | SessionError::Privacy(_)
            | SessionError::Run(_) => true,
            SessionError::CorruptSpec(_)
            | SessionError::Store(_)
            | SessionError::Execute(_)
            | SessionError::Spec(SpecError::TooNew { .. }) => false,
        }
    }
}

/// The status of a run planned for workers and not finished yet.
pub const QUEUED: &str = "queued";

pub(crate) fn store(e: StoreError) -> SessionError {
    match e {
        StoreError::RunExists(_) | StoreError::NoSuchRun(_) => SessionError::Run(e),
        other => SessionError::Store(other),
    }
}

/// Told about an execution as it goes. Every method has a default that ignores the event, and the
/// session never prints: a terminal, a log or a web socket is the front end's choice.
pub trait ProgressSink: Send + Sync {
    /// Once, when everything is built and before anything is sent.
    fn started(&self, _start: &ExecutionStart) {}
    /// After each result is committed to the journal.
    fn recorded(&self, _result: &AttemptResult) {}
}

/// A sink that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {}

/// What an execution is about to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionStart {
    /// The run.
    pub run_id: String,
    /// Attempts planned in all.
    pub planned: u64,
    /// Attempts already recorded (a resumed run).
    pub already_recorded: u64,
    /// Attempts to send now.
    pub to_send: u64,
    /// The target.
    pub target: TargetInfo,
    /// The L3 attacker, when L3 attempts are still to send.
    pub attacker: Option<TargetInfo>,
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecuteOutcome {
    /// True when the token was cancelled before every attempt was recorded: the run is
    /// `interrupted` and can be resumed.
    pub cancelled: bool,
    /// What was recorded (attempts finished before a cancellation are counted by the journal,
    /// not here).
    pub summary: ExecutionSummary,
}

/// A run planned from a spec but not yet journaled: the step that can fail on bad input, taken
/// before a journal is even opened.
#[derive(Debug, Clone)]
pub struct PlannedScan {
    spec: ScanSpec,
    judge_id: String,
    datasets: Vec<DatasetRef>,
    attempts: Vec<PlannedAttempt>,
    warnings: Vec<String>,
}

impl PlannedScan {
    /// Validates the spec, loads and samples the datasets, chooses the judge and plans every
    /// attempt. Pure apart from reading dataset files and checking which models are installed.
    ///
    /// # Errors
    /// An invalid spec, an unreadable dataset, an unknown attack or an impossible judge choice.
    pub fn new(spec: ScanSpec) -> Result<Self, SessionError> {
        spec.validate()?;
        if crate::hallucination::selected(&spec) {
            let (probes, datasets) = crate::hallucination::plan_probes(&spec)?;
            let judge_id = crate::hallucination::judge_id(&spec)?;
            let settings = ScanSettings {
                max_tokens: spec.generation.max_tokens,
                temperature: spec.generation.temperature,
                seed: spec.seed,
                system_prompt: spec.generation.system_prompt.clone(),
            };
            // A run of run-level sets alone (`--dataset selfcheck`, `truthfulqa-mc`) plans no
            // attempt: everything it measures comes after the (empty) attempts.
            let attempts = if probes.is_empty()
                && spec
                    .datasets
                    .iter()
                    .all(|d| aistr_hallucination::suite::is_run_level(&d.id))
            {
                Vec::new()
            } else {
                plan(&probes, &[Vec::new()], &settings)?
            };
            return Ok(Self {
                spec,
                judge_id,
                datasets,
                attempts,
                warnings: Vec::new(),
            });
        }
        let mut probes = Vec::new();
        let mut datasets = Vec::new();
        for entry in &spec.datasets {
            let ds = aistr_datasets::load(&entry.id)?;
            let picked = aistr_datasets::sample(&ds.probes, entry.limit, spec.seed);
            datasets.push(DatasetRef {
                id: ds.id.clone(),
                sha256: ds.sha256.clone(),
                probes: u64::try_from(picked.len()).unwrap_or(0),
            });
            probes.extend(picked);
        }
        let chains = spec.chains();
        let resources = Resources::offline();
        let judge_id = judge::judge_id(&spec.judge, &resources)?;
        let mut warnings = Vec::new();
        if spec.judge.name.is_none() {
            warnings.extend(resources.default_judge_fallback());
        }
        warnings.extend(spec.target.fallback_warning());
        let settings = ScanSettings {
            max_tokens: spec.generation.max_tokens,
            temperature: spec.generation.temperature,
            seed: spec.seed,
            system_prompt: spec.generation.system_prompt.clone(),
        };
        let mut attempts = if probes.is_empty() && (spec.privacy.is_some() || spec.agents.is_some()) {
            Vec::new()
        } else {
            plan(&probes, &chains, &settings)?
        };
        if let Some(privacy) = &spec.privacy {
            let suite = privacy.build(spec.seed)?;
            suite.policy()?;
            let first = i64::try_from(attempts.len()).unwrap_or(i64::MAX);
            let planned = suite.attempts(first, &spec.generation, spec.seed);
            datasets.push(DatasetRef {
                id: crate::privacy::DATASET.into(),
                sha256: String::new(),
                probes: u64::try_from(planned.len()).unwrap_or(0),
            });
            attempts.extend(planned);
        }
        if let Some(agents) = &spec.agents {
            let first = i64::try_from(attempts.len()).unwrap_or(i64::MAX);
            let (planned, sets) =
                crate::agents::attempts(agents, first, spec.generation.temperature, spec.seed)?;
            for (id, probes) in sets {
                datasets.push(DatasetRef {
                    id,
                    sha256: String::new(),
                    probes,
                });
            }
            attempts.extend(planned);
        }
        if attempts.is_empty() {
            return Err(PlanError::Empty.into());
        }
        Ok(Self {
            spec,
            judge_id,
            datasets,
            attempts,
            warnings,
        })
    }

    /// What planning noticed that the user should know (a judge or model falling back because a
    /// model file is missing); they come first in the report's warnings.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The attempts planned, in order.
    #[must_use]
    pub fn attempts(&self) -> &[PlannedAttempt] {
        &self.attempts
    }

    /// The judge id the run will record.
    #[must_use]
    pub fn judge_id(&self) -> &str {
        &self.judge_id
    }
}

/// One run, open on a journal.
pub struct Session {
    journal: SharedJournal,
    run_id: String,
    judge_id: String,
    spec: ScanSpec,
    datasets: Vec<DatasetRef>,
    warnings: Vec<String>,
    /// A request rate the target shares with other processes (set by a worker).
    pacer: aistr_targets::Pacer,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("run_id", &self.run_id)
            .field("judge_id", &self.judge_id)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Plans a new run from `spec` and journals it (every attempt planned, nothing sent). The run
    /// is named `run_id`, or a fresh `YYYYMMDD-HHMMSS-xxxx` id.
    ///
    /// # Errors
    /// As [`PlannedScan::new`]; the id is taken; the journal fails.
    pub async fn new(
        journal: SharedJournal,
        spec: ScanSpec,
        run_id: Option<String>,
    ) -> Result<Self, SessionError> {
        Self::create(journal, PlannedScan::new(spec)?, run_id).await
    }

    /// Journals an already planned scan as a new run.
    ///
    /// # Errors
    /// The id is taken; the journal fails.
    pub async fn create(
        journal: SharedJournal,
        planned: PlannedScan,
        run_id: Option<String>,
    ) -> Result<Self, SessionError> {
        let run_id = run_id.unwrap_or_else(new_run_id);
        let new_run = NewRun {
            id: run_id.clone(),
            config_json: to_json(&planned.spec),
            target_json: planned.spec.target.identity().to_string(),
            datasets_json: to_json(&planned.datasets),
            judge: planned.judge_id.clone(),
        };
        journal
            .create_run(&new_run, &planned.attempts)
            .await
            .map_err(store)?;
        Ok(Self {
            journal,
            run_id,
            judge_id: planned.judge_id,
            spec: planned.spec,
            datasets: planned.datasets,
            warnings: planned.warnings,
            pacer: aistr_targets::Pacer::default(),
        })
    }

    /// Journals an already planned scan as a new run and queues it for `aistr worker`s, without
    /// executing anything here: what `aistr scan --detach` and the server's submit both do.
    ///
    /// # Errors
    /// The id is taken; the journal fails.
    pub async fn queue(
        journal: SharedJournal,
        planned: PlannedScan,
        run_id: Option<String>,
    ) -> Result<Self, SessionError> {
        let session = Self::create(Arc::clone(&journal), planned, run_id).await?;
        journal
            .set_status(session.run_id(), QUEUED)
            .await
            .map_err(store)?;
        Ok(session)
    }

    /// Reopens a journaled run, to continue it ([`execute`](Self::execute) sends only what is
    /// still planned) or just to report it ([`finish`](Self::finish)). Runs stored by older
    /// aistr versions read through [`crate::legacy`].
    ///
    /// # Errors
    /// No such run; its stored spec is corrupt or from a newer aistr; the journal fails.
    pub async fn resume(journal: SharedJournal, run_id: &str) -> Result<Self, SessionError> {
        let run = journal.run(run_id).await.map_err(store)?;
        let spec = crate::read_stored_spec(&run.config_json)?;
        let datasets: Vec<DatasetRef> = serde_json::from_str(&run.datasets_json)
            .map_err(|e| SessionError::CorruptSpec(format!("datasets: {e}")))?;
        Ok(Self {
            journal,
            run_id: run.id,
            judge_id: run.judge,
            spec,
            datasets,
            warnings: Vec::new(),
            pacer: aistr_targets::Pacer::default(),
        })
    }

    /// The run id.
    #[must_use]
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The run's spec (as stored; a legacy run's as converted).
    #[must_use]
    pub fn spec(&self) -> &ScanSpec {
        &self.spec
    }

    /// The judge id the run records.
    #[must_use]
    pub fn judge_id(&self) -> &str {
        &self.judge_id
    }

    /// The journal the run lives in.
    #[must_use]
    pub fn journal(&self) -> &SharedJournal {
        &self.journal
    }

    /// Things a reader of the report must know that the session noticed (a judge or target that
    /// fell back, a model that could not load); [`finish`](Self::finish) puts them first among
    /// the report's warnings.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Paces the target's requests under a rate shared with other processes (a worker's run: every
    /// worker reserves its requests' slots in the shared journal). HTTP targets only.
    pub fn set_target_pacer(&mut self, pacer: aistr_targets::Pacer) {
        self.pacer = pacer;
    }

    /// Adds a warning for the report (see [`warnings`](Self::warnings)).
    pub fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    /// Builds the target, the judge and (when L3 attempts remain) the attacker, then sends every
    /// attempt still planned, judging and journaling each. Stops early, leaving the run
    /// `interrupted`, when `cancel` is cancelled; answers in flight at that moment are dropped and
    /// sent again on resume, nothing recorded is lost.
    ///
    /// # Errors
    /// A target, attacker or judge that cannot be built (before anything is sent; usage errors),
    /// or a journal failure.
    pub async fn execute(
        &mut self,
        progress: Arc<dyn ProgressSink>,
        cancel: CancellationToken,
    ) -> Result<ExecuteOutcome, SessionError> {
        let target = self
            .spec
            .target
            .build_paced(&self.pacer)
            .map_err(SessionError::Target)?;
        let mut judge = if aistr_report::hallucination::is_hallucination_judge(&self.judge_id) {
            crate::hallucination::build_judge(&self.judge_id, &self.spec)?
        } else {
            judge::judge_for_run(&self.judge_id, &self.spec.judge)?
        };
        if let Some(privacy) = &self.spec.privacy {
            let policy = privacy.build(self.spec.seed)?.policy()?;
            judge = Arc::new(crate::privacy::RoutingJudge::new(Arc::new(policy), judge));
        }
        let (agent_pending, pending): (Vec<PlannedAttempt>, Vec<PlannedAttempt>) = self
            .journal
            .pending(&self.run_id)
            .await
            .map_err(store)?
            .into_iter()
            .partition(crate::agents::is_agent_attempt);
        let planned = self.journal.attempts(&self.run_id).await.map_err(store)?.len();
        let l3 = if pending.iter().any(|a| a.level == Level::L3) {
            let attacker = self.build_attacker(&target)?;
            let info = attacker.info();
            Some(L3Runtime {
                attacker_name: format!("{}:{}", info.kind, info.model),
                attacker,
                settings: self.spec.l3.clone(),
            })
        } else {
            None
        };
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        progress.started(&ExecutionStart {
            run_id: self.run_id.clone(),
            planned: count(planned),
            already_recorded: count(planned.saturating_sub(pending.len() + agent_pending.len())),
            to_send: count(pending.len() + agent_pending.len()),
            target: target.info(),
            attacker: l3.as_ref().map(|rt| rt.attacker.info()),
        });
        self.journal
            .set_status(&self.run_id, "running")
            .await
            .map_err(store)?;
        let sink = Arc::clone(&progress);
        let on_record: aistr_engine::ProgressFn = Arc::new(move |r| sink.recorded(r));
        let memorisation_target = Arc::clone(&target);
        let agent_target = Arc::clone(&target);
        let execution = async {
            let mut summary = if pending.is_empty() {
                ExecutionSummary::default()
            } else {
                aistr_engine::execute_with(
                    &self.journal,
                    &self.run_id,
                    target,
                    judge,
                    pending,
                    Some(on_record),
                    l3,
                )
                .await?
            };
            let (recorded, failures) = crate::agents::execute(
                &self.spec,
                &self.journal,
                &self.run_id,
                agent_target.as_ref(),
                &agent_pending,
                &progress,
            )
            .await?;
            summary.recorded += recorded;
            summary.transport_failures += failures;
            Ok::<_, SessionError>(summary)
        };
        let mut outcome = tokio::select! {
            result = execution => ExecuteOutcome { cancelled: false, summary: result? },
            () = cancel.cancelled() => ExecuteOutcome { cancelled: true, summary: ExecutionSummary::default() },
        };
        if !outcome.cancelled {
            let measured = tokio::select! {
                result = async {
                    self.measure_memorisation(memorisation_target.as_ref()).await?;
                    self.measure_truthfulqa_mc(memorisation_target.as_ref()).await?;
                    self.measure_selfcheck(memorisation_target.as_ref()).await
                } => Some(result),
                () = cancel.cancelled() => None,
            };
            match measured {
                Some(result) => result?,
                None => outcome.cancelled = true,
            }
        }
        let status = if outcome.cancelled {
            "interrupted"
        } else {
            "finished"
        };
        self.journal
            .set_status(&self.run_id, status)
            .await
            .map_err(store)?;
        Ok(outcome)
    }

    /// The journaled outcome of the privacy suite's memorisation tests, if they were measured.
    ///
    /// # Errors
    /// The journal fails or holds a result this aistr cannot read.
    pub async fn memorisation(&self) -> Result<Option<aistr_report::MemorisationSection>, SessionError> {
        self.stored_result(crate::memorisation::RESULT_NAME).await
    }

    /// A run-level result journaled under `name`, read back (None when not measured yet).
    async fn stored_result<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, SessionError> {
        let Some(json) = self.journal.run_result(&self.run_id, name).await.map_err(store)? else {
            return Ok(None);
        };
        serde_json::from_str(&json).map(Some).map_err(|e| {
            SessionError::Store(StoreError::Corrupt(format!(
                "run `{}`: result `{name}`: {e}",
                self.run_id
            )))
        })
    }

    /// The journaled outcome of the TruthfulQA multiple-choice measurement, if it was measured.
    ///
    /// # Errors
    /// The journal fails or holds a result this aistr cannot read.
    pub async fn truthfulqa_mc(&self) -> Result<Option<aistr_report::McSection>, SessionError> {
        self.stored_result(crate::hallucination::MC_RESULT).await
    }

    /// After every attempt is recorded: TruthfulQA multiple choice, once per run, when the run
    /// selected it, from the target's log-likelihoods (or "not run" and why), journaled as a
    /// run-level result.
    async fn measure_truthfulqa_mc(&self, target: &dyn Target) -> Result<(), SessionError> {
        let mut probes = crate::hallucination::run_level_probes(&self.spec)?;
        probes.retain(|p| p.set == "truthfulqa-mc");
        if probes.is_empty() || self.truthfulqa_mc().await?.is_some() {
            return Ok(());
        }
        let section = crate::hallucination::measure_mc(target.log_probs(), &probes).await;
        self.journal
            .record_run_result(&self.run_id, crate::hallucination::MC_RESULT, &to_json(&section))
            .await
            .map_err(store)?;
        Ok(())
    }

    /// The journaled outcome of the self-consistency measurement, if it was measured.
    ///
    /// # Errors
    /// The journal fails or holds a result this aistr cannot read.
    pub async fn selfcheck(&self) -> Result<Option<aistr_report::SelfCheckSection>, SessionError> {
        self.stored_result(crate::hallucination::SELFCHECK_RESULT).await
    }

    /// After every attempt is recorded: self-consistency, once per run, when the run selected
    /// `selfcheck`. Each answer (the main one, then the k samples) is journaled as it arrives and
    /// read back instead of asked again when the run is resumed; a failed answer is not journaled
    /// (it counts as missing: its probe has a sample fewer or is unscored). The scored section is
    /// journaled last.
    async fn measure_selfcheck(&self, target: &dyn Target) -> Result<(), SessionError> {
        let mut probes = crate::hallucination::run_level_probes(&self.spec)?;
        probes.retain(|p| p.set == "selfcheck");
        if probes.is_empty() || self.selfcheck().await?.is_some() {
            return Ok(());
        }
        let mut answers = std::collections::HashMap::new();
        for req in aistr_hallucination::suite::selfcheck_requests(&probes, self.spec.seed) {
            let name = req.result_name();
            let answer = match self
                .stored_result::<aistr_hallucination::suite::SelfCheckAnswer>(&name)
                .await?
            {
                Some(a) => a,
                None => {
                    let a = crate::hallucination::ask_selfcheck(target, &self.spec, &req).await;
                    if a.error.is_none() {
                        self.journal
                            .record_run_result(&self.run_id, &name, &to_json(&a))
                            .await
                            .map_err(store)?;
                    }
                    a
                }
            };
            answers.insert((req.probe_id.clone(), req.index), answer);
        }
        let sim = crate::hallucination::similarity(&self.judge_id)?;
        let section =
            crate::hallucination::selfcheck_section(&probes, &answers, &sim, self.spec.generation.max_tokens);
        self.journal
            .record_run_result(
                &self.run_id,
                crate::hallucination::SELFCHECK_RESULT,
                &to_json(&section),
            )
            .await
            .map_err(store)?;
        Ok(())
    }

    /// After every attempt is recorded: the privacy suite's memorisation tests, once per run, on
    /// the target's log-probabilities when it has them (the outcome, run or not and why, is
    /// journaled as a run-level result).
    async fn measure_memorisation(&self, target: &dyn Target) -> Result<(), SessionError> {
        let Some(privacy) = &self.spec.privacy else {
            return Ok(());
        };
        if self.memorisation().await?.is_some() {
            return Ok(());
        }
        let canaries = privacy.build(self.spec.seed)?.canaries;
        let section = crate::memorisation::measure(
            target.log_probs(),
            &canaries,
            &privacy.memorisation,
            self.spec.seed,
        )
        .await;
        self.journal
            .record_run_result(&self.run_id, crate::memorisation::RESULT_NAME, &to_json(&section))
            .await
            .map_err(store)?;
        Ok(())
    }

    /// The L3 attacker exactly as configured. When it is the same local model as the target, the
    /// loaded model is shared (one copy in memory; their calls are batched on its serving thread,
    /// none holds it while waiting).
    fn build_attacker(&self, target: &Arc<dyn Target>) -> Result<Arc<dyn Target>, SessionError> {
        if self.spec.attacker.same_local_model(&self.spec.target) {
            return Ok(Arc::clone(target));
        }
        self.spec.attacker.build().map_err(SessionError::Attacker)
    }

    /// The run's attempts as report files may show them: every canary the privacy suite planted
    /// redacted (always), and with `redact_pii` every PII the detector finds replaced by its kind
    /// (`--redact`, for a report to be shared). The journal itself keeps what was sent and answered.
    ///
    /// # Errors
    /// The journal fails; the run's record file can no longer be read.
    pub async fn report_attempts(
        &self,
        redact_pii: bool,
    ) -> Result<Vec<aistr_core::AttemptRecord>, SessionError> {
        let mut attempts = self.journal.attempts(&self.run_id).await.map_err(store)?;
        let canaries = crate::privacy::canaries_of(&self.spec)?;
        if !canaries.is_empty() || redact_pii {
            let _ = crate::privacy::redact_for_reports(&canaries, &mut attempts, redact_pii);
        }
        Ok(attempts)
    }

    /// The run's report, computed from the journal (so it is the same whenever it is asked for:
    /// after a resume, after a human review, on another machine).
    ///
    /// # Errors
    /// The journal fails.
    pub async fn finish(&self) -> Result<Report, SessionError> {
        let run = self.journal.run(&self.run_id).await.map_err(store)?;
        let attempts = self.journal.attempts(&self.run_id).await.map_err(store)?;
        let memorisation = self.memorisation().await?;
        let truthfulqa_mc = self.truthfulqa_mc().await?;
        let selfcheck = self.selfcheck().await?;
        Ok(crate::report::assemble(
            &run,
            &attempts,
            &self.spec,
            self.datasets.clone(),
            &self.warnings,
            memorisation,
            crate::report::RunLevelHallucination {
                truthfulqa_mc,
                selfcheck,
            },
        ))
    }
}

/// Stored values are plain data: serialising them cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("specs and dataset lists serialise")
}

/// A fresh run id: `YYYYMMDD-HHMMSS-xxxx` (UTC, then 16 random bits).
#[must_use]
pub fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_else(|_| "run".into());
    format!("{stamp}-{:04x}", rand::random::<u16>())
}
