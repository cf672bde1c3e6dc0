//! Test builders (feature `test-support`, and this crate's own tests): a task in one expression,
//! instead of a `Task::default()` mutated field by field in every test file.

use crate::status::{Primary, Secondary};
use crate::task::{JobId, Task, Volume};

/// A job as the submission path would store it: user `alice` (uid/gid 2001), project
/// `default`, 1 cpu, 1 GB, image `img`, command `true`, pending.
#[derive(Debug, Clone)]
pub struct TaskBuilder {
    task: Task,
}

impl Default for TaskBuilder {
    fn default() -> Self {
        let mut task = Task::default();
        task.user.id = "alice".into();
        task.user.uid = 2001;
        task.user.gid = 2001;
        task.user.project = "default".into();
        task.meta.name = "job".into();
        task.requirements.cpu = 1;
        task.requirements.ram = 1.0;
        task.requirements.executor = Some("fake".into());
        task.container.image = "img".into();
        task.command.cmd = "true".into();
        TaskBuilder { task }
    }
}

impl TaskBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn id(mut self, id: u64) -> Self {
        self.task.id = JobId(id);
        self
    }

    /// Login, uid and gid (the uid is also the gid).
    pub fn user(mut self, login: &str, uid: u32) -> Self {
        self.task.user.id = login.into();
        self.task.user.uid = uid;
        self.task.user.gid = uid;
        self
    }

    pub fn project(mut self, project: &str) -> Self {
        self.task.user.project = project.into();
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.task.meta.name = name.into();
        self
    }

    pub fn cmd(mut self, cmd: &str) -> Self {
        self.task.command.cmd = cmd.into();
        self
    }

    pub fn image(mut self, image: &str) -> Self {
        self.task.container.image = image.into();
        self
    }

    pub fn cpu(mut self, cpu: u32) -> Self {
        self.task.requirements.cpu = cpu;
        self
    }

    pub fn ram(mut self, gb: f64) -> Self {
        self.task.requirements.ram = gb;
        self
    }

    pub fn maxlifespan(mut self, lifespan: &str) -> Self {
        self.task.requirements.maxlifespan = Some(lifespan.into());
        self
    }

    /// Node-failure retries the job asks for.
    pub fn retries(mut self, n: u32) -> Self {
        self.task.requirements.failure_policy = n;
        self
    }

    pub fn submitted_at(mut self, date: f64) -> Self {
        self.task.date = date;
        self
    }

    pub fn volume(mut self, name: &str, acl: &str, path: &str, mount: &str) -> Self {
        self.task.container.volumes.push(Volume {
            name: name.into(),
            acl: acl.into(),
            path: Some(path.into()),
            mount: Some(mount.into()),
        });
        self
    }

    /// In a state (a running one since `running_since`, with container `c` unless told).
    pub fn state(mut self, primary: Primary, secondary: Option<Secondary>) -> Self {
        self.task.status.primary = primary;
        self.task.status.secondary = secondary;
        if primary == Primary::Running && self.task.status.date_running.is_none() {
            self.task.status.date_running = Some(self.task.date);
            self.task.container.id = Some("c".into());
        }
        self
    }

    pub fn running_since(mut self, t: f64) -> Self {
        self.task.status.date_running = Some(t);
        self
    }

    pub fn container(mut self, id: Option<&str>) -> Self {
        self.task.container.id = id.map(String::from);
        self
    }

    pub fn build(self) -> Task {
        self.task
    }
}

/// A launch of job 7 (`god-s-7-1`, image `img`, alice 2001:2001, one read-only volume `/h`
/// → `/c`, 2 cpus, 64 MB, pids 100, off the network), for executors' rendering tests.
pub fn launch_spec() -> crate::launch::LaunchSpec {
    crate::launch::LaunchSpec {
        job: JobId(7),
        job_name: "j".into(),
        name: "god-s-7-1".into(),
        who: crate::launch::Who {
            login: "alice".into(),
            uid: 2001,
            gid: 2001,
            groups: vec![],
            root: false,
        },
        image: "img".into(),
        cpus: 2,
        memory_bytes: 64_000_000,
        gpus: 0,
        walltime: None,
        pids_limit: 100,
        job_dir: "/jobs/7".into(),
        init_helper: "/data/god-init".into(),
        mounts: vec![crate::launch::Mount {
            name: "data".into(),
            host: "/h".into(),
            inside: "/c".into(),
            read_only: true,
        }],
        vars: vec![],
        labels: vec![(crate::launch::LABEL_JOB.into(), "7".into())],
        network_disabled: true,
        node: None,
    }
}
