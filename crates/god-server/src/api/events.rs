//! `GET /api/1.0/events`: the changes a caller may see, as a server-sent event stream.
//!
//! Each event is one entry of the change log: `id:` its id, `event:` its kind (`job`,
//! `job_removed`, `account`, `project`, `maintenance`), `data:` `{"id", "at", "kind", "job",
//! "body"}`. A client resumes after the last id it saw with the `Last-Event-ID` header (as
//! browsers do) or `?after=ID`; without either it gets the changes from now on. The caller's session is checked
//! again every [`RECHECK`] and the stream ends (`event: end`) when the token expires, the API key
//! is renewed or the account is disabled.

use super::query::Params;
use crate::access::{visibility, Caller};
use crate::feed::{Visibility, PAGE};
use crate::state::AppState;
use crate::ApiError;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use god_core::api::tasks::{ChangeEvent, EventsQuery};
use god_store::{Change, ChangeKind};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// How often a stream checks that its caller may still follow.
pub const RECHECK: Duration = Duration::from_secs(30);

pub async fn follow(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(q.after);
    let after = match resume {
        Some(id) => id,
        None => state.store.last_change().await?,
    };
    let view = visibility(&state, &caller).await?;
    let (tx, rx) = mpsc::channel::<Event>(256);
    let live = state.feed.subscribe();
    tokio::spawn(async move {
        if let Err(why) = stream(&state, caller, view, after, live, &tx).await {
            let _ = tx.send(Event::default().event("end").data(why)).await;
        }
    });
    let events =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Send what the caller missed after `sent`, then live changes, until the client goes away
/// (`Ok`) or the caller may no longer follow (`Err(why)`).
async fn stream(
    state: &AppState,
    caller: Caller,
    mut view: Visibility,
    mut sent: u64,
    mut live: broadcast::Receiver<std::sync::Arc<Change>>,
    tx: &mpsc::Sender<Event>,
) -> Result<(), String> {
    if !backlog(state, &view, &mut sent, tx).await? {
        return Ok(());
    }
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        let left = caller.expires - state.clock.now();
        tokio::select! {
            got = live.recv() => match got {
                Ok(change) => {
                    if change.id <= sent {
                        continue;
                    }
                    if change.id > sent + 1 && !backlog(state, &view, &mut sent, tx).await? {
                        return Ok(()); // a gap (changes of another process): read them first
                    }
                    if change.id > sent && !send(&view, &change, &mut sent, tx).await {
                        return Ok(());
                    }
                    // A change of the caller's own account (key renewed, disabled, removed):
                    // checked at once, not at the next re-check.
                    if change.kind == ChangeKind::Account
                        && change.user.as_deref() == Some(caller.login())
                    {
                        still_allowed(state, &caller).await?;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if !backlog(state, &view, &mut sent, tx).await? {
                        return Ok(());
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            _ = recheck.tick() => {
                still_allowed(state, &caller).await?;
                view = visibility(state, &caller).await.map_err(|e| e.error)?;
            }
            () = tokio::time::sleep(Duration::from_secs_f64(left.max(0.0))) => {
                return Err("the session expired: log in again".into());
            }
            () = tx.closed() => return Ok(()),
        }
    }
}

/// Read the store after `sent` until caught up; `false` when the client went away.
async fn backlog(
    state: &AppState,
    view: &Visibility,
    sent: &mut u64,
    tx: &mpsc::Sender<Event>,
) -> Result<bool, String> {
    loop {
        let page = state
            .store
            .changes_since(*sent, PAGE)
            .await
            .map_err(|e| format!("the change log is unavailable: {e}"))?;
        let full = page.len() as u64 == PAGE;
        for change in &page {
            if !send(view, change, sent, tx).await {
                return Ok(false);
            }
        }
        if !full {
            return Ok(true);
        }
    }
}

/// Send one change if the caller may see it; `sent` moves past it either way.
async fn send(view: &Visibility, c: &Change, sent: &mut u64, tx: &mpsc::Sender<Event>) -> bool {
    *sent = c.id;
    if !view.sees(c) {
        return true;
    }
    let data = ChangeEvent {
        id: c.id,
        at: c.at,
        kind: c.kind.as_str().into(),
        job: c.job.map(|j| j.0),
        body: c.body.clone(),
    };
    let Ok(data) = serde_json::to_string(&data) else {
        return true;
    };
    let event = Event::default()
        .id(c.id.to_string())
        .event(c.kind.as_str())
        .data(data);
    tx.send(event).await.is_ok()
}

/// The caller's account as it is now still lets this session follow.
async fn still_allowed(state: &AppState, caller: &Caller) -> Result<(), String> {
    let user = state
        .store
        .get_user(caller.login())
        .await
        .map_err(|e| format!("the account database is unavailable: {e}"))?
        .ok_or_else(|| "the account was removed".to_string())?;
    if user.disabled {
        return Err("the account is disabled".into());
    }
    if user.key_version != caller.user.key_version {
        return Err("the API key was renewed: log in again".into());
    }
    if user.inactive_guest() {
        return Err("the guest account was deactivated".into());
    }
    Ok(())
}
