//! Deterministic randomness for attacks. A run must be replayable byte for byte from its seed, so
//! attacks never touch a global or OS random source: each application draws from its own stream,
//! derived from the run seed, the attack id, the probe id and the position in the chain by
//! [`aistr_core::seed::attack_stream`]. The generator is the workspace's one SplitMix64.

pub(crate) use aistr_core::seed::SplitMix64 as Rng;
