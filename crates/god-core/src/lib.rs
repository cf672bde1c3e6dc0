//! Go-Docker's domain: the task document (the wire format of the REST API), job state
//! transitions, submission validation, configuration and the scheduling pass.
//!
//! Architecture invariant: nothing in this crate performs I/O or reads the clock. Callers pass
//! `now` explicitly, so every decision is a plain function over data that tests drive with tables.

pub mod api;
pub mod array;
pub mod audit;
pub mod clock;
pub mod config;
pub mod deps;
pub mod ending;
pub mod error;
pub mod launch;
pub mod names;
pub mod node;
pub mod pairtree;
pub mod recover;
pub mod roles;
pub mod schedule;
pub mod size;
pub mod status;
pub mod submit;
pub mod task;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod transition;
pub mod watchers;

pub use error::{ConfigError, CoreError, FieldError};
pub use status::{Primary, Secondary};
pub use task::{JobId, Task};
