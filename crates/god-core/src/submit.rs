//! Submission: turn a client's task document into a validated [`Task`] for the authenticated
//! user. Whatever identity the client sends is ignored: the server's identity wins.

use crate::config::Config;
use crate::error::FieldError;
use crate::size::parse_duration_secs;
use crate::status::Primary;
use crate::task::{Status, Task, TaskUser, Volume};
use serde_json::Value;

/// The authenticated user, as the auth layer resolved it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Identity {
    pub login: String,
    pub uid: u32,
    pub gid: u32,
    pub sgids: Vec<u32>,
    pub email: Option<String>,
    pub home: Option<String>,
    pub admin: bool,
    /// A guest (OpenID Connect login, runs as `guest_bind`): root only with `guest_allow_root`.
    pub guest: bool,
}

/// Why a submission is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitError {
    /// Malformed or out-of-range input: HTTP 400.
    Invalid(FieldError),
    /// Well-formed but not allowed for this user: HTTP 403.
    Forbidden(FieldError),
}

impl SubmitError {
    pub fn field(&self) -> &FieldError {
        match self {
            SubmitError::Invalid(f) | SubmitError::Forbidden(f) => f,
        }
    }
}

fn invalid(field: &str, msg: impl Into<String>) -> SubmitError {
    SubmitError::Invalid(FieldError::new(field, msg))
}

fn forbidden(field: &str, msg: impl Into<String>) -> SubmitError {
    SubmitError::Forbidden(FieldError::new(field, msg))
}

pub const MAX_CPU: u32 = 4096;
pub const MAX_RAM_GB: f64 = 65536.0;
pub const MAX_GPUS: u32 = 64;
pub const MAX_NAME: usize = 256;
pub const MAX_TAGS: usize = 64;

/// Parse the JSON body of `POST /api/1.0/task`.
pub fn parse(body: &[u8]) -> Result<Task, SubmitError> {
    let mut v: Value = serde_json::from_slice(body)
        .map_err(|e| invalid("body", format!("not valid JSON: {e}")))?;
    let Some(obj) = v.as_object_mut() else {
        return Err(invalid("body", "expected a JSON object (a task document)"));
    };
    // Server-set parts: never taken from the client.
    for key in ["id", "date", "status", "parent_task_id"] {
        obj.remove(key);
    }
    let project = obj.get("user").and_then(|u| u.get("project")).cloned();
    obj.remove("user");
    if let Some(p) = project {
        obj.insert("user".into(), serde_json::json!({ "project": p }));
    }
    // Fields we do not know are refused, not silently dropped: a typo must not turn into a
    // job that runs without what its author asked for.
    let mut unknown: Option<String> = None;
    let _: Result<Task, _> = serde_ignored::deserialize(&v, |path| {
        if unknown.is_none() {
            unknown = Some(path.to_string());
        }
    });
    if let Some(path) = unknown {
        return Err(invalid(&path, "unknown field"));
    }
    let task: Task = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        invalid(&path, e.into_inner().to_string())
    })?;
    Ok(task)
}

/// What validation knows of the world outside the request, passed in by the caller.
pub struct World<'a> {
    pub now: f64,
    /// Does a host path exist? (`volumes_check`)
    pub path_exists: &'a (dyn Fn(&str) -> bool + Sync),
    /// The most GPUs one node offers (0: no node has any, so no job asking for one could run;
    /// `None`: not known yet, nothing refused for it).
    pub node_gpus: Option<u32>,
}

impl World<'_> {
    /// A world where every path exists and no node has GPUs (tests, benchmarks).
    pub fn at(now: f64) -> World<'static> {
        World {
            now,
            path_exists: &|_| true,
            node_gpus: Some(0),
        }
    }
}

