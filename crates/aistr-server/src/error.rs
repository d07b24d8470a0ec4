//! The API's errors as HTTP answers: a status and `{"error": "..."}`. Every handler returns
//! [`ApiError`], so a failure is never an empty 500 and never leaks a stack or a secret.

use aistr_session::SessionError;
use aistr_store::StoreError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or one that is unknown or revoked.
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// The token's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such run or attempt.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or asks for something impossible.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the run's state (cancelling a finished run).
    #[error("{0}")]
    Conflict(String),
    /// The journal or the machinery failed.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchRun(_) => Self::NotFound(e.to_string()),
            StoreError::RunExists(_) => Self::Conflict(e.to_string()),
            other => {
                tracing::error!(error = %other, "journal failure");
                Self::Internal(other.to_string())
            }
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Run(inner) | SessionError::Store(inner) => inner.into(),
            e if e.is_usage() => Self::BadRequest(e.to_string()),
            other => {
                tracing::error!(error = %other, "session failure");
                Self::Internal(other.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut resp = (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"aistr\""),
            );
        }
        resp
    }
}
