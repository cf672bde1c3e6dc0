//! `god submit`: build the task document, post it, and optionally wait for the job to end.

use super::events;
use super::http::{self, Api};
use super::output::{emit_line, exit_status, print_json, terminal_width, truncate, Job};
use anyhow::{anyhow, bail, Result};
use clap::Args;
use god_core::api::{ConfigAnswer, MsgAnswer};
use god_core::deps::{Condition, Dependency};
use god_core::task::{Meta, Volume};
use god_core::{JobId, Task};
use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct SubmitArgs {
    /// Container image [default: $GOD_IMAGE, else the server's default image]
    #[arg(long, short = 'i', value_name = "IMG")]
    image: Option<String>,
    /// Number of CPUs [default: the server's]
    #[arg(long, short = 'c', value_name = "N")]
    cpu: Option<u32>,
    /// Memory in GB, fractions allowed (0.5 is 500 MB) [default: the server's]
    #[arg(long, short = 'r', value_name = "GB", allow_negative_numbers = true)]
    ram: Option<f64>,
    /// Job name [default: the command's or script's name]
    #[arg(long, short = 'n', value_name = "NAME")]
    name: Option<String>,
    /// Free text description
    #[arg(long, short = 'd', value_name = "TEXT")]
    description: Option<String>,
    /// A tag (repeat for several)
    #[arg(long = "tag", short = 't', value_name = "T")]
    tags: Vec<String>,
    /// Project to account the job to [default: default]
    #[arg(long, short = 'p', value_name = "P")]
    project: Option<String>,
    /// Mount a volume the server offers (`home`, ...), read-only or read-write; without an
    /// access mode, as much as the server allows (repeat for several)
    #[arg(long = "volume", short = 'v', value_name = "NAME[:ro|rw]")]
    volumes: Vec<String>,
    /// Run the command as root in the container (if the server allows it; volumes become
    /// read-only)
    #[arg(long)]
    root: bool,
    /// Start only after these jobs ended successfully, exit code 0 (comma-separated ids, or
    /// repeat); if one of them fails, this job ends without running
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    after: Vec<u64>,
    /// Start only after these jobs ended, whatever their exit code
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    after_any: Vec<u64>,
    /// Start only after these jobs failed (non-zero exit code, or never ran); if they succeed,
    /// this job ends without running
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    after_notok: Vec<u64>,
    /// Submit a job array: one task per index value, `N` (1 to N), `FIRST:LAST` or
    /// `FIRST:LAST:STEP`; each task sees its value in $GODOCKER_TASK_ID
    #[arg(long, value_name = "SPEC")]
    array: Option<String>,
    /// Number of GPUs
    #[arg(long, value_name = "N")]
    gpus: Option<u32>,
    /// Run only on nodes with this label, one the server offers (repeat for several)
    #[arg(long = "label", value_name = "NAME==VALUE")]
    labels: Vec<String>,
    /// Kill the job when it has run this long: `30m`, `12h`, `7d`, or seconds (can be changed
    /// later with `god update ID --maxlifespan`)
    #[arg(long, value_name = "DURATION")]
    maxlifespan: Option<String>,
    /// The executor to run on, when the server has several (`executors` of `GET
    /// /api/1.0/config`) [default: the server's first]
    #[arg(long, value_name = "NAME")]
    executor: Option<String>,
    /// Run the job again, up to N times, when its node fails under it (the server may allow
    /// fewer)
    #[arg(long, value_name = "N")]
    retry: Option<u32>,
    /// Run this bash script (`-`: read it from standard input)
    #[arg(long, short = 's', value_name = "FILE", conflicts_with = "command")]
    script: Option<String>,
    /// Wait for the job to end; exit with its exit code (an array: until all its tasks are
    /// over; 0 if none failed, else 1)
    #[arg(long, short = 'w')]
    wait: bool,
    /// Print the server's JSON (with --wait: the final job document)
    #[arg(long)]
    json: bool,
    /// The command to run, after `--`. One argument is a shell command line, run as written
    /// (`-- 'make && ./run > out.txt'`); several are a program and its arguments, each quoted so
    /// the shell sees them as data (`-- echo '$HOME'` prints `$HOME`)
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

/// Quote one word for bash: left alone when it only has safe characters, else single-quoted.
pub fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The script of `-- CMD...`: a single argument is a command line as written; several are
/// argv, quoted word by word.
pub fn command_line(words: &[String]) -> String {
    match words {
        [one] => one.clone(),
        many => shell_join(many),
    }
}

/// Join a command's words into one shell command line.
pub fn shell_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `NAME[:ro|rw]` → `{name, acl}`. Without an access mode, ask for `rw`: the server lowers it to
/// what the volume allows.
pub fn parse_volume(spec: &str) -> Result<Volume> {
    let (name, acl) = match spec.rsplit_once(':') {
        Some((n, a @ ("ro" | "rw"))) => (n, a),
        Some((_, other)) => {
            bail!("--volume {spec}: the access mode must be ro or rw, not {other:?}")
        }
        None => (spec, "rw"),
    };
    if name.is_empty() {
        bail!("--volume {spec}: no volume name");
    }
    Ok(Volume {
        name: name.into(),
        acl: acl.into(),
        ..Volume::default()
    })
}

/// The dependencies of the `--after*` options (sent as `requirements.tasks` in their wire
/// form: plain ids for `afterok`, as old clients send them, `"afterany:ID"` and
/// `"afternotok:ID"` otherwise). Repeated pairs are dropped; the order is afterok, afterany,
/// afternotok, each as given.
pub fn dependencies(
    after_ok: &[u64],
    after_any: &[u64],
    after_notok: &[u64],
) -> Result<Vec<Dependency>> {
    let mut out: Vec<Dependency> = Vec::new();
    let groups: [(&str, &[u64], Condition); 3] = [
        ("after", after_ok, Condition::AfterOk),
        ("after-any", after_any, Condition::AfterAny),
        ("after-notok", after_notok, Condition::AfterNotOk),
    ];
    for (option, ids, condition) in groups {
        for &id in ids {
            if id == 0 {
                bail!("--{option} 0: job ids start at 1");
            }
            let dep = Dependency {
                id: JobId(id),
                condition,
            };
            if !out.contains(&dep) {
                out.push(dep);
            }
        }
    }
    Ok(out)
}

/// Check a `--label NAME==VALUE` before sending it.
pub fn parse_label(label: &str) -> Result<String> {
    match label.split_once("==") {
        Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
            Ok(format!("{}=={}", name.trim(), value.trim()))
        }
        _ => bail!(
            "--label {label:?}: write it NAME==VALUE (two equal signs), e.g. --label disk==ssd"
        ),
    }
}

