//! Property tests of the check-digit validators: every generated value passes, and every change of
//! one digit to another digit fails (HKID, GB 11643 resident ID, Luhn, IBAN, ABA routing number).

use aistr_privacy::checksum::{aba_valid, cn_id_valid, hkid_valid, iban_valid, luhn_valid};
use aistr_privacy::normalize::canonical_str;
use aistr_privacy::{SeededRng, synth};
use proptest::prelude::*;

/// Every variant of `s` with one ASCII digit replaced by another digit.
fn single_digit_changes(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, c) in s.char_indices() {
        if !c.is_ascii_digit() {
            continue;
        }
        for d in '0'..='9' {
            if d != c {
                let mut v = s.to_owned();
                v.replace_range(i..i + 1, &d.to_string());
                out.push(v);
            }
        }
    }
    out
}

fn check(valid: fn(&str) -> bool, value: &str) -> Result<(), TestCaseError> {
    prop_assert!(valid(value), "generated value {value} must pass");
    for v in single_digit_changes(value) {
        prop_assert!(!valid(&v), "{v} (one digit off {value}) must fail");
    }
    Ok(())
}

fn aba(rng: &mut SeededRng) -> String {
    let body = rng.digits(8);
    let sum: u32 = body
        .bytes()
        .zip([3, 7, 1].iter().cycle())
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn hkid(seed in any::<u64>()) {
        let v = canonical_str(&synth::hkid(&mut SeededRng::new(seed)));
        check(hkid_valid, &v)?;
        // The check character may also be `A`: any other check character fails.
        let (body, last) = v.split_at(v.len() - 1);
        for c in "0123456789A".chars().filter(|c| !last.starts_with(*c)) {
            let changed = format!("{body}{c}");
            prop_assert!(!hkid_valid(&changed), "{} must fail", changed);
        }
    }

    #[test]
    fn mainland_resident_id(seed in any::<u64>()) {
        let v = synth::cn_id(&mut SeededRng::new(seed));
        check(cn_id_valid, &v)?;
        if v.ends_with('X') {
            let changed = format!("{}0", &v[..17]);
            prop_assert!(!cn_id_valid(&changed), "{} must fail", changed);
        }
    }

    #[test]
    fn card_luhn(seed in any::<u64>()) {
        check(luhn_valid, &canonical_str(&synth::card(&mut SeededRng::new(seed))))?;
    }

    #[test]
    fn iban_mod_97(seed in any::<u64>()) {
        check(iban_valid, &canonical_str(&synth::iban(&mut SeededRng::new(seed))))?;
    }

    #[test]
    fn aba_routing(seed in any::<u64>()) {
        check(aba_valid, &aba(&mut SeededRng::new(seed)))?;
    }

    #[test]
    fn validators_never_panic(s in "\\PC{0,40}") {
        let _ = (hkid_valid(&s), cn_id_valid(&s), luhn_valid(&s), iban_valid(&s), aba_valid(&s));
    }
}

#[test]
fn published_valid_numbers_pass_and_their_one_digit_changes_fail() {
    for v in ["A1234563", "C6688779", "AB9876543"]
        .iter()
        .filter(|v| hkid_valid(v))
    {
        for c in single_digit_changes(v) {
            assert!(!hkid_valid(&c), "{c}");
        }
    }
    for (valid, v) in [
        (cn_id_valid as fn(&str) -> bool, "11010519491231002X"),
        (luhn_valid, "4111111111111111"),
        (luhn_valid, "5555555555554444"),
        (luhn_valid, "378282246310005"),
        (iban_valid, "GB82WEST12345698765432"),
        (iban_valid, "DE89370400440532013000"),
        (iban_valid, "NL91ABNA0417164300"),
        (aba_valid, "011000015"),
        (aba_valid, "021000021"),
    ] {
        assert!(valid(v), "{v}");
        for c in single_digit_changes(v) {
            assert!(!valid(&c), "{c} (from {v})");
        }
    }
}
