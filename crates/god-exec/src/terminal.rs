//! Interactive sessions in a job's running container: a command (a shell by default) on a TTY,
//! as the job's user, never root.
//!
//! [`Executor::terminal`](crate::Executor::terminal) opens one from a [`TerminalRequest`] and
//! answers a [`Terminal`]: what is typed is written to its `input`, what the TTY prints comes out
//! of its `output`, and its [`TerminalControl`] resizes it, hangs it up and tells how it ended.
//!
//! The engine does not end a session whose connection closes (the Docker Engine leaves an
//! exec'd process running until its container stops): a caller done with a session (the browser
//! left, the idle timeout passed) calls [`TerminalControl::hang_up`], as a terminal closing
//! would.

use crate::ExecError;
use async_trait::async_trait;
pub use bytes::Bytes;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::AsyncWrite;

/// The `TERM` of a session whose request sets none: what xterm.js emulates.
pub const DEFAULT_TERM: &str = "xterm-256color";

/// The command of [`TerminalRequest::shell`]: bash where the image has it, else sh, both
/// interactive. Not a login shell: the image's environment (its `PATH`…) is kept, as
/// `docker exec -it` keeps it, rather than reset by `/etc/profile`.
pub const SHELL: [&str; 3] = [
    "/bin/sh",
    "-c",
    "if command -v bash >/dev/null 2>&1; then exec bash -i; else exec sh -i; fi",
];

/// The variable that marks every process of one session, so that
/// [`TerminalControl::hang_up`] finds them (its value is unique per session; a request cannot
/// set it).
pub const SESSION_VAR: &str = "GOD_TERMINAL_SESSION";

/// A terminal's size in character cells: at least one column and one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    cols: u16,
    rows: u16,
}

impl TerminalSize {
    /// 80 columns, 24 rows.
    pub const DEFAULT: TerminalSize = TerminalSize { cols: 80, rows: 24 };

    /// `None` for a size of no cell.
    pub const fn new(cols: u16, rows: u16) -> Option<TerminalSize> {
        if cols == 0 || rows == 0 {
            None
        } else {
            Some(TerminalSize { cols, rows })
        }
    }

    pub fn cols(self) -> u16 {
        self.cols
    }

    pub fn rows(self) -> u16 {
        self.rows
    }
}

/// A command to run on a TTY inside a job's running container, as the job's user.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalRequest {
    /// What runs on the TTY ([`SHELL`] for a shell).
    pub argv: Vec<String>,
    /// Never 0, nor `gid`: a session never runs as root nor in its group.
    pub uid: u32,
    pub gid: u32,
    /// Added to the container's own environment; `TERM` is [`DEFAULT_TERM`] unless set here.
    pub env: Vec<(String, String)>,
    /// Where it starts, as the job sees it (`None`: the image's working directory).
    pub working_dir: Option<String>,
    /// Its size at start ([`TerminalControl::resize`] changes it).
    pub size: TerminalSize,
}

impl TerminalRequest {
    /// An interactive shell ([`SHELL`]) as `uid:gid`, with no extra environment, in the image's
    /// working directory.
    pub fn shell(uid: u32, gid: u32, size: TerminalSize) -> Self {
        TerminalRequest {
            argv: SHELL.map(String::from).to_vec(),
            uid,
            gid,
            env: Vec::new(),
            working_dir: None,
            size,
        }
    }

    /// What every executor refuses before asking its engine: root, no command.
    pub fn check(&self) -> Result<(), ExecError> {
        if self.uid == 0 || self.gid == 0 {
            return Err(ExecError::Refused(
                "a terminal in a job never runs as root nor in its group".into(),
            ));
        }
        if self.argv.is_empty() {
            return Err(ExecError::Refused("no command to run".into()));
        }
        Ok(())
    }