/// Check a duration (`--maxlifespan`): `30m`, `12h`, `7d`, `3600s` or seconds.
pub fn check_duration(option: &str, value: &str) -> Result<String> {
    let v = value.trim();
    match god_core::size::parse_duration_secs(v) {
        Ok(0) => bail!("{option} {value}: must be more than 0"),
        Ok(_) => Ok(v.to_string()),
        Err(_) => {
            bail!("{option} {value:?}: not a duration (examples: 30m, 12h, 7d, 3600s, or seconds)")
        }
    }
}

/// Check an array spec (`N`, `FIRST:LAST`, `FIRST:LAST:STEP`); the number of tasks.
pub fn array_tasks(spec: &str) -> Result<u64> {
    god_core::array::parse(spec)
        .map(|r| r.len())
        .map_err(|e| anyhow!("--array {}", e.message))
}

/// A default job name: the script's file name, or the command's program name.
pub fn default_name(script: Option<&str>, command: &[String]) -> String {
    let base = |p: &str| {
        p.rsplit('/')
            .find(|s| !s.is_empty())
            .unwrap_or(p)
            .to_string()
    };
    match (script, command.first()) {
        (Some("-"), _) => "stdin".into(),
        (Some(path), _) => base(path),
        (None, Some(cmd)) if command.len() == 1 => god_core::submit::name_from_command(cmd),
        (None, Some(program)) => truncate(&base(program), 64),
        (None, None) => "job".into(),
    }
}

/// The default image: the one the server marks as default.
fn server_default_image(api: &Api) -> Result<Option<String>> {
    let config: ConfigAnswer = api.get_public("/api/1.0/config")?.read("/api/1.0/config")?;
    Ok(config
        .images
        .into_iter()
        .find(|i| i.default)
        .map(|i| i.url)
        .filter(|u| !u.is_empty()))
}

