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
    Account(#[from] AccountError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Why an account cannot be created or used as asked. The messages are for the person who
/// asked (the login's owner, or the administrator at `god user add`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("{0:?} is not a valid login (letters, digits, '.', '_', '-')")]
    InvalidLogin(String),
    /// The directory gives this login uid 0.
    #[error("{0} has uid 0 (root) in the directory: root cannot log in to Go-Docker")]
    Root(String),
    /// A directory login named like a guest's account.
    #[error("{0} is a guest's account: it logs in through the identity provider")]
    Guest(String),
    /// A directory login named like our first-start administrator.
    #[error(
        "{} is this server's own administrator: log in with its API key",
        god_core::names::ADMIN_LOGIN
    )]
    OwnAdministrator,
    /// Concurrent logins kept creating and removing it: not this login's fault.
    #[error("cannot create the account of {0}")]
    NotCreated(String),
}

/// A rule a new password breaks; the message is for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRule {
    #[error("password too short: at least {min} characters, got {got}")]
    TooShort { min: usize, got: usize },
    #[error("password too long: at most {max} characters")]
    TooLong { max: usize },
    #[error("password must not contain NUL characters")]
    Nul,
}

/// A credential that could not be checked (as opposed to a wrong one, which is `Ok(None)`), or
/// a password that could not be set.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// This policy cannot check this kind of credential on this server (e.g. no PAM).
    #[error("{0}")]
    NotSupported(String),
    /// The directory behind the policy is unreachable or misbehaves (network, TLS, search base).
    #[error("{0}")]
    Unavailable(String),
    /// A new password breaks a rule: the user's to fix.
    #[error(transparent)]
    PasswordRule(#[from] PasswordRule),
    /// Hashing a password failed: the server's trouble (the detail is for its log).
    #[error("hashing the password: {0}")]
    Hashing(String),
    /// Our own user database failed (the detail is for the server's log).
    #[error("user database: {0}")]
    Store(#[from] StoreError),
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::NotSupported(m) => ApiError::unauthorized(m),
            AuthError::Unavailable(m) => {
                tracing::warn!("authentication: {m}");
                ApiError::unavailable(format!("cannot check credentials now: {m}"))
            }
            AuthError::PasswordRule(rule) => {
                ApiError::bad_request(rule.to_string()).field("password")
            }
            AuthError::Store(e @ (StoreError::UserNotFound(_) | StoreError::UserExists(_))) => {
                e.into()
            }
            AuthError::Store(e) => {
                tracing::warn!("authentication: user database: {e}");
                ApiError::unavailable(
                    "cannot check credentials now: the user database is unavailable; try again later",
                )
            }
            e @ AuthError::Hashing(_) => {
                tracing::error!("{e}");
                ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "the password could not be set; try again later",
                )
            }
        }
    }
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

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
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
