//! Job state transitions (reference section 1.4), as one pure function.
//!
//! The store applies [`apply`] to the row it read inside one database transaction and writes the
//! result back; a transition that is not allowed from the current state changes nothing and comes
//! back as [`CoreError::Transition`].

use crate::error::CoreError;
use crate::status::{Primary, Secondary};
use crate::task::Task;
use serde_json::json;

/// Exit code recorded for killed jobs, as the original.
pub const KILLED_EXIT_CODE: i64 = 137;

/// Something that happens to a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The scheduler chose the job and is about to create its container under `container_name`
    /// on `node`. Written before the container exists, so a crash leaves a trace to recover.
    /// The job directory is listed in `container.volumes` as the `go-docker` entry (its path
    /// under `shared_dir`), where clients of the original look for `god.log`.
    Dispatch {
        node: String,
        container_name: String,
        shared_dir: String,
    },
    /// The executor created and started the container.
    Started {
        container_id: String,
    },
    /// The executor could not take the job now; it stays pending with a reason.
    DispatchRejected {
        reason: String,
    },
    /// The container ended (or is gone, with a reason). `duration` from `god.info` if known;
    /// `at_limit`: the engine stopped it at a limit (its memory, its time limit).
    Finished {
        exit_code: i64,
        reason: Option<String>,
        duration: Option<f64>,
        at_limit: bool,
    },
    /// A user asked to kill the job. Pending jobs are over at once; running ones wait for the
    /// watcher.
    KillRequested,
    /// The watcher killed the container of a job whose kill was requested.
    Killed,
    SuspendRequested,
    Suspended,
    SuspendRejected {
        reason: String,
    },
    ResumeRequested,
    Resumed,
    ResumeRejected {
        reason: String,
    },
    /// A user asked to run the job again from the start (running jobs only).
    RescheduleRequested,
    /// The watcher removed the container of a job to reschedule: back to pending.
    Rescheduled,
    /// The archiver deleted the job directory.
    Archived,
    /// Update a dynamic requirement (`PUT /api/1.0/task/<id>`).
    SetRequirement {
        name: String,
        value: String,
    },
    /// A dependency can no longer be satisfied: the pending job ends without running.
    DependencyFailed {
        reason: String,
    },
    /// A limit was reached (maxlifespan): kill the running job, saying why.
    LimitReached {
        reason: String,
    },
    /// The node (engine) failed under the job. With retries left (`retries_allowed` is the
    /// effective `failure_policy`), the job goes back to the queue; otherwise it is over.
    NodeFailed {
        reason: String,
        node: String,
        exit_code: i64,
        retries_allowed: u32,
    },
    /// The bytes an over job's directory holds (`container.meta.disk_size`, counted against the
    /// user's disk quota until the job is archived).
    DiskUsage {
        bytes: u64,
    },
    /// An array parent's first children were created: it is "running" from now on.
    ArrayStarted,
    /// One child of this array parent is over (`exit_code` `None`: it never ran).
    ArrayChildOver {
        exit_code: Option<i64>,
    },
}

impl Event {
    fn action(&self) -> &'static str {
        match self {
            Event::Dispatch { .. } => "dispatch it",
            Event::Started { .. } => "record its start",
            Event::DispatchRejected { .. } => "reject its dispatch",
            Event::Finished { .. } => "finish it",
            Event::KillRequested => "kill it",
            Event::Killed => "record its kill",
            Event::SuspendRequested => "suspend it (only a running job can be suspended)",
            Event::Suspended | Event::SuspendRejected { .. } => "record its suspension",
            Event::ResumeRequested => "resume it (only a suspended job can be resumed)",
            Event::Resumed | Event::ResumeRejected { .. } => "record its resumption",
            Event::RescheduleRequested => "reschedule it (only a running job can be rescheduled)",
            Event::Rescheduled => "record its rescheduling",
            Event::Archived => "archive it (only an over job can be archived)",
            Event::SetRequirement { .. } => "change its requirements",
            Event::DependencyFailed { .. } => "fail its dependency (only a pending job waits)",
            Event::NodeFailed { .. } => "record a node failure",
            Event::LimitReached { .. } => "stop it at its limit",
            Event::ArrayStarted => "start its array",
            Event::DiskUsage { .. } => "record its disk usage",
            Event::ArrayChildOver { .. } => "count an array child",
        }
    }
}

