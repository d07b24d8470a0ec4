//! Hallucination tests: how often does a model make things up, checked against ground truth.
//!
//! The attack levels ask whether a model can be made to say something harmful; this crate asks
//! whether what it says is *true*. It holds the pure, synchronous parts of the hallucination test
//! kind; the binary plans, sends and journals.
//!
//! - [`corpus`]: the chinese-poetry corpus (57,607 Tang shi, 21,050 Song ci), normalised and
//!   indexed by clause; [`normalize`]: the OpenCC `t2s` + variant folding both sides go through.
//! - [`verify`]: the quotation verifier (verbatim / misquoted / misattributed / fabricated, with
//!   the corpus evidence); [`evalset`]: its labelled evaluation set, generated from the corpus.
//! - [`probes`]: seeded probe generators with ground truth (recite, continue, name the poet or
//!   poem, traps, the baby-name case) and [`score`]: the verdict of an answer to one.
//! - [`truthfulqa`], [`consistency`] (SelfCheckGPT-style), [`rag`] (faithfulness to a context).
//! - [`labels`]: `judge eval --task hallucination`; [`similarity`]: the sentence measures.
//! - [`suite`]: the probe sets a scan sends and the judge of their answers.
//! - [`verdict`]: `grounded | hallucinated | abstained | unscored`; [`abstain`]: abstention
//!   detection in English and Chinese.

pub mod abstain;
pub mod consistency;
pub mod corpus;
mod error;
pub mod evalset;
pub mod labels;
pub mod normalize;
pub mod probes;
pub mod rag;
pub mod score;
pub mod similarity;
pub mod suite;
pub mod truthfulqa;
pub mod verdict;
pub mod verify;

pub use error::HalluError;
pub use verdict::{Evidence, HalluCounts, HalluLabel, HalluVerdict};
