//! Maintenance mode from the service's side: what the API's `PUT /api/1.0/maintenance` and
//! the web UI's switch both call. The store keeps it (one row every process reads; the switch
//! is in the change log and the audit log in its own transaction); the scheduler reads it at
//! each pass and holds every pending job with it.

use crate::access::{require_admin, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use god_store::Maintenance;

/// Longest maintenance message.
pub const MESSAGE_MAX: usize = 1000;

/// Switch maintenance mode on or off (administrators), with an optional message; the
/// scheduler is woken to say so to pending jobs, or to start them again.
pub async fn switch(
    state: &AppState,
    caller: &Caller,
    on: bool,
    message: Option<&str>,
) -> Result<Maintenance, ApiError> {
    require_admin(caller)?;
    if let Some(m) = message {
        if m.chars().count() > MESSAGE_MAX || m.contains('\0') {
            return Err(ApiError::bad_request(format!(
                "a message of at most {MESSAGE_MAX} characters"
            ))
            .field("message"));
        }
    }
    let m = state
        .store
        .set_maintenance(on, message, caller.login(), state.clock.now())
        .await?;
    tracing::info!(
        "maintenance mode {} by {}{}",
        if m.on { "on" } else { "off" },
        caller.login(),
        m.message
            .as_deref()
            .map(|t| format!(": {t}"))
            .unwrap_or_default()
    );
    state.wake.scheduler.notify_one();
    Ok(m)
}