    /// The environment as the session gets it: [`DEFAULT_TERM`] unless `TERM` is set, the
    /// request's variables but [`SESSION_VAR`], then `SESSION_VAR=session`.
    pub fn env_with(&self, session: &str) -> Vec<(String, String)> {
        let mut env = Vec::with_capacity(self.env.len() + 2);
        if !self.env.iter().any(|(k, _)| k == "TERM") {
            env.push(("TERM".to_string(), DEFAULT_TERM.to_string()));
        }
        env.extend(self.env.iter().filter(|(k, _)| k != SESSION_VAR).cloned());
        env.push((SESSION_VAR.to_string(), session.to_string()));
        env
    }
}

/// How a session ended, as its engine tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Its command exited with this code (128 + n when signal n ended it: 129 after
    /// [`TerminalControl::hang_up`] ended a shell).
    Exited { code: i64 },
    /// It still runs: its output was closed by other means (the connection broke), or the
    /// engine had not recorded its end yet.
    Running,
    /// The engine says it no longer runs, without a code.
    Unknown,
}

/// What a caller does with an open session besides typing and reading.
#[async_trait]
pub trait TerminalControl: Send + Sync {
    /// Tell the TTY its new size (the program on it gets `SIGWINCH`).
    async fn resize(&self, size: TerminalSize) -> Result<(), ExecError>;

    /// End the session as a terminal closing does: `SIGHUP` to each of its processes (an
    /// interactive shell passes it on to its jobs and exits; what the user ran under `nohup`
    /// stays). Nothing when it already ended, or its container did.
    async fn hang_up(&self) -> Result<(), ExecError>;

    /// How it ended. Asked once its output ended, it waits a moment for the engine to record
    /// the end (it answers [`SessionEnd::Running`] after that moment).
    async fn end(&self) -> Result<SessionEnd, ExecError>;
}

/// Where what is typed goes (keys, pasted text; `\x03` for Ctrl-C: the TTY makes it a signal).
pub type TerminalInput = Pin<Box<dyn AsyncWrite + Send>>;

/// What the TTY prints, in chunks as they come (stdout and stderr are one stream on a TTY); it
/// ends when the session does (or its connection breaks).
pub type TerminalOutput = Pin<Box<dyn Stream<Item = Result<Bytes, ExecError>> + Send>>;

/// An open session (see the module's documentation). Dropping it closes the connection but
/// does not end the session: [`TerminalControl::hang_up`] does.
pub struct Terminal {
    pub input: TerminalInput,
    pub output: TerminalOutput,
    /// Shared by whatever reads the client's resizes and whatever ends the session.
    pub control: Arc<dyn TerminalControl>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const SIZE: TerminalSize = TerminalSize::DEFAULT;

    #[test]
    fn root_and_no_command_are_refused_and_a_size_has_cells() {
        let ok = TerminalRequest::shell(2001, 2002, SIZE);
        assert!(ok.check().is_ok());
        for bad in [
            TerminalRequest {
                uid: 0,
                ..ok.clone()
            },
            TerminalRequest {
                gid: 0,
                ..ok.clone()
            },
            TerminalRequest {
                argv: Vec::new(),
                ..ok.clone()
            },
        ] {
            assert!(matches!(bad.check(), Err(ExecError::Refused(_))), "{bad:?}");
        }
        assert_eq!(TerminalSize::new(0, 24), None);
        assert_eq!(TerminalSize::new(80, 0), None);
        let size = TerminalSize::new(100, 30).unwrap();
        assert_eq!((size.cols(), size.rows()), (100, 30));
    }

    #[test]
    fn term_defaults_and_the_session_mark_cannot_be_forged() {
        let mut r = TerminalRequest::shell(2001, 2002, SIZE);
        r.env = vec![
            ("HOME".into(), "/mnt/home".into()),
            (SESSION_VAR.into(), "forged".into()),
        ];
        let env = r.env_with("s1");
        assert_eq!(
            env,
            [
                ("TERM", DEFAULT_TERM),
                ("HOME", "/mnt/home"),
                (SESSION_VAR, "s1")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        r.env = vec![("TERM".into(), "vt100".into())];
        assert_eq!(r.env_with("s2")[0], ("TERM".into(), "vt100".into()));
        assert_eq!(r.env_with("s2").len(), 2);
    }
}
