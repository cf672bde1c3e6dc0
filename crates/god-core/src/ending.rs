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
    let finished = |reason: Option<String>| Ending::Finished { exit_code, reason };
    let node_failed = |reason: String| Ending::NodeFailed { exit_code, reason };
    if f.stop_requested {
        return finished(None);
    }
    match &f.termination {
        Termination::OutOfMemory { .. } => {
            return finished(Some(format!(
                "killed by the container engine: memory limit of {} GB exceeded",
                f.ram_gb
            )))
        }
        Termination::Killed => return finished(None),
        Termination::TimeLimit => {
            return finished(Some(
                "killed by the engine: its time limit was reached".into(),
            ))
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

#[cfg(test)]
mod tests {
    use super::*;

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
                Ending::Finished { reason, exit_code } => (false, reason.as_deref(), *exit_code),
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