fn read_script(path: &str) -> Result<String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| anyhow!("reading the script from standard input: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| anyhow!("reading the script {path}: {e}"))
    }
}

pub fn submit(a: SubmitArgs) -> Result<i32> {
    let cmd = match (&a.script, a.command.is_empty()) {
        (Some(path), _) => read_script(path)?,
        (None, false) => command_line(&a.command),
        (None, true) => bail!(
            "nothing to run: give a command after `--` (god submit -- echo hi) or --script FILE"
        ),
    };
    if cmd.trim().is_empty() {
        bail!("the script is empty");
    }
    let tasks = dependencies(&a.after, &a.after_any, &a.after_notok)?;
    let labels = a
        .labels
        .iter()
        .map(|l| parse_label(l))
        .collect::<Result<Vec<_>>>()?;
    let maxlifespan = a
        .maxlifespan
        .as_deref()
        .map(|m| check_duration("--maxlifespan", m))
        .transpose()?;
    let array = match a.array.as_deref().map(str::trim) {
        Some(spec) => Some((spec.to_string(), array_tasks(spec)?)),
        None => None,
    };
    let volumes = a
        .volumes
        .iter()
        .map(|v| parse_volume(v))
        .collect::<Result<Vec<_>>>()?;
    let mut api = Api::connect()?;
    let image = match a
        .image
        .clone()
        .or_else(|| std::env::var("GOD_IMAGE").ok().filter(|i| !i.is_empty()))
    {
        Some(i) => i,
        None => server_default_image(&api)?.ok_or_else(|| {
            anyhow!(
                "no image: pass --image IMG (or set GOD_IMAGE); the server has no default image"
            )
        })?,
    };
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| default_name(a.script.as_deref(), &a.command));
    // What is not set here is the task document's default, which is what the server reads
    // when a field is absent; it fills the identity and the server-set parts itself.
    let mut doc = Task::default();
    doc.meta = Meta {
        name,
        description: a.description.clone().unwrap_or_default(),
        tags: a.tags.clone(),
    };
    let r = &mut doc.requirements;
    r.tasks = tasks.iter().map(god_core::deps::to_value).collect();
    r.cpu = a.cpu.unwrap_or_default();
    r.ram = a.ram.unwrap_or_default();
    r.gpus = a.gpus.unwrap_or_default();
    r.label = labels;
    r.maxlifespan = maxlifespan;
    r.executor = a.executor.clone();
    r.failure_policy = a.retry.unwrap_or_default();
    r.array.values = array.as_ref().map(|(spec, _)| spec.clone());
    doc.container.image = image;
    doc.container.volumes = volumes;
    doc.container.root = a.root;
    doc.command.cmd = cmd;
    doc.user.project = a.project.clone().unwrap_or_default();
    let reply = api.post("/api/1.0/task", &doc)?;
    let answer: MsgAnswer<u64> = reply
        .read("the submission")
        .map_err(|e| anyhow!("the server accepted the job but gave no id: {e:#}"))?;
    let id = answer.id;
    let submitted = match &array {
        Some((spec, 1)) => format!("Job {id} submitted (array {spec}, 1 task)"),
        Some((spec, n)) => format!("Job {id} submitted (array {spec}, {n} tasks)"),
        None => format!("Job {id} submitted"),
    };
    if !a.wait {
        if a.json {
            print_json(&reply)?;
        } else {
            emit_line(&submitted)?;
        }
        return Ok(0);
    }
    if !a.json {
        emit_line(&submitted)?;
    }
    // An array's parent is over once all its tasks are; its exit code is 0 if none failed.
    let job = wait_for(&mut api, id)?;
    let j = Job(&job);
    if a.json {
        print_json(&job)?;
    } else {
        emit_line(&format!("job {id}: {}", final_line(&job)))?;
    }
    Ok(exit_status(j.exitcode()))
}

/// The last line of `god submit --wait`: the job's status, and for an array how its tasks
/// ended.
pub fn final_line(job: &Task) -> String {
    let mut line = Job(job).status_line(http::now());
    let a = &job.requirements.array;
    if let Some(spec) = &a.values {
        line.push_str(&format!(
            " (array {spec}: {} of {} tasks over, {} failed)",
            a.nb_tasks_over, a.nb_tasks, a.nb_tasks_failed
        ));
    }
    line
}

