//! One clap group for "a model endpoint", flattened wherever a command needs one: the target
//! (`--target`, `--model`, `--base-url`, `--api-key-env`), the L3 attacker (`--attacker`,
//! `--attacker-*`) and the LLM judge (`--judge-target`, `--judge-*`; in `judge eval` also spelled
//! `--llm-*`). The flag names are contracts, so each role supplies its own; the parsing, the
//! values and how they land in an [`EndpointSpec`] are the same for all.

use aistr_targets::{EndpointKind, EndpointSpec};
use clap::ArgMatches;
use clap::builder::{Arg, ArgAction, Command};
use clap::{Args, FromArgMatches, ValueEnum};
use std::marker::PhantomData;

/// The kinds of model, as flag values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai,
    /// The embedded SmolLM2-135M-Instruct model, on the CPU.
    Local,
    /// Anthropic's Messages API.
    Anthropic,
    /// A generic HTTP application (its `[target.http]` table, or `--target-config FILE`).
    Http,
}

impl From<KindArg> for EndpointKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Openai => EndpointKind::Openai,
            KindArg::Local => EndpointKind::Local,
            KindArg::Anthropic => EndpointKind::Anthropic,
            KindArg::Http => EndpointKind::Http,
        }
    }
}

/// One flag of the group: its long name, an alias, its help, and an argument it conflicts with.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// Long name (also the clap id).
    pub long: &'static str,
    /// Another accepted spelling.
    pub alias: Option<&'static str>,
    /// Help line.
    pub help: &'static str,
    /// An argument of the same command that cannot be combined with this one.
    pub conflicts_with: Option<&'static str>,
}

/// Which endpoint a group describes: the flag names a role answers to.
pub trait EndpointRole: 'static {
    /// The kind flag (`openai` or `local`).
    const KIND: Flag;
    /// Model name (openai) or GGUF path (local).
    const MODEL: Flag;
    /// Base URL up to `/v1`.
    const BASE_URL: Flag;
    /// Name of the variable holding the API key.
    const API_KEY_ENV: Flag;
}

/// The endpoint flags of one role, as given (None = not given).
pub struct EndpointArgs<R> {
    /// Which kind of model.
    pub kind: Option<EndpointKind>,
    /// Model name or GGUF path.
    pub model: Option<String>,
    /// Base URL.
    pub base_url: Option<String>,
    /// API key variable name.
    pub api_key_env: Option<String>,
    role: PhantomData<R>,
}

impl<R> Default for EndpointArgs<R> {
    fn default() -> Self {
        Self {
            kind: None,
            model: None,
            base_url: None,
            api_key_env: None,
            role: PhantomData,
        }
    }
}

impl<R> Clone for EndpointArgs<R> {
    fn clone(&self) -> Self {
        Self {
            kind: self.kind,
            model: self.model.clone(),
            base_url: self.base_url.clone(),
            api_key_env: self.api_key_env.clone(),
            role: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for EndpointArgs<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointArgs")
            .field("kind", &self.kind)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key_env", &self.api_key_env)
            .finish()
    }
}

impl<R> EndpointArgs<R> {
    /// True when any flag of the group was given.
    #[cfg(test)]
    pub fn any(&self) -> bool {
        self.kind.is_some() || self.model.is_some() || self.base_url.is_some() || self.api_key_env.is_some()
    }

