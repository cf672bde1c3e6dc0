//! `god logs` and `god files`: the job directory over the API.

use super::http::{status_of, Api, ApiError};
use super::output::{emit_line, format_bytes, print_json, Job, Table};
use anyhow::{anyhow, bail, Result};
use clap::Args;
use god_core::api::FileEntry;
use god_core::Task;
use reqwest::blocking::Response;
use reqwest::header::{CONTENT_TYPE, RANGE};
use reqwest::{Method, StatusCode, Url};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

/// How long a download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Args)]
pub struct LogsArgs {
    /// The job id
    id: u64,
    /// Standard error (god.err) instead of standard output (god.log)
    #[arg(long)]
    err: bool,
    /// Follow: keep printing what the job writes until it is over
    #[arg(long, short = 'f')]
    follow: bool,
}

/// Why copying a download stopped.
enum Copied {
    /// All of it, this many bytes.
    All(u64),
    /// The reader of our output went away (`god logs 3 | head`): stop quietly.
    ReaderGone,
}

/// Copy a response body to `out`.
fn copy_body(mut resp: Response, out: &mut dyn Write) -> Result<Copied> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match std::io::Read::read(&mut resp, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => bail!("downloading: {e}"),
        };
        let chunk = buf.get(..n).unwrap_or(&[]);
        match out.write_all(chunk) {
            Ok(()) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(Copied::ReaderGone),
            Err(e) => bail!("writing: {e}"),
        }
    }
    match out.flush() {
        Ok(()) => Ok(Copied::All(total)),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Copied::ReaderGone),
        Err(e) => bail!("writing: {e}"),
    }
}

/// The `Range` header asking for a file from `offset` on (none from the start).
pub fn range_header(offset: u64) -> Option<String> {
    (offset > 0).then(|| format!("bytes={offset}-"))
}

/// Why a job has no such file, in one line: `job 3 (over) has no god.log`, plus the server's
/// reason when it is not just "no such file" (no job directory at all, say).
pub fn missing_file(id: u64, state: &str, name: &str, e: &anyhow::Error) -> String {
    let head = format!("job {id} ({state}) has no {name}");
    match e.downcast_ref::<ApiError>() {
        Some(a) if a.field.as_deref() == Some("path") => head,
        Some(a) => format!("{head}: {}", a.error),
        None => format!("{head}: {e:#}"),
    }
}

fn fetch(api: &mut Api, url: &Url, offset: u64) -> Result<Response> {
    let range = range_header(offset);
    api.send(Method::GET, url.clone(), &|r| {
        let r = r.timeout(DOWNLOAD_TIMEOUT);
        match &range {
            Some(h) => r.header(RANGE, h.as_str()),
            None => r,
        }
    })
}

pub fn logs(a: LogsArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let id = a.id;
    let name = if a.err { "god.err" } else { "god.log" };
    let url = api.url_with(&format!("/api/1.0/task/{id}/files"), &[name])?;
    let task_path = format!("/api/1.0/task/{id}");
    let mut offset = 0u64;
    let mut told_waiting = false;
    let mut stdout = std::io::stdout().lock();
    // Following: the job's state is read again when the event stream says it changed (at each
    // look without a stream); the file itself is fetched from where it was left every half
    // second.
    let mut changes = if a.follow {
        Some(super::events::JobChanges::open(&mut api, id)?)
    } else {
        None
    };
    let mut job: Option<Task> = None;
    loop {
        // The state is read before the file, so that once the job is seen over, the file
        // fetched after it holds everything.
        if let Some(c) = &mut changes {
            if job.is_none() || c.take_changed() || !c.streaming() {
                job = Some(api.get_as(&task_path)?);
            }
        }
        let finished = job.as_ref().is_some_and(|j| Job(j).is_finished());
        match fetch(&mut api, &url, offset) {
            Ok(resp) => {
                if offset > 0 && resp.status() == StatusCode::OK {
                    // The file is shorter than what was printed: it was started again.
                    offset = 0;
                }
                match copy_body(resp, &mut stdout)? {
                    Copied::All(n) => offset += n,
                    Copied::ReaderGone => return Ok(0),
                }
            }
            Err(e) if status_of(&e) == Some(404) => {
                let job = match &job {
                    Some(j) => j.clone(),
                    None => api.get_as(&task_path)?,
                };
                let j = Job(&job);
                if !a.follow {
                    if j.primary() == "pending" {
                        bail!("job {id} has not started yet ({}): no {name} yet (`god logs -f {id}` waits for it)", j.state());
                    }
                    bail!("{}", missing_file(id, &j.state(), name, &e));
                }
                if finished {
                    bail!("{}", missing_file(id, &j.state(), name, &e));
                }
                if !told_waiting && std::io::stderr().is_terminal() {
                    eprintln!("(job {id} is {}: waiting for its {name})", j.state());
                    told_waiting = true;
                }
            }
            Err(e) => return Err(e),
        }
        match &mut changes {
            Some(c) if !finished => c.wait(Duration::from_millis(500)),
            _ => return Ok(0),
        }
    }
}

