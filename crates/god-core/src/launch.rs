//! What to ask an executor for: one job attempt, described without any engine's terms (who runs
//! it, in which image, with which resources, which host directories it may use, its labels),
//! derived from the task and the configuration. Each executor renders it: a container body
//! (`View::Container`: directories at their mount points, god-init as entrypoint), a Swarm
//! service, a process on the host (`View::Host`: the same variables with host paths), later a
//! batch script or a Pod. Pure.

use crate::config::Config;
use crate::pairtree;
use crate::task::{JobId, Task, Volume};
use std::path::{Path, PathBuf};

/// Where the job directory is mounted in the container (reference 4.2).
pub const JOB_MOUNT: &str = "/mnt/go-docker";
/// Where the user's home is mounted.
pub const HOME_MOUNT: &str = "/mnt/home";
/// Personal data (FTP) mount.
pub const DATA_MOUNT: &str = "/mnt/god-data";
/// Where our static init helper is mounted, read-only; it is the container's entrypoint.
pub const INIT_PATH: &str = "/.godocker/god-init";

/// Name of the `container.volumes` entry of the job directory (reference 4.2): clients (Galaxy's
/// runner) read the job's `god.log` and `god.err` from its `path`.
pub const JOB_VOLUME: &str = "go-docker";
/// Name of the personal data (FTP) volume entry.
pub const DATA_VOLUME: &str = "god-ftp";

/// Host path of the job directory of `task` under `shared_dir`:
/// `<shared_dir>/tasks/pairtree_root/<pairtree(id)>/task`. An array child lives in its parent's
/// directory: `<parent dir>/<array task id>`.
pub fn job_dir(shared_dir: &Path, task: &Task) -> PathBuf {
    match (task.parent_task_id, task.requirements.array.task_id) {
        (Some(parent), Some(n)) => shared_dir
            .join(pairtree::task_dir(&parent.to_string()))
            .join(n.to_string()),
        _ => shared_dir.join(pairtree::task_dir(&task.id.to_string())),
    }
}

/// The `go-docker` volume entry of a dispatched job: its job directory, mounted read-write at
/// [`JOB_MOUNT`].
pub fn job_volume(shared_dir: &Path, task: &Task) -> Volume {
    Volume {
        name: JOB_VOLUME.into(),
        acl: "rw".into(),
        path: Some(job_dir(shared_dir, task).to_string_lossy().into_owned()),
        mount: Some(JOB_MOUNT.into()),
    }
}

/// Container labels that tie a container to its job and server.
pub const LABEL_JOB: &str = "godocker.job";
pub const LABEL_SERVER: &str = "godocker.server";
pub const LABEL_ATTEMPT: &str = "godocker.attempt";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub host: String,
    pub container: String,
    pub read_only: bool,
}

/// Who a job runs as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Who {
    pub login: String,
    pub uid: u32,
    pub gid: u32,
    /// Secondary groups.
    pub groups: Vec<u32>,
    /// The job asked for root (and the server allows it): its volumes are read-only.
    pub root: bool,
}

/// A host directory a job may use besides its job directory (its home, a configured volume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The volume's name (`home` for the user's home).
    pub name: String,
    /// Where it is on the host (on every node of a cluster).
    pub host: String,
    /// Where the job sees it inside a container.
    pub inside: String,
    pub read_only: bool,
}

/// Where a job runs, for the paths it is told: inside a container (directories at their mount
/// points) or on the host itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Container,
    Host,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchSpec {
    pub job: JobId,
    /// `meta.name` of the job (the fake executor reacts to `norun` and `testerror`).
    pub job_name: String,
    /// The attempt's name: unique, written to the job before anything is created.
    pub name: String,
    pub who: Who,
    /// The image it runs in, as run (`use_private_registry` applied); engines without images
    /// run the job on the host.
    pub image: String,
    pub cpus: u32,
    pub memory_bytes: u64,
    pub gpus: u32,
    /// Its wall-time limit in seconds, for engines that enforce one themselves.
    pub walltime: Option<f64>,
    pub pids_limit: i64,
    /// Host path of the job directory (its `cmd.sh`, `god.log`…).
    pub job_dir: String,
    /// Host path of god-init, the job's first process.
    pub init_helper: String,
    /// The directories granted besides the job directory.
    pub mounts: Vec<Mount>,
    /// Variables without paths (`GODOCKER_JID`, the array task's): see [`LaunchSpec::env`].
    pub vars: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub network_disabled: bool,
    /// The node the scheduler placed it on, by the name its executor reported (executors that
    /// place onto nodes pin it there; the others have one node and ignore it).
    pub node: Option<String>,
}

impl LaunchSpec {
    /// Where the job's directory is, as the job sees it (also its working directory).
    pub fn job_dir_in(&self, view: View) -> &str {
        match view {
            View::Container => JOB_MOUNT,
            View::Host => &self.job_dir,
        }
    }

