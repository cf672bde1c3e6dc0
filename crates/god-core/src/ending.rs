//! What the end of a job's container means: the script's own end, or its node failing under it.
//!
//! The watcher gathers the facts (the engine's state of the container, what the job's init process
//! left in the job directory, whether we asked for the end) and this decides, so that an Engine
//! restart is told apart from a script that exits 143.

/// What is known about a container that stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitFacts {
    pub exit_code: i64,
    /// The engine killed it for exceeding its memory limit.
    pub oom_killed: bool,
    /// The engine's error, when it could not run the container at all.
    pub engine_error: Option<String>,
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
    let finished = |reason: Option<String>| Ending::Finished {
        exit_code: f.exit_code,
        reason,
    };
    if f.stop_requested {
        return finished(None);
    }
    if f.oom_killed {
        return finished(Some(format!(
            "killed by the container engine: memory limit of {} GB exceeded",
            f.ram_gb
        )));
    }
    if let Some(sig) = f.outside_signal {
        return Ending::NodeFailed {
            exit_code: f.exit_code,
            reason: format!(
                "the container engine stopped the container (signal {sig} from outside it): \
                 the engine was stopped or restarted while the job ran"
            ),
        };
    }
    if f.engine_error.is_none() && !f.init_saw_the_end {
        if let Some(sig) = signal_of(f.exit_code) {
            // The init process runs as root in the container: the job's user cannot signal
            // it, and it records every end it sees. Killed before it could: from outside.
            return Ending::NodeFailed {
                exit_code: f.exit_code,
                reason: format!(
                    "the job's init process was killed from outside the container (signal \
                     {sig}): the container engine or its node stopped it"
                ),
            };
        }
    }
    finished(f.engine_error.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(exit_code: i64) -> ExitFacts {
        ExitFacts {
            exit_code,
            oom_killed: false,
            engine_error: None,
            outside_signal: None,
            init_saw_the_end: true,
            stop_requested: false,
            ram_gb: 0.5,
        }
    }

    #[test]
    fn what_an_end_means() {
        let engine_stop = |code: i64| {
            let mut f = facts(code);
            f.outside_signal = Some(15);
            f
        };
        let init_killed = |code: i64| {
            let mut f = facts(code);
            f.init_saw_the_end = false;
            f
        };
        // (facts, node failure?, reason contains)
        let cases: Vec<(&str, ExitFacts, bool, Option<&str>)> = vec![
            ("script exits 0", facts(0), false, None),
            ("script exits 143 itself", facts(143), false, None),
            ("script killed by its own signal", facts(137), false, None),
            (
                "engine stop, script ended by the forwarded SIGTERM",
                engine_stop(143),
                true,
                Some("container engine stopped the container (signal 15"),
            ),
            (
                "engine stop, script trapped SIGTERM and exited 0",
                engine_stop(0),
                true,
                Some("engine was stopped or restarted"),
            ),
            (
                "init killed before it saw the end",
                init_killed(137),
                true,
                Some("killed from outside the container (signal 9)"),
            ),
            (
                "init never saw the end but no signal (setup failure)",
                init_killed(126),
                false,
                None,
            ),
            (
                "out of memory",
                {
                    let mut f = facts(137);
                    f.oom_killed = true;
                    f.init_saw_the_end = false;
                    f
                },
                false,
                Some("memory limit of 0.5 GB"),
            ),
            (
                "the engine could not run it",
                {
                    let mut f = facts(128);
                    f.engine_error = Some("exec format error".into());
                    f.init_saw_the_end = false;
                    f
                },
                false,
                Some("exec format error"),
            ),
            (
                "we killed it",
                {
                    let mut f = engine_stop(137);
                    f.stop_requested = true;
                    f.init_saw_the_end = false;
                    f
                },
                false,
                None,
            ),
        ];
        for (what, f, node_failure, reason) in cases {
            let got = classify(&f);
            let (is_failure, got_reason, code) = match &got {
                Ending::NodeFailed { reason, exit_code } => {
                    (true, Some(reason.as_str()), *exit_code)
                }
                Ending::Finished { reason, exit_code } => (false, reason.as_deref(), *exit_code),
            };
            assert_eq!(is_failure, node_failure, "{what}: {got:?}");
            assert_eq!(code, f.exit_code, "{what}: the exit code is kept");
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