#[derive(Args)]
pub struct FilesArgs {
    /// The job id
    id: u64,
    /// A file or directory in the job directory [default: the job directory itself]
    path: Option<String>,
    /// Write the file here instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// For a directory, print the server's JSON listing
    #[arg(long)]
    json: bool,
}

/// The path segments of a path inside the job directory; `..` is refused.
pub fn job_path_segments(path: &str) -> Result<Vec<&str>> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        bail!("{path:?}: the path must stay inside the job directory");
    }
    Ok(parts)
}

/// The table of a directory listing `[{name, type, size}]`.
pub fn listing_table(entries: &[FileEntry]) -> Table {
    let mut t = Table::new(&[("NAME", false), ("TYPE", false), ("SIZE", true)]);
    for e in entries {
        let size = match e.kind.as_str() {
            "file" => format_bytes(e.size),
            _ => "-".into(),
        };
        let shown = if e.kind == "dir" {
            format!("{}/", e.name)
        } else {
            e.name.clone()
        };
        t.row(vec![shown, e.kind.clone(), size]);
    }
    t
}

pub fn files(a: FilesArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let rel = a.path.clone().unwrap_or_default();
    let segments = job_path_segments(&rel)?;
    let url = api.url_with(&format!("/api/1.0/task/{}/files", a.id), &segments)?;
    let resp = fetch(&mut api, &url, 0).map_err(|e| anyhow!("job {}: {e:#}", a.id))?;
    let is_listing = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_listing {
        if a.output.is_some() {
            bail!(
                "{:?} is a directory: --output takes a file",
                if rel.is_empty() { "/" } else { rel.as_str() }
            );
        }
        let listing = api.json_of(resp)?;
        if a.json {
            print_json(&listing)?;
            return Ok(0);
        }
        let entries: Vec<FileEntry> = listing.read("the directory listing")?;
        if entries.is_empty() {
            emit_line("(empty directory)")?;
        } else {
            listing_table(&entries).print()?;
        }
        return Ok(0);
    }
    match &a.output {
        None => {
            let mut out = std::io::stdout().lock();
            copy_body(resp, &mut out)?;
        }
        Some(path) => {
            let mut f = std::fs::File::create(path)
                .map_err(|e| anyhow!("creating {}: {e}", path.display()))?;
            match copy_body(resp, &mut f) {
                Ok(Copied::All(n)) => emit_line(&format!("Wrote {} ({n} bytes)", path.display()))?,
                Ok(Copied::ReaderGone) => {}
                Err(e) => {
                    drop(f);
                    let _ = std::fs::remove_file(path);
                    return Err(anyhow!("{}: {e:#}", path.display()));
                }
            }
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_files() {
        let no_file: anyhow::Error = ApiError {
            status: 404,
            error: "\"god.log\" does not exist".into(),
            field: Some("path".into()),
        }
        .into();
        assert_eq!(
            missing_file(3, "over", "god.log", &no_file),
            "job 3 (over) has no god.log"
        );
        let no_dir: anyhow::Error = ApiError {
            status: 404,
            error: "the job has no directory (not started yet, or archived)".into(),
            field: None,
        }
        .into();
        assert_eq!(
            missing_file(3, "archived", "god.err", &no_dir),
            "job 3 (archived) has no god.err: the job has no directory (not started yet, or archived)"
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(range_header(0), None);
        assert_eq!(range_header(42).as_deref(), Some("bytes=42-"));
    }

    #[test]
    fn paths_stay_inside() {
        assert_eq!(job_path_segments("").unwrap(), Vec::<&str>::new());
        assert_eq!(job_path_segments("/a/./b/").unwrap(), vec!["a", "b"]);
        assert!(job_path_segments("a/../../etc").is_err());
    }

    #[test]
    fn listing() {
        let entries: Vec<FileEntry> = serde_json::from_value(json!([
            {"name": "god.log", "type": "file", "size": 1536},
            {"name": "out", "type": "dir", "size": 0},
        ]))
        .unwrap();
        assert_eq!(
            listing_table(&entries).render(),
            "NAME     TYPE  SIZE\ngod.log  file  1.5K\nout/     dir      -\n"
        );
    }
}