    /// Its home as it sees it: the `home` volume if granted, else its job directory.
    pub fn home_in(&self, view: View) -> &str {
        match self.mounts.iter().find(|m| m.name == "home") {
            Some(m) if view == View::Container => &m.inside,
            Some(m) => &m.host,
            None => self.job_dir_in(view),
        }
    }

    /// A container's binds: god-init (read-only), the job directory, then the mounts.
    pub fn container_binds(&self) -> Vec<Bind> {
        let mut binds = vec![
            Bind {
                host: self.init_helper.clone(),
                container: INIT_PATH.to_string(),
                read_only: true,
            },
            Bind {
                host: self.job_dir.clone(),
                container: JOB_MOUNT.to_string(),
                read_only: false,
            },
        ];
        binds.extend(self.mounts.iter().map(|m| Bind {
            host: m.host.clone(),
            container: m.inside.clone(),
            read_only: m.read_only,
        }));
        binds
    }

    /// A container's first process: god-init, which becomes the user and runs `cmd.sh`.
    pub fn container_entrypoint(&self) -> Vec<String> {
        vec![INIT_PATH.to_string()]
    }

    /// The job's environment (the `GODOCKER_*` variables its script reads and god-init's
    /// `GOD_INIT_*`), with paths as the job sees them in `view`.
    pub fn env(&self, view: View) -> Vec<(String, String)> {
        let w = &self.who;
        let groups: Vec<String> = w.groups.iter().map(|g| g.to_string()).collect();
        let dir = self.job_dir_in(view).to_string();
        let home = self.home_in(view).to_string();
        let mut env = vec![
            ("GODOCKER_JID".to_string(), self.job.to_string()),
            ("GODOCKER_PWD".to_string(), dir.clone()),
            ("GODOCKER_HOME".to_string(), home.clone()),
            ("GODOCKER_DATA".to_string(), DATA_MOUNT.to_string()),
            ("GOD_INIT_LOGIN".to_string(), w.login.clone()),
            ("GOD_INIT_UID".to_string(), w.uid.to_string()),
            ("GOD_INIT_GID".to_string(), w.gid.to_string()),
            ("GOD_INIT_GROUPS".to_string(), groups.join(",")),
            ("GOD_INIT_HOME".to_string(), home),
            (
                "GOD_INIT_ROOT".to_string(),
                if w.root { "1" } else { "0" }.to_string(),
            ),
            ("GOD_INIT_DIR".to_string(), dir),
        ];
        env.extend(self.vars.iter().cloned());
        env
    }
}

/// Name of the container of one attempt, written to the job before the container is created
/// so that recovery finds it after a crash. `nonce` makes each attempt's name unique.
pub fn container_name(server_id: &str, job: JobId, nonce: &str) -> String {
    format!("god-{server_id}-{job}-{nonce}")
}

/// Image name as run: `use_private_registry` prefix added when missing.
pub fn image_for_run(image: &str, config: &Config) -> String {
    match config
        .use_private_registry
        .as_deref()
        .filter(|r| !r.is_empty())
    {
        Some(reg) => {
            let reg = reg.trim_end_matches('/');
            if image.starts_with(&format!("{reg}/")) {
                image.to_string()
            } else {
                format!("{reg}/{image}")
            }
        }
        None => image.to_string(),
    }
}

