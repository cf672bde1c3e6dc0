//! What a job looks like on a page, decided from the job alone: its state in words, the
//! action buttons its state allows, times and sizes as people read them. Pure (no I/O, no
//! clock: `now` is given), so every badge, reason and button set is a snapshot test.

use god_core::roles::UserRequest;
use god_core::transition::{self, Event};
use god_core::{Primary, Secondary, Task};

/// A job's state as a badge: a word (never colour alone) and the CSS class that colours it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub text: String,
    pub class: &'static str,
}

/// The badge of `task`'s state.
pub fn badge(task: &Task) -> Badge {
    let s = &task.status;
    let (text, class) = match (s.primary, s.secondary) {
        (Primary::Pending, Some(Secondary::Rescheduled)) => {
            ("pending (rescheduled)".into(), "pending")
        }
        (Primary::Pending, _) => ("pending".into(), "pending"),
        (Primary::Running, Some(Secondary::Suspended)) => ("suspended".into(), "suspended"),
        (Primary::Running, Some(r)) if r.is_request() => (format!("running, {r}"), "running"),
        (Primary::Running, _) => ("running".into(), "running"),
        (Primary::Over | Primary::Archived, _) => {
            let end = ending(task);
            let text = if s.primary == Primary::Archived {
                format!("{} (archived)", end.text)
            } else {
                end.text
            };
            (text, end.class)
        }
    };
    Badge { text, class }
}

/// How a job that is over ended, in words.
pub fn ending(task: &Task) -> Badge {
    let s = &task.status;
    if task.is_array_parent() {
        let a = &task.requirements.array;
        return if a.nb_tasks_failed > 0 {
            Badge {
                text: format!("over, {} of {} tasks failed", a.nb_tasks_failed, a.nb_tasks),
                class: "failed",
            }
        } else {
            Badge {
                text: "over".into(),
                class: "ok",
            }
        };
    }
    match (s.secondary, s.exitcode) {
        (Some(Secondary::Killed), _) => Badge {
            text: "killed".into(),
            class: "killed",
        },
        (Some(Secondary::DependencyFailed), _) => Badge {
            text: "not run: a dependency failed".into(),
            class: "failed",
        },
        (_, Some(0)) => Badge {
            text: "done".into(),
            class: "ok",
        },
        (_, Some(code)) => Badge {
            text: format!("failed: {}", exit_words(code)),
            class: "failed",
        },
        (_, None) => Badge {
            text: "over".into(),
            class: "failed",
        },
    }
}

/// An exit code as people read it: the code, and the signal above 128.
pub fn exit_words(code: i64) -> String {
    let signal = |n: i64| match n {
        1 => Some("SIGHUP"),
        2 => Some("SIGINT"),
        6 => Some("SIGABRT"),
        9 => Some("SIGKILL"),
        11 => Some("SIGSEGV"),
        13 => Some("SIGPIPE"),
        15 => Some("SIGTERM"),
        _ => None,
    };
    match code {
        125 => "exit 125 (the container could not be started)".into(),
        126 => "exit 126 (the command could not run)".into(),
        127 => "exit 127 (command not found)".into(),
        137 => "exit 137 (killed: SIGKILL, out of memory or killed)".into(),
        c if c > 128 && c < 160 => match signal(c - 128) {
            Some(name) => format!("exit {c} (signal {name})"),
            None => format!("exit {c} (signal {})", c - 128),
        },
        c => format!("exit {c}"),
    }
}

