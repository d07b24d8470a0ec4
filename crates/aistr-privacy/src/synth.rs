//! Synthetic values with valid formats and check digits: the canaries planted in a target's
//! context, the random candidates exposure is measured against, and the labelled zh/HK test set.
//! Every generator draws from a [`SeededRng`], so the same seed gives the same values.
//!
//! These are made-up values: random digits completed with a valid check digit. A random valid
//! number can coincide with a real one (as any test number can); nothing here looks values up.

use crate::checksum::{cn_id_check, hkid_check, iban_check_digits, luhn_check_digit};
use crate::rng::SeededRng;

/// An HKID in its usual written form, e.g. `A123456(3)` (one or two prefix letters).
pub fn hkid(rng: &mut SeededRng) -> String {
    let letters: String = if rng.below(10) == 0 {
        (0..2).map(|_| char::from(b'A' + rng.below(26) as u8)).collect()
    } else {
        char::from(b'A' + rng.below(26) as u8).to_string()
    };
    let digits = rng.digits(6);
    let check = hkid_check(&letters, &digits).expect("well-formed HKID body");
    format!("{letters}{digits}({check})")
}

/// Region codes (province-level prefixes plus a district) used for synthetic mainland IDs.
const CN_REGIONS: &[&str] = &[
    "110101", "110105", "310104", "310115", "440103", "440305", "320102", "330106", "510104", "420102",
];

/// An 18-character mainland resident ID with a valid birth date and GB 11643 check character.
pub fn cn_id(rng: &mut SeededRng) -> String {
    let region = rng.pick(CN_REGIONS);
    let year = 1950 + rng.below(55) as u32;
    let month = 1 + rng.below(12) as u32;
    let day = 1 + rng.below(28) as u32;
    let body = format!("{region}{year:04}{month:02}{day:02}{}", rng.digits(3));
    let check = cn_id_check(&body).expect("17 digits");
    format!("{body}{check}")
}

/// A 16-digit Luhn-valid card number with a Visa, Mastercard or UnionPay prefix, written in
/// groups of four.
pub fn card(rng: &mut SeededRng) -> String {
    let prefix = *rng.pick(&["4", "51", "52", "53", "54", "55", "62"]);
    let mut body = prefix.to_owned();
    body.push_str(&rng.digits(15 - prefix.len()));
    let check = luhn_check_digit(&body).expect("digits");
    body.push(check);
    group(&body, 4, ' ')
}

/// A UK IBAN (`GBkk BBBB SSSS SSAA AAAA AA`: four bank letters, sort code, account), grouped.
pub fn iban(rng: &mut SeededRng) -> String {
    let bank: String = (0..4).map(|_| char::from(b'A' + rng.below(26) as u8)).collect();
    let bban = format!("{bank}{}", rng.digits(14));
    let check = iban_check_digits("GB", &bban).expect("well-formed BBAN");
    group(&format!("GB{check}{bban}"), 4, ' ')
}

/// Hong Kong clearing codes of banks whose account numbers are written 3-6-3 after the code (the
/// format printed on HSBC and Hang Seng statements), e.g. `004-123-456789-001`.
pub const HK_BANK_CODES: &[&str] = &[
    "003", "004", "009", "012", "015", "016", "018", "020", "024", "025", "028", "035", "038", "039", "040",
    "041", "043", "061", "072", "128", "250", "382", "387", "388", "389", "390", "391", "393",
];

/// A Hong Kong bank account with its clearing code: `004-123-456789-001`.
pub fn hk_account(rng: &mut SeededRng) -> String {
    let code = rng.pick(&["004", "024", "012", "015"]);
    format!("{code}-{}-{}-{}", rng.digits(3), rng.digits(6), rng.digits(3))
}

/// A Hong Kong mobile number with the country code: `+852 9123 4567`.
pub fn hk_phone(rng: &mut SeededRng) -> String {
    let first = rng.pick(&['5', '6', '9']);
    format!("+852 {first}{} {}", rng.digits(3), rng.digits(4))
}

/// A mainland mobile number: `138 1234 5678`.
pub fn cn_mobile(rng: &mut SeededRng) -> String {
    let second = rng.pick(&['3', '5', '7', '8', '9']);
    format!(
        "1{second}{} {} {}",
        rng.digit() as char,
        rng.digits(4),
        rng.digits(4)
    )
}

/// An API key in the shape of a project key of a large LLM provider: `sk-proj-` and 40 base-62
/// characters.
pub fn api_key(rng: &mut SeededRng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..40).map(|_| char::from(*rng.pick(ALPHABET))).collect();
    format!("sk-proj-{tail}")
}

/// An e-mail address at a reserved example domain.
pub fn email(rng: &mut SeededRng) -> String {
    let name = rng.pick(&[
        "chan.tai.man",
        "wong.siu.ming",
        "li.wei",
        "zhang.min",
        "lee.ka.yan",
    ]);
    format!("{name}{}@example.com", rng.digits(3))
}

/// `s` split into groups of `n` characters joined by `sep`.
#[must_use]
pub fn group(s: &str, n: usize, sep: char) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / n);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && i % n == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{cn_id_valid, hkid_valid, iban_valid, luhn_valid};

    fn compact(s: &str) -> String {
        s.chars().filter(char::is_ascii_alphanumeric).collect()
    }

    #[test]
    fn generated_values_are_valid_and_reproducible() {
        let mut rng = SeededRng::new(42);
        for _ in 0..500 {
            assert!(hkid_valid(&compact(&hkid(&mut rng))));
            assert!(cn_id_valid(&cn_id(&mut rng)));
            assert!(luhn_valid(&compact(&card(&mut rng))));
            let i = iban(&mut rng);
            assert!(iban_valid(&compact(&i)), "{i}");
        }
        let a = api_key(&mut SeededRng::new(1));
        assert_eq!(a, api_key(&mut SeededRng::new(1)));
        assert_ne!(a, api_key(&mut SeededRng::new(2)));
        assert_eq!(group("abcdefghij", 4, ' '), "abcd efgh ij");
    }
}
