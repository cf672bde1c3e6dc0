//! What to ask an executor for: the container of one job attempt, derived from the task and the
//! configuration. Pure; executors translate it into their own API calls.

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

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchSpec {
    pub job: JobId,
    /// `meta.name` of the job (the fake executor reacts to `norun` and `testerror`).
    pub job_name: String,
    pub name: String,
    pub image: String,
    pub entrypoint: Vec<String>,
    pub env: Vec<(String, String)>,
    pub binds: Vec<Bind>,
    pub cpus: u32,
    pub memory_bytes: u64,
    pub labels: Vec<(String, String)>,
    pub workdir: String,
    pub network_disabled: bool,
    pub pids_limit: i64,
    /// Host path of the job directory.
    pub job_dir: String,
    /// The node the scheduler placed it on, by the name its executor reported (executors that
    /// place onto nodes pin it there; the others have one node and ignore it).
    pub node: Option<String>,
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
    let mut binds = vec![
        Bind {
            host: init_helper.to_string(),
            container: INIT_PATH.to_string(),
            read_only: true,
        },
        Bind {
            host: job_dir.to_string(),
            container: JOB_MOUNT.to_string(),
            read_only: false,
        },
    ];
    let mut home_mount = None;
    for v in &task.container.volumes {
        let (Some(path), Some(mount)) = (v.path.as_ref(), v.mount.as_ref()) else {
            continue;
        };
        if v.name == JOB_VOLUME || v.name == DATA_VOLUME {
            continue; // the job directory is bound above; system entries are not requests
        }
        if v.name == "home" {
            home_mount = Some(mount.clone());
        }
        binds.push(Bind {
            host: path.clone(),
            container: mount.clone(),
            read_only: v.acl != "rw" || task.container.root,
        });
    }
    let u = &task.user;
    let groups: Vec<String> = u.sgids.iter().map(|g| g.to_string()).collect();
    let mut env = vec![
        ("GODOCKER_JID".to_string(), task.id.to_string()),
        ("GODOCKER_PWD".to_string(), JOB_MOUNT.to_string()),
        (
            "GODOCKER_HOME".to_string(),
            home_mount.clone().unwrap_or_else(|| JOB_MOUNT.to_string()),
        ),
        ("GODOCKER_DATA".to_string(), DATA_MOUNT.to_string()),
        ("GOD_INIT_LOGIN".to_string(), u.id.clone()),
        ("GOD_INIT_UID".to_string(), u.uid.to_string()),
        ("GOD_INIT_GID".to_string(), u.gid.to_string()),
        ("GOD_INIT_GROUPS".to_string(), groups.join(",")),
        (
            "GOD_INIT_HOME".to_string(),
            home_mount.unwrap_or_else(|| JOB_MOUNT.to_string()),
        ),
        (
            "GOD_INIT_ROOT".to_string(),
            if task.container.root { "1" } else { "0" }.to_string(),
        ),
        ("GOD_INIT_DIR".to_string(), JOB_MOUNT.to_string()),
    ];
    if let Some(id) = task.requirements.array.task_id {
        let range = task
            .requirements
            .array
            .range
            .as_deref()
            .and_then(|r| crate::array::parse(r).ok());
        let mut vars = vec![("ID", id.to_string())];
        if let Some(r) = range {
            vars.push(("FIRST", r.first.to_string()));
            vars.push(("LAST", r.last.to_string()));
            vars.push(("STEP", r.step.to_string()));
        }
        for (k, v) in vars {
            // The original's misspelt names, which existing scripts use, and the right ones.
            env.push((format!("GOGOCKER_TASK_{k}"), v.clone()));
            env.push((format!("GODOCKER_TASK_{k}"), v));
        }
    }
    LaunchSpec {
        job: task.id,
        job_name: task.meta.name.clone(),
        name,
        image: image_for_run(&task.container.image, config),
        entrypoint: vec![INIT_PATH.to_string()],
        env,
        binds,
        cpus: task.requirements.cpu.max(1),
        memory_bytes: (task.requirements.ram * 1_000_000_000.0) as u64,
        labels: vec![
            (LABEL_JOB.to_string(), task.id.to_string()),
            (LABEL_SERVER.to_string(), server_id.to_string()),
            (LABEL_ATTEMPT.to_string(), task.status.attempts.to_string()),
        ],
        workdir: JOB_MOUNT.to_string(),
        network_disabled: config.network.disabled || !task.container.network,
        pids_limit: config.docker.pids_limit,
        job_dir: job_dir.to_string(),
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
        assert_eq!(s.binds[0].container, INIT_PATH);
        assert!(s.binds[0].read_only);
        assert_eq!(s.binds[1].host, "/shared/42");
        assert!(!s.binds[2].read_only);
        assert!(s
            .env
            .contains(&("GODOCKER_HOME".into(), "/mnt/home".into())));
        assert!(s.env.contains(&("GOD_INIT_GROUPS".into(), "5,6".into())));
        t.container.root = true;
        let s = spec(&t, &c, "s", "/shared/42", "/data/god-init");
        assert!(s.binds[2].read_only, "root jobs get volumes read-only");
        assert!(!s.binds[1].read_only, "the job directory stays writable");
    }

    #[test]
    fn private_registry_prefix_is_not_doubled() {
        let mut c = Config::default();
        c.use_private_registry = Some("reg:5000/".into());
        assert_eq!(image_for_run("reg:5000/a", &c), "reg:5000/a");
        assert_eq!(image_for_run("a", &c), "reg:5000/a");
    }
}
