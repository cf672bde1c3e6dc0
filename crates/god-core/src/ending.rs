//! What the end of a job's container means: the script's own end, or its node failing under it.
//!
//! The watcher gathers the facts (the engine's state of the container, what the job's init process
//! left in the job directory, whether we asked for the end) and this decides, so that an Engine
//! restart is told apart from a script that exits 143.

/// How a job's process ended, as its engine tells it. Engines know more or less: the Docker
/// Engine gives an exit code and whether it killed for memory; a batch system also knows its own
/// time limit and a node's failure; one that cannot tell why a process was killed says
/// `Signaled` (cause unknown).
#[derive(Debug, Clone, PartialEq)]
pub enum Termination {
    /// Its exit code (the init process passes the script's on: 128 + n when the script died of
    /// signal n).
    Exited { code: i64 },
    /// Killed by a signal, cause unknown.
    Signaled { signal: i32 },
    /// Killed by the engine for exceeding its memory limit.
    OutOfMemory { code: i64 },
    /// Killed through the executor, at our request.
    Killed,
    /// The engine's own time limit (a batch system's wall time).
    TimeLimit,
    /// The engine reports that the node under the job failed.
    NodeFailure { message: String },
    /// The engine could not run it, or lost how it ended.
    EngineFailure { code: i64, message: String },
}

/// The exit code recorded for a job killed by a signal it did not handle.
const fn signal_code(signal: i32) -> i64 {
    128 + signal as i64
}

impl Termination {
    /// The exit code recorded for the job.
    pub fn exit_code(&self) -> i64 {
        match self {
            Termination::Exited { code }
            | Termination::OutOfMemory { code }
            | Termination::EngineFailure { code, .. } => *code,
            Termination::Signaled { signal } => signal_code(*signal),
            Termination::Killed | Termination::TimeLimit | Termination::NodeFailure { .. } => {
                signal_code(9)
            }
        }
    }
}

/// What is known about a container that stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitFacts {
    pub termination: Termination,
    /// A signal that reached the job's init process from outside its container (the init
    /// process records it in `god.stop` as it arrives): the engine stopping the container.
    pub outside_signal: Option<i32>,
    /// The init process saw the script end (it wrote the end time to `god.info`).
    pub init_saw_the_end: bool,
    /// We asked for this end (a kill or a reschedule).
    pub stop_requested: bool,
    /// The job's memory limit, GB (for the message).
    pub ram_gb: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The script ended (or the engine could not run it, or we stopped it).
    Finished {
        exit_code: i64,
        reason: Option<String>,
        /// The engine stopped it at a limit (its memory, its time limit).
        at_limit: bool,
    },
    /// The engine or the node ended the job: a node failure, retried per `failure_policy`.
    NodeFailed { exit_code: i64, reason: String },
}

/// The first signal number an exit code stands for (128 + signal), if it is one.
fn signal_of(exit_code: i64) -> Option<i64> {
    (129..=128 + 64)
        .contains(&exit_code)
        .then_some(exit_code - 128)
}

pub fn classify(f: &ExitFacts) -> Ending {
    let exit_code = f.termination.exit_code();
    let finished = |reason: Option<String>| Ending::Finished {
        exit_code,
        reason,
        at_limit: false,
    };
    let at_limit = |reason: String| Ending::Finished {
        exit_code,
        reason: Some(reason),
        at_limit: true,
    };
    let node_failed = |reason: String| Ending::NodeFailed { exit_code, reason };
    if f.stop_requested {
        return finished(None);
    }
    match &f.termination {
        Termination::OutOfMemory { .. } => {
            return at_limit(format!(
                "killed by the container engine: memory limit of {} GB exceeded",
                f.ram_gb
            ))
        }
        Termination::Killed => return finished(None),
        Termination::TimeLimit => {
            return at_limit("killed by the engine: its time limit was reached".into())
        }
        Termination::NodeFailure { message } => return node_failed(message.clone()),
        Termination::EngineFailure { message, .. } => {
            if f.outside_signal.is_none() {
                return finished(Some(message.clone()));
            }
        }
        Termination::Exited { .. } | Termination::Signaled { .. } => {}
    }
    if let Some(sig) = f.outside_signal {
        return node_failed(format!(
            "the container engine stopped the container (signal {sig} from outside it): the \
             engine was stopped or restarted while the job ran"
        ));
    }
    if !f.init_saw_the_end {
        if let Some(sig) = signal_of(exit_code) {
            // The init process runs as root in the container: the job's user cannot signal
            // it, and it records every end it sees. Killed before it could: from outside.
            return node_failed(format!(
                "the job's init process was killed from outside the container (signal {sig}): \
                 the container engine or its node stopped it"
            ));
        }
    }
    match f.termination {
        Termination::Signaled { signal } => {
            finished(Some(format!("killed by signal {signal}, cause unknown")))
        }
        _ => finished(None),
    }
}

