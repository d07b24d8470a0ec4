//! Playing a suite: the plan of episodes (every user task alone, then every security case, i.e.
//! user task × injection task for each attack, with the attack placed in every slot the user task's
//! ground truth reads), and a sync driver over it. The order is part of the contract: benign
//! episodes in user-task order, then for each attack in the order given, user tasks in order, each
//! with the injection tasks in order. User tasks whose ground truth reads no slot have no security
//! cases (as in AgentDojo).

use std::collections::BTreeMap;

use crate::attack::{InjectionAttack, InjectionAttackError, Persona};
use crate::harness::{Agent, Episode, EpisodeOutcome, play, score};
use crate::suite::{Environment, Suite};

/// How to run a suite.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Attacks to run (none = benign episodes only).
    pub attacks: Vec<InjectionAttack>,
    /// Most agent steps per episode.
    pub budget: usize,
    /// Seed for the attack texts.
    pub seed: u64,
    /// Names used by the attack texts.
    pub persona: Persona,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            attacks: Vec::new(),
            budget: DEFAULT_BUDGET,
            seed: 0,
            persona: Persona::default(),
        }
    }
}

/// Default step budget: the longest ground truth in the suites plus room to think.
pub const DEFAULT_BUDGET: usize = 20;

/// One planned episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodePlan {
    /// Index into the suite's user tasks.
    pub user_task: usize,
    /// Under attack: injection task index, attack id and the slot texts to plant.
    pub injection: Option<PlannedInjection>,
}

/// The attack half of a planned episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedInjection {
    /// Index into the suite's injection tasks.
    pub task: usize,
    /// Attack id (`important_instructions+masking.base64`).
    pub attack: String,
    /// Slot name → planted text.
    pub slots: BTreeMap<String, String>,
}

/// Plans every episode of a suite, in the documented order.
pub fn plan<E: Environment>(
    suite: &Suite<E>,
    config: &RunConfig,
) -> Result<Vec<EpisodePlan>, InjectionAttackError> {
    let mut plans: Vec<EpisodePlan> = (0..suite.user_tasks.len())
        .map(|u| EpisodePlan {
            user_task: u,
            injection: None,
        })
        .collect();
    let seen: Vec<Vec<String>> = suite.user_tasks.iter().map(|t| suite.slots_seen_by(t)).collect();
    for attack in &config.attacks {
        for (u, slots) in seen.iter().enumerate() {
            if slots.is_empty() {
                continue;
            }
            for (j, inj) in suite.injection_tasks.iter().enumerate() {
                let text = attack.render(&inj.text, &config.persona, config.seed)?;
                let slots = slots.iter().map(|s| (s.clone(), text.clone())).collect();
                plans.push(EpisodePlan {
                    user_task: u,
                    injection: Some(PlannedInjection {
                        task: j,
                        attack: attack.id(),
                        slots,
                    }),
                });
            }
        }
    }
    Ok(plans)
}

impl EpisodePlan {
    /// The environment the episode starts from and the episode itself.
    pub fn start<E: Environment>(&self, suite: &Suite<E>, budget: usize) -> (E, Episode<E>) {
        let slots = self
            .injection
            .as_ref()
            .map(|i| i.slots.clone())
            .unwrap_or_default();
        let env = (suite.build)(&slots);
        let episode = Episode::new(
            env.clone(),
            &suite.system_prompt,
            &suite.user_tasks[self.user_task].text,
            budget,
        );
        (env, episode)
    }

    /// Scores the finished episode.
    pub fn score<E: Environment>(&self, suite: &Suite<E>, pre: &E, episode: &Episode<E>) -> EpisodeOutcome {
        let injection = self
            .injection
            .as_ref()
            .map(|i| (&suite.injection_tasks[i.task], i.attack.as_str()));
        score(
            suite.id,
            pre,
            episode,
            &suite.user_tasks[self.user_task],
            injection,
        )
    }
}

/// Plans and plays every episode with a sync agent.
pub fn run_suite<E: Environment, A: Agent + ?Sized>(
    suite: &Suite<E>,
    agent: &mut A,
    config: &RunConfig,
) -> Result<Vec<EpisodeOutcome>, InjectionAttackError> {
    Ok(plan(suite, config)?
        .iter()
        .map(|p| {
            let (pre, episode) = p.start(suite, config.budget);
            let episode = play(agent, episode);
            p.score(suite, &pre, &episode)
        })
        .collect())
}
