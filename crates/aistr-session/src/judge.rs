//! Which judge a run has, and building it. A new run records a judge id (`rules+embedded-v1`,
//! `rules-v0`, ...) chosen from its spec and the installed models; a resumed run rebuilds exactly
//! that judge, LLM judge included. The LLM-judge backend is a [`Target`] built from an
//! [`EndpointSpec`] like any other model, and only when the configuration has an `llm` stage, so
//! judging stays offline otherwise.

use crate::spec::JudgeChoice;
use aistr_core::ChatRequest;
use aistr_judge::llm::BoxFuture;
use aistr_judge::{Judge, JudgeSpec, LlmBackend, Resources, Rubric};
use aistr_targets::{EndpointSpec, Target};
use std::sync::Arc;

/// A judge that cannot be chosen or built.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JudgeError(pub String);

/// The judge id a new run records for its judge choice: the named configuration, or the default
/// for the installed models (plus `+llm` when a judge model is given). An `+llm` configuration
/// without a judge model, or a judge model with a configuration that has no `llm` stage, is an
/// error rather than a silent surprise.
///
/// # Errors
/// An unknown configuration, a missing or superfluous judge model, or a configuration needing the
/// MiniLM model when it is not installed.
pub fn judge_id(choice: &JudgeChoice, resources: &Resources) -> Result<String, JudgeError> {
    let name = match &choice.name {
        Some(n) => n.clone(),
        None if choice.model.is_some() => format!("{}+llm", resources.default_judge_name()),
        None => resources.default_judge_name().to_owned(),
    };
    let spec = JudgeSpec::parse(&name).map_err(|e| JudgeError(e.to_string()))?;
    if spec.llm && choice.model.is_none() {
        return Err(JudgeError(format!(
            "judge `{name}` has an LLM stage but no judge model is configured (--judge-target openai|local)"
        )));
    }
    if !spec.llm && choice.model.is_some() {
        return Err(JudgeError(format!(
            "a judge model is configured but judge `{name}` has no LLM stage (use `{}+llm`)",
            spec.name()
        )));
    }
    if let Some(r) = &choice.rubric {
        rubric(Some(r))?;
        if choice.model.is_none() {
            return Err(JudgeError(
                "a judge rubric needs a judge model (--judge-target openai|local)".into(),
            ));
        }
    }
    if spec.needs_embedder() && !resources.embedder_available() {
        return Err(JudgeError(format!(
            "judge `{name}` needs the MiniLM model, not found in {} (install it with `aistr models install`)",
            resources.minilm_dir().display()
        )));
    }
    Ok(spec.id())
}

/// The judge a run was planned with, rebuilt from its recorded id and judge choice. A judge model
/// is only built when the configuration has an `llm` stage.
///
/// # Errors
/// The recorded id does not parse, or the judge or its model cannot be built.
pub fn judge_for_run(id: &str, choice: &JudgeChoice) -> Result<Arc<dyn Judge>, JudgeError> {
    let spec = JudgeSpec::from_id(id).map_err(|e| JudgeError(format!("the judge of this run: {e}")))?;
    let name = spec.name();
    let llm = match (&choice.model, spec.llm) {
        (Some(model), true) => Some(llm_backend(model)?),
        _ => None,
    };
    let resources = Resources::offline()
        .with_llm(llm)
        .with_llm_rubric(rubric(choice.rubric.as_deref())?);
    aistr_judge::build(&name, &resources).map_err(|e| JudgeError(format!("judge `{id}` of this run: {e}")))
}

/// The LLM judge's rubric by name (`None` = aistr's own).
///
/// # Errors
/// An unknown rubric name.
pub fn rubric(name: Option<&str>) -> Result<Rubric, JudgeError> {
    match name {
        None => Ok(Rubric::Aistr),
        Some(n) => Rubric::parse(n)
            .ok_or_else(|| JudgeError(format!("unknown judge rubric `{n}` (aistr, jbb, harmbench)"))),
    }
}

