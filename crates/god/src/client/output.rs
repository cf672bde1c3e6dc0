//! Output helpers: tables for people, JSON for scripts, times, durations, and reading a task
//! document without trusting every field to be there.

use anyhow::{anyhow, Result};
use god_core::Task;
use std::io::Write;

/// Write to stdout. A reader that went away (`god list | head -1`) is not an error: the rest
/// of the output is dropped and the command still ends with its own status.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow!("writing to stdout: {e}")),
    }
}

/// Write one line to stdout (see [`emit`]).
pub fn emit_line(line: &str) -> Result<()> {
    emit(&format!("{line}\n"))
}

/// Print a JSON document, pretty, on stdout: the server's answer as received ([`super::raw::Raw`]),
/// or a document this client read (`god submit --wait --json`: the final job).
pub fn print_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| anyhow!("printing JSON: {e}"))?;
    emit_line(&text)
}

/// Shorten `s` to at most `max` characters, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// One line for a table cell: control characters (newlines, tabs) become spaces.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        out.push(if c.is_control() { ' ' } else { c });
    }
    out.trim().to_string()
}

/// A plain text table: a header, left-aligned text and right-aligned number columns, two spaces
/// between columns, no trailing spaces.
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// `columns`: name and whether the column is right-aligned (numbers).
    pub fn new(columns: &[(&str, bool)]) -> Table {
        Table {
            headers: columns.iter().map(|(h, _)| h.to_string()).collect(),
            right: columns.iter().map(|(_, r)| *r).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| one_line(c)).collect());
    }

    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&self.headers).chain(self.rows.iter()) {
            let mut text = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = line.get(i).map(String::as_str).unwrap_or("");
                let pad = width.saturating_sub(cell.chars().count());
                if i > 0 {
                    text.push_str("  ");
                }
                if self.right.get(i).copied().unwrap_or(false) {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    if i + 1 < n {
                        text.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) -> Result<()> {
        emit(&self.render())
    }
}

/// A time (seconds since the epoch) in the given time zone, `YYYY-MM-DD HH:MM:SS`.
pub fn format_time_in(ts: f64, tz: &jiff::tz::TimeZone) -> String {
    if !ts.is_finite() {
        return "-".into();
    }
    match jiff::Timestamp::from_second(ts.floor() as i64) {
        Ok(t) => t
            .to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        Err(_) => "-".into(),
    }
}

/// A time in the local time zone (`TZ`, else `/etc/localtime`, else UTC).
pub fn format_time(ts: f64) -> String {
    format_time_in(ts, &jiff::tz::TimeZone::system())
}

/// A number as people write it: `4`, `0.5`.
pub fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A duration in seconds: `0:05`, `12:34`, `1:02:03`, `2d 3:04:05`.
pub fn format_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".into();
    }
    let s = secs.round() as u64;
    let (d, h, m, s) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}:{m:02}:{s:02}")
    } else if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Memory in GB as people write it: `2G`, `0.5G`.
pub fn format_gb(gb: f64) -> String {
    if gb.fract() == 0.0 {
        format!("{}G", gb as i64)
    } else {
        let s = format!("{gb:.3}");
        format!("{}G", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// A byte count: `512`, `1.5K`, `3.2M`, `1.0G`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return n.to_string();
    }
    let mut v = n as f64;
    let mut unit = "";
    for u in UNITS {
        v /= 1024.0;
        unit = u;
        if v < 1024.0 {
            break;
        }
    }
    format!("{v:.1}{unit}")
}

/// The exit status of `god submit --wait`: the job's exit code when it is 0-255, 1 otherwise
/// (no exit code: never ran, rejected, lost).
pub fn exit_status(exitcode: Option<i64>) -> i32 {
    match exitcode {
        Some(c) if (0..=255).contains(&c) => c as i32,
        _ => 1,
    }
}

/// What tables and status lines show of a job (the task document, `god_core::Task`).
#[derive(Clone, Copy)]
pub struct Job<'a>(pub &'a Task);

fn nonempty(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

impl<'a> Job<'a> {
    /// The id (`?` for a document without one).
    pub fn id(&self) -> String {
        match self.0.id.0 {
            0 => "?".into(),
            n => n.to_string(),
        }
    }
    pub fn user(&self) -> &'a str {
        &self.0.user.id
    }
    pub fn name(&self) -> &'a str {
        &self.0.meta.name
    }
    pub fn primary(&self) -> &'static str {
        self.0.status.primary.as_str()
    }
    pub fn secondary(&self) -> Option<&'static str> {
        self.0.status.secondary.map(|s| s.as_str())
    }
    pub fn reason(&self) -> Option<&'a str> {
        self.0.status.reason.as_deref().and_then(nonempty)
    }
    pub fn exitcode(&self) -> Option<i64> {
        self.0.status.exitcode
    }
    pub fn date(&self) -> Option<f64> {
        Some(self.0.date).filter(|d| *d > 0.0)
    }
    pub fn date_running(&self) -> Option<f64> {
        self.0.status.date_running
    }
    pub fn date_over(&self) -> Option<f64> {
        self.0.status.date_over
    }
    pub fn duration(&self) -> Option<f64> {
        self.0.status.duration
    }
    /// `None` for a document without requirements (0).
    pub fn cpu(&self) -> Option<f64> {
        Some(f64::from(self.0.requirements.cpu)).filter(|c| *c > 0.0)
    }
    pub fn ram(&self) -> Option<f64> {
        Some(self.0.requirements.ram).filter(|r| *r > 0.0)
    }
    pub fn image(&self) -> &'a str {
        &self.0.container.image
    }
    pub fn node(&self) -> Option<&'a str> {
        self.0.node_name().and_then(nonempty)
    }
    pub fn container_id(&self) -> Option<&'a str> {
        self.0.container.id.as_deref().and_then(nonempty)
    }

    /// Over or archived: nothing more will happen to it.
    pub fn is_finished(&self) -> bool {
        matches!(self.primary(), "over" | "archived")
    }

    /// `primary` or `primary/secondary`, for tables.
    pub fn state(&self) -> String {
        match self.secondary() {
            Some(s) => format!("{}/{s}", self.primary()),
            None => self.primary().to_string(),
        }
    }

    /// The one-line status shown while waiting and at the end: `pending (waiting for …)`,
    /// `running 0:05`, `over, exit code 0 after 0:03`.
    pub fn status_line(&self, now: f64) -> String {
        let mut s = self.primary().to_string();
        if self.primary() == "running" {
            if let Some(start) = self.date_running() {
                s.push(' ');
                s.push_str(&format_duration((now - start).max(0.0)));
            }
        }
        let detail: Vec<&str> = [self.secondary(), self.reason()]
            .into_iter()
            .flatten()
            .collect();
        if !detail.is_empty() {
            s.push_str(&format!(" ({})", detail.join(": ")));
        }
        if self.is_finished() {
            match self.exitcode() {
                Some(c) => s.push_str(&format!(", exit code {c}")),
                None => s.push_str(", no exit code"),
            }
            if let Some(d) = self.duration() {
                s.push_str(&format!(" after {}", format_duration(d)));
            }
        }
        s
    }
}

