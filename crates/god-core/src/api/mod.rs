//! The vocabulary of the REST API: one typed request or answer per route body (reference §7.1),
//! shared by the server (which builds and parses them) and the CLI (which reads them). The task
//! document itself is [`crate::Task`].
//!
//! Every key and every `null` existing clients read is here as a field: an `Option` is written as
//! `null`, never left out, unless the original leaves the key out. Request types refuse fields
//! that are not in our own answer of the same route (`deny_unknown_fields`); the read-only ones a
//! client sends back unchanged (`goduser update` PUTs the whole user, `godproject` POSTs the whole
//! project) are fields that are read and ignored.

pub mod admin;
pub mod projects;
pub mod public;
pub mod tasks;
pub mod users;

pub use admin::{AuditAnswer, AuditEntryDoc, AuditQuery, MaintenanceDoc, MaintenanceUpdate};
pub use projects::{ProjectDoc, ProjectUpdate};
pub use public::{ConfigAnswer, LoginRequest, TokenAnswer};
pub use tasks::{DynamicUpdate, FileEntry, RequestAnswer, StatusAnswer};
pub use users::{QuotaAnswer, QuotaUse, RunCounts, UsageDay, UsageQuery, UserDoc, UserUpdate};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// The body of every answer that is not a success: what is wrong and, when one field of the
/// request is the cause, which (`null` otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    pub error: String,
    pub field: Option<String>,
}

/// `{msg, id}`: what was done, to which job (`I = u64`), user or project (`I = String`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MsgAnswer<I> {
    pub msg: String,
    pub id: I,
}

impl<I> MsgAnswer<I> {
    pub fn new(msg: impl Into<String>, id: I) -> Self {
        MsgAnswer {
            msg: msg.into(),
            id,
        }
    }
}

/// `{msg, count}`: what was done to how many jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CountAnswer {
    pub msg: String,
    pub count: u64,
}

/// A field whose absence and `null` mean different things: absent keeps the value
/// (`None`), `null` clears it (`Some(None)`). Use with `#[serde(default, deserialize_with)]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
