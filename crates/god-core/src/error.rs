use std::fmt;
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

/// Everything wrong with a configuration, one problem per key: `field` is the dotted key
/// (`docker.url`, `executors[1]`, `volumes[0].acl`) or the `GODOCKER_*` variable that set it;
/// empty when the document as a whole is wrong (not YAML, not a mapping). Never empty.
///
/// Displayed one line per problem: `configuration: scheduler_policy: unknown policy "x" …`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ConfigError {
    pub problems: Vec<FieldError>,
}

impl ConfigError {
    /// One problem.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![FieldError::new(field, message)],
        }
    }

    /// `Err` with `problems` unless there are none.
    pub fn check(problems: Vec<FieldError>) -> Result<(), ConfigError> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    /// The keys named, in order (a key may come more than once).
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.problems.iter().map(|p| p.field.as_str())
    }

    /// One line per problem, without the `configuration: ` prefix.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.problems.iter().map(|p| {
            if p.field.is_empty() {
                p.message.clone()
            } else {
                p.to_string()
            }
        })
    }
}

impl From<FieldError> for ConfigError {
    fn from(e: FieldError) -> Self {
        ConfigError { problems: vec![e] }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.lines().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "configuration: {line}")?;
        }
        Ok(())
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
    #[error(transparent)]
    Config(#[from] ConfigError),
}