/// The terminal width to fit a live status line into (`$COLUMNS`, else 80).
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c >= 20)
        .unwrap_or(80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::json;

    #[test]
    fn tables_align_and_trim() {
        let mut t = Table::new(&[("ID", true), ("NAME", false), ("STATE", false)]);
        t.row(vec!["7".into(), "hello\nworld".into(), "running".into()]);
        t.row(vec!["12".into(), "x".into(), "".into()]);
        assert_eq!(
            t.render(),
            "ID  NAME         STATE\n 7  hello world  running\n12  x\n"
        );
        let empty = Table::new(&[("A", false), ("B", false)]);
        assert_eq!(empty.render(), "A  B\n");
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("hello world", 6), "hello…");
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("x", 0), "");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(format_duration(5.0), "0:05");
        assert_eq!(format_duration(65.4), "1:05");
        assert_eq!(format_duration(3661.0), "1:01:01");
        assert_eq!(format_duration(90_000.0), "1d 1:00:00");
        assert_eq!(format_duration(-1.0), "-");
        assert_eq!(format_gb(2.0), "2G");
        assert_eq!(format_gb(0.25), "0.25G");
        assert_eq!(format_gb(1.5), "1.5G");
        assert_eq!(format_bytes(512), "512");
        assert_eq!(format_bytes(1536), "1.5K");
        assert_eq!(format_bytes(3 * 1024 * 1024 * 1024), "3.0G");
    }

    #[test]
    fn times_in_a_zone() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(format_time_in(0.0, &utc), "1970-01-01 00:00:00");
        assert_eq!(format_time_in(1_488_931_200.7, &utc), "2017-03-08 00:00:00");
        let plus2 = jiff::tz::TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(format_time_in(0.0, &plus2), "1970-01-01 02:00:00");
        assert_eq!(format_time_in(f64::NAN, &utc), "-");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_status(Some(0)), 0);
        assert_eq!(exit_status(Some(1)), 1);
        assert_eq!(exit_status(Some(137)), 137);
        assert_eq!(exit_status(Some(255)), 255);
        assert_eq!(exit_status(Some(256)), 1);
        assert_eq!(exit_status(Some(-1)), 1);
        assert_eq!(exit_status(None), 1);
    }

    #[test]
    fn status_lines() {
        let docs = [
            json!({"id": 3, "status": {"primary": "pending", "secondary": "rejected by scheduler",
                "reason": "waiting for resources: 2 CPU"}}),
            json!({"id": 4, "status": {"primary": "pending", "reason": "after job 3"}}),
            json!({"status": {"primary": "running", "secondary": null, "reason": "", "date_running": 100.0}}),
            json!({"status": {"primary": "running", "secondary": "suspended", "date_running": 40.0}}),
            json!({"status": {"primary": "over", "secondary": "killed", "exitcode": 137, "duration": 3.0}}),
            json!({"status": {"primary": "over", "reason": "container vanished"}}),
            json!({"status": {"primary": "archived", "exitcode": 0, "duration": 3725.0}}),
            json!({}),
        ];
        let docs: Vec<Task> = docs
            .into_iter()
            .map(|d| serde_json::from_value(d).unwrap())
            .collect();
        let text: String = docs
            .iter()
            .map(|d| format!("{:<40} | {}\n", Job(d).state(), Job(d).status_line(105.2)))
            .collect();
        expect![[r#"
            pending/rejected by scheduler            | pending (rejected by scheduler: waiting for resources: 2 CPU)
            pending                                  | pending (after job 3)
            running                                  | running 0:05
            running/suspended                        | running 1:05 (suspended)
            over/killed                              | over (killed), exit code 137 after 0:03
            over                                     | over (container vanished), no exit code
            archived                                 | archived, exit code 0 after 1:02:05
            pending                                  | pending
        "#]].assert_eq(&text);
        assert!(Job(&docs[4]).is_finished());
        let bare: Task = serde_json::from_value(json!({})).unwrap();
        assert_eq!(Job(&bare).id(), "?");
        assert_eq!(Job(&bare).exitcode(), None);
    }
}