/// Build the launch of `task` (already dispatched: `container.name` set).
pub fn spec(
    task: &Task,
    config: &Config,
    server_id: &str,
    job_dir: &str,
    init_helper: &str,
) -> LaunchSpec {
    let name =
        task.container.name.clone().unwrap_or_else(|| {
            container_name(server_id, task.id, &task.status.attempts.to_string())
        });
    let mut mounts = Vec::new();
    for v in &task.container.volumes {
        let (Some(path), Some(mount)) = (v.path.as_ref(), v.mount.as_ref()) else {
            continue;
        };
        if v.name == JOB_VOLUME || v.name == DATA_VOLUME {
            continue; // the job directory is the spec's own; system entries are not requests
        }
        mounts.push(Mount {
            name: v.name.clone(),
            host: path.clone(),
            inside: mount.clone(),
            read_only: v.acl != "rw" || task.container.root,
        });
    }
    let u = &task.user;
    let mut vars = Vec::new();
    if let Some(id) = task.requirements.array.task_id {
        let range = task
            .requirements
            .array
            .range
            .as_deref()
            .and_then(|r| crate::array::parse(r).ok());
        let mut array = vec![("ID", id.to_string())];
        if let Some(r) = range {
            array.push(("FIRST", r.first.to_string()));
            array.push(("LAST", r.last.to_string()));
            array.push(("STEP", r.step.to_string()));
        }
        for (k, v) in array {
            // The original's misspelt names, which existing scripts use, and the right ones.
            vars.push((format!("GOGOCKER_TASK_{k}"), v.clone()));
            vars.push((format!("GODOCKER_TASK_{k}"), v));
        }
    }
    LaunchSpec {
        job: task.id,
        job_name: task.meta.name.clone(),
        name,
        who: Who {
            login: u.id.clone(),
            uid: u.uid,
            gid: u.gid,
            groups: u.sgids.clone(),
            root: task.container.root,
        },
        image: image_for_run(&task.container.image, config),
        cpus: task.requirements.cpu.max(1),
        memory_bytes: (task.requirements.ram * 1_000_000_000.0) as u64,
        gpus: task.requirements.gpus,
        walltime: task
            .requirements
            .maxlifespan
            .as_deref()
            .and_then(|m| crate::size::parse_duration_secs(m).ok())
            .or(Some(config.maxlifespan.secs))
            .filter(|s| *s > 0)
            .map(|s| s as f64),
        pids_limit: config.docker.pids_limit,
        job_dir: job_dir.to_string(),
        init_helper: init_helper.to_string(),
        mounts,
        vars,
        labels: vec![
            (LABEL_JOB.to_string(), task.id.to_string()),
            (LABEL_SERVER.to_string(), server_id.to_string()),
            (LABEL_ATTEMPT.to_string(), task.status.attempts.to_string()),
        ],
        network_disabled: config.network.disabled || !task.container.network,
        // Recorded as `executor/node` when a server has several executors.
        node: task
            .node_name()
            .map(|n| n.rsplit_once('/').map_or(n, |(_, node)| node).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Volume;

    #[test]
    fn spec_mounts_helper_job_dir_and_volumes_readonly_for_root() {
        let mut t = Task::default();
        t.id = JobId(42);
        t.user.id = "alice".into();
        t.user.uid = 2001;
        t.user.gid = 2002;
        t.user.sgids = vec![5, 6];
        t.requirements.cpu = 2;
        t.requirements.ram = 0.5;
        t.container.image = "img".into();
        t.container.volumes = vec![Volume {
            name: "home".into(),
            acl: "rw".into(),
            path: Some("/home/alice".into()),
            mount: Some("/mnt/home".into()),
        }];
        t.container.name = Some("god-s-42-1".into());
        let mut c = Config::default();
        c.use_private_registry = Some("reg:5000".into());
        let s = spec(&t, &c, "s", "/shared/42", "/data/god-init");
        assert_eq!(s.image, "reg:5000/img");
        assert_eq!(s.memory_bytes, 500_000_000);
        let binds = s.container_binds();
        assert_eq!(binds[0].container, INIT_PATH);
        assert!(binds[0].read_only);
        assert_eq!(binds[1].host, "/shared/42");
        assert!(!binds[2].read_only);
        let env = s.env(View::Container);
        assert!(env.contains(&("GODOCKER_HOME".into(), "/mnt/home".into())));
        assert!(env.contains(&("GOD_INIT_GROUPS".into(), "5,6".into())));
        t.container.root = true;
        let s = spec(&t, &c, "s", "/shared/42", "/data/god-init");
        let binds = s.container_binds();
        assert!(binds[2].read_only, "root jobs get volumes read-only");
        assert!(!binds[1].read_only, "the job directory stays writable");
    }

    /// One description, two views: the same variables with the paths where the job sees them.
    #[test]
    fn the_environment_follows_where_the_job_runs() {
        let mut t = Task::default();
        t.id = JobId(9);
        t.user.id = "bob".into();
        t.container.volumes = vec![Volume {
            name: "home".into(),
            acl: "rw".into(),
            path: Some("/home/bob".into()),
            mount: Some("/mnt/home".into()),
        }];
        let s = spec(&t, &Config::default(), "s", "/shared/9", "/data/god-init");
        let get = |view, key: &str| {
            s.env(view)
                .into_iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_default()
        };
        // (variable, in a container, on the host)
        let cases = [
            ("GODOCKER_JID", "9", "9"),
            ("GODOCKER_PWD", JOB_MOUNT, "/shared/9"),
            ("GOD_INIT_DIR", JOB_MOUNT, "/shared/9"),
            ("GODOCKER_HOME", "/mnt/home", "/home/bob"),
            ("GOD_INIT_HOME", "/mnt/home", "/home/bob"),
            ("GOD_INIT_LOGIN", "bob", "bob"),
        ];
        for (key, inside, host) in cases {
            assert_eq!(get(View::Container, key), inside, "{key} in a container");
            assert_eq!(get(View::Host, key), host, "{key} on the host");
        }
        t.container.volumes.clear();
        let s = spec(&t, &Config::default(), "s", "/shared/9", "/data/god-init");
        assert_eq!(
            s.home_in(View::Host),
            "/shared/9",
            "no home: the job directory"
        );
        assert_eq!(s.home_in(View::Container), JOB_MOUNT);
    }

    #[test]
    fn private_registry_prefix_is_not_doubled() {
        let mut c = Config::default();
        c.use_private_registry = Some("reg:5000/".into());
        assert_eq!(image_for_run("reg:5000/a", &c), "reg:5000/a");
        assert_eq!(image_for_run("a", &c), "reg:5000/a");
    }
}