    /// Applies the flags over a configured endpoint: a different kind starts from that kind's
    /// defaults (settings of another kind of model do not carry over), then each given value
    /// replaces the configured one.
    pub fn apply_to(&self, spec: &mut EndpointSpec) {
        if let Some(k) = self.kind
            && k != spec.kind
        {
            *spec = EndpointSpec::of_kind(k);
        }
        for (flag, field) in [
            (&self.model, &mut spec.model),
            (&self.base_url, &mut spec.base_url),
            (&self.api_key_env, &mut spec.api_key_env),
        ] {
            if flag.is_some() {
                field.clone_from(flag);
            }
        }
    }
}

fn arg(flag: Flag, value_name: &'static str) -> Arg {
    let mut a = Arg::new(flag.long)
        .long(flag.long)
        .value_name(value_name)
        .help(flag.help)
        .action(ArgAction::Set);
    if let Some(alias) = flag.alias {
        a = a.visible_alias(alias);
    }
    if let Some(other) = flag.conflicts_with {
        a = a.conflicts_with(other);
    }
    a
}

impl<R: EndpointRole> FromArgMatches for EndpointArgs<R> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        if let Some(k) = m.get_one::<KindArg>(R::KIND.long) {
            self.kind = Some((*k).into());
        }
        for (flag, field) in [
            (R::MODEL, &mut self.model),
            (R::BASE_URL, &mut self.base_url),
            (R::API_KEY_ENV, &mut self.api_key_env),
        ] {
            if let Some(v) = m.get_one::<String>(flag.long) {
                *field = Some(v.clone());
            }
        }
        Ok(())
    }
}

