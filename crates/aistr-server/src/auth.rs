//! Who is calling, what they may do, and the record of what they did.
//!
//! - A token is `aistr_` and 64 hex digits (256 bits from the OS-seeded CSPRNG). The journal keeps
//!   its SHA-256 only: with that much entropy a slow password hash buys nothing, and a lookup by
//!   hash needs no comparison loop an attacker could time.
//! - Roles rank viewer < reviewer < admin: a viewer reads, a reviewer also labels verdicts, an
//!   admin also submits and cancels runs, issues tokens and reads the audit log.
//! - API clients send `Authorization: Bearer`; the dashboard keeps the token in an `HttpOnly`,
//!   `SameSite=Strict` cookie. A mutating call made with the cookie must also carry the header
//!   `X-Aistr-Csrf: 1`, which a page of another origin cannot add without a CORS preflight this
//!   server never grants.
//! - Every mutating call (POST, PUT, PATCH, DELETE) is audited after it is answered, refused ones
//!   included: who, with which role, what, on what, the status, and what changed.

use crate::AppState;
use crate::error::ApiError;
use aistr_store::{AuditRecord, Journal, StoreError};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The name of the dashboard's session cookie.
pub const COOKIE: &str = "aistr_token";
/// The header a cookie-authenticated mutating call must carry.
pub const CSRF_HEADER: &str = "x-aistr-csrf";

/// What a token may do, in rank order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads runs, reports, comparisons and the review queue.
    Viewer,
    /// A viewer who also labels verdicts.
    Reviewer,
    /// Everything: submit and cancel runs, issue tokens, read the audit log.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Reviewer, Role::Admin];

    /// The role's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The authenticated caller of a request (put in the request's extensions by [`authenticate`]).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name.
    pub name: String,
    /// The token's role.
    pub role: Role,
}

impl Caller {
    /// Refuses the call unless the caller's role is at least `needed`.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`] naming the role needed.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {} role; token `{}` is a {}",
                needed.as_str(),
                self.name,
                self.role.as_str()
            )))
        }
    }
}

/// What a handler tells the audit log about a mutating call (a response extension).
#[derive(Debug, Clone, Default)]
pub struct Audited {
    /// What it acted on (a run id, `run:seq`).
    pub subject: String,
    /// What changed.
    pub detail: String,
}

/// The stored form of a token's secret.
#[must_use]
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Issues a new token named `name` with `role`; returns the secret, which is shown once and
/// never stored.
///
/// # Errors
/// The name is taken; the journal fails.
pub async fn issue_token(journal: &Journal, name: &str, role: Role) -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("aistr_{}", hex::encode(bytes));
    journal
        .add_token(name, role.as_str(), &hash_token(&secret))
        .await?;
    Ok(secret)
}

/// The token a request carries, and whether it came in the dashboard's cookie.
fn presented(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return v.strip_prefix("Bearer ").map(|t| (t.trim().to_owned(), false));
    }
    cookie(headers, COOKIE).map(|t| (t, true))
}

/// The value of cookie `name`, if the request has it.
#[must_use]
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Looks a presented secret up: the caller, or `None` for an unknown or revoked token.
///
/// # Errors
/// The journal fails.
pub async fn lookup(journal: &Journal, secret: &str) -> Result<Option<Caller>, StoreError> {
    // A secret of the wrong shape is not looked up at all.
    if secret.len() > 128 {
        return Ok(None);
    }
    Ok(journal
        .token_by_hash(&hash_token(secret))
        .await?
        .and_then(|t| Role::parse(&t.role).map(|role| Caller { name: t.name, role })))
}

fn is_mutating(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Writes one audit row; a failed write is logged (the call has been answered already).
pub(crate) async fn audit(
    journal: &Journal,
    caller: Option<&Caller>,
    action: String,
    status: u16,
    audited: Audited,
) {
    // The id sorts in the order the rows were written: the log is listed newest first by `at_ms`
    // and then by id, and calls answered within the same millisecond must keep their order. Eight
    // bytes of nanoseconds since the epoch (big-endian), then four random bytes.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&nanos.to_be_bytes());
    rand::rng().fill_bytes(&mut id[8..]);
    let row = AuditRecord {
        id: hex::encode(id),
        at_ms: aistr_store::now_ms(),
        actor: caller.map_or_else(|| "anonymous".to_owned(), |c| c.name.clone()),
        role: caller.map_or("", |c| c.role.as_str()).to_owned(),
        action,
        subject: audited.subject,
        status: i64::from(status),
        detail: audited.detail,
    };
    if let Err(e) = journal.append_audit(&row).await {
        tracing::error!(error = %e, action = %row.action, "cannot write the audit log");
    }
}

/// The authentication layer over every route but `/healthz`, the login page and static assets:
/// resolves the caller, refuses the unauthenticated (401, or a redirect to the login page for a
/// dashboard page), enforces the CSRF header on cookie-authenticated mutations, and audits every
/// mutating call.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let action = format!("{method} {path}");
    let mutating = is_mutating(&method);
    let presented = presented(req.headers());
    let caller = match &presented {
        Some((secret, _)) => match lookup(&state.journal, secret).await {
            Ok(c) => c,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => None,
    };
    let Some(caller) = caller else {
        if mutating {
            audit(&state.journal, None, action, 401, Audited::default()).await;
        }
        if path.starts_with("/ui/") && !mutating {
            return Redirect::to("/ui/login").into_response();
        }
        return ApiError::Unauthorized.into_response();
    };
    let via_cookie = presented.is_some_and(|(_, c)| c);
    if mutating && via_cookie && req.headers().get(CSRF_HEADER).is_none() {
        let err = ApiError::Forbidden(format!(
            "a call made with the dashboard's cookie must carry the {CSRF_HEADER} header"
        ));
        audit(&state.journal, Some(&caller), action, 403, Audited::default()).await;
        return err.into_response();
    }
    req.extensions_mut().insert(caller.clone());
    let resp = next.run(req).await;
    if mutating {
        let audited = resp.extensions().get::<Audited>().cloned().unwrap_or_default();
        audit(
            &state.journal,
            Some(&caller),
            action,
            resp.status().as_u16(),
            audited,
        )
        .await;
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_rank_and_parse() {
        assert!(Role::Viewer < Role::Reviewer && Role::Reviewer < Role::Admin);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        let viewer = Caller {
            name: "v".into(),
            role: Role::Viewer,
        };
        assert!(viewer.require(Role::Viewer).is_ok());
        assert!(matches!(
            viewer.require(Role::Reviewer),
            Err(ApiError::Forbidden(_))
        ));
    }

    #[test]
    fn tokens_are_presented_by_header_or_cookie() {
        let mut h = HeaderMap::new();
        assert!(presented(&h).is_none());
        h.insert(header::COOKIE, "a=1; aistr_token=secret; b=2".parse().unwrap());
        assert_eq!(presented(&h), Some(("secret".into(), true)));
        h.insert(header::AUTHORIZATION, "Bearer  tok ".parse().unwrap());
        assert_eq!(presented(&h), Some(("tok".into(), false)), "the header wins");
        h.insert(header::AUTHORIZATION, "Basic dXNlcg==".parse().unwrap());
        assert_eq!(presented(&h), None, "a non-bearer scheme is no token");
    }

    #[test]
    fn the_stored_hash_is_not_the_secret() {
        let h = hash_token("aistr_abc");
        assert_eq!(h.len(), 64);
        assert_ne!(h, "aistr_abc");
        assert_eq!(h, hash_token("aistr_abc"));
    }
}
