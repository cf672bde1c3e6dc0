use thiserror::Error;

/// A problem with one field of a request or configuration: which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Errors of the pure domain layer.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CoreError {
    #[error("invalid {0}")]
    Invalid(#[from] FieldError),
    #[error("job {id} is {state}: cannot {action}")]
    Transition {
        id: u64,
        state: String,
        action: &'static str,
    },
    #[error("configuration: {0}")]
    Config(String),
}