/// Check a parsed task against the configuration and fill in the server's parts. A field that
/// asks for something this server does not do is refused naming it, never silently dropped.
pub fn validate(
    mut task: Task,
    who: &Identity,
    config: &Config,
    world: &World<'_>,
) -> Result<Task, SubmitError> {
    let now = world.now;
    // Identity.
    let project = crate::names::project_or_default(&task.user.project).to_string();
    // Membership is the server's to check (projects live in the database); the name must at
    // least be a name.
    if !crate::names::valid_login(&project) {
        return Err(invalid(
            "user.project",
            format!("{project:?} is not a project name"),
        ));
    }
    task.user = TaskUser {
        id: who.login.clone(),
        uid: who.uid,
        gid: who.gid,
        sgids: who.sgids.clone(),
        email: who.email.clone(),
        project,
        guest: who.guest,
        credentials: Default::default(),
    };
    task.date = now;
    if task.notify.email {
        return Err(invalid(
            "notify.email",
            "this server sends no e-mail yet: submit with notify.email false",
        ));
    }
    task.status = Status {
        primary: Primary::Pending,
        ..Status::default()
    };
    task.parent_task_id = None;

    // Meta.
    if task.meta.name.chars().count() > MAX_NAME {
        return Err(invalid(
            "meta.name",
            format!("longer than {MAX_NAME} characters"),
        ));
    }
    if task.meta.name.trim().is_empty() {
        task.meta.name = name_from_command(&task.command.cmd);
    }
    if task.meta.tags.len() > MAX_TAGS {
        return Err(invalid("meta.tags", format!("more than {MAX_TAGS} tags")));
    }

    // Command.
    if task.command.interactive {
        return Err(invalid(
            "command.interactive",
            "interactive sessions are not available on this server yet",
        ));
    }
    if task.command.cmd.trim().is_empty() {
        return Err(invalid("command.cmd", "the job has no command"));
    }
    if task.command.cmd.contains('\0') {
        return Err(invalid("command.cmd", "contains a NUL character"));
    }

    // Requirements.
    let r = &mut task.requirements;
    if r.cpu == 0 {
        r.cpu = config.defaults_cpu.max(1);
    }
    if r.cpu > MAX_CPU {
        return Err(invalid(
            "requirements.cpu",
            format!("{} is more than {MAX_CPU}", r.cpu),
        ));
    }
    if r.ram == 0.0 {
        r.ram = config.defaults_ram;
    }
    if !r.ram.is_finite() || r.ram <= 0.0 || r.ram > MAX_RAM_GB {
        return Err(invalid(
            "requirements.ram",
            format!("{} GB: must be more than 0 and at most {MAX_RAM_GB}", r.ram),
        ));
    }
    if r.gpus > MAX_GPUS {
        return Err(invalid(
            "requirements.gpus",
            format!("{} is more than {MAX_GPUS}", r.gpus),
        ));
    }
    if let Some(most) = world.node_gpus.filter(|most| r.gpus > *most) {
        let has = match most {
            0 => "no node of this server has GPUs".to_string(),
            n => format!("no node of this server has more than {n}"),
        };
        return Err(invalid(
            "requirements.gpus",
            format!("{} GPUs asked for: {has}", r.gpus),
        ));
    }
    if !r.ports.is_empty() {
        return Err(invalid(
            "requirements.ports",
            "opening ports in a job's container is not available on this server yet",
        ));
    }
    if r.tmpstorage.as_ref().is_some_and(|t| {
        t.size
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty() && s.trim() != "0")
    }) {
        return Err(invalid(
            "requirements.tmpstorage.size",
            "temporary local storage is not available on this server yet",
        ));
    }
    r.tmpstorage = None;
    if let Some(net) = r.network.as_deref().filter(|n| !n.is_empty()) {
        return Err(invalid(
            "requirements.network",
            format!("{net:?}: named networks are not available on this server yet"),
        ));
    }
    r.network = None;
    let spec = r.array.values.clone().filter(|v| !v.trim().is_empty());
    r.array = Default::default();
    if let Some(spec) = spec {
        let range = crate::array::parse(&spec).map_err(SubmitError::Invalid)?;
        r.array.values = Some(spec.trim().to_string());
        r.array.nb_tasks = range.len();
    }
    for (i, label) in r.label.iter().enumerate() {
        if !label_allowed(label, config) {
            return Err(invalid(
                &format!("requirements.label[{i}]"),
                format!("{label:?} is not one of the configured constraints"),
            ));
        }
    }
    let mut deps = Vec::new();
    for (i, d) in r.tasks.iter().enumerate() {
        match crate::deps::parse(d) {
            Some(dep) => deps.push(crate::deps::to_value(&dep)),
            None => {
                return Err(invalid(
                    &format!("requirements.tasks[{i}]"),
                    format!("{d} is not a job id (or afterok:ID, afterany:ID, afternotok:ID)"),
                ))
            }
        }
    }
    r.tasks = deps;
    // The executor the job names (any configured one), else the primary; recorded by its name
    // as configured, so that every part asks the same one.
    let chosen = match r.executor.as_deref().filter(|e| !e.is_empty()) {
        Some(exec) => config.executors.named(exec).ok_or_else(|| {
            let known: Vec<&str> = config.executors.iter().map(|e| e.name()).collect();
            invalid(
                "requirements.executor",
                format!(
                    "{exec:?} is not an executor of this server (it has: {})",
                    known.join(", ")
                ),
            )
        })?,
        None => config.executors.primary(),
    };
    r.executor = Some(chosen.name().to_string());
    if let Some(m) = r.maxlifespan.as_deref() {
        if parse_duration_secs(m).is_err() {
            return Err(invalid(
                "requirements.maxlifespan",
                format!("{m:?} is not a duration"),
            ));
        }
    }
    // Server-set: the original's web copied the account's quotas in; ours are the database's.
    r.ticket_share = 0.0;
    r.user_quota_time = 0.0;
    r.user_quota_cpu = 0.0;
    r.user_quota_ram = 0.0;
    r.project_quota_time = 0.0;
    r.project_quota_cpu = 0.0;
    r.project_quota_ram = 0.0;

    // Container.
    let c = &mut task.container;
    c.image = c.image.trim().to_string();
    if c.image.is_empty() {
        return Err(invalid("container.image", "an image is required"));
    }
    if c.image.len() > 512
        || c.image
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control())
    {
        return Err(invalid(
            "container.image",
            format!("{:?} is not an image name", c.image),
        ));
    }
    if !config.allow_user_images && !config.default_images.iter().any(|i| i.url == c.image) {
        return Err(forbidden(
            "container.image",
            format!("{:?} is not one of the configured images", c.image),
        ));
    }
    if c.root && !config.allow_root {
        return Err(forbidden(
            "container.root",
            "this server does not allow jobs to run as root",
        ));
    }
    if c.root && who.guest && !config.guest_allow_root {
        return Err(forbidden(
            "container.root",
            "guests may not run jobs as root on this server",
        ));
    }
    c.volumes = resolve_volumes(&c.volumes, who, config, c.root, world.path_exists)?;
    c.id = None;
    c.meta = None;
    c.stats = None;
    c.ports = Vec::new();
    c.port_mapping = Vec::new();
    c.ip_address = None;
    c.status = None;
    c.name = None;
    task.command.script = None;
    Ok(task)
}

