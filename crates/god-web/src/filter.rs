//! The job list's filter, as the URL holds it (`/app/jobs?state=over&project=lab&tag=x`):
//! parsed and checked once, turned into the store's query, and asked of single jobs when a
//! live change comes (does the changed job belong on this page?). Pure.

use god_core::{Primary, Task};
use serde::{Deserialize, Serialize};

/// Which jobs, by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StateFilter {
    /// Pending and running.
    #[default]
    Active,
    Pending,
    Running,
    Over,
    Archived,
    All,
}

impl StateFilter {
    pub const ALL: [StateFilter; 6] = [
        StateFilter::Active,
        StateFilter::Pending,
        StateFilter::Running,
        StateFilter::Over,
        StateFilter::Archived,
        StateFilter::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Active => "active",
            StateFilter::Pending => "pending",
            StateFilter::Running => "running",
            StateFilter::Over => "over",
            StateFilter::Archived => "archived",
            StateFilter::All => "all",
        }
    }

    /// The primary states it keeps.
    pub fn primaries(self) -> Vec<Primary> {
        match self {
            StateFilter::Active => vec![Primary::Pending, Primary::Running],
            StateFilter::Pending => vec![Primary::Pending],
            StateFilter::Running => vec![Primary::Running],
            StateFilter::Over => vec![Primary::Over],
            StateFilter::Archived => vec![Primary::Archived],
            StateFilter::All => vec![
                Primary::Pending,
                Primary::Running,
                Primary::Over,
                Primary::Archived,
            ],
        }
    }
}

/// Whose jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The viewer's own.
    #[default]
    Mine,
    /// The viewer's and their projects' members' (with `share_project_tasks`).
    Projects,
    /// Everybody's (administrators).
    All,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Mine => "mine",
            Scope::Projects => "projects",
            Scope::All => "all",
        }
    }
}

/// The filter of `/app/jobs` (and of its live stream and bulk actions). Unknown parameters are
/// refused, not ignored.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobFilter {
    pub state: StateFilter,
    pub scope: Scope,
    /// Only this user's jobs (administrators, with scope `all`).
    pub user: String,
    pub project: String,
    pub tag: String,
    /// In the name or the description.
    pub name: String,
    /// This image, exactly.
    pub image: String,
    /// Submitted on or after this day (`YYYY-MM-DD`, UTC).
    pub since: String,
    /// Submitted on or before this day (`YYYY-MM-DD`, UTC).
    pub until: String,
    /// Jobs older than this id (the next page).
    pub after: Option<u64>,
}

/// Why a filter is refused: the parameter and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFilter {
    pub field: &'static str,
    pub message: String,
}

/// What the filter asks in terms of times: (since, until) in seconds since the epoch.
pub type Window = (Option<f64>, Option<f64>);

