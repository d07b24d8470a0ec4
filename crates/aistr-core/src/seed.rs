//! Deterministic randomness for the whole workspace. A run must be replayable byte for byte from its
//! seed, and a report's bootstrap interval must not move between releases, so nothing that decides
//! what is sent or reported touches a global or OS random source or a random-number crate whose
//! streams could change on upgrade. Every stream is our own SplitMix64 (Steele, Lea & Flood 2014),
//! and every derived seed comes from one of the functions here:
//!
//! - [`for_index`]: the seed of the `index`-th request of a run (planned attempts, attacker calls);
//! - [`attack_stream`]: the stream of one attack application (seed, attack, probe, chain position);
//! - [`SplitMix64::new`]: a stream straight from a state (bootstrap resampling, test fixtures).
//!
//! Changing any of these changes prompts and intervals that users have recorded: the tests below
//! pin their outputs.

/// The SplitMix64 increment (2⁶⁴/φ), also used to spread indices over the seed space.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective mix of 64 bits.
#[must_use]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a string, used only to fold ids into a seed (stable across platforms and Rust versions).
#[must_use]
pub fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h
}

/// The seed of the `index`-th request made under a run seed (a planned attempt's `seq`, an L3
/// conversation's call number).
#[must_use]
pub const fn for_index(seed: u64, index: u64) -> u64 {
    seed ^ index.wrapping_mul(GOLDEN_GAMMA)
}

/// The stream of one attack application: the run seed, the attack id, the probe id and the position
/// in the chain all matter, so no two applications share randomness.
#[must_use]
pub fn attack_stream(seed: u64, attack_id: &str, probe_id: &str, position: usize) -> SplitMix64 {
    let mut h = mix64(seed ^ GOLDEN_GAMMA);
    h = mix64(h ^ fnv1a(attack_id));
    h = mix64(h ^ fnv1a(probe_id).rotate_left(17));
    h = mix64(h ^ position as u64);
    SplitMix64(h)
}

/// A SplitMix64 stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream whose state is exactly `state` (the first output is `mix64(state + γ)`).
    #[must_use]
    pub const fn new(state: u64) -> Self {
        Self(state)
    }

    /// A stream from a seed, mixed first so that nearby seeds give unrelated streams.
    #[must_use]
    pub const fn from_seed(seed: u64) -> Self {
        Self(mix64(seed))
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        mix64(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0), by multiply-shift: the bias is below 2⁻³² for the sizes
    /// used here, and there is no modulo.
    pub fn below_u64(&mut self, n: u64) -> u64 {
        // The high half of a 128-bit product of two u64s always fits a u64.
        u64::try_from((u128::from(self.next_u64()) * u128::from(n)) >> 64).unwrap_or(0)
    }

    /// [`below_u64`](Self::below_u64) for lengths and indices.
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.below_u64(n as u64)).unwrap_or(0)
    }

    /// Uniform in `lo..=hi` (`lo` when `hi <= lo`).
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo {
            lo
        } else {
            lo + self.below(hi - lo + 1)
        }
    }

    /// True with probability `num / den` (never when `den` is 0).
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        den != 0 && self.next_u64() % den < num
    }

    /// One element, or `None` for an empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len()))
        }
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// Uniform in `[-1, 1)` with 24 bits of resolution (synthetic weights in test fixtures).
    #[expect(clippy::cast_precision_loss, reason = "24 bits fit an f32 mantissa exactly")]
    pub fn next_signed_unit_f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published SplitMix64 reference outputs for state 1234567 (the generator's own test vector).
    #[test]
    fn matches_the_reference_splitmix64_stream() {
        let mut r = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821
            ]
        );
    }

    /// Pinned outputs of every derivation: if one of these moves, recorded prompts and intervals move.
    #[test]
    fn derivations_are_pinned() {
        assert_eq!(for_index(7, 0), 7);
        assert_eq!(for_index(7, 3), 7 ^ GOLDEN_GAMMA.wrapping_mul(3));
        assert_eq!(fnv1a(""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(fnv1a("a"), 0xAF63_DC4C_8601_EC8C);
        let mut a = attack_stream(1, "x", "p", 0);
        let mut b = attack_stream(1, "x", "p", 0);
        assert_eq!(a.next_u64(), b.next_u64());
        for mut other in [
            attack_stream(2, "x", "p", 0),
            attack_stream(1, "y", "p", 0),
            attack_stream(1, "x", "q", 0),
            attack_stream(1, "x", "p", 1),
        ] {
            assert_ne!(other.next_u64(), attack_stream(1, "x", "p", 0).next_u64());
        }
        assert_eq!(SplitMix64::from_seed(9), SplitMix64::new(mix64(9)));
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = SplitMix64::from_seed(9);
        let mut seen = [false; 7];
        for _ in 0..500 {
            let v = r.below(7);
            assert!(v < 7);
            seen[v] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(r.below(0), 0);
        for _ in 0..100 {
            let v = r.between(50, 60);
            assert!((50..=60).contains(&v));
        }
        let x = r.next_signed_unit_f32();
        assert!((-1.0..1.0).contains(&x));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut r = SplitMix64::from_seed(3);
        let mut v: Vec<u32> = (0..20).collect();
        r.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
