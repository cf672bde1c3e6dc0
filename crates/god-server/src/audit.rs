//! The audit log from the service's side: who did what to whom, when (`god_core::audit` the
//! actions, the store's `AdminStore` the log). The API handlers record an administrator's
//! requests on other users' jobs, changes of accounts and projects, and maintenance mode; the
//! web UI records what only it does (a terminal opened in a job) with [`record`].
//!
//! Maintenance mode is audited in the transaction that switches it. The other entries are
//! written right after the change they describe, in a transaction of their own: a crash or a
//! database failure between the two loses the entry, never the change ([`record_after`] logs
//! such a failure).

use crate::error::ApiError;
use crate::state::AppState;
use god_core::audit::AuditAction;
use god_store::AuditEntry;

/// Append one entry: `actor` did `action` to `target` (a login, a project id, or empty for the
/// whole service), `detail` for people ("job 42", "quota_cpu 0 -> 8"). For the web UI, before
/// or after what it audits; an error means nothing was recorded.
pub async fn record(
    state: &AppState,
    actor: &str,
    action: AuditAction,
    target: &str,
    detail: impl Into<String>,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        at: state.clock.now(),
        actor: actor.to_string(),
        action,
        target: target.to_string(),
        detail: detail.into(),
    };
    state.store.append_audit(&[entry]).await?;
    Ok(())
}

/// [`record`] after a change that is committed already: the change stands whatever happens
/// here, so a failure is the server's log's (at error level), not the client's.
pub async fn record_after(
    state: &AppState,
    actor: &str,
    action: AuditAction,
    target: &str,
    detail: impl Into<String>,
) {
    let detail = detail.into();
    if let Err(e) = record(state, actor, action, target, detail.clone()).await {
        tracing::error!(
            "audit: could not record {action} by {actor} on {target:?} ({detail}): {}",
            e.error
        );
    }
}