/// How one run of a job ended, as its usage record keeps it (a closed list, stored as codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunOutcome {
    /// `ok`: the script exited 0.
    Ok,
    /// `failed`: a non-zero exit code, or the engine could not run it to its end.
    Failed,
    /// `killed`: at a user's (or an administrator's) request, or to run it again.
    Killed,
    /// `node_failure`: the node or engine under it failed, or lost it.
    NodeFailure,
    /// `limit_reached`: its maximum run time, its memory, the engine's time limit.
    LimitReached,
    /// `unknown`: runs recorded before outcomes were.
    Unknown,
}

impl RunOutcome {
    /// Every outcome, each once.
    pub const ALL: [RunOutcome; 6] = [
        RunOutcome::Ok,
        RunOutcome::Failed,
        RunOutcome::Killed,
        RunOutcome::NodeFailure,
        RunOutcome::LimitReached,
        RunOutcome::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Failed => "failed",
            RunOutcome::Killed => "killed",
            RunOutcome::NodeFailure => "node_failure",
            RunOutcome::LimitReached => "limit_reached",
            RunOutcome::Unknown => "unknown",
        }
    }

    /// The outcome a stored code names (`None`: a code this version does not know).
    pub fn parse(code: &str) -> Option<RunOutcome> {
        RunOutcome::ALL.into_iter().find(|o| o.as_str() == code)
    }

    /// How the run of `before` (the job as it ran) ended with `event`. A kill we were asked for
    /// is the asker's: with a reason, a limit's (`LimitReached` gives one, a user's kill none).
    pub fn of_run(before: &crate::Task, event: &crate::transition::Event) -> RunOutcome {
        use crate::status::Secondary;
        use crate::transition::Event;
        match before.status.secondary {
            Some(Secondary::KillRequested) if before.status.reason.is_some() => {
                return RunOutcome::LimitReached
            }
            Some(Secondary::KillRequested | Secondary::RescheduleRequested) => {
                return RunOutcome::Killed
            }
            _ => {}
        }
        match event {
            Event::Finished { at_limit: true, .. } => RunOutcome::LimitReached,
            Event::Finished {
                exit_code: 0,
                reason: None,
                ..
            } => RunOutcome::Ok,
            Event::Finished { .. } => RunOutcome::Failed,
            Event::Killed | Event::Rescheduled => RunOutcome::Killed,
            Event::NodeFailed { .. } => RunOutcome::NodeFailure,
            _ => RunOutcome::Unknown,
        }
    }
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_a_run_ended() {
        use crate::status::Secondary;
        use crate::transition::Event;
        let running = |secondary: Option<Secondary>, reason: Option<&str>| {
            let mut t = crate::Task::default();
            t.status.primary = crate::Primary::Running;
            t.status.secondary = secondary;
            t.status.reason = reason.map(String::from);
            t
        };
        let finished = |exit_code, reason: Option<&str>, at_limit| Event::Finished {
            exit_code,
            reason: reason.map(String::from),
            duration: None,
            at_limit,
        };
        let node_failed = Event::NodeFailed {
            reason: "gone".into(),
            node: "n1".into(),
            exit_code: 137,
            retries_allowed: 1,
        };
        let kill = Some(Secondary::KillRequested);
        let cases = [
            (
                "exit 0",
                running(None, None),
                finished(0, None, false),
                RunOutcome::Ok,
            ),
            (
                "exit 2",
                running(None, None),
                finished(2, None, false),
                RunOutcome::Failed,
            ),
            (
                "exit 0 but the engine said why",
                running(None, None),
                finished(0, Some("engine trouble"), false),
                RunOutcome::Failed,
            ),
            (
                "out of memory",
                running(None, None),
                finished(137, Some("memory limit"), true),
                RunOutcome::LimitReached,
            ),
            (
                "our kill",
                running(kill, None),
                Event::Killed,
                RunOutcome::Killed,
            ),
            (
                "our kill, seen as an exit",
                running(kill, None),
                finished(137, None, false),
                RunOutcome::Killed,
            ),
            (
                "maxlifespan: a kill with a reason",
                running(kill, Some("Max duration reached (60 s)")),
                Event::Killed,
                RunOutcome::LimitReached,
            ),
            (
                "rescheduled",
                running(Some(Secondary::RescheduleRequested), None),
                Event::Rescheduled,
                RunOutcome::Killed,
            ),
            (
                "suspended, then its node failed",
                running(Some(Secondary::Suspended), None),
                node_failed.clone(),
                RunOutcome::NodeFailure,
            ),
            (
                "node failure",
                running(None, None),
                node_failed,
                RunOutcome::NodeFailure,
            ),
            (
                "not an end",
                running(None, None),
                Event::Suspended,
                RunOutcome::Unknown,
            ),
        ];
        for (name, before, event, want) in cases {
            assert_eq!(RunOutcome::of_run(&before, &event), want, "{name}");
        }
        for o in RunOutcome::ALL {
            assert_eq!(RunOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(RunOutcome::parse("fine"), None);
    }

    /// A user's kill leaves no reason behind, so a kill with one is a limit's.
    #[test]
    fn a_users_kill_clears_a_stale_reason() {
        use crate::status::Secondary;
        use crate::transition::{apply, Event};
        let mut t = crate::Task::default();
        t.status.primary = crate::Primary::Running;
        t.status.secondary = Some(Secondary::SuspendRejected);
        t.status.reason = Some("pause is not supported".into());
        apply(&mut t, &Event::KillRequested, 1.0).unwrap();
        assert_eq!(t.status.reason, None);
        assert_eq!(RunOutcome::of_run(&t, &Event::Killed), RunOutcome::Killed);
        let mut t = crate::Task::default();
        t.status.primary = crate::Primary::Running;
        let limit = Event::LimitReached {
            reason: "Max duration reached (1 s)".into(),
        };
        apply(&mut t, &limit, 1.0).unwrap();
        assert_eq!(
            RunOutcome::of_run(&t, &Event::Killed),
            RunOutcome::LimitReached
        );
    }

    fn facts(termination: Termination) -> ExitFacts {
        ExitFacts {
            termination,
            outside_signal: None,
            init_saw_the_end: true,
            stop_requested: false,
            ram_gb: 0.5,
        }
    }

    fn exited(code: i64) -> ExitFacts {
        facts(Termination::Exited { code })
    }

    #[test]
    fn what_an_end_means() {
        let engine_stop = |code: i64| ExitFacts {
            outside_signal: Some(15),
            ..exited(code)
        };
        let unseen = |f: ExitFacts| ExitFacts {
            init_saw_the_end: false,
            ..f
        };
        // (what, facts, node failure?, exit code, reason contains)
        let cases: Vec<(&str, ExitFacts, bool, i64, Option<&str>)> = vec![
            ("script exits 0", exited(0), false, 0, None),
            ("script exits 143 itself", exited(143), false, 143, None),
            (
                "script killed by its own signal",
                exited(137),
                false,
                137,
                None,
            ),
            (
                "engine stop, script ended by the forwarded SIGTERM",
                engine_stop(143),
                true,
                143,
                Some("container engine stopped the container (signal 15"),
            ),
            (
                "engine stop, script trapped SIGTERM and exited 0",
                engine_stop(0),
                true,
                0,
                Some("engine was stopped or restarted"),
            ),
            (
                "init killed before it saw the end",
                unseen(exited(137)),
                true,
                137,
                Some("killed from outside the container (signal 9)"),
            ),
            (
                "init never saw the end but no signal (setup failure)",
                unseen(exited(126)),
                false,
                126,
                None,
            ),
            (
                "out of memory",
                unseen(facts(Termination::OutOfMemory { code: 137 })),
                false,
                137,
                Some("memory limit of 0.5 GB"),
            ),
            (
                "the engine could not run it",
                unseen(facts(Termination::EngineFailure {
                    code: 128,
                    message: "exec format error".into(),
                })),
                false,
                128,
                Some("exec format error"),
            ),
            (
                "we killed it (the engine says 137)",
                ExitFacts {
                    stop_requested: true,
                    ..unseen(engine_stop(137))
                },
                false,
                137,
                None,
            ),
            (
                "we killed it (the executor says so)",
                unseen(facts(Termination::Killed)),
                false,
                137,
                None,
            ),
            (
                "a signal the engine cannot explain, after the init saw the end",
                facts(Termination::Signaled { signal: 9 }),
                false,
                137,
                Some("signal 9, cause unknown"),
            ),
            (
                "a signal the engine cannot explain, the init never saw the end",
                unseen(facts(Termination::Signaled { signal: 9 })),
                true,
                137,
                Some("killed from outside the container (signal 9)"),
            ),
            (
                "the engine's time limit",
                unseen(facts(Termination::TimeLimit)),
                false,
                137,
                Some("time limit"),
            ),
            (
                "the engine reports its node failed",
                unseen(facts(Termination::NodeFailure {
                    message: "node n2 stopped answering".into(),
                })),
                true,
                137,
                Some("node n2 stopped answering"),
            ),
        ];
        for (what, f, node_failure, want_code, reason) in cases {
            let got = classify(&f);
            let (is_failure, got_reason, code) = match &got {
                Ending::NodeFailed { reason, exit_code } => {
                    (true, Some(reason.as_str()), *exit_code)
                }
                Ending::Finished {
                    reason, exit_code, ..
                } => (false, reason.as_deref(), *exit_code),
            };
            assert_eq!(is_failure, node_failure, "{what}: {got:?}");
            assert_eq!(code, want_code, "{what}: the exit code");
            match reason {
                Some(want) => assert!(
                    got_reason.is_some_and(|r| r.contains(want)),
                    "{what}: {got:?}"
                ),
                None => assert_eq!(got_reason, None, "{what}: {got:?}"),
            }
        }
    }
}
