//! Check digits and structural rules of identifiers. A number that merely *looks* like an ID is
//! often a phone number, an order number or a date; the check digit is what tells them apart, so
//! the detector keeps a candidate only when its checksum holds. Each validator takes the compact
//! form (separators removed, ASCII); each `*_check` function computes the check character, which
//! the synthetic-value generators use.
//!
//! - Luhn (payment cards, UnionPay bank cards): the `luhn3` crate.
//! - IBAN (ISO 13616, mod 97-10, plus each country's BBAN structure): the `iban_validate` crate.
//!   Generating an IBAN needs the check digits of a made-up BBAN, which that crate does not offer,
//!   so [`iban_check_digits`] computes them (ISO 7064 mod 97-10).
//! - HKID (Hong Kong identity card) and GB 11643-1999 (mainland resident ID, 18 characters): no
//!   maintained crate exists for either, so they are written here from the published rules.
//! - ABA routing numbers (3-7-1 weights mod 10) and US SSN structure (area, group, serial).

/// Whether `digits` (ASCII digits only, at least 2) passes the Luhn check.
#[must_use]
pub fn luhn_valid(digits: &str) -> bool {
    digits.len() >= 2 && digits.bytes().all(|b| b.is_ascii_digit()) && luhn3::valid(digits.as_bytes())
}

/// The Luhn check digit to append to `body` (ASCII digits).
#[must_use]
pub fn luhn_check_digit(body: &str) -> Option<char> {
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    luhn3::checksum(body.as_bytes()).map(char::from)
}

/// Value of an HKID character: digits as themselves, `A`..`Z` as 10..35, a space (the missing
/// first letter of a one-letter prefix) as 36.
fn hkid_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b' ' => Some(36),
        _ => None,
    }
}

/// The HKID check character (`0`..`9` or `A`) for a prefix of one or two uppercase letters and six
/// digits: weights 9..2 over the eight positions (a one-letter prefix is padded with a space worth
/// 36), and the check makes the weighted sum divisible by 11 (10 is written `A`).
#[must_use]
pub fn hkid_check(letters: &str, digits: &str) -> Option<char> {
    let ok_letters = matches!(letters.len(), 1 | 2) && letters.bytes().all(|b| b.is_ascii_uppercase());
    if !ok_letters || digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{letters:>2}{digits}");
    let mut sum = 0u32;
    for (i, c) in padded.bytes().enumerate() {
        sum += hkid_value(c)? * (9 - i as u32);
    }
    Some(match (11 - sum % 11) % 11 {
        10 => 'A',
        d => char::from_digit(d, 10)?,
    })
}

/// Whether a compact HKID (`A1234563`, `AB9876543`: letters, six digits, check) is valid.
#[must_use]
pub fn hkid_valid(compact: &str) -> bool {
    let n = compact.len();
    if !(8..=9).contains(&n) || !compact.is_ascii() {
        return false;
    }
    let (letters, rest) = compact.split_at(n - 7);
    let (digits, check) = rest.split_at(6);
    hkid_check(letters, digits).is_some_and(|c| check.len() == 1 && check.starts_with(c))
}

/// GB 11643-1999 weights: 2^(17-i) mod 11 for the 17 body digits.
const CN_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The GB 11643-1999 check character (`0`..`9` or `X`) of 17 body digits (ISO 7064 MOD 11-2).
#[must_use]
pub fn cn_id_check(body: &str) -> Option<char> {
    if body.len() != 17 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .zip(CN_ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(match (12 - sum % 11) % 11 {
        10 => 'X',
        d => char::from_digit(d, 10)?,
    })
}

/// Whether `y`-`m`-`d` is a calendar date.
#[must_use]
pub fn is_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Whether an 18-character mainland resident ID number is valid: a region code starting 1-8, a
/// birth date between 1900 and 2099, and the GB 11643-1999 check character (`x` accepted for `X`).
#[must_use]
pub fn cn_id_valid(id: &str) -> bool {
    if id.len() != 18 || !id.is_ascii() {
        return false;
    }
    let (body, check) = id.split_at(17);
    if !matches!(body.as_bytes()[0], b'1'..=b'8') {
        return false;
    }
    let num = |r: std::ops::Range<usize>| body.get(r).and_then(|s| s.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(6..10), num(10..12), num(12..14)) else {
        return false;
    };
    if !(1900..=2099).contains(&y) || !is_date(y, m, d) {
        return false;
    }
    cn_id_check(body).is_some_and(|c| check.eq_ignore_ascii_case(&c.to_string()))
}

/// Whether a compact IBAN is valid: country, length, BBAN structure and mod 97-10 check digits.
#[must_use]
pub fn iban_valid(compact: &str) -> bool {
    compact.parse::<iban::Iban>().is_ok()
}

/// The two ISO 7064 mod 97-10 check digits of an IBAN with `country` (two uppercase letters) and
/// `bban` (uppercase letters and digits).
#[must_use]
pub fn iban_check_digits(country: &str, bban: &str) -> Option<String> {
    let ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) || !ok(bban) {
        return None;
    }
    // Rearranged: BBAN, country, "00"; letters as 10..35; the check is 98 - (that mod 97).
    let mut rem: u32 = 0;
    for b in bban.bytes().chain(country.bytes()).chain(*b"00") {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    Some(format!("{:02}", 98 - rem))
}

/// Whether nine digits form an ABA routing number: weights 3, 7, 1 repeated, sum divisible by 10.
#[must_use]
pub fn aba_valid(digits: &str) -> bool {
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .zip([3, 7, 1].iter().cycle())
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    sum.is_multiple_of(10) && digits != "000000000"
}

/// Whether nine digits can be a US social security number (no checksum exists: area not 000, 666
/// or 900-999, group not 00, serial not 0000).
#[must_use]
pub fn ssn_plausible(digits: &str) -> bool {
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let area = &digits[..3];
    area != "000"
        && area != "666"
        && !area.starts_with('9')
        && &digits[3..5] != "00"
        && &digits[5..] != "0000"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples() {
        // The HKID example of the Immigration Department's explainers: A123456(3).
        assert_eq!(hkid_check("A", "123456"), Some('3'));
        assert!(hkid_valid("A1234563"));
        assert!(!hkid_valid("A1234564"));
        // GB 11643 example from the standard's appendix: 11010519491231002X.
        assert!(cn_id_valid("11010519491231002X"));
        assert!(cn_id_valid("11010519491231002x"));
        assert!(!cn_id_valid("110105194912310021"));
        assert!(!cn_id_valid("11010519491331002X"), "month 13");
        // ISO 13616 examples.
        assert!(iban_valid("GB82WEST12345698765432"));
        assert!(iban_valid("DE89370400440532013000"));
        assert!(!iban_valid("GB82WEST12345698765433"));
        assert_eq!(
            iban_check_digits("GB", "WEST12345698765432").as_deref(),
            Some("82")
        );
        assert_eq!(
            iban_check_digits("DE", "370400440532013000").as_deref(),
            Some("89")
        );
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("4111111111111121"));
        assert_eq!(luhn_check_digit("411111111111111"), Some('1'));
        assert!(aba_valid("011000015"));
        assert!(!aba_valid("011000016"));
        assert!(ssn_plausible("123456789"));
        assert!(!ssn_plausible("666456789") && !ssn_plausible("900456789") && !ssn_plausible("123006789"));
    }

    #[test]
    fn dates() {
        assert!(is_date(2000, 2, 29) && !is_date(1900, 2, 29) && is_date(2024, 2, 29));
        assert!(!is_date(2023, 4, 31) && !is_date(2023, 0, 1));
    }
}
