use god_core::CoreError;
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("job {0} does not exist")]
    JobNotFound(u64),
    #[error("user {0} does not exist")]
    UserNotFound(String),
    #[error("user {0} already exists")]
    UserExists(String),
    /// The transition is not allowed from the job's current state (nothing was written).
    #[error(transparent)]
    Refused(#[from] CoreError),
    #[error("stored job {id} is unreadable: {source}")]
    Corrupt {
        id: u64,
        #[source]
        source: serde_json::Error,
    },
    /// A stored code this version does not know (written by a newer one).
    #[error("stored {what} {code:?} is not one this version knows")]
    UnknownCode { what: &'static str, code: String },
    #[error("the stored node views are unreadable: {0}")]
    CorruptNodes(String),
    #[error("cannot open the database at {path}: {detail}")]
    Open { path: String, detail: String },
}