impl<R: EndpointRole> Args for EndpointArgs<R> {
    fn augment_args(cmd: Command) -> Command {
        cmd.arg(arg(R::KIND, "KIND").value_parser(clap::value_parser!(KindArg)))
            .arg(arg(R::MODEL, "NAME"))
            .arg(arg(R::BASE_URL, "URL"))
            .arg(arg(R::API_KEY_ENV, "VAR"))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

const fn flag(long: &'static str, help: &'static str) -> Flag {
    Flag {
        long,
        alias: None,
        help,
        conflicts_with: None,
    }
}

const fn not_on_resume(f: Flag) -> Flag {
    Flag {
        conflicts_with: Some("resume"),
        ..f
    }
}

const fn alias(f: Flag, alias: &'static str) -> Flag {
    Flag {
        alias: Some(alias),
        ..f
    }
}

/// `aistr scan`'s target: `--target`, `--model`, `--base-url`, `--api-key-env`.
pub struct TargetRole;

impl EndpointRole for TargetRole {
    const KIND: Flag = flag("target", "Which kind of target to attack (default: local).");
    const MODEL: Flag = flag("model", "Model name (HTTP targets) or GGUF path (local target).");
    const BASE_URL: Flag = flag("base-url", "Base URL of an OpenAI-compatible API, up to `/v1`.");
    const API_KEY_ENV: Flag = flag(
        "api-key-env",
        "Name of the environment variable that holds the API key.",
    );
}

/// `aistr scan`'s L3 attacker: `--attacker`, `--attacker-*` (fixed when a run is planned).
pub struct AttackerRole;

impl EndpointRole for AttackerRole {
    const KIND: Flag = not_on_resume(flag(
        "attacker",
        "L3 attacker model (for --attacks pair, tap, crescendo, multi-round): which kind of model writes the attacks. Default: the embedded local model.",
    ));
    const MODEL: Flag = not_on_resume(flag(
        "attacker-model",
        "L3 attacker: model name (openai) or GGUF path (local).",
    ));
    const BASE_URL: Flag = not_on_resume(flag(
        "attacker-base-url",
        "L3 attacker: base URL of an OpenAI-compatible API, up to `/v1`.",
    ));
    const API_KEY_ENV: Flag = not_on_resume(flag(
        "attacker-api-key-env",
        "L3 attacker: name of the environment variable that holds the attacker API's key.",
    ));
}

const JUDGE_KIND_HELP: &str = "LLM judge: which kind of model judges the answers (the `+llm` stage). Nothing is sent to any judge model unless this is given.";
const JUDGE_MODEL_HELP: &str = "LLM judge: model name (openai) or GGUF path (local).";
const JUDGE_URL_HELP: &str = "LLM judge: base URL of an OpenAI-compatible API, up to `/v1`.";
const JUDGE_KEY_HELP: &str = "LLM judge: name of the environment variable that holds the judge API's key.";

/// `aistr scan`'s LLM judge: `--judge-target`, `--judge-*`.
pub struct JudgeRole;

impl EndpointRole for JudgeRole {
    const KIND: Flag = not_on_resume(flag("judge-target", JUDGE_KIND_HELP));
    const MODEL: Flag = flag("judge-model", JUDGE_MODEL_HELP);
    const BASE_URL: Flag = flag("judge-base-url", JUDGE_URL_HELP);
    const API_KEY_ENV: Flag = flag("judge-api-key-env", JUDGE_KEY_HELP);
}

/// `aistr judge eval`'s LLM judge: the same `--judge-*` flags, with their older `--llm-*` spellings.
pub struct JudgeEvalRole;

impl EndpointRole for JudgeEvalRole {
    const KIND: Flag = flag("judge-target", JUDGE_KIND_HELP);
    const MODEL: Flag = alias(flag("judge-model", JUDGE_MODEL_HELP), "llm-model");
    const BASE_URL: Flag = alias(flag("judge-base-url", JUDGE_URL_HELP), "llm-base-url");
    const API_KEY_ENV: Flag = alias(flag("judge-api-key-env", JUDGE_KEY_HELP), "llm-api-key-env");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Scan {
        #[command(flatten)]
        target: EndpointArgs<TargetRole>,
        #[command(flatten)]
        attacker: EndpointArgs<AttackerRole>,
        #[arg(long)]
        resume: Option<String>,
    }

    #[derive(Debug, Parser)]
    struct Eval {
        #[command(flatten)]
        judge: EndpointArgs<JudgeEvalRole>,
    }

    #[test]
    fn each_role_answers_to_its_own_flags_and_fills_the_same_spec() {
        let s = Scan::try_parse_from([
            "x",
            "--target",
            "openai",
            "--base-url",
            "http://t/v1",
            "--model",
            "tm",
            "--attacker-model",
            "am",
            "--attacker",
            "openai",
            "--attacker-api-key-env",
            "K",
        ])
        .unwrap();
        assert_eq!(s.target.kind, Some(EndpointKind::Openai));
        assert_eq!(
            (s.target.model.as_deref(), s.attacker.model.as_deref()),
            (Some("tm"), Some("am"))
        );
        let mut spec = EndpointSpec::default();
        s.attacker.apply_to(&mut spec);
        assert_eq!(spec.kind, EndpointKind::Openai);
        assert_eq!(
            (spec.model.as_deref(), spec.api_key_env.as_deref()),
            (Some("am"), Some("K"))
        );
        assert!(!Scan::try_parse_from(["x"]).unwrap().target.any());
        assert!(
            Scan::try_parse_from(["x", "--resume", "r", "--attacker", "local"]).is_err(),
            "the attacker is fixed when a run is planned"
        );
        assert!(Scan::try_parse_from(["x", "--target", "cloud"]).is_err());
    }

    #[test]
    fn the_llm_spellings_are_aliases_of_the_judge_group() {
        let a = Eval::try_parse_from(["x", "--llm-model", "m", "--llm-base-url", "http://j/v1"]).unwrap();
        let b = Eval::try_parse_from(["x", "--judge-model", "m", "--judge-base-url", "http://j/v1"]).unwrap();
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.judge.base_url.as_deref(), Some("http://j/v1"));
    }

    #[test]
    fn a_new_kind_starts_from_its_defaults() {
        let mut spec = EndpointSpec {
            timeout_secs: 5.0,
            ..EndpointSpec::openai("http://t/v1", "m")
        };
        let args = EndpointArgs::<TargetRole> {
            kind: Some(EndpointKind::Local),
            ..EndpointArgs::default()
        };
        args.apply_to(&mut spec);
        assert_eq!(spec, EndpointSpec::default());
    }
}
