//! `GET /app/events`: one server-sent event stream per tab, fed by the change log through the
//! process's change feed (no query while nothing changes), filtered by what the viewer may see
//! and by the page's topic:
//!
//! - `?topic=jobs&<filter>` (the job list): `row` events `{id, html, keeps}` with the row drawn
//!   as the list draws it (`keeps`: the job belongs under the page's filter: a row not on the
//!   page is added only then), `gone` `{id}` when a job is purged;
//! - `?topic=job&id=N&out=O&err=E` (a job's page): `job` events with its status block drawn
//!   again, `log` events `{file, offset, text}` with what its output files gained after the
//!   offsets the page has, and `stats` `{cpu_seconds, memory_bytes, memory_limit_bytes}` of a
//!   running job every [`STATS_EVERY`] (through the stats handle).
//!
//! Every change event carries its change-log id; a page resumes after the last one it saw
//! (`Last-Event-ID`, or `after=`). A page that missed more than [`BACKLOG`] changes gets `reset`
//! and reloads. The session is read again every [`RECHECK`] (another process may have ended
//! it), at its expiry (unless it was used meanwhile), when the viewer's account changes, and
//! at logout (in this process, at once): the stream then sends `end` and closes.

use crate::error::WebError;
use crate::filter::{JobFilter, Scope};
use crate::pages::jobs::{parse_filter, Row, RowFragment};
use crate::session::Viewer;
use crate::WebState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use god_core::{JobId, Primary, Task};
use god_server::access::visibility;
use god_server::feed::Visibility;
use god_server::ApiError;
use god_store::{Change, ChangeKind};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// How often a stream checks that its session still holds.
pub const RECHECK: Duration = Duration::from_secs(30);
/// How often a running job's page gets its usage and new output.
pub const STATS_EVERY: Duration = Duration::from_secs(2);
/// Changes a reconnecting page may have missed and still be brought up to date.
pub const BACKLOG: u64 = 1000;
/// Output sent at most per `log` event.
const LOG_CHUNK: u64 = 64 * 1024;

/// What a stream follows.
enum Topic {
    Jobs(JobFilter),
    Job { id: JobId, offsets: [u64; 2] },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct JobTopic {
    #[serde(rename = "topic")]
    _topic: String,
    id: u64,
    #[serde(default)]
    out: u64,
    #[serde(default)]
    err: u64,
    #[serde(default)]
    after: Option<u64>,
}

/// The page's origin must be this site (no other site's script follows a user's jobs).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

fn parse_topic(viewer: &Viewer, raw: &str) -> Result<(Topic, Option<u64>), WebError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let topic = pairs
        .iter()
        .find(|(k, _)| k == "topic")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let after = pairs
        .iter()
        .find(|(k, _)| k == "after")
        .and_then(|(_, v)| v.parse().ok());
    match topic.as_str() {
        "jobs" => {
            let rest: Vec<String> = pairs
                .iter()
                .filter(|(k, _)| k != "topic" && k != "after")
                .map(|(k, v)| format!("{}={}", k, crate::html::urlencode(v)))
                .collect();
            Ok((
                Topic::Jobs(parse_filter(viewer, Some(&rest.join("&")))?),
                after,
            ))
        }
        "job" => {
            let map: serde_json::Map<String, serde_json::Value> = pairs
                .into_iter()
                .map(|(k, v)| {
                    let value = match v.parse::<u64>() {
                        Ok(n) if k != "topic" => serde_json::json!(n),
                        _ => serde_json::json!(v),
                    };
                    (k, value)
                })
                .collect();
            let t: JobTopic = serde_json::from_value(serde_json::Value::Object(map))
                .map_err(|e| WebError::Api(ApiError::bad_request(e.to_string()).field("query")))?;
            Ok((
                Topic::Job {
                    id: JobId(t.id),
                    offsets: [t.out, t.err],
                },
                t.after,
            ))
        }
        other => Err(WebError::Api(
            ApiError::bad_request(format!("no such topic {other:?} (jobs, job)")).field("topic"),
        )),
    }
}

