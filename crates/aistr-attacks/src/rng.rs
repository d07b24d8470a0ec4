//! Deterministic randomness for attacks. A run must be replayable byte for byte from its seed, so
//! attacks never touch a global or OS random source: each application derives its own stream from
//! the run seed, the attack id, the probe id and the position in the chain. The generator is our own
//! SplitMix64 so that an upgrade of a random-number crate can never change the prompts a seed gives.

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, used only to fold strings into the seed (stable across platforms and Rust versions).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h
}

impl Rng {
    /// A stream for one attack application.
    pub(crate) fn derive(seed: u64, attack_id: &str, probe_id: &str, position: usize) -> Self {
        let mut h = mix(seed ^ GOLDEN);
        h = mix(h ^ fnv1a(attack_id));
        h = mix(h ^ fnv1a(probe_id).rotate_left(17));
        h = mix(h ^ position as u64);
        Rng(h)
    }

    /// A stream straight from a seed (tests and helpers).
    #[cfg(test)]
    pub(crate) fn from_seed(seed: u64) -> Self {
        Rng(mix(seed))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0), by multiply-shift, so no modulo bias worth mentioning.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn between(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo {
            lo
        } else {
            lo + self.below(hi - lo + 1)
        }
    }

    /// True with probability `num / den`.
    pub(crate) fn chance(&mut self, num: u64, den: u64) -> bool {
        den != 0 && self.next_u64() % den < num
    }

    /// One element, or `None` for an empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len()))
        }
    }

    /// Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_stream_and_inputs_matter() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::derive(1, "x", "p", 0);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::derive(1, "x", "p", 0);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        for other in [
            Rng::derive(2, "x", "p", 0),
            Rng::derive(1, "y", "p", 0),
            Rng::derive(1, "x", "q", 0),
            Rng::derive(1, "x", "p", 1),
        ] {
            let mut o = other;
            assert_ne!(o.next_u64(), a[0]);
        }
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = Rng::from_seed(9);
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
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut r = Rng::from_seed(3);
        let mut v: Vec<u32> = (0..20).collect();
        r.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