/// Wait until a job is over, told of its changes by the server's event stream (polling when the
/// server has none, or when the stream breaks); a live status line goes to stderr when it is a
/// terminal.
pub fn wait_for(api: &mut Api, id: u64) -> Result<Task> {
    let live = std::io::stderr().is_terminal();
    let width = terminal_width().saturating_sub(1);
    let path = format!("/api/1.0/task/{id}");
    // The stream first: a change between our look at the job and the stream's start is not lost.
    let mut changes = events::JobChanges::open(api, id)?;
    let mut interval = Duration::from_millis(200);
    let mut next_look = Instant::now();
    let mut last: Option<Task> = None;
    let mut shown = false;
    let clear = |shown: bool| {
        if shown {
            eprint!("\r\x1b[K");
            let _ = std::io::stderr().flush();
        }
    };
    loop {
        if changes.take_changed() || Instant::now() >= next_look {
            let job: Task = api.get_as(&path).map_err(|e| {
                clear(shown);
                anyhow!("waiting for job {id}: {e:#}")
            })?;
            if Job(&job).is_finished() {
                clear(shown);
                return Ok(job);
            }
            last = Some(job);
            next_look = if changes.streaming() {
                // Looked at again when the stream says it changed (or as a check, rarely).
                Instant::now() + Duration::from_secs(60)
            } else {
                let next = Instant::now() + interval;
                interval = (interval * 3 / 2).min(Duration::from_secs(2));
                next
            };
        }
        if live {
            if let Some(job) = &last {
                let line = truncate(
                    &format!("job {id}: {}", Job(job).status_line(http::now())),
                    width,
                );
                eprint!("\r\x1b[K{line}");
                let _ = std::io::stderr().flush();
                shown = true;
            }
        }
        let tick = Duration::from_millis(250);
        let wait = if changes.streaming() {
            tick
        } else {
            next_look
                .saturating_duration_since(Instant::now())
                .min(tick)
        };
        changes.wait(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_argument_is_a_command_line_several_are_argv() {
        assert_eq!(command_line(&words(&["a && b > c"])), "a && b > c");
        assert_eq!(command_line(&words(&["echo", "a && b"])), "echo 'a && b'");
    }

    #[test]
    fn command_lines_are_quoted() {
        assert_eq!(shell_join(&words(&["echo", "hello"])), "echo hello");
        assert_eq!(
            shell_join(&words(&["echo", "hello world"])),
            "echo 'hello world'"
        );
        assert_eq!(shell_join(&words(&["echo", "it's"])), r"echo 'it'\''s'");
        assert_eq!(
            shell_join(&words(&["ls", "-l", "/tmp/a.b"])),
            "ls -l /tmp/a.b"
        );
        assert_eq!(shell_join(&words(&["echo", ""])), "echo ''");
        assert_eq!(
            shell_join(&words(&["echo", "$HOME", "a;b", "*"])),
            "echo '$HOME' 'a;b' '*'"
        );
        assert_eq!(
            shell_join(&words(&["bash", "-c", "a | b"])),
            "bash -c 'a | b'"
        );
        assert_eq!(shell_quote("~"), "'~'");
        assert_eq!(shell_quote("x\ny"), "'x\ny'");
    }

    #[test]
    fn volumes() {
        let volume = |spec| {
            let v = parse_volume(spec).unwrap();
            (v.name, v.acl, v.path, v.mount)
        };
        assert_eq!(volume("home"), ("home".into(), "rw".into(), None, None));
        assert_eq!(volume("data:ro"), ("data".into(), "ro".into(), None, None));
        assert_eq!(volume("data:rw"), ("data".into(), "rw".into(), None, None));
        assert!(parse_volume("data:rx").is_err());
        assert!(parse_volume(":ro").is_err());
    }

    #[test]
    fn dependency_lists() {
        let wire = |deps: Vec<Dependency>| -> Vec<serde_json::Value> {
            deps.iter().map(god_core::deps::to_value).collect()
        };
        assert!(dependencies(&[], &[], &[]).unwrap().is_empty());
        assert_eq!(
            wire(dependencies(&[3, 4, 3], &[5], &[6, 7]).unwrap()),
            vec![
                json!(3),
                json!(4),
                json!("afterany:5"),
                json!("afternotok:6"),
                json!("afternotok:7")
            ]
        );
        // The same job under two conditions is kept twice: the server decides.
        assert_eq!(
            wire(dependencies(&[3], &[3], &[]).unwrap()),
            vec![json!(3), json!("afterany:3")]
        );
        let err = dependencies(&[], &[0], &[]).unwrap_err().to_string();
        assert!(err.contains("--after-any 0"), "{err}");
    }

    #[test]
    fn labels_durations_arrays() {
        assert_eq!(parse_label("disk==ssd").unwrap(), "disk==ssd");
        assert_eq!(parse_label(" disk == ssd ").unwrap(), "disk==ssd");
        assert!(parse_label("disk=ssd").is_err());
        assert!(parse_label("==ssd").is_err());
        assert!(parse_label("disk==").is_err());
        assert_eq!(check_duration("--maxlifespan", "2h").unwrap(), "2h");
        assert_eq!(check_duration("--maxlifespan", " 90 ").unwrap(), "90");
        assert!(check_duration("--maxlifespan", "2 hours").is_err());
        assert!(check_duration("--maxlifespan", "0").is_err());
        assert_eq!(array_tasks("1:9:3").unwrap(), 3);
        assert_eq!(array_tasks("10").unwrap(), 10);
        assert_eq!(array_tasks("1:1000").unwrap(), 1000);
        let err = array_tasks("9:1").unwrap_err().to_string();
        assert!(err.starts_with("--array "), "{err}");
        assert!(array_tasks("1:9:0").is_err());
    }

    #[test]
    fn final_lines() {
        let job = json!({"status": {"primary": "over", "exitcode": 1, "duration": 3.0},
            "requirements": {"array": {"values": "1:9:3", "nb_tasks": 3, "nb_tasks_over": 3,
            "nb_tasks_failed": 1}}});
        assert_eq!(
            final_line(&serde_json::from_value(job).unwrap()),
            "over, exit code 1 after 0:03 (array 1:9:3: 3 of 3 tasks over, 1 failed)"
        );
        let plain = json!({"status": {"primary": "over", "exitcode": 0, "duration": 3.0},
            "requirements": {"array": {"values": null}}});
        assert_eq!(
            final_line(&serde_json::from_value(plain).unwrap()),
            "over, exit code 0 after 0:03"
        );
    }

    #[derive(clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        a: SubmitArgs,
    }

    fn parse(args: &[&str]) -> Result<SubmitArgs, clap::Error> {
        use clap::Parser;
        Wrap::try_parse_from(std::iter::once("submit").chain(args.iter().copied())).map(|w| w.a)
    }

    #[test]
    fn submit_options_parse() {
        let a = parse(&[
            "--array",
            "1:9:3",
            "--after",
            "1,2",
            "--after",
            "3",
            "--after-any",
            "4,5",
            "--after-notok",
            "6",
            "--gpus",
            "2",
            "--label",
            "disk==ssd",
            "--label",
            "zone==a",
            "--maxlifespan",
            "2h",
            "--retry",
            "3",
            "--",
            "echo",
            "hi",
        ])
        .unwrap();
        assert_eq!(a.array.as_deref(), Some("1:9:3"));
        assert_eq!(a.after, vec![1, 2, 3]);
        assert_eq!(a.after_any, vec![4, 5]);
        assert_eq!(a.after_notok, vec![6]);
        assert_eq!(a.gpus, Some(2));
        assert_eq!(a.labels, vec!["disk==ssd", "zone==a"]);
        assert_eq!(a.maxlifespan.as_deref(), Some("2h"));
        assert_eq!(a.retry, Some(3));
        assert_eq!(a.command, vec!["echo", "hi"]);
        assert!(parse(&["--after-any", "x", "--", "true"]).is_err());
        assert!(parse(&["--retry", "-1", "--", "true"]).is_err());
    }

    #[test]
    fn default_names() {
        assert_eq!(default_name(Some("/home/a/run.sh"), &[]), "run.sh");
        assert_eq!(default_name(Some("-"), &[]), "stdin");
        assert_eq!(
            default_name(None, &words(&["/usr/bin/make", "test"])),
            "make"
        );
        assert_eq!(default_name(None, &[]), "job");
        assert_eq!(
            default_name(None, &words(&["id; echo hello > result.txt"])),
            "id",
            "one argument is a command line: its program names the job"
        );
    }
}
