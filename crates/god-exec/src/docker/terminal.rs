//! Interactive sessions in a job's running container through the Engine's exec API: an exec
//! with a TTY, attached, as the job's `uid:gid`, never privileged, started through god-init's
//! exec mode (no_new_privs, never root) as [`inside::exec`]'s commands.
//!
//! The Engine cannot signal an exec'd process, and leaves it running when its connection
//! closes: each session's processes carry [`SESSION_VAR`] with a value of their own, and a
//! hang-up is a second (non-interactive) exec, as the same user, that sends `SIGHUP` to the
//! processes of the container whose environment holds it (what that user may signal anyway).
//!
//! Known limit: bollard reads the attached stream as the Engine's multiplexed format when a
//! chunk begins with byte 0, 1 or 2 (its heuristic for engines that do not frame), so output
//! whose chunk starts with such a control byte is garbled.

use super::{engine_error, inside, status};
use crate::terminal::SESSION_VAR;
use crate::{
    ExecError, ExecRequest, SessionEnd, Terminal, TerminalControl, TerminalRequest, TerminalSize,
};
use async_trait::async_trait;
use bollard::container::LogOutput;
use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::Docker;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long [`TerminalControl::end`] waits for the Engine to record a session's end.
const END_WAIT: Duration = Duration::from_secs(2);
/// How long a hang-up may take.
const HANG_UP_TIMEOUT: Duration = Duration::from_secs(10);

/// `SIGHUP` to every process whose environment holds `$SESSION_VAR=$1` (busybox's and GNU's
/// grep both read `environ` as NUL-ended lines with `-z`); [`NO_TOOLS`] without grep.
const HANG_UP: &str = r#"command -v grep >/dev/null 2>&1 || exit 127
for p in /proc/[0-9]*; do
  if grep -qsxzF "$0=$1" "$p/environ"; then kill -HUP "${p#/proc/}" 2>/dev/null; fi
done
exit 0"#;

/// The hang-up's exit code when the image has no `/bin/sh` or no `grep`.
const NO_TOOLS: i64 = 127;

/// Open `request` in `container` (see the module's documentation).
pub(super) async fn open(
    docker: &Docker,
    container: &str,
    request: &TerminalRequest,
) -> Result<Terminal, ExecError> {
    request.check()?;
    let session = session_id();
    let size = request.size;
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(true),
        privileged: Some(false),
        user: Some(format!("{}:{}", request.uid, request.gid)),
        cmd: Some(inside::through_init(&request.argv)),
        env: Some(
            request
                .env_with(&session)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .chain(std::iter::once(inside::old_init_stop()))
                .collect(),
        ),
        working_dir: request.working_dir.clone(),
        // [rows, cols] (Engine API 1.42; older Engines ignore it: the resize below).
        console_size: Some(vec![usize::from(size.rows()), usize::from(size.cols())]),
        ..Default::default()
    };
    // 404: no such container, 409: not running: both a refusal.
    let id = docker
        .create_exec(container, config)
        .await
        .map_err(engine_error)?
        .id;
    let options = StartExecOptions {
        detach: false,
        tty: true,
        output_capacity: None,
    };
    let started = docker
        .start_exec(&id, Some(options))
        .await
        .map_err(engine_error)?;
    let StartExecResults::Attached { output, input } = started else {
        return Err(ExecError::Unavailable(format!(
            "the Engine did not attach to the terminal of {container}"
        )));
    };
    let control = Arc::new(DockerTerminal {
        docker: docker.clone(),
        exec: id,
        container: container.to_string(),
        uid: request.uid,
        gid: request.gid,
        session,
    });
    // A command that ended at once (not found…) cannot be resized: its output says why.
    if let Err(e) = control.resize(size).await {
        tracing::debug!("terminal in {container}: first resize: {e}");
    }
    let output = output.filter_map(|item| {
        futures_util::future::ready(match item {
            Ok(
                LogOutput::Console { message }
                | LogOutput::StdOut { message }
                | LogOutput::StdErr { message },
            ) => Some(Ok(message)),
            Ok(LogOutput::StdIn { .. }) => None,
            Err(e) => Some(Err(engine_error(e))),
        })
    });
    Ok(Terminal {
        input,
        output: Box::pin(output),
        control,
    })
}

/// Unique to each session this process opens (and to the process: its pid and start time).
fn session_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}-{nanos:x}-{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One session's exec on one Engine.
struct DockerTerminal {
    docker: Docker,
    exec: String,
    container: String,
    uid: u32,
    gid: u32,
    session: String,
}

impl DockerTerminal {
    /// The Engine refused the hang-up's exec: done when the container no longer runs (the
    /// session's processes ended with it), the refusal when it still does (paused, say).
    async fn refused(&self, why: String) -> Result<(), ExecError> {
        match self.docker.inspect_container(&self.container, None).await {
            Ok(c) if c.state.as_ref().and_then(|s| s.running) == Some(true) => {
                Err(ExecError::Refused(format!(
                    "cannot hang up the terminal in {}: {why}",
                    self.container
                )))
            }
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) => Err(engine_error(e)),
        }
    }
}

#[async_trait]
impl TerminalControl for DockerTerminal {
    async fn resize(&self, size: TerminalSize) -> Result<(), ExecError> {
        let options = ResizeExecOptions {
            height: size.rows(),
            width: size.cols(),
        };
        self.docker
            .resize_exec(&self.exec, options)
            .await
            .map_err(engine_error)
    }

    async fn hang_up(&self) -> Result<(), ExecError> {
        let request = ExecRequest {
            argv: ["/bin/sh", "-c", HANG_UP, SESSION_VAR, self.session.as_str()]
                .map(String::from)
                .to_vec(),
            uid: self.uid,
            gid: self.gid,
            env: Vec::new(),
            timeout: HANG_UP_TIMEOUT,
        };
        match inside::exec(&self.docker, &self.container, &request).await {
            Ok(out) if out.exit_code == Some(0) => Ok(()),
            Ok(out) if out.exit_code == Some(NO_TOOLS) => Err(ExecError::Unsupported {
                what: "hang up a terminal in an image without /bin/sh and grep",
                executor: "docker",
            }),
            Ok(out) => Err(ExecError::Unavailable(format!(
                "the hang-up of a terminal in {} ended with {:?}: {}",
                self.container,
                out.exit_code,
                String::from_utf8_lossy(&out.stderr).trim()
            ))),
            Err(ExecError::Refused(why)) => self.refused(why).await,
            Err(e) => Err(e),
        }
    }

    async fn end(&self) -> Result<SessionEnd, ExecError> {
        let deadline = Instant::now() + END_WAIT;
        loop {
            let inspected = match self.docker.inspect_exec(&self.exec).await {
                Ok(inspected) => inspected,
                // Its container was removed, and the exec with it.
                Err(e) if status(&e) == Some(404) => return Ok(SessionEnd::Unknown),
                Err(e) => return Err(engine_error(e)),
            };
            match (inspected.running, inspected.exit_code) {
                (Some(false), Some(code)) => return Ok(SessionEnd::Exited { code }),
                (Some(false), None) => return Ok(SessionEnd::Unknown),
                _ if Instant::now() >= deadline => return Ok(SessionEnd::Running),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}