/// `GET /app/events?topic=…`.
pub async fn events(
    viewer: Result<Viewer, WebError>,
    State(state): State<WebState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    if !same_origin(&headers) {
        return Err(WebError::Api(ApiError::new(
            StatusCode::FORBIDDEN,
            "this stream is for this site's pages",
        )));
    }
    let (tx, rx) = mpsc::channel::<Event>(256);
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    let events = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    let viewer = match viewer {
        Ok(v) => v,
        // A page whose session ended before its stream (re)opened is told so, as a stream
        // would have told it (a redirect to the login page is an error to an EventSource,
        // which would try again for ever): one `end` event, and `X-God-Session: ended`.
        Err(WebError::LoginNeeded { .. }) => {
            let _ = tx
                .send(Event::default().event("end").data("your session has ended"))
                .await;
            return Ok(([("x-god-session", "ended")], events).into_response());
        }
        Err(e) => return Err(e),
    };
    let (topic, after) = parse_topic(&viewer, raw.as_deref().unwrap_or_default())?;
    if let Topic::Job { id, .. } = &topic {
        // The page's own job must be one the viewer may see (404 otherwise, as the API).
        god_server::access::visible_job(&state.app, &viewer.caller, &id.0.to_string()).await?;
    }
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(after);
    let view = visibility(&state.app, &viewer.caller).await?;
    let follower = Follower {
        live: state.app.feed.subscribe(),
        ended: state.ended.subscribe(),
        state,
        viewer,
        view,
        topic,
        tx,
    };
    tokio::spawn(async move {
        if let Err(why) = follower.run(resume).await {
            let _ = why.send_to().await;
        }
    });
    Ok(events.into_response())
}

/// Why a stream stops: the page went away, or the session no longer holds (said to the page).
enum Stop {
    Gone,
    Ended(mpsc::Sender<Event>, String),
}

impl Stop {
    async fn send_to(self) -> Result<(), ()> {
        match self {
            Stop::Gone => Ok(()),
            Stop::Ended(tx, why) => tx
                .send(Event::default().event("end").data(why))
                .await
                .map_err(|_| ()),
        }
    }
}

struct Follower {
    state: WebState,
    viewer: Viewer,
    view: Visibility,
    topic: Topic,
    tx: mpsc::Sender<Event>,
    live: broadcast::Receiver<Arc<Change>>,
    ended: broadcast::Receiver<String>,
}

impl Follower {
    async fn send(&self, event: Event) -> Result<(), Stop> {
        self.tx.send(event).await.map_err(|_| Stop::Gone)
    }

    fn ended(&self, why: &str) -> Stop {
        Stop::Ended(self.tx.clone(), why.to_string())
    }

    async fn run(mut self, resume: Option<u64>) -> Result<(), Stop> {
        let app = self.state.app.clone();
        let mut sent = match resume {
            Some(id) => id,
            None => app.store.last_change().await.map_err(|_| Stop::Gone)?,
        };
        // What the page missed, if it can be caught up; else it reloads.
        if resume.is_some() {
            let missed = app
                .store
                .changes_since(sent, BACKLOG + 1)
                .await
                .map_err(|_| Stop::Gone)?;
            if missed.len() as u64 > BACKLOG {
                self.send(Event::default().event("reset").data("reload"))
                    .await?;
                return Ok(());
            }
            for c in missed {
                sent = c.id;
                self.change(&c).await?;
            }
        }
        // The first output of a job page comes at once.
        self.tick().await?;
        let mut recheck = tokio::time::interval(RECHECK);
        recheck.tick().await;
        let mut stats = tokio::time::interval(STATS_EVERY);
        stats.tick().await;
        // The session's own end: the stream closes then, not at the next recheck.
        let expiry = tokio::time::sleep_until(self.expiry());
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                got = self.live.recv() => match got {
                    Ok(c) if c.id > sent => {
                        sent = c.id;
                        self.change(&c).await?;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.send(Event::default().event("reset").data("reload")).await?;
                        return Ok(());
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                got = self.ended.recv() => {
                    if matches!(&got, Ok(h) if *h == self.viewer.session.id_hash) {
                        return Err(self.ended("you have logged out"));
                    }
                }
                _ = recheck.tick() => self.recheck().await?,
                () = &mut expiry => {
                    self.recheck().await?;
                    expiry.as_mut().reset(self.expiry());
                }
                _ = stats.tick() => self.tick().await?,
                () = self.tx.closed() => return Ok(()),
            }
        }
    }