/// The LLM-judge backend for a judge model's endpoint.
///
/// # Errors
/// The endpoint cannot be built (bad URL, missing key variable, model file not loadable).
pub fn llm_backend(model: &EndpointSpec) -> Result<Arc<dyn LlmBackend>, JudgeError> {
    let target = model
        .build()
        .map_err(|e| JudgeError(format!("cannot build the judge model: {e}")))?;
    Ok(Arc::new(TargetBackend(target)))
}

/// A [`Target`] used as the LLM-judge backend.
pub struct TargetBackend(pub Arc<dyn Target>);

impl LlmBackend for TargetBackend {
    fn name(&self) -> String {
        let i = self.0.info();
        format!("{}:{}", i.kind, i.model)
    }

    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            self.0
                .chat(request)
                .await
                .map(|r| r.text)
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aistr_targets::EndpointKind;

    fn choice(name: Option<&str>, model: bool) -> JudgeChoice {
        JudgeChoice {
            name: name.map(str::to_owned),
            model: model.then(|| EndpointSpec::openai("http://127.0.0.1:9/v1", "jm")),
            rubric: None,
        }
    }

    #[test]
    fn judge_ids_follow_the_choice_and_refuse_inconsistent_ones() {
        let offline = Resources::offline().with_minilm_dir(Some("/nonexistent".into()));
        // The default (learned) needs no installed model: its weights are compiled in.
        assert_eq!(judge_id(&choice(None, false), &offline).unwrap(), "learned-v2");
        assert_eq!(judge_id(&choice(None, true), &offline).unwrap(), "learned+llm-v2");
        assert_eq!(
            judge_id(&choice(Some("rules-v0"), false), &offline).unwrap(),
            "rules-v0"
        );
        for (c, message) in [
            (choice(Some("rules+llm"), false), "no judge model is configured"),
            (choice(Some("rules"), true), "has no LLM stage"),
            (choice(Some("rules+magic"), false), "unknown judge configuration"),
            (choice(Some("embedded"), false), "needs the MiniLM model"),
            (
                JudgeChoice {
                    rubric: Some("jbb".into()),
                    ..choice(Some("rules"), false)
                },
                "needs a judge model",
            ),
            (
                JudgeChoice {
                    rubric: Some("gpt4".into()),
                    ..choice(Some("rules+llm"), true)
                },
                "unknown judge rubric",
            ),
        ] {
            let e = judge_id(&c, &offline).unwrap_err().to_string();
            assert!(e.contains(message), "{e}");
        }
    }

    #[test]
    fn a_run_judge_is_rebuilt_from_its_id_and_builds_a_model_only_for_llm() {
        let j = judge_for_run("rules-v1", &choice(None, true)).unwrap();
        assert_eq!(j.id(), "rules-v1");
        assert_eq!(
            judge_for_run("rules-v0", &choice(None, false)).unwrap().id(),
            "rules-v0"
        );
        assert!(judge_for_run("rules+llm-v1", &choice(None, false)).is_err());
        let local_missing = JudgeChoice {
            name: None,
            model: Some(EndpointSpec {
                model: Some("/nonexistent/model.gguf".into()),
                ..EndpointSpec::of_kind(EndpointKind::Local)
            }),
            rubric: None,
        };
        assert!(judge_for_run("rules+llm-v1", &local_missing).is_err());
        assert!(
            judge_for_run("rules-v1", &local_missing).is_ok(),
            "no llm stage: nothing loaded"
        );
        let jbb = JudgeChoice {
            rubric: Some("jbb".into()),
            ..choice(None, true)
        };
        assert_eq!(judge_id(&jbb, &Resources::offline()).unwrap(), "learned+llm-v2");
        assert!(judge_for_run("learned+llm-v2", &jbb).is_ok());
    }

    #[test]
    fn a_run_judged_by_an_older_version_is_not_resumed_with_this_builds_weights() {
        let offline = choice(None, false);
        assert_eq!(judge_for_run("learned-v2", &offline).unwrap().id(), "learned-v2");
        let e = judge_for_run("learned-v1", &offline)
            .err()
            .expect("older version refused")
            .0;
        assert!(
            e.contains("`learned-v1`") && e.contains("`learned-v2`") && e.contains("aistr judge rerun"),
            "{e}"
        );
        assert!(judge_for_run("rules-v2", &offline).is_err(), "no such version");
    }
}