/// A job's default name: the program its command starts with (`id; echo hi` is `id`,
/// `FOO=1 /usr/bin/make -j2` is `make`), or `job` when there is none to find.
pub fn name_from_command(cmd: &str) -> String {
    let is_separator = |c: char| c.is_whitespace() || ";|&()<>`'\"$".contains(c);
    let program = cmd
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .flat_map(|l| l.split(is_separator))
        .find(|w| !w.is_empty() && !w.contains('=') && !w.starts_with('-'));
    let base = program
        .and_then(|p| p.rsplit('/').find(|s| !s.is_empty()))
        .unwrap_or("job");
    base.chars().take(64).collect()
}

fn label_allowed(label: &str, config: &Config) -> bool {
    let Some((name, value)) = label.split_once("==") else {
        return false;
    };
    config
        .constraints
        .iter()
        .any(|c| c.name == name && c.value.split(',').any(|v| v.trim() == value))
}

/// Volume resolution (reference 5.2): `home`, configured volumes with `$USERID`, ACLs a user
/// cannot raise, read-only for root jobs; with `volumes_check`, a path that does not exist is an
/// error naming the volume (the original dropped it silently).
pub fn resolve_volumes(
    requested: &[Volume],
    who: &Identity,
    config: &Config,
    root: bool,
    path_exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<Volume>, SubmitError> {
    let mut out: Vec<Volume> = Vec::new();
    for (i, req) in requested.iter().enumerate() {
        if req.name == "go-docker" || req.name == "god-ftp" {
            continue;
        }
        if out.iter().any(|v| v.name == req.name) {
            continue;
        }
        let field = format!("container.volumes[{i}]");
        // Without an access mode (Galaxy's runner sends only names), the most the
        // configuration allows.
        let want_rw = match req.acl.as_str() {
            "rw" | "" => true,
            "ro" => false,
            other => {
                return Err(invalid(
                    &format!("{field}.acl"),
                    format!("{other:?}: use ro or rw"),
                ))
            }
        };
        let conf = config.volumes.iter().find(|v| v.name == req.name);
        let (path, mount, conf_rw) = match (req.name.as_str(), conf) {
            ("home", conf) => {
                let Some(home) = who.home.clone() else {
                    return Err(invalid(
                        &format!("{field}.name"),
                        format!("{} has no home directory", who.login),
                    ));
                };
                let conf_rw = conf.map(|c| c.acl == "rw").unwrap_or(true);
                (home, "/mnt/home".to_string(), conf_rw)
            }
            (_, Some(c)) => {
                let path = c.path.replace("$USERID", &who.login);
                let mount = c
                    .mount
                    .as_deref()
                    .map(|m| m.replace("$USERID", &who.login))
                    .unwrap_or_else(|| path.clone());
                (path, mount, c.acl == "rw")
            }
            (name, None) => {
                return Err(invalid(
                    &format!("{field}.name"),
                    format!("{name:?} is not a configured volume"),
                ))
            }
        };
        if !mount.starts_with('/')
            || mount.split('/').any(|s| s == "..")
            || path.split('/').any(|s| s == "..")
        {
            return Err(invalid(
                &format!("{field}.name"),
                "resolves to an unsafe path",
            ));
        }
        if config.volumes_check && !path_exists(&path) {
            return Err(invalid(
                &format!("{field}.name"),
                format!(
                    "volume {:?}: {path} does not exist on this server",
                    req.name
                ),
            ));
        }
        let rw = want_rw && conf_rw && !root;
        out.push(Volume {
            name: req.name.clone(),
            acl: if rw { "rw" } else { "ro" }.into(),
            path: Some(path),
            mount: Some(mount),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VolumeConfig;

    fn alice() -> Identity {
        Identity {
            login: "alice".into(),
            uid: 2001,
            gid: 2001,
            home: Some("/home/alice".into()),
            ..Default::default()
        }
    }

    fn body(extra: &str) -> Vec<u8> {
        format!(
            r#"{{"meta":{{"name":"t"}},"container":{{"image":"img"}},"command":{{"cmd":"echo hi"}}{extra}}}"#
        )
        .into_bytes()
    }

    fn check(extra: &str, config: &Config) -> Result<Task, SubmitError> {
        let t = parse(&body(extra))?;
        validate(t, &alice(), config, &World::at(10.0))
    }

    #[test]
    fn pypi_client_document_is_accepted() {
        let doc = br#"{"user": {"id": "mallory", "uid": 0, "gid": 0, "project": "default"},
            "date": 1.0, "meta": {"name": "n", "description": "", "tags": []},
            "requirements": {"cpu": 1, "ram": 1, "gpus": 0, "array": {"values": null},
              "label": [], "failure_policy": 0, "tasks": [], "tmpstorage": null, "executor": null},
            "container": {"image": "img", "volumes": [], "network": true, "id": null,
              "meta": null, "stats": null, "ports": [], "root": false},
            "command": {"interactive": false, "cmd": "id"},
            "status": {"primary": null, "secondary": null}}"#;
        let t = validate(
            parse(doc).unwrap(),
            &alice(),
            &Config::default(),
            &World::at(5.0),
        )
        .unwrap();
        assert_eq!(t.user.id, "alice");
        assert_eq!(
            (t.user.uid, t.user.gid),
            (2001, 2001),
            "client identity must be ignored"
        );
        assert_eq!(t.status.primary, Primary::Pending);
        assert_eq!(t.date, 5.0);
        assert_eq!(t.requirements.executor.as_deref(), Some("docker"));
    }

    #[test]
    fn default_names_are_the_program() {
        let cases = [
            ("id; echo hello > result.txt", "id"),
            ("/usr/bin/make -j2 test", "make"),
            ("FOO=1 BAR=2 python3 run.py", "python3"),
            ("#!/bin/bash\n# a comment\ncd /data\n./run.sh", "cd"),
            ("(cd x && ls)", "cd"),
            ("echo $HOME", "echo"),
            ("   ", "job"),
            ("; ;", "job"),
        ];
        for (cmd, want) in cases {
            assert_eq!(name_from_command(cmd), want, "{cmd:?}");
        }
        let t = check(
            r#","meta":{"name":""},"command":{"cmd":"id; echo hi"}"#,
            &Config::default(),
        );
        assert_eq!(t.unwrap().meta.name, "id");
    }

    #[test]
    fn bad_input_names_the_field() {
        let c = Config::default();
        let cases = [
            (r#","requirements":{"cpu":-1}"#, "requirements.cpu"),
            (r#","requirements":{"cpu":100000}"#, "requirements.cpu"),
            (r#","requirements":{"ram":-2}"#, "requirements.ram"),
            (r#","requirements":{"ram":"lots"}"#, "requirements.ram"),
            (
                r#","requirements":{"tasks":["x"]}"#,
                "requirements.tasks[0]",
            ),
            (
                r#","requirements":{"label":["a==b"]}"#,
                "requirements.label[0]",
            ),
            (
                r#","requirements":{"executor":"mesos"}"#,
                "requirements.executor",
            ),
            (
                r#","requirements":{"array":{"values":"3:1"}}"#,
                "requirements.array.values",
            ),
            (r#","meta":{"name":5}"#, "meta.name"),
            (r#","requirements":{"cpus":2}"#, "requirements.cpus"),
            (r#","colour":"blue""#, "colour"),
            (
                r#","container":{"volumes":[{"name":"data","acl":"rw"}],"image":"i"}"#,
                "container.volumes[0].name",
            ),
        ];
        for (extra, field) in cases {
            let err = check(extra, &c).unwrap_err();
            assert_eq!(err.field().field, field, "{extra}: {err:?}");
        }
        assert_eq!(parse(b"[1]").unwrap_err().field().field, "body");
        assert_eq!(parse(b"{").unwrap_err().field().field, "body");
    }

    /// What godocker-cli 1.0.25 and Galaxy always send is accepted; values asking for something
    /// this server does not do are refused naming the field.
    #[test]
    fn unsupported_requests_are_refused_by_name() {
        let c = Config::default();
        let accepted = [
            r#","requirements":{"ports":[],"gpus":0,"executor":null,"tmpstorage":null,"network":null}"#,
            r#","requirements":{"tmpstorage":{"size":null,"path":null},"network":""}"#,
            r#","requirements":{"executor":"swarm"}"#,
            r#","requirements":{"executor":"docker"}"#,
            r#","container":{"image":"i","network":true},"notify":{"email":false}"#,
        ];
        for extra in accepted {
            assert!(check(extra, &c).is_ok(), "{extra}: {:?}", check(extra, &c));
        }
        let refused = [
            (r#","requirements":{"ports":[8080]}"#, "requirements.ports"),
            (
                r#","requirements":{"tmpstorage":{"size":"10G"}}"#,
                "requirements.tmpstorage.size",
            ),
            (
                r#","requirements":{"network":"user"}"#,
                "requirements.network",
            ),
            (r#","notify":{"email":true}"#, "notify.email"),
            (r#","requirements":{"gpus":1}"#, "requirements.gpus"),
            (
                r#","requirements":{"executor":"native"}"#,
                "requirements.executor",
            ),
            (
                r#","requirements":{"executor":"sge:all.q:docker"}"#,
                "requirements.executor",
            ),
        ];
        for (extra, field) in refused {
            let e = check(extra, &c).unwrap_err();
            assert_eq!(e.field().field, field, "{extra}: {e:?}");
        }
        let gpus = World {
            node_gpus: Some(2),
            ..World::at(1.0)
        };
        let t = parse(&body(r#","requirements":{"gpus":2}"#)).unwrap();
        assert!(
            validate(t, &alice(), &c, &gpus).is_ok(),
            "2 GPUs where a node has 2"
        );
        // Several executors: a job names its own (`swarm` is the Docker executor), else it goes
        // to the first; the name recorded is the configured one.
        let mut several = c.clone();
        several.executors = crate::config::Executors::new(vec![
            crate::config::ExecutorSpec::parse("native").unwrap(),
            crate::config::ExecutorSpec::parse("docker").unwrap(),
        ])
        .unwrap();
        for (asked, recorded) in [
            (r#""executor":"docker""#, "docker"),
            (r#""executor":"swarm""#, "docker"),
            (r#""executor":"native""#, "native"),
            (r#""executor":null"#, "native"),
        ] {
            let t = parse(&body(&format!(r#","requirements":{{{asked}}}"#))).unwrap();
            let t = validate(t, &alice(), &several, &gpus).unwrap();
            assert_eq!(
                t.requirements.executor.as_deref(),
                Some(recorded),
                "{asked}"
            );
        }
        let t = parse(&body(r#","requirements":{"executor":"fake"}"#)).unwrap();
        let e = validate(t, &alice(), &several, &gpus).unwrap_err();
        assert!(
            e.field().message.contains("it has: native, docker"),
            "{e:?}"
        );
        let t = parse(&body(r#","container":{"image":"i","network":false}"#)).unwrap();
        let t = validate(t, &alice(), &c, &gpus).unwrap();
        assert!(
            !t.container.network,
            "network false is kept (the job gets none)"
        );
        let t = parse(&body("")).unwrap();
        assert!(
            validate(t, &alice(), &c, &gpus).unwrap().container.network,
            "default: network"
        );
    }

    /// The task document Galaxy's GoDocker runner posts (lib/galaxy/jobs/runners/godocker.py).
    #[test]
    fn galaxy_runner_document_is_accepted() {
        let doc = br##"{"date": 1764470000.0,
            "meta": {"name": "Concatenate", "description": "galaxy job", "tags": ["galaxy", "cat1"]},
            "requirements": {"cpu": 1, "ram": 1, "array": {"values": null}, "label": [],
              "tasks": [], "tmpstorage": null},
            "container": {"image": "img", "volumes": [{"name": "galaxy"}], "network": true,
              "id": null, "meta": null, "stats": null, "ports": [], "root": false},
            "command": {"interactive": false, "cmd": "#!/bin/bash\ncd /galaxy/jobs/1\ntrue"},
            "status": {"primary": null, "secondary": null},
            "user": {"project": "galaxy"}}"##;
        let mut c = Config::default();
        c.volumes = vec![VolumeConfig {
            name: "galaxy".into(),
            acl: "rw".into(),
            path: "/galaxy".into(),
            mount: None,
        }];
        let t = validate(parse(doc).unwrap(), &alice(), &c, &World::at(5.0)).unwrap();
        assert_eq!(t.user.project, "galaxy");
        assert_eq!(t.container.volumes.len(), 1);
        assert_eq!(t.container.volumes[0].acl, "rw");
        assert_eq!(t.container.volumes[0].mount.as_deref(), Some("/galaxy"));
        assert_eq!(t.date, 5.0, "the server's date, not the client's");
    }

    #[test]
    fn arrays_and_dependency_conditions() {
        let c = Config::default();
        let extra = r#","requirements":{"array":{"values":"1:9:3"},"tasks":[4,"5","afterany:6",{"id":7,"condition":"afternotok"}]}"#;
        let t = check(extra, &c).unwrap();
        assert_eq!(t.requirements.array.nb_tasks, 3);
        let want = vec![
            serde_json::json!(4),
            serde_json::json!(5),
            serde_json::json!("afterany:6"),
            serde_json::json!("afternotok:7"),
        ];
        assert_eq!(t.requirements.tasks, want);
        let e = check(r#","requirements":{"tasks":["sometimes:3"]}"#, &c).unwrap_err();
        assert_eq!(e.field().field, "requirements.tasks[0]");
    }

    #[test]
    fn root_needs_allow_root() {
        let mut c = Config::default();
        let e = check(r#","container":{"image":"i","root":true}"#, &c).unwrap_err();
        assert!(matches!(e, SubmitError::Forbidden(_)));
        c.allow_root = true;
        assert!(check(r#","container":{"image":"i","root":true}"#, &c).is_ok());
        let guest = Identity {
            guest: true,
            ..alice()
        };
        let as_guest = |c: &Config| {
            let t = parse(&body(r#","container":{"image":"i","root":true}"#))?;
            validate(t, &guest, c, &World::at(1.0))
        };
        let e = as_guest(&c).unwrap_err();
        assert!(matches!(e, SubmitError::Forbidden(ref f) if f.field == "container.root"));
        c.guest_allow_root = true;
        let t = as_guest(&c).unwrap();
        assert!(t.user.guest && t.container.root);
    }

    #[test]
    fn volumes_resolution() {
        let mut c = Config::default();
        c.volumes = vec![
            VolumeConfig {
                name: "data".into(),
                acl: "ro".into(),
                path: "/data/$USERID".into(),
                mount: None,
            },
            VolumeConfig {
                name: "scratch".into(),
                acl: "rw".into(),
                path: "/scratch".into(),
                mount: Some("/mnt/scratch".into()),
            },
        ];
        let req = |name: &str, acl: &str| Volume {
            name: name.into(),
            acl: acl.into(),
            ..Default::default()
        };
        let got = resolve_volumes(
            &[req("data", "rw"), req("scratch", "rw"), req("home", "rw")],
            &alice(),
            &c,
            false,
            &|_| true,
        )
        .unwrap();
        assert_eq!(got[0].acl, "ro", "a user cannot raise a ro volume");
        assert_eq!(got[0].path.as_deref(), Some("/data/alice"));
        assert_eq!(got[1].acl, "rw");
        assert_eq!(got[1].mount.as_deref(), Some("/mnt/scratch"));
        assert_eq!(got[2].path.as_deref(), Some("/home/alice"));
        assert_eq!(got[2].mount.as_deref(), Some("/mnt/home"));
        let root = resolve_volumes(
            &[req("scratch", "rw"), req("home", "rw")],
            &alice(),
            &c,
            true,
            &|_| true,
        )
        .unwrap();
        assert!(
            root.iter().all(|v| v.acl == "ro"),
            "root jobs get everything read-only"
        );
        let missing = resolve_volumes(&[req("scratch", "rw")], &alice(), &c, false, &|p| {
            p != "/scratch"
        })
        .unwrap_err();
        assert_eq!(missing.field().field, "container.volumes[0].name");
        assert!(
            missing.field().message.contains("/scratch does not exist"),
            "volumes_check names the missing volume: {missing:?}"
        );
        let unset = resolve_volumes(
            &[req("scratch", ""), req("data", "")],
            &alice(),
            &c,
            false,
            &|_| true,
        )
        .unwrap();
        assert_eq!(
            (unset[0].acl.as_str(), unset[1].acl.as_str()),
            ("rw", "ro"),
            "no access mode asked: the most the configuration allows"
        );
    }
}
