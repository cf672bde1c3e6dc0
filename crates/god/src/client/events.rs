//! Following the server's change stream (`GET /api/1.0/events`, server-sent events) from the
//! command line: `god submit --wait` and `god logs -f` learn of their job's changes as they are
//! committed instead of polling for them.

use super::http::{Api, ApiError};
use super::raw::Raw;
use anyhow::Result;
use god_core::api::tasks::{ChangeEvent, JobSummary};
use reqwest::Method;
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerEvent {
    pub id: Option<u64>,
    /// `job`, `job_removed`, `account`, `project`, or `end` (the server ended the stream).
    pub kind: String,
    /// As the server wrote it (`god watch --json` prints it); see [`ServerEvent::job_change`].
    pub data: Raw,
}

impl ServerEvent {
    /// A change of a job (`job`, `job_removed`): its id and the change, typed. `None` for other
    /// events: changes of accounts and projects, the `end` event (whose data is the reason).
    pub fn job_change(&self) -> Option<(u64, ChangeEvent<JobSummary>)> {
        let change: ChangeEvent<JobSummary> = self.data.read("the event stream").ok()?;
        Some((change.job?, change))
    }
}

/// Turns the lines of a `text/event-stream` into events (comments and unknown fields skipped).
#[derive(Debug, Default)]
pub struct Parser {
    id: Option<u64>,
    kind: Option<String>,
    data: Vec<String>,
}

impl Parser {
    /// Feed one line (without its end of line); an event when the line ends one.
    pub fn line(&mut self, line: &str) -> Option<ServerEvent> {
        if line.is_empty() {
            let data = std::mem::take(&mut self.data).join("\n");
            let kind = self.kind.take().unwrap_or_else(|| "message".into());
            let id = self.id.take();
            if data.is_empty() {
                return None;
            }
            let data = Raw::parse_or_text(data);
            return Some(ServerEvent { id, kind, data });
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => self.id = value.trim().parse().ok(),
            "event" => self.kind = Some(value.to_string()),
            "data" => self.data.push(value.to_string()),
            _ => {} // a comment (keep-alive) or a field we do not use
        }
        None
    }
}

/// Open the stream (changes from now on); its events arrive on the returned channel, read by a
/// thread, until the stream ends (an `Err` says how). `None`: the server has no stream (an
/// older version): the caller polls instead.
pub fn open(api: &mut Api) -> Result<Option<mpsc::Receiver<Result<ServerEvent, String>>>> {
    let url = api.url("/api/1.0/events")?;
    let resp = match api.send(Method::GET, url, &|r| {
        r.timeout(Duration::from_secs(7 * 86_400))
    }) {
        Ok(r) => r,
        Err(e)
            if e.downcast_ref::<ApiError>()
                .is_some_and(|a| a.status == 404) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut parser = Parser::default();
        for line in BufReader::new(resp).lines() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(Err(format!("the event stream broke: {e}")));
                    return;
                }
            };
            if let Some(event) = parser.line(&line) {
                if tx.send(Ok(event)).is_err() {
                    return;
                }
            }
        }
        let _ = tx.send(Err("the server closed the event stream".into()));
    });
    Ok(Some(rx))
}

/// Tells a follower when one job may have changed: from the event stream, or, where the server
/// has none (or the stream broke), never by itself (the caller then looks on its own schedule).
pub struct JobChanges {
    id: u64,
    stream: Option<mpsc::Receiver<Result<ServerEvent, String>>>,
    changed: bool,
}

impl JobChanges {
    /// Open the stream before the caller first looks at the job, so that no change in between
    /// is lost.
    pub fn open(api: &mut Api, id: u64) -> Result<JobChanges> {
        Ok(JobChanges {
            id,
            stream: open(api)?,
            changed: false,
        })
    }

    /// Whether changes come from the stream (else the caller polls).
    pub fn streaming(&self) -> bool {
        self.stream.is_some()
    }

    /// Wait at most `wait` for a change of the job. A stream that ends (an expired session, a
    /// server restart) counts as a change, and the caller polls from then on.
    pub fn wait(&mut self, wait: Duration) {
        let Some(rx) = &self.stream else {
            std::thread::sleep(wait);
            return;
        };
        match rx.recv_timeout(wait) {
            Ok(Ok(e)) if e.kind == "job" && e.job_change().map(|(id, _)| id) == Some(self.id) => {
                self.changed = true
            }
            Ok(Ok(_)) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.stream = None;
                self.changed = true;
            }
        }
    }

    /// Whether the job changed since the last call.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_stream_lines_become_events() {
        let mut p = Parser::default();
        let lines = [
            ": keep-alive",
            "",
            "id: 7",
            "event: job",
            r#"data: {"id": 7, "at": 100.5, "kind": "job", "job": 3, "body": {"id": 3, "primary": "running"}}"#,
            "",
            "event: end",
            "data: the session expired",
            "",
        ];
        let got: Vec<ServerEvent> = lines.iter().filter_map(|l| p.line(l)).collect();
        assert_eq!(
            got,
            vec![
                ServerEvent {
                    id: Some(7),
                    kind: "job".into(),
                    data: Raw::of(json!({"id": 7, "at": 100.5, "kind": "job", "job": 3,
                        "body": {"id": 3, "primary": "running"}})),
                },
                ServerEvent {
                    id: None,
                    kind: "end".into(),
                    data: Raw::of(json!("the session expired")),
                },
            ]
        );
        let (job, change) = got[0].job_change().unwrap();
        assert_eq!((job, change.at), (3, 100.5));
        assert_eq!(change.body.primary.as_deref(), Some("running"));
        assert_eq!(got[1].job_change(), None);
        assert_eq!(got[1].data.as_text(), Some("the session expired"));
    }
}
