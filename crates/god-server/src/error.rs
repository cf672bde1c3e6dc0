//! Errors of the service, and how they look on the wire: `{"error": "...", "field": "..."}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use god_exec::ExecError;
use god_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] god_core::ConfigError),
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
}

/// An answer to a client that is not a success.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub field: Option<String>,
    /// Seconds after which to try again (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    pub fn unauthorized(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error)
    }

    pub fn forbidden(error: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, error)
    }

    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }

    pub fn conflict(error: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error)
    }

    pub fn too_many(error: impl Into<String>, retry_after: Option<u64>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, error);
        e.retry_after = retry_after;
        e
    }

    pub fn unavailable(error: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, error)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::JobNotFound(id) => ApiError::not_found(format!("job {id} does not exist")),
            StoreError::UserNotFound(u) => ApiError::not_found(format!("user {u} does not exist")),
            StoreError::UserExists(u) => ApiError::conflict(format!("user {u} already exists")),
            StoreError::Refused(god_core::CoreError::Invalid(f)) => {
                ApiError::bad_request(f.message).field(f.field)
            }
            StoreError::Refused(e) => ApiError::conflict(e.to_string()),
            // What went wrong in the database is for the server's log, not for clients.
            other => {
                tracing::error!("store: {other}");
                ApiError::unavailable("the job database is unavailable; try again later")
            }
        }
    }
}

impl From<crate::submit::NotStored> for ApiError {
    /// Either way the job is not stored and the client may submit it again: 503. What the
    /// database said is in the server's log.
    fn from(e: crate::submit::NotStored) -> Self {
        ApiError::unavailable(format!("the job could not be stored: {e}"))
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        use crate::accounts::AccountError;
        match e {
            ServerError::Store(e) => e.into(),
            ServerError::Account(e @ AccountError::NotCreated(_)) => {
                tracing::warn!("{e}");
                ApiError::unavailable(format!("{e}: try again"))
            }
            ServerError::Account(e) => ApiError::forbidden(e.to_string()),
            ServerError::Auth(e) => e.into(),
            // The rest is the server's own trouble: for its log, not for clients.
            other => {
                tracing::error!("{other}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error (the server's log says more)",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = god_core::api::ErrorBody {
            error: self.error,
            field: self.field,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        resp
    }
}
