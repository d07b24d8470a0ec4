//! Static, bounded, fail-closed scanning of model files, and a CycloneDX AI-BOM (issue 7,
//! AI-STR-03).
//!
//! Nothing in a scanned file is ever executed or unpickled. Each file's format is sniffed from
//! its bytes (never the extension) and handed to a parser of our own:
//!
//! | format | what is checked |
//! |---|---|
//! | pickle (raw, joblib, `data.pkl`, legacy `torch.save`, npy object arrays) | every import (GLOBAL, STACK_GLOBAL through the memo, INST, EXT*) against an allowlist + denylist; call sites (REDUCE, NEWOBJ, OBJ, BUILD) |
//! | zip (PyTorch `.pt`/`.bin`, `.npz`, `.keras`, generic) | traversal, absolute paths, symlinks, encryption, flag/CRC/directory tricks, ratio and size caps, nesting depth |
//! | tar (legacy PyTorch) | links and traversal; every pickle of the `storages`/`tensors` layout |
//! | safetensors | header length, JSON, dtypes, offsets vs shapes, overlaps and gaps, `__metadata__` strings |
//! | GGUF | own bounded reader, tensor infos vs ggml block sizes, `tokenizer.chat_template` injection lint |
//! | ONNX | external-data paths, custom operator domains, graph size |
//! | Keras | Lambda layers, custom objects, `safe_mode`; `.h5` by byte heuristic (always inconclusive unless a marker is found) |
//!
//! **Verdicts.** `malicious` (a high/critical finding), `suspicious` (a medium finding, e.g. an
//! import not on the allowlist), `inconclusive` (the scan did not finish: limit hit, parse
//! error, truncated, unknown or unsupported format) and `clean` (parsed completely, nothing
//! outside the allowlist). The precedence is malicious > suspicious > inconclusive > clean, and
//! a container takes the worst verdict of its members.
//!
//! **Running** ([`run_modelscan`], [`run_bom`]) returns the worst verdict or the BOM outcome; the
//! `aistr` binary owns the flags and maps those outcomes to its exit codes (docs/cli.md).
//!
//! **Bounds** ([`Limits`]): opcodes, string bytes, stack/memo sizes, retained bytes, archive
//! entries, nesting depth, decompressed bytes and ratio, header bytes, array lengths, graph
//! nodes and wall-clock time. Lengths read from a file never size an allocation.

pub mod bom;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod gguf;
pub mod keras;
pub mod model;
pub mod npy;
pub mod onnx;
pub mod pickle;
pub mod policy;
pub mod render;
pub mod run;
pub mod safetensors;
pub mod scan;
mod src;
pub mod tar;
pub mod zip;

pub use bom::{BomMismatch, build_bom, verify_bom};
pub use error::ModelscanError;
pub use model::{FileReport, Finding, Format, Limits, ScanReport, ScanStatus, Severity, Verdict};
pub use render::{render_json, render_sarif, render_text};
pub use run::{BomJob, BomOutcome, ModelscanOptions, OutputFormat, run_bom, run_modelscan};
pub use scan::{ModelCard, ScanOutput, scan_bytes, scan_file, scan_paths, sniff};