    /// When the session expires, unless it is used again (then read again, and later).
    fn expiry(&self) -> tokio::time::Instant {
        let left = self.viewer.session.expires - god_server::clock::now();
        let wait = if left.is_finite() && left > 0.0 {
            // Just past it, so that the session is over when read.
            Duration::from_secs_f64(left + 0.05)
        } else {
            RECHECK
        };
        tokio::time::Instant::now() + wait
    }

    /// Does the session still hold (read again from the database: another process may have
    /// ended it, or moved its expiry)?
    async fn recheck(&mut self) -> Result<(), Stop> {
        let now = self.state.app.clock.now();
        if self.viewer.session.expires > now {
            return Ok(());
        }
        match god_server::web_session::holds(&self.state.app, &self.viewer.session.id_hash).await {
            Ok(Some(s)) => {
                self.viewer.session = s;
                Ok(())
            }
            Ok(None) => Err(self.ended("your session has expired")),
            Err(_) => Ok(()),
        }
    }

    /// The viewer's account changed: it may have been disabled, or its session ended.
    async fn account_changed(&mut self) -> Result<(), Stop> {
        let app = &self.state.app;
        app.users.forget(self.viewer.login());
        match god_server::web_session::holds(app, &self.viewer.session.id_hash).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(self.ended("your session has ended")),
            Err(_) => return Ok(()),
        }
        match app.store.get_user(self.viewer.login()).await {
            Ok(Some(u)) if !u.disabled => {
                // Rights may have changed (admin, projects).
                if let Ok(view) = visibility(app, &self.viewer.caller).await {
                    self.view = view;
                }
                Ok(())
            }
            Ok(_) => Err(self.ended("this account is disabled")),
            Err(_) => Ok(()),
        }
    }

    async fn change(&mut self, c: &Change) -> Result<(), Stop> {
        if c.kind == ChangeKind::Account && c.user.as_deref() == Some(self.viewer.login()) {
            self.account_changed().await?;
        }
        if !self.view.sees(c) {
            return Ok(());
        }
        if c.kind == ChangeKind::Maintenance {
            // Every page's banner, shown or taken down where it is.
            let m = self
                .state
                .app
                .store
                .maintenance()
                .await
                .map_err(|_| Stop::Gone)?;
            let data = serde_json::json!({ "text": crate::session::banner(&m) });
            return self
                .send(
                    Event::default()
                        .event("banner")
                        .id(c.id.to_string())
                        .data(data.to_string()),
                )
                .await;
        }
        let id = c.id.to_string();
        match (&self.topic, c.kind, c.job) {
            (Topic::Jobs(_), ChangeKind::JobRemoved, Some(job)) => {
                let data = serde_json::json!({ "id": job.0 }).to_string();
                self.send(Event::default().event("gone").id(id).data(data))
                    .await
            }
            (Topic::Jobs(filter), ChangeKind::Job, Some(job)) => {
                let Ok(Some(task)) = self.state.app.store.get_job(job).await else {
                    return Ok(());
                };
                if task.parent_task_id.is_some() || !in_scope(filter, &self.viewer, &task) {
                    return Ok(());
                }
                let keeps = filter
                    .window()
                    .is_ok_and(|w| filter.keeps(&task, w) && filter.after.is_none());
                let html = row_html(&self.state, &self.viewer, filter, &task);
                let data = serde_json::json!({ "id": job.0, "keeps": keeps, "html": html });
                self.send(Event::default().event("row").id(id).data(data.to_string()))
                    .await
            }
            (Topic::Job { id: mine, .. }, ChangeKind::Job, Some(job)) if job == *mine => {
                let Ok(Some(task)) = self.state.app.store.get_job(job).await else {
                    return Ok(());
                };
                let html = crate::pages::job::status_html(&self.state.app, &self.viewer, &task);
                let data = serde_json::json!({
                    "state": task.status.primary.as_str(),
                    "html": html,
                });
                self.send(Event::default().event("job").id(id).data(data.to_string()))
                    .await
            }
            _ => Ok(()),
        }
    }

    /// A job page's periodic news: new output, and a running job's usage.
    async fn tick(&mut self) -> Result<(), Stop> {
        let Topic::Job { id, offsets } = &self.topic else {
            return Ok(());
        };
        let (id, mut offsets) = (*id, *offsets);
        let app = self.state.app.clone();
        let caller = self.viewer.caller.clone();
        for (k, file) in ["god.log", "god.err"].into_iter().enumerate() {
            let from = offsets[k];
            let Ok(god_server::api::files::Opened::File(fd, size)) =
                god_server::api::files::open(&app, &caller, &id.0.to_string(), file).await
            else {
                continue;
            };
            if size <= from {
                continue;
            }
            let want = (size - from).min(LOG_CHUNK);
            let bytes = tokio::task::spawn_blocking(move || {
                use std::io::{Read, Seek};
                let mut f = std::fs::File::from(fd);
                f.seek(std::io::SeekFrom::Start(from))?;
                let mut buf = Vec::new();
                f.take(want).read_to_end(&mut buf)?;
                Ok::<_, std::io::Error>(buf)
            })
            .await;
            let Ok(Ok(bytes)) = bytes else {
                continue;
            };
            offsets[k] = from + bytes.len() as u64;
            let data = serde_json::json!({
                "file": file,
                "offset": offsets[k],
                "text": String::from_utf8_lossy(&bytes),
            });
            if let Topic::Job { offsets: kept, .. } = &mut self.topic {
                *kept = offsets;
            }
            self.send(Event::default().event("log").data(data.to_string()))
                .await?;
        }
        if let Ok(Some(task)) = app.store.get_job(id).await {
            if task.status.primary == Primary::Running && app.capabilities_of(&task).stats {
                if let Ok(s) = app.stats.stats(&task).await {
                    let data = serde_json::json!({
                        "cpu_seconds": s.cpu_seconds,
                        "memory_bytes": s.memory_bytes,
                        "memory_limit_bytes": s.memory_limit_bytes,
                    });
                    self.send(Event::default().event("stats").data(data.to_string()))
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// Is `task` in the list's scope for the viewer (theirs; their shared projects'; anyone's for
/// administrators asking for all)? Rights are the feed's; this is the page's choice.
fn in_scope(filter: &JobFilter, viewer: &Viewer, task: &Task) -> bool {
    match filter.scope {
        Scope::Mine => task.user.id == viewer.login(),
        Scope::Projects | Scope::All => true,
    }
}

fn row_html(state: &WebState, viewer: &Viewer, filter: &JobFilter, task: &Task) -> String {
    let app = &state.app;
    let fragment = RowFragment {
        row: Row::of(task, None, app.capabilities_of(task).pause, app.clock.now()),
        csrf: viewer.session.csrf.clone(),
        show_owner: filter.scope != Scope::Mine,
        back: format!("/app/jobs?{}", filter.query(false)),
    };
    fragment.render().unwrap_or_default()
}