/// The requests a user may make of `task` now, as buttons. Each is asked of the state machine
/// the service itself applies (`god_core::transition::apply`), so a button is shown exactly
/// when the request would be accepted; `can_pause`: the job's executor can suspend jobs.
pub fn actions(task: &Task, can_pause: bool) -> Vec<Action> {
    let allowed = |r: UserRequest| {
        let mut t = task.clone();
        transition::apply(&mut t, &Event::from(r), task.date).is_ok()
    };
    let mut out = Vec::new();
    let active = task.status.primary.is_active();
    let kill_asked = task.status.secondary == Some(Secondary::KillRequested);
    // An array parent is killed with its children (the API's cascade), not by the transition.
    if (task.is_array_parent() && active && !kill_asked) || allowed(UserRequest::Kill) {
        out.push(Action::Kill);
    }
    if can_pause && allowed(UserRequest::Suspend) {
        out.push(Action::Suspend);
    }
    if allowed(UserRequest::Resume) {
        out.push(Action::Resume);
    }
    if allowed(UserRequest::Reschedule) {
        out.push(Action::Reschedule);
    }
    if task.status.primary == Primary::Over {
        out.push(Action::Archive);
    }
    if matches!(task.status.primary, Primary::Over | Primary::Archived) {
        out.push(Action::Purge);
    }
    out
}

/// A request a page can make of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Kill,
    Suspend,
    Resume,
    Reschedule,
    Archive,
    /// Delete the job and its directory (the original's archive + purge).
    Purge,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Kill,
        Action::Suspend,
        Action::Resume,
        Action::Reschedule,
        Action::Archive,
        Action::Purge,
    ];

    /// Its name in URLs and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Kill => "kill",
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Reschedule => "reschedule",
            Action::Archive => "archive",
            Action::Purge => "purge",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// What its button says.
    pub fn label(self) -> &'static str {
        match self {
            Action::Kill => "Kill",
            Action::Suspend => "Suspend",
            Action::Resume => "Resume",
            Action::Reschedule => "Reschedule",
            Action::Archive => "Archive",
            Action::Purge => "Delete",
        }
    }

    /// The `god` command that does the same.
    pub fn cli(self, id: u64) -> String {
        match self {
            Action::Purge => format!("god archive --purge {id}"),
            a => format!("god {} {id}", a.as_str()),
        }
    }
}

/// A time (seconds since the epoch) as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn datetime(t: f64) -> String {
    if !t.is_finite() || t <= 0.0 {
        return String::new();
    }
    let secs = t.floor() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The day of `t` as `YYYY-MM-DD` (UTC).
