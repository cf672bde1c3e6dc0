//! `GET /app/jobs/{id}/terminal`: a shell in a running job, in the browser (xterm.js), over a
//! WebSocket to the terminal handle (`god_server::handles::JobTerminal`): as the job's user,
//! never root, only where the job's executor can open one.
//!
//! The upgrade carries the session's CSRF token (`?csrf=`) and must come from this site's own
//! pages (`Origin`). Binary frames carry what is typed and what the terminal prints; a text frame
//! `{"cols": C, "rows": R}` resizes it. The session ends when the browser goes away, after
//! [`IDLE`] without input, when the job ends, when the viewer's session ends (logout, expiry),
//! and the shell is then hung up. At most [`PER_JOB`] terminals are open on a job at once.
//! Every terminal opened is in the audit log.

use crate::error::WebError;
use crate::session::Viewer;
use crate::WebState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use god_core::Task;
use god_exec::{Terminal, TerminalSize};
use god_server::ApiError;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// A terminal without input for this long is closed.
pub const IDLE: Duration = Duration::from_secs(15 * 60);
/// Terminals open on one job at most.
pub const PER_JOB: usize = 4;
/// How often an open terminal checks that its session still holds.
const RECHECK: Duration = Duration::from_secs(30);

/// How many terminals are open on each job (in this process).
#[derive(Default)]
pub struct OpenTerminals(Mutex<HashMap<u64, usize>>);

impl OpenTerminals {
    fn take(self: &Arc<Self>, job: u64) -> Option<Slot> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(job).or_default();
        if *n >= PER_JOB {
            return None;
        }
        *n += 1;
        Some(Slot {
            open: Arc::clone(self),
            job,
        })
    }
}

/// One open terminal's place; given back when dropped.
struct Slot {
    open: Arc<OpenTerminals>,
    job: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.open.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.job) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.job);
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    csrf: String,
    #[serde(default)]
    cols: Option<u16>,
    #[serde(default)]
    rows: Option<u16>,
}

#[derive(Deserialize)]
struct Resize {
    cols: u16,
    rows: u16,
}

/// `GET /app/jobs/{id}/terminal?csrf=…&cols=…&rows=…` (a WebSocket).
pub async fn open(
    viewer: Viewer,
    State(state): State<WebState>,
    Path(id): Path<u64>,
    Query(q): Query<Opening>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, WebError> {
    viewer.check_csrf(&q.csrf)?;
    if !crate::live::same_origin(&headers) {
        return Err(WebError::Api(ApiError::new(
            StatusCode::FORBIDDEN,
            "a terminal opens from this site's own pages",
        )));
    }
    let task = god_server::access::visible_job(&state.app, &viewer.caller, &id.to_string()).await?;
    let size = match (q.cols, q.rows) {
        (Some(c), Some(r)) => TerminalSize::new(c, r).ok_or_else(|| {
            WebError::Api(ApiError::bad_request("at least one column and one row").field("cols"))
        })?,
        _ => TerminalSize::DEFAULT,
    };
    let slot = state.terminals.take(id).ok_or_else(|| {
        WebError::Api(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("{PER_JOB} terminals are already open on job {id}: close one first"),
        ))
    })?;
    let terminal = state
        .app
        .terminal
        .open(&task, size)
        .await
        .map_err(|e| WebError::Api(e.into()))?;
    tracing::info!(
        "{} opened a terminal in job {id} of {}",
        viewer.login(),
        task.user.id
    );
    Ok(ws.on_upgrade(move |socket| async move {
        let _slot = slot;
        session(state, viewer, task, terminal, socket).await;
    }))
}

/// Carry bytes both ways until one side ends, then hang the shell up.
async fn session(state: WebState, viewer: Viewer, task: Task, t: Terminal, socket: WebSocket) {
    let Terminal {
        mut input,
        mut output,
        control,
    } = t;
    let (mut to_browser, mut from_browser) = socket.split();
    let mut ended = state.ended.subscribe();
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    let why = loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(bytes)) => {
                    if to_browser.send(Message::Binary(bytes)).await.is_err() {
                        break "the browser went away";
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!("terminal of job {}: {e}", task.id);
                    break "the terminal failed";
                }
                None => break "the shell ended",
            },
            got = tokio::time::timeout(IDLE, from_browser.next()) => match got {
                Err(_) => break "idle for too long",
                Ok(None | Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => {
                    break "the browser closed it"
                }
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    if input.write_all(&bytes).await.is_err() {
                        break "the terminal no longer takes input";
                    }
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    if let Ok(r) = serde_json::from_str::<Resize>(&text) {
                        if let Some(size) = TerminalSize::new(r.cols, r.rows) {
                            let _ = control.resize(size).await;
                        }
                    }
                }
                Ok(Some(Ok(_))) => {}
            },
            got = ended.recv() => {
                if matches!(&got, Ok(h) if *h == viewer.session.id_hash) {
                    break "you logged out";
                }
            }
            _ = recheck.tick() => {
                let holds = god_server::auth::web::holds(&state.app, &viewer.session.id_hash).await;
                if matches!(holds, Ok(None)) {
                    break "your session has ended";
                }
            }
        }
    };
    let _ = control.hang_up().await;
    let end = control.end().await;
    tracing::info!(
        "terminal of {} in job {} closed: {why} ({end:?})",
        viewer.login(),
        task.id
    );
    let _ = to_browser
        .send(Message::Close(Some(axum::extract::ws::CloseFrame {
            code: axum::extract::ws::close_code::NORMAL,
            reason: why.into(),
        })))
        .await;
}