fn refuse(task: &Task, event: &Event) -> CoreError {
    let mut state = task.status.primary.to_string();
    if let Some(s) = task.status.secondary {
        state = format!("{state} ({s})");
    }
    CoreError::Transition {
        id: task.id.0,
        state,
        action: event.action(),
    }
}

fn set_exit_code(task: &mut Task, code: i64) {
    task.status.exitcode = Some(code);
    let mut meta = task.container.meta.take().unwrap_or_else(|| json!({}));
    if let Some(obj) = meta.as_object_mut() {
        obj.insert("State".into(), json!({ "ExitCode": code }));
    }
    task.container.meta = Some(meta);
}

fn finish(task: &mut Task, now: f64, code: i64, duration: Option<f64>) {
    task.status.primary = Primary::Over;
    task.status.date_over = Some(now);
    let wall = task.status.date_running.map(|r| (now - r).max(0.0));
    task.status.duration = duration.or(wall).or(Some(0.0));
    set_exit_code(task, code);
}

/// Apply `event` to `task` at time `now` (seconds since the epoch).
pub fn apply(task: &mut Task, event: &Event, now: f64) -> Result<(), CoreError> {
    use Primary::*;
    let primary = task.status.primary;
    let secondary = task.status.secondary;
    match event {
        Event::Dispatch {
            node,
            container_name,
            shared_dir,
        } if primary == Pending && !task.is_array_parent() => {
            let job_volume = crate::launch::job_volume(std::path::Path::new(shared_dir), task);
            let volumes = &mut task.container.volumes;
            volumes.retain(|v| v.name != crate::launch::JOB_VOLUME);
            volumes.push(job_volume);
            task.status.primary = Running;
            task.status.secondary = None;
            task.status.reason = None;
            task.status.date_running = Some(now);
            task.status.attempts += 1;
            task.container.name = Some(container_name.clone());
            task.container.id = None;
            task.container.meta = Some(json!({ "Node": { "Name": node } }));
        }
        Event::Started { container_id } if primary == Running => {
            task.container.id = Some(container_id.clone());
        }
        Event::DispatchRejected { reason } if primary == Pending => {
            task.status.secondary = Some(Secondary::RejectedByScheduler);
            task.status.reason = Some(reason.clone());
        }
        Event::DispatchRejected { reason }
            if primary == Running
                && task.container.id.is_none()
                && secondary == Some(Secondary::KillRequested) =>
        {
            // Killed before its container existed.
            finish(task, now, KILLED_EXIT_CODE, Some(0.0));
            task.status.secondary = Some(Secondary::Killed);
            task.status.reason = Some(reason.clone());
        }
        Event::DispatchRejected { reason } if primary == Running && task.container.id.is_none() => {
            // The container could not be created: back to the queue.
            task.status.primary = Pending;
            task.status.secondary = Some(Secondary::RejectedByScheduler);
            task.status.reason = Some(reason.clone());
            task.status.date_running = None;
            task.container.name = None;
            task.container.meta = None;
        }
        Event::Finished {
            exit_code,
            reason,
            duration,
            ..
        } if primary == Running => {
            let killed = secondary == Some(Secondary::KillRequested);
            finish(task, now, *exit_code, *duration);
            task.status.secondary = if killed {
                Some(Secondary::Killed)
            } else {
                None
            };
            if reason.is_some() {
                task.status.reason = reason.clone();
            }
        }
        Event::KillRequested if primary == Pending && !task.is_array_parent() => {
            finish(task, now, KILLED_EXIT_CODE, Some(0.0));
            task.status.secondary = Some(Secondary::Killed);
            task.status.reason = Some("killed while pending".into());
        }
        Event::KillRequested
            if primary == Running && secondary != Some(Secondary::KillRequested) =>
        {
            task.status.secondary = Some(Secondary::KillRequested);
            // A user's kill: no reason (a running job's reason is that of a refused suspend
            // or resume, stale now; a kill with a reason is a limit's, `LimitReached`).
            task.status.reason = None;
        }
        Event::Killed if primary == Running && !task.is_array_parent() => {
            finish(task, now, KILLED_EXIT_CODE, None);
            task.status.secondary = Some(Secondary::Killed);
        }
        Event::SuspendRequested
            if primary == Running
                && !task.is_array_parent()
                && !matches!(
                    secondary,
                    Some(Secondary::KillRequested)
                        | Some(Secondary::RescheduleRequested)
                        | Some(Secondary::Suspended)
                        | Some(Secondary::SuspendRequested)
                ) =>
        {
            task.status.secondary = Some(Secondary::SuspendRequested);
        }
        Event::Suspended
            if primary == Running && secondary == Some(Secondary::SuspendRequested) =>
        {
            task.status.secondary = Some(Secondary::Suspended);
        }
        Event::SuspendRejected { reason }
            if primary == Running && secondary == Some(Secondary::SuspendRequested) =>
        {
            task.status.secondary = Some(Secondary::SuspendRejected);
            task.status.reason = Some(reason.clone());
        }
        Event::ResumeRequested if primary == Running && secondary == Some(Secondary::Suspended) => {
            task.status.secondary = Some(Secondary::ResumeRequested);
        }
        Event::Resumed if primary == Running && secondary == Some(Secondary::ResumeRequested) => {
            task.status.secondary = Some(Secondary::Resumed);
        }
        Event::ResumeRejected { reason }
            if primary == Running && secondary == Some(Secondary::ResumeRequested) =>
        {
            task.status.secondary = Some(Secondary::ResumeRejected);
            task.status.reason = Some(reason.clone());
        }
        Event::RescheduleRequested
            if primary == Running
                && !task.is_array_parent()
                && !matches!(
                    secondary,
                    Some(Secondary::KillRequested) | Some(Secondary::RescheduleRequested)
                ) =>
        {
            task.status.secondary = Some(Secondary::RescheduleRequested);
        }
        Event::Rescheduled if primary == Running => {
            task.status.primary = Pending;
            task.status.secondary = Some(Secondary::Rescheduled);
            task.status.date_running = None;
            task.status.date_over = None;
            task.status.exitcode = None;
            task.container.id = None;
            task.container.name = None;
            task.container.meta = None;
        }
        Event::DependencyFailed { reason } if primary == Pending && !task.is_array_parent() => {
            task.status.primary = Over;
            task.status.secondary = Some(Secondary::DependencyFailed);
            task.status.reason = Some(reason.clone());
            task.status.date_over = Some(now);
            task.status.duration = Some(0.0);
        }
        Event::LimitReached { reason }
            if primary == Running
                && !task.is_array_parent()
                && secondary != Some(Secondary::KillRequested) =>
        {
            task.status.secondary = Some(Secondary::KillRequested);
            task.status.reason = Some(reason.clone());
        }
        Event::NodeFailed {
            reason,
            node,
            exit_code,
            retries_allowed,
        } if primary == Running => {
            let killed = secondary == Some(Secondary::KillRequested);
            let f = &mut task.status.failure;
            f.reason = Some(reason.clone());
            if !f.nodes.contains(node) {
                f.nodes.push(node.clone());
            }
            f.count += 1;
            if !killed && f.count <= *retries_allowed {
                task.status.primary = Pending;
                task.status.secondary = Some(Secondary::Rescheduled);
                task.status.reason = Some(format!(
                    "node failure, retry {} of {}: {reason}",
                    f.count, retries_allowed
                ));
                task.status.date_running = None;
                task.container.id = None;
                task.container.name = None;
                task.container.meta = None;
            } else {
                finish(task, now, *exit_code, None);
                task.status.secondary = killed.then_some(Secondary::Killed);
                task.status.reason = Some(reason.clone());
            }
        }
        Event::ArrayStarted if primary == Pending && task.is_array_parent() => {
            task.status.primary = Running;
            task.status.date_running = Some(now);
            task.status.reason = None;
            task.status.secondary = None;
        }
        Event::ArrayChildOver { exit_code } if primary.is_active() && task.is_array_parent() => {
            let a = &mut task.requirements.array;
            a.nb_tasks_over += 1;
            if *exit_code != Some(0) {
                a.nb_tasks_failed += 1;
            }
            if a.nb_tasks_over >= a.nb_tasks {
                let failed = a.nb_tasks_failed;
                let killed = secondary == Some(Secondary::KillRequested);
                finish(task, now, if failed == 0 { 0 } else { 1 }, None);
                task.status.secondary = killed.then_some(Secondary::Killed);
                if failed > 0 {
                    task.status.reason = Some(crate::array::failed_reason(failed));
                }
            }
        }
        Event::KillRequested if primary == Pending && task.is_array_parent() => {
            // Its children are killed with it; it is over when they all are.
            task.status.secondary = Some(Secondary::KillRequested);
            if task.requirements.array.nb_tasks_over >= task.requirements.array.nb_tasks {
                finish(task, now, KILLED_EXIT_CODE, Some(0.0));
                task.status.secondary = Some(Secondary::Killed);
            }
        }
        Event::DiskUsage { bytes } if primary == Over => {
            let mut meta = task.container.meta.take().unwrap_or_else(|| json!({}));
            if let Some(obj) = meta.as_object_mut() {
                obj.insert("disk_size".into(), json!(bytes));
            }
            task.container.meta = Some(meta);
        }
        Event::Archived if primary == Over => {
            task.status.primary = Archived;
        }
        Event::SetRequirement { name, value } if primary.is_active() => match name.as_str() {
            "maxlifespan" => task.requirements.maxlifespan = Some(value.clone()),
            _ => {
                return Err(CoreError::Invalid(crate::FieldError::new(
                    "name",
                    format!("{name:?} is not a dynamic field"),
                )))
            }
        },
        _ => return Err(refuse(task, event)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(primary: Primary, secondary: Option<Secondary>) -> Task {
        crate::testing::TaskBuilder::new()
            .id(7)
            .submitted_at(100.0)
            .state(primary, secondary)
            .build()
    }

    fn dispatch() -> Event {
        Event::Dispatch {
            node: "n".into(),
            container_name: "god-x-7-1".into(),
            shared_dir: "/shared".into(),
        }
    }

    /// Clients of the original (Galaxy's runner) find the job directory as the `go-docker`
    /// volume; a second dispatch (a retry) replaces it instead of adding another.
    #[test]
    fn dispatch_lists_the_job_directory_once() {
        let mut t = task(Primary::Pending, None);
        t.container.volumes.push(crate::task::Volume {
            name: "home".into(),
            acl: "rw".into(),
            path: Some("/home/a".into()),
            mount: Some("/mnt/home".into()),
        });
        for _ in 0..2 {
            t.status.primary = Primary::Pending;
            apply(&mut t, &dispatch(), 1.0).unwrap();
        }
        let v = &t.container.volumes;
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0].name, "home");
        assert_eq!(v[1].name, "go-docker");
        assert_eq!(v[1].acl, "rw");
        assert_eq!(
            v[1].path.as_deref(),
            Some("/shared/tasks/pairtree_root/7/task")
        );
        assert_eq!(v[1].mount.as_deref(), Some("/mnt/go-docker"));
    }

    /// (from primary, from secondary, event, Some(to primary, to secondary) or None = refused)
    #[test]
    fn transition_table() {
        use Primary::*;
        use Secondary as S;
        let fin = Event::Finished {
            exit_code: 3,
            reason: None,
            duration: None,
            at_limit: false,
        };
        let cases: Vec<(Primary, Option<S>, Event, Option<(Primary, Option<S>)>)> = vec![
            (Pending, None, dispatch(), Some((Running, None))),
            (
                Pending,
                Some(S::RejectedByScheduler),
                dispatch(),
                Some((Running, None)),
            ),
            (Running, None, dispatch(), None),
            (Over, None, dispatch(), None),
            (
                Pending,
                None,
                Event::DispatchRejected {
                    reason: "full".into(),
                },
                Some((Pending, Some(S::RejectedByScheduler))),
            ),
            (Running, None, fin.clone(), Some((Over, None))),
            (
                Running,
                Some(S::KillRequested),
                fin.clone(),
                Some((Over, Some(S::Killed))),
            ),
            (Pending, None, fin.clone(), None),
            (
                Pending,
                None,
                Event::KillRequested,
                Some((Over, Some(S::Killed))),
            ),
            (
                Running,
                None,
                Event::KillRequested,
                Some((Running, Some(S::KillRequested))),
            ),
            (Running, Some(S::KillRequested), Event::KillRequested, None),
            (Over, None, Event::KillRequested, None),
            (
                Running,
                Some(S::KillRequested),
                Event::Killed,
                Some((Over, Some(S::Killed))),
            ),
            (
                Running,
                None,
                Event::SuspendRequested,
                Some((Running, Some(S::SuspendRequested))),
            ),
            (Pending, None, Event::SuspendRequested, None),
            (Running, Some(S::Suspended), Event::SuspendRequested, None),
            (
                Running,
                Some(S::SuspendRequested),
                Event::Suspended,
                Some((Running, Some(S::Suspended))),
            ),
            (
                Running,
                Some(S::SuspendRequested),
                Event::SuspendRejected { reason: "x".into() },
                Some((Running, Some(S::SuspendRejected))),
            ),
            (
                Running,
                Some(S::Suspended),
                Event::ResumeRequested,
                Some((Running, Some(S::ResumeRequested))),
            ),
            (Running, None, Event::ResumeRequested, None),
            (Pending, None, Event::ResumeRequested, None),
            (
                Running,
                Some(S::ResumeRequested),
                Event::Resumed,
                Some((Running, Some(S::Resumed))),
            ),
            (
                Running,
                Some(S::Suspended),
                Event::KillRequested,
                Some((Running, Some(S::KillRequested))),
            ),
            (
                Running,
                None,
                Event::RescheduleRequested,
                Some((Running, Some(S::RescheduleRequested))),
            ),
            (Pending, None, Event::RescheduleRequested, None),
            (
                Running,
                Some(S::RescheduleRequested),
                Event::Rescheduled,
                Some((Pending, Some(S::Rescheduled))),
            ),
            (Over, None, Event::Archived, Some((Archived, None))),
            (Running, None, Event::Archived, None),
            (Archived, None, Event::Archived, None),
        ];
        for (i, (p, s, ev, want)) in cases.into_iter().enumerate() {
            let mut t = task(p, s);
            let before = t.clone();
            let got = apply(&mut t, &ev, 200.0);
            match want {
                Some((wp, ws)) => {
                    assert!(
                        got.is_ok(),
                        "case {i}: {ev:?} from {p}/{s:?} refused: {got:?}"
                    );
                    assert_eq!(
                        (t.status.primary, t.status.secondary),
                        (wp, ws),
                        "case {i}: {ev:?}"
                    );
                }
                None => {
                    assert!(got.is_err(), "case {i}: {ev:?} from {p}/{s:?} allowed");
                    assert_eq!(t, before, "case {i}: a refused transition changed the task");
                }
            }
        }
    }

    #[test]
    fn finish_records_exit_code_duration_and_meta_state() {
        let mut t = task(Primary::Running, None);
        apply(
            &mut t,
            &Event::Finished {
                exit_code: 3,
                reason: None,
                duration: None,
                at_limit: false,
            },
            160.0,
        )
        .unwrap();
        assert_eq!(t.status.exitcode, Some(3));
        assert_eq!(t.status.duration, Some(60.0));
        assert_eq!(t.status.date_over, Some(160.0));
        assert_eq!(t.container.meta.unwrap()["State"]["ExitCode"], 3);
    }

    #[test]
    fn kill_of_pending_job_is_over_with_137() {
        let mut t = task(Primary::Pending, None);
        apply(&mut t, &Event::KillRequested, 5.0).unwrap();
        assert_eq!(t.status.exitcode, Some(KILLED_EXIT_CODE));
        assert_eq!(t.status.date_over, Some(5.0));
    }

    #[test]
    fn node_failures_retry_then_give_up() {
        let fail = Event::NodeFailed {
            reason: "engine lost the container".into(),
            node: "n1".into(),
            exit_code: 255,
            retries_allowed: 1,
        };
        let mut t = task(Primary::Running, None);
        apply(&mut t, &fail, 10.0).unwrap();
        assert_eq!(t.status.primary, Primary::Pending);
        assert_eq!(t.status.secondary, Some(Secondary::Rescheduled));
        assert_eq!(t.status.failure.count, 1);
        t.status.primary = Primary::Running;
        t.status.date_running = Some(11.0);
        apply(&mut t, &fail, 20.0).unwrap();
        assert_eq!(t.status.primary, Primary::Over, "no retry left");
        assert_eq!(t.status.exitcode, Some(255));
        assert_eq!(t.status.failure.nodes, vec!["n1".to_string()]);
    }

    #[test]
    fn dependency_failure_ends_a_pending_job_without_exit_code() {
        let mut t = task(Primary::Pending, None);
        apply(
            &mut t,
            &Event::DependencyFailed {
                reason: "job 3 failed".into(),
            },
            5.0,
        )
        .unwrap();
        assert_eq!(t.status.primary, Primary::Over);
        assert_eq!(t.status.secondary, Some(Secondary::DependencyFailed));
        assert_eq!(t.status.exitcode, None);
        let mut r = task(Primary::Running, None);
        assert!(apply(&mut r, &Event::DependencyFailed { reason: "x".into() }, 5.0).is_err());
    }

    #[test]
    fn array_parent_counts_children_and_ends_with_the_last() {
        let mut p = task(Primary::Pending, None);
        p.requirements.array.values = Some("1:3".into());
        p.requirements.array.nb_tasks = 3;
        apply(&mut p, &Event::ArrayStarted, 1.0).unwrap();
        assert_eq!(p.status.primary, Primary::Running);
        for code in [Some(0), Some(2)] {
            apply(&mut p, &Event::ArrayChildOver { exit_code: code }, 2.0).unwrap();
            assert_eq!(p.status.primary, Primary::Running);
        }
        apply(&mut p, &Event::ArrayChildOver { exit_code: Some(0) }, 3.0).unwrap();
        assert_eq!(p.status.primary, Primary::Over);
        assert_eq!(p.status.exitcode, Some(1));
        assert_eq!(p.requirements.array.nb_tasks_failed, 1);
        assert_eq!(
            p.status.reason.as_deref(),
            Some("1 of the array's tasks failed")
        );
        let mut q = task(Primary::Running, None);
        q.requirements.array.values = Some("1:3".into());
        assert!(
            apply(&mut q, &Event::SuspendRequested, 1.0).is_err(),
            "arrays are not suspended"
        );
    }

    #[test]
    fn array_parent_is_never_dispatched() {
        let mut t = task(Primary::Pending, None);
        t.requirements.array.values = Some("1:3".into());
        assert!(apply(&mut t, &dispatch(), 1.0).is_err());
    }
}
