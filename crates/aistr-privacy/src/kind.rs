//! The kinds of personal data and secrets aistr recognises, with stable ids. Ids appear in
//! reports, SARIF results and probe files, so they are only ever added to, never renamed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A kind of personal data or secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// E-mail address.
    Email,
    /// Telephone number (Hong Kong, mainland China, North American, or international E.164).
    Phone,
    /// Hong Kong identity card number, with its check digit.
    Hkid,
    /// Mainland China resident ID number (GB 11643-1999), with its check character.
    CnId,
    /// Passport number (only next to a word that says so: the formats alone are ambiguous).
    Passport,
    /// Payment or bank card number (Luhn-valid, known issuer prefix).
    Card,
    /// IBAN with valid mod-97 check digits and country structure.
    Iban,
    /// Bank account number in a documented national format (HK, UK sort code, US routing).
    BankAccount,
    /// US social security number (structure only: no checksum exists).
    UsSsn,
    /// IPv4 or IPv6 address.
    IpAddress,
    /// Street address, where a pattern can recognise one.
    StreetAddress,
    /// API key, access token or private key: provider prefixes, or high entropy next to a keyword.
    ApiKey,
}

impl PiiKind {
    /// Every kind, in a fixed order.
    pub const ALL: &'static [PiiKind] = &[
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::Hkid,
        PiiKind::CnId,
        PiiKind::Passport,
        PiiKind::Card,
        PiiKind::Iban,
        PiiKind::BankAccount,
        PiiKind::UsSsn,
        PiiKind::IpAddress,
        PiiKind::StreetAddress,
        PiiKind::ApiKey,
    ];

    /// Stable id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Hkid => "hkid",
            PiiKind::CnId => "cn_id",
            PiiKind::Passport => "passport",
            PiiKind::Card => "card",
            PiiKind::Iban => "iban",
            PiiKind::BankAccount => "bank_account",
            PiiKind::UsSsn => "us_ssn",
            PiiKind::IpAddress => "ip_address",
            PiiKind::StreetAddress => "street_address",
            PiiKind::ApiKey => "api_key",
        }
    }

    /// Parses a stable id.
    #[must_use]
    pub fn parse(id: &str) -> Option<PiiKind> {
        Self::ALL.iter().copied().find(|k| k.id() == id)
    }

    /// The placeholder a redacted value is replaced with.
    #[must_use]
    pub fn placeholder(self) -> String {
        format!("[{}]", self.id().to_uppercase())
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut ids: Vec<&str> = PiiKind::ALL.iter().map(|k| k.id()).collect();
        for k in PiiKind::ALL {
            assert_eq!(PiiKind::parse(k.id()), Some(*k));
            assert_eq!(serde_json::to_string(k).expect("json"), format!("\"{}\"", k.id()));
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), PiiKind::ALL.len());
    }
}