pub fn date(t: f64) -> String {
    datetime(t)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Days since the epoch as (year, month, day): Howard Hinnant's days-to-civil.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A duration in seconds as `1h 02m`, `3m 05s`, `42s`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return String::new();
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// How long `task` ran (or has been running at `now`), if it started.
pub fn run_time(task: &Task, now: f64) -> Option<f64> {
    let started = task.status.date_running?;
    let end = task.status.date_over.unwrap_or(now);
    Some((end - started).max(0.0))
}

/// A size in bytes as people read it.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Memory in GB as the forms and tables show it (`0.5`, `2`, not `2.0`).
pub fn gb(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use god_core::testing::TaskBuilder;

    /// Jobs in every state the pages show, by name.
    fn jobs() -> Vec<(&'static str, Task)> {
        let base = || TaskBuilder::new().user("alice", 2001).build();
        let with = |f: &dyn Fn(&mut Task)| {
            let mut t = base();
            f(&mut t);
            t
        };
        let running = |t: &mut Task| {
            t.status.primary = Primary::Running;
            t.status.date_running = Some(100.0);
        };
        let over = |t: &mut Task, code: i64| {
            t.status.primary = Primary::Over;
            t.status.date_running = Some(100.0);
            t.status.date_over = Some(160.0);
            t.status.exitcode = Some(code);
        };
        vec![
            ("pending", base()),
            (
                "pending, rescheduled",
                with(&|t| t.status.secondary = Some(Secondary::Rescheduled)),
            ),
            ("running", with(&running)),
            (
                "kill requested",
                with(&|t| {
                    running(t);
                    t.status.secondary = Some(Secondary::KillRequested);
                }),
            ),
            (
                "suspend requested",
                with(&|t| {
                    running(t);
                    t.status.secondary = Some(Secondary::SuspendRequested);
                }),
            ),
            (
                "suspended",
                with(&|t| {
                    running(t);
                    t.status.secondary = Some(Secondary::Suspended);
                }),
            ),
            ("done", with(&|t| over(t, 0))),
            ("failed 3", with(&|t| over(t, 3))),
            ("failed 137", with(&|t| over(t, 137))),
            ("failed 143", with(&|t| over(t, 143))),
            (
                "killed",
                with(&|t| {
                    over(t, 137);
                    t.status.secondary = Some(Secondary::Killed);
                }),
            ),
            (
                "dependency failed",
                with(&|t| {
                    t.status.primary = Primary::Over;
                    t.status.secondary = Some(Secondary::DependencyFailed);
                }),
            ),
            (
                "archived",
                with(&|t| {
                    over(t, 0);
                    t.status.primary = Primary::Archived;
                }),
            ),
            (
                "array parent, pending",
                with(&|t| {
                    t.requirements.array.values = Some("1:10:1".into());
                    t.requirements.array.nb_tasks = 10;
                }),
            ),
            (
                "array parent, over with failures",
                with(&|t| {
                    t.requirements.array.values = Some("1:10:1".into());
                    t.requirements.array.nb_tasks = 10;
                    t.requirements.array.nb_tasks_failed = 2;
                    t.status.primary = Primary::Over;
                }),
            ),
        ]
    }

    #[test]
    fn every_state_has_its_badge_and_buttons() {
        let mut out = String::new();
        for (name, t) in jobs() {
            let b = badge(&t);
            let buttons = |pause| {
                actions(&t, pause)
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            out += &format!(
                "{name:34} [{}] {:?} | pause: {} | no pause: {}\n",
                b.class,
                b.text,
                buttons(true),
                buttons(false)
            );
        }
        expect![[r#"
            pending                            [pending] "pending" | pause: kill | no pause: kill
            pending, rescheduled               [pending] "pending (rescheduled)" | pause: kill | no pause: kill
            running                            [running] "running" | pause: kill suspend reschedule | no pause: kill reschedule
            kill requested                     [running] "running, kill requested" | pause:  | no pause: 
            suspend requested                  [running] "running, suspend requested" | pause: kill reschedule | no pause: kill reschedule
            suspended                          [suspended] "suspended" | pause: kill resume reschedule | no pause: kill resume reschedule
            done                               [ok] "done" | pause: archive purge | no pause: archive purge
            failed 3                           [failed] "failed: exit 3" | pause: archive purge | no pause: archive purge
            failed 137                         [failed] "failed: exit 137 (killed: SIGKILL, out of memory or killed)" | pause: archive purge | no pause: archive purge
            failed 143                         [failed] "failed: exit 143 (signal SIGTERM)" | pause: archive purge | no pause: archive purge
            killed                             [killed] "killed" | pause: archive purge | no pause: archive purge
            dependency failed                  [failed] "not run: a dependency failed" | pause: archive purge | no pause: archive purge
            archived                           [ok] "done (archived)" | pause: purge | no pause: purge
            array parent, pending              [pending] "pending" | pause: kill | no pause: kill
            array parent, over with failures   [failed] "over, 2 of 10 tasks failed" | pause: archive purge | no pause: archive purge
        "#]]
        .assert_eq(&out);
    }

    #[test]
    fn times_and_sizes_read_as_people_read_them() {
        let cases = [
            (datetime(0.0), ""),
            (datetime(1_796_688_203.9), "2026-12-08 00:03:23"),
            (date(951_782_400.0), "2000-02-29"),
            (duration(42.4), "42s"),
            (duration(185.0), "3m 05s"),
            (duration(3_720.0), "1h 02m"),
            (duration(200_000.0), "2d 07h"),
            (bytes(999), "999 B"),
            (bytes(1_500_000), "1.5 MB"),
            (gb(2.0), "2"),
            (gb(0.25), "0.25"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