impl JobFilter {
    /// The submitted-date window, checked.
    pub fn window(&self) -> Result<Window, BadFilter> {
        let day = |field: &'static str, s: &str| -> Result<Option<f64>, BadFilter> {
            if s.is_empty() {
                return Ok(None);
            }
            parse_day(s).map(Some).ok_or_else(|| BadFilter {
                field,
                message: format!("{s:?} is not a day (YYYY-MM-DD)"),
            })
        };
        let since = day("since", &self.since)?;
        let until = day("until", &self.until)?.map(|d| d + 86_400.0);
        Ok((since, until))
    }

    /// Does `task` belong on this page (state, text filters, dates; scope and rights are the
    /// query's and the live stream's, not this)?
    pub fn keeps(&self, task: &Task, window: Window) -> bool {
        // As the store's query: the text ignoring ASCII case, the image exactly.
        let contains = |hay: &str, needle: &str| {
            needle.is_empty()
                || hay
                    .to_ascii_lowercase()
                    .contains(&needle.to_ascii_lowercase())
        };
        self.state.primaries().contains(&task.status.primary)
            && (self.user.is_empty() || task.user.id == self.user)
            && (self.project.is_empty() || task.user.project == self.project)
            && (self.tag.is_empty() || task.meta.tags.iter().any(|t| t == &self.tag))
            && (contains(&task.meta.name, &self.name)
                || contains(&task.meta.description, &self.name))
            && (self.image.is_empty() || task.container.image == self.image)
            && window.0.is_none_or(|s| task.date >= s)
            && window.1.is_none_or(|u| task.date < u)
            && self.after.is_none_or(|a| task.id.0 < a)
    }

    /// The query string of this filter (`after` left out unless `with_after`).
    pub fn query(&self, with_after: bool) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut push = |k: &str, v: &str| {
            if !v.is_empty() {
                parts.push(format!("{k}={}", crate::html::urlencode(v)));
            }
        };
        if self.state != StateFilter::default() {
            push("state", self.state.as_str());
        }
        if self.scope != Scope::default() {
            push("scope", self.scope.as_str());
        }
        push("user", &self.user);
        push("project", &self.project);
        push("tag", &self.tag);
        push("name", &self.name);
        push("image", &self.image);
        push("since", &self.since);
        push("until", &self.until);
        if with_after {
            if let Some(a) = self.after {
                push("after", &a.to_string());
            }
        }
        parts.join("&")
    }
}

/// `YYYY-MM-DD` as seconds since the epoch (midnight UTC).
pub fn parse_day(s: &str) -> Option<f64> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(((era * 146_097 + doe - 719_468) * 86_400) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use god_core::testing::TaskBuilder;

    #[test]
    fn days_parse_and_bad_ones_name_their_parameter() {
        assert_eq!(parse_day("1970-01-01"), Some(0.0));
        assert_eq!(parse_day("2000-03-01"), Some(951_868_800.0));
        for bad in ["2000-3-1", "2000-13-01", "yesterday", "2000-01-01-01", ""] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        let f = JobFilter {
            until: "soon".into(),
            ..Default::default()
        };
        assert_eq!(f.window().unwrap_err().field, "until");
    }

    #[test]
    fn which_jobs_a_filter_keeps() {
        let mut t = TaskBuilder::new().user("alice", 2001).build();
        t.id = god_core::JobId(40);
        t.date = 86_400.0 * 3.5;
        t.meta.name = "Align reads".into();
        t.meta.tags = vec!["rna".into()];
        t.container.image = "debian:bookworm".into();
        t.user.project = "lab".into();
        let f = |q: &str| -> JobFilter {
            serde_json::from_value(serde_json::Value::Object(
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| {
                        let v = match v.parse::<u64>() {
                            Ok(n) if k == "after" => serde_json::json!(n),
                            _ => serde_json::json!(v),
                        };
                        (k.to_string(), v)
                    })
                    .collect(),
            ))
            .unwrap()
        };
        let cases = [
            ("", true),
            ("state=over", false),
            ("state=all", true),
            ("project=lab", true),
            ("project=other", false),
            ("tag=rna", true),
            ("tag=dna", false),
            ("name=align", true),
            ("name=READS", true),
            ("name=sort", false),
            ("image=debian:bookworm", true),
            ("image=bookworm", false),
            ("image=alpine", false),
            ("since=1970-01-04", true),
            ("since=1970-01-05", false),
            ("until=1970-01-04", true),
            ("until=1970-01-03", false),
            ("after=41", true),
            ("after=40", false),
            ("user=alice", true),
            ("user=bob", false),
        ];
        for (q, keeps) in cases {
            let filter = f(q);
            let window = filter.window().unwrap();
            assert_eq!(filter.keeps(&t, window), keeps, "{q}");
        }
    }

    #[test]
    fn the_query_string_keeps_what_is_set() {
        let f = JobFilter {
            state: StateFilter::Over,
            tag: "a b&c".into(),
            after: Some(9),
            ..Default::default()
        };
        assert_eq!(f.query(false), "state=over&tag=a%20b%26c");
        assert_eq!(f.query(true), "state=over&tag=a%20b%26c&after=9");
    }
}
