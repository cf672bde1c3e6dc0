//! The Docker Engine executor (reference 4.3), through bollard.
//!
//! Every job container runs our static init helper as its entrypoint, as root (`User: "0:0"`),
//! with only the capabilities the helper needs to add the user to `/etc/passwd`, drop to the
//! user's uid, gid and groups, and forward signals to the script (the script itself has none: the
//! kernel clears them at the helper's `setuid`, and `no-new-privileges` forbids getting them
//! back). Containers carry the `godocker.*` labels and a deterministic name, so every call is
//! idempotent and a restarted server finds its containers again.
//!
//! Error mapping: an Engine answer 4xx is [`ExecError::Refused`] (a start the runtime cannot
//! perform too), other answers and transport failures are [`ExecError::Unavailable`], an image
//! that is neither local nor pullable is [`ExecError::ImageMissing`].

mod inside;
mod terminal;

use crate::{
    Capabilities, ContainerState, ContainerStats, ExecError, ExecOutput, ExecRequest, Executor,
    ExitEvent, Labelled, LaunchSpec, NodeReport, Terminal, TerminalRequest, Termination,
};
use async_trait::async_trait;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, ContainerSummaryStateEnum, HostConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, KillContainerOptions,
    ListContainersOptions, RemoveContainerOptions,
};
use bollard::{ClientVersion, Docker, API_DEFAULT_VERSION};
use futures_util::StreamExt;
use god_core::config::DockerConfig;
use god_core::launch::{View, LABEL_JOB, LABEL_SERVER};
use god_core::JobId;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, OnceCell};

/// Seconds bollard waits for the Engine's answer (headers) to one request.
const TIMEOUT_SECS: u64 = 120;
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// What the init helper needs: write `/etc/passwd` and `/etc/group`, chown `god.info`, drop to
/// the user, and (KILL) forward signals from PID 1, still root, to the script, which runs as
/// another uid. Everything else is dropped; the script gets none of these (the kernel clears
/// them when the helper `setuid`s to the user, and no-new-privileges keeps them away).
pub(crate) const CAPABILITIES: [&str; 6] = [
    "CHOWN",
    "SETUID",
    "SETGID",
    "DAC_OVERRIDE",
    "FOWNER",
    "KILL",
];

pub struct DockerExecutor {
    /// How to reach the Engine (checked by [`DockerExecutor::new`]).
    cfg: DockerConfig,
    version: ClientVersion,
    /// The client once the Engine answered; until then every call tries to reach it again, so
    /// an Engine that is down at start-up is a reason for jobs to wait, not a failed start.
    negotiated: OnceCell<Docker>,
    /// Where the Engine is, for messages.
    url: String,
    cpus: Option<u32>,
    ram: Option<f64>,
    credentials: Option<(String, String)>,
}

impl DockerExecutor {
    /// Send SIGKILL to `container`: the Engine's answer, for the caller to read its status.
    async fn sigkill(
        &self,
        container: &str,
    ) -> Result<Result<(), bollard::errors::Error>, ExecError> {
        let options = KillContainerOptions {
            signal: "SIGKILL".into(),
        };
        Ok(self
            .client()
            .await?
            .kill_container(container, Some(options))
            .await)
    }

    /// The executor of the Engine at `cfg.url` (default `unix:///var/run/docker.sock`). Only the
    /// configuration is checked here (a bad URL or TLS setting is an error); the Engine is
    /// reached, and the API version agreed on, at the first call that needs it.
    pub fn new(cfg: &DockerConfig) -> Result<Self, ExecError> {
        let version = client_version(&cfg.api_version)?;
        match open(cfg, &version) {
            // The socket appears when the Engine starts.
            Ok(_) | Err(Opened::NoSocket(_)) => {}
            Err(Opened::Failed(e)) => return Err(e),
        }
        let url = cfg
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map_or_else(|| format!("unix://{DEFAULT_SOCKET}"), str::to_string);
        let credentials = match (&cfg.registry_username, &cfg.registry_password) {
            (Some(u), Some(p)) if !u.is_empty() => Some((u.clone(), p.clone())),
            _ => None,
        };
        Ok(DockerExecutor {
            cfg: cfg.clone(),
            version,
            negotiated: OnceCell::new(),
            url,
            cpus: cfg.cpus,
            ram: cfg.ram,
            credentials,
        })
    }

    /// [`DockerExecutor::new`], then a first call to the Engine: fails if it does not answer.
    pub async fn connect(cfg: &DockerConfig) -> Result<Self, ExecError> {
        let exec = Self::new(cfg)?;
        exec.client().await?;
        Ok(exec)
    }

    /// The bollard client, once the Engine answered (for callers that need more of its API).
    pub async fn client(&self) -> Result<&Docker, ExecError> {
        self.negotiated
            .get_or_try_init(|| async {
                let unanswered = |e: &dyn std::fmt::Display| {
                    ExecError::Unavailable(format!(
                        "the Docker Engine at {} does not answer: {e}",
                        self.url
                    ))
                };
                let base = open(&self.cfg, &self.version).map_err(|e| match e {
                    Opened::NoSocket(e) => unanswered(&e),
                    Opened::Failed(e) => e,
                })?;
                base.negotiate_version().await.map_err(|e| unanswered(&e))
            })
            .await
    }

    /// Create the container of `spec`, pulling its image once if the Engine does not have it.
    /// `None`: a container of that name exists already (409 Conflict).
    async fn create(&self, spec: &LaunchSpec) -> Result<Option<String>, ExecError> {
        let body = create_body(spec)?;
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        match self
            .client()
            .await?
            .create_container(Some(options.clone()), body.clone())
            .await
        {
            Ok(created) => return Ok(Some(created.id)),
            Err(e) if status(&e) == Some(404) => {}
            Err(e) if status(&e) == Some(409) => return Ok(None),
            Err(e) => return Err(engine_error(e)),
        }
        self.pull(&spec.image).await?;
        match self
            .client()
            .await?
            .create_container(Some(options), body)
            .await
        {
            Ok(created) => Ok(Some(created.id)),
            Err(e) if status(&e) == Some(404) => Err(ExecError::ImageMissing {
                image: spec.image.clone(),
                detail: message(&e),
            }),
            Err(e) if status(&e) == Some(409) => Ok(None),
            Err(e) => Err(engine_error(e)),
        }
    }

    async fn pull(&self, image: &str) -> Result<(), ExecError> {
        let (repo, tag) = split_image(image);
        let options = CreateImageOptions {
            from_image: Some(repo.to_string()),
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let credentials = self
            .credentials
            .as_ref()
            .map(|(user, password)| DockerCredentials {
                username: Some(user.clone()),
                password: Some(password.clone()),
                serveraddress: Some(registry_of(repo).to_string()),
                ..Default::default()
            });
        tracing::info!(image, "pulling image");
        let mut progress = Box::pin(self.client().await?.create_image(
            Some(options),
            None,
            credentials,
        ));
        while let Some(item) = progress.next().await {
            match item {
                Ok(_) => {}
                Err(e) if is_transport(&e) => return Err(engine_error(e)),
                Err(e) => {
                    return Err(ExecError::ImageMissing {
                        image: image.to_string(),
                        detail: format!("not on the Engine and the pull failed: {}", message(&e)),
                    })
                }
            }
        }
        Ok(())
    }

    /// Start an existing container that was only created; its id.
    async fn start_created(&self, id: &str) -> Result<(), ExecError> {
        match self.client().await?.start_container(id, None).await {
            Ok(()) => Ok(()),
            // Started meanwhile (304 is success for bollard; 409 on some engines).
            Err(e) if status(&e) == Some(409) => Ok(()),
            // The Engine cannot run this container (4xx, or the runtime failed to start its
            // process: bad mount, missing entrypoint…). Remove it, so that nothing stays behind
            // for a job that ends here.
            Err(e) if start_refused(&e) => {
                let _ = self.remove(id).await;
                Err(ExecError::Refused(message(&e)))
            }
            // Anything else may pass: the container stays created and the next start() of
            // the same name starts it.
            Err(e) => Err(engine_error(e)),
        }
    }
}

/// How often, and how long apart, a container that died of SIGKILL is inspected again for an
/// out-of-memory flag that comes late.
const OOM_LATE_TRIES: usize = 3;
const OOM_LATE_WAIT: Duration = Duration::from_millis(100);

impl DockerExecutor {
    async fn inspect_once(&self, container: &str) -> Result<ContainerState, ExecError> {
        match self
            .client()
            .await?
            .inspect_container(container, None)
            .await
        {
            Ok(c) => Ok(state_of(c.state.as_ref())),
            Err(e) if status(&e) == Some(404) => Ok(ContainerState::Gone),
            Err(e) => Err(engine_error(e)),
        }
    }
}

/// The API version to start from: `auto` (or empty) = bollard's, lowered by negotiation.
fn client_version(v: &str) -> Result<ClientVersion, ExecError> {
    let v = v.trim().trim_start_matches('v');
    if v.is_empty() || v == "auto" {
        return Ok(*API_DEFAULT_VERSION);
    }
    let parsed = v.split_once('.').and_then(|(major, minor)| {
        Some(ClientVersion {
            major_version: major.parse().ok()?,
            minor_version: minor.parse().ok()?,
        })
    });
    parsed.ok_or_else(|| {
        ExecError::Unavailable(format!(
            "docker.api_version {v:?} is not a version like 1.41 or auto"
        ))
    })
}

/// Why no client could be made.
enum Opened {
    /// The Engine's unix socket is not there (yet): the Engine is down.
    NoSocket(BollardError),
    /// The configuration cannot work.
    Failed(ExecError),
}

impl std::fmt::Display for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Opened::NoSocket(e) => write!(f, "{e}"),
            Opened::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl From<ExecError> for Opened {
    fn from(e: ExecError) -> Self {
        Opened::Failed(e)
    }
}

/// The bollard client for `cfg` (no request made yet).
fn open(cfg: &DockerConfig, version: &ClientVersion) -> Result<Docker, Opened> {
    let url = cfg.url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let unavailable = |e: BollardError| match e {
        BollardError::SocketNotFoundError(_) => Opened::NoSocket(e),
        e => Opened::Failed(ExecError::Unavailable(format!("Docker Engine: {e}"))),
    };
    let url = url.unwrap_or(DEFAULT_SOCKET);
    if let Some(path) = url
        .strip_prefix("unix://")
        .or(url.starts_with('/').then_some(url))
    {
        if cfg.tls {
            return Err(Opened::Failed(ExecError::Unavailable(
                "docker.tls is set but docker.url is a unix socket".into(),
            )));
        }
        return Docker::connect_with_unix(path, TIMEOUT_SECS, version).map_err(unavailable);
    }
    let https = url.starts_with("https://");
    if !https && !url.starts_with("tcp://") && !url.starts_with("http://") {
        return Err(Opened::Failed(ExecError::Unavailable(format!(
            "docker.url {url:?}: expected unix://, tcp://, http:// or https://"
        ))));
    }
    if !(cfg.tls || https) {
        return Docker::connect_with_http(url, TIMEOUT_SECS, version).map_err(unavailable);
    }
    if url.starts_with("http://") {
        return Err(Opened::Failed(ExecError::Unavailable(format!(
            "docker.tls is set but docker.url {url:?} is http://: use tcp:// or https://"
        ))));
    }
    let (ca, cert, key) = tls_files(cfg)?;
    // bollard builds its TLS configuration with rustls' process-wide provider: make sure there
    // is one even if another crate of the binary enabled a second rustls provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Docker::connect_with_ssl(url, key, cert, ca, TIMEOUT_SECS, version).map_err(unavailable)
}

/// The TLS files, as the reference's matrix allows where bollard can follow it: a CA is needed
/// (bollard always verifies the Engine's certificate); the client certificate and key are
/// optional but go together.
fn tls_files(cfg: &DockerConfig) -> Result<(&Path, &Path, &Path), ExecError> {
    fn given(v: &Option<String>) -> Option<&Path> {
        v.as_deref().filter(|s| !s.is_empty()).map(Path::new)
    }
    let Some(ca) = given(&cfg.ca_cert) else {
        return Err(ExecError::Unavailable(
            "docker.tls without docker.ca_cert (TLS without verifying the Engine) is not \
             supported: set docker.ca_cert to the CA that signed the Engine's certificate"
                .into(),
        ));
    };
    match (given(&cfg.client_cert), given(&cfg.client_key)) {
        (Some(cert), Some(key)) => Ok((ca, cert, key)),
        // No client certificate: bollard offers none when the files cannot be read.
        (None, None) => Ok((ca, Path::new(""), Path::new(""))),
        _ => Err(ExecError::Unavailable(
            "docker.client_cert and docker.client_key must be given together".into(),
        )),
    }
}

/// The creation request of a job container.
fn create_body(spec: &LaunchSpec) -> Result<ContainerCreateBody, ExecError> {
    let container_binds = spec.container_binds();
    let mut binds = Vec::with_capacity(container_binds.len());
    for b in &container_binds {
        if b.host.contains(':') || b.container.contains(':') {
            return Err(ExecError::Refused(format!(
                "cannot mount {} at {}: paths with ':' are not supported",
                b.host, b.container
            )));
        }
        let mode = if b.read_only { "ro" } else { "rw" };
        binds.push(format!("{}:{}:{mode}", b.host, b.container));
    }
    let memory =
        (spec.memory_bytes > 0).then(|| i64::try_from(spec.memory_bytes).unwrap_or(i64::MAX));
    let host_config = HostConfig {
        binds: Some(binds),
        nano_cpus: Some(i64::from(spec.cpus) * 1_000_000_000),
        memory,
        // Same as memory: no swap.
        memory_swap: memory,
        pids_limit: (spec.pids_limit > 0).then_some(spec.pids_limit),
        security_opt: Some(vec!["no-new-privileges".into()]),
        privileged: Some(false),
        cap_drop: Some(vec!["ALL".into()]),
        cap_add: Some(CAPABILITIES.iter().map(|c| c.to_string()).collect()),
        network_mode: Some(
            if spec.network_disabled {
                "none"
            } else {
                "bridge"
            }
            .into(),
        ),
        publish_all_ports: Some(false),
        init: Some(false),
        auto_remove: Some(false),
        ..Default::default()
    };
    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: Some(spec.container_entrypoint()),
        cmd: Some(Vec::new()),
        env: Some(
            spec.env(View::Container)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        working_dir: Some(spec.job_dir_in(View::Container).to_string()),
        labels: Some(spec.labels.iter().cloned().collect()),
        user: Some("0:0".into()),
        tty: Some(false),
        open_stdin: Some(false),
        attach_stdin: Some(false),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        host_config: Some(host_config),
        ..Default::default()
    })
}

/// `repo[:tag]` or `repo@digest` → (repo, tag or digest); no tag means `latest` (a pull without
/// a tag would fetch every tag).
fn split_image(image: &str) -> (&str, &str) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo, digest);
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (&image[..last_slash + i], &image[last_slash + i + 1..]),
        None => (image, "latest"),
    }
}

/// The registry a repository comes from, for credentials.
fn registry_of(repo: &str) -> &str {
    match repo.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "https://index.docker.io/v1/",
    }
}

pub(crate) fn status(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

pub(crate) fn message(e: &BollardError) -> String {
    match e {
        BollardError::DockerResponseServerError { message, .. } => message.trim().to_string(),
        BollardError::DockerStreamError { error } => error.trim().to_string(),
        other => other.to_string(),
    }
}

/// The Engine did not answer (or answered garbage): nothing to say about the request itself.
fn is_transport(e: &BollardError) -> bool {
    !matches!(
        e,
        BollardError::DockerResponseServerError { .. } | BollardError::DockerStreamError { .. }
    )
}

// The Engine's answers carry an HTTP status and a sentence, no error code: where the status
// alone does not tell, these two read the sentence, here at the boundary only, and the rest of
// the code gets a typed `ExecError` (or success).

/// A start that will fail again however often it is tried: a 4xx, or a 5xx from the runtime
/// ("OCI runtime create failed", "runc ...").
fn start_refused(e: &BollardError) -> bool {
    match status(e) {
        Some(400..=499) => true,
        Some(_) => {
            let m = message(e);
            m.contains("OCI runtime") || m.contains("runc")
        }
        None => false,
    }
}

/// A forced removal answered 409 "removal of container ... is already in progress": it will
/// be gone (other conflicts are errors).
fn removal_in_progress(e: &BollardError) -> bool {
    status(e) == Some(409) && message(e).contains("in progress")
}

/// 4xx: the Engine refuses what we ask; anything else: try again later.
pub(crate) fn engine_error(e: BollardError) -> ExecError {
    match status(&e) {
        Some(code) if (400..500).contains(&code) => ExecError::Refused(message(&e)),
        Some(code) => ExecError::Unavailable(format!("Engine error {code}: {}", message(&e))),
        None => ExecError::Unavailable(e.to_string()),
    }
}

fn exited(state: &bollard::models::ContainerState) -> ContainerState {
    let error = state.error.clone().filter(|e| !e.trim().is_empty());
    let code = state.exit_code.unwrap_or(0);
    ContainerState::Exited(match error {
        Some(message) => Termination::EngineFailure {
            // Could not run at all: never report success.
            code: if code == 0 { 128 } else { code },
            message,
        },
        None if state.oom_killed.unwrap_or(false) => Termination::OutOfMemory { code },
        None => Termination::Exited { code },
    })
}

fn state_of(state: Option<&bollard::models::ContainerState>) -> ContainerState {
    let Some(s) = state else {
        return ContainerState::Gone;
    };
    let has_error = s.error.as_deref().is_some_and(|e| !e.trim().is_empty());
    match s.status {
        // A start that failed leaves the container "created", with the runtime's error.
        Some(ContainerStateStatusEnum::CREATED) if has_error => exited(s),
        Some(ContainerStateStatusEnum::CREATED) => ContainerState::Created,
        Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerStateStatusEnum::EXITED)
        | Some(ContainerStateStatusEnum::DEAD)
        | Some(ContainerStateStatusEnum::REMOVING) => exited(s),
        _ if s.paused == Some(true) => ContainerState::Paused,
        _ if s.running == Some(true) => ContainerState::Running,
        Some(ContainerStateStatusEnum::RUNNING)
        | Some(ContainerStateStatusEnum::RESTARTING)
        | Some(ContainerStateStatusEnum::STOPPING) => ContainerState::Running,
        _ => exited(s),
    }
}

pub(crate) fn server_filter(server_id: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{LABEL_SERVER}={server_id}")],
    )])
}

pub(crate) fn job_of(labels: Option<&HashMap<String, String>>) -> Option<JobId> {
    labels?.get(LABEL_JOB)?.trim().parse().ok().map(JobId)
}

#[async_trait]
impl Executor for DockerExecutor {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn nodes(&self) -> Result<Vec<NodeReport>, ExecError> {
        let (cpus, ram) = match (self.cpus, self.ram) {
            (Some(c), Some(r)) => (f64::from(c), r),
            (cpus, ram) => {
                let info = self.client().await?.info().await.map_err(engine_error)?;
                let engine_cpus = info.ncpu.unwrap_or(0).max(0) as f64;
                let engine_ram = info.mem_total.unwrap_or(0).max(0) as f64 / 1e9;
                (
                    cpus.map_or(engine_cpus, f64::from),
                    ram.unwrap_or(engine_ram),
                )
            }
        };
        Ok(vec![NodeReport::ready("localhost", cpus, ram)])
    }

    /// The Engine's own node id when it is an active member of a Swarm.
    async fn swarm_node_ids(&self) -> Result<Vec<String>, ExecError> {
        let info = self.client().await?.info().await.map_err(engine_error)?;
        let swarm = info.swarm.unwrap_or_default();
        let active = swarm.local_node_state == Some(bollard::models::LocalNodeState::ACTIVE);
        Ok(swarm
            .node_id
            .filter(|id| active && !id.is_empty())
            .into_iter()
            .collect())
    }

    async fn start(&self, spec: &LaunchSpec) -> Result<String, ExecError> {
        // Create first (the common case: one round trip less); a name already in use means an
        // earlier attempt got that far (a crash, a retry): take that container over. Twice at
        // most, in case it is removed between our create and our look.
        for _ in 0..2 {
            if let Some(id) = self.create(spec).await? {
                self.start_created(&id).await?;
                return Ok(id);
            }
            match self
                .client()
                .await?
                .inspect_container(&spec.name, None)
                .await
            {
                Ok(c) => {
                    let id = c.id.unwrap_or_else(|| spec.name.clone());
                    if state_of(c.state.as_ref()) == ContainerState::Created {
                        self.start_created(&id).await?;
                    }
                    return Ok(id);
                }
                Err(e) if status(&e) == Some(404) => {}
                Err(e) => return Err(engine_error(e)),
            }
        }
        Err(ExecError::Unavailable(format!(
            "container {} is being created and removed concurrently",
            spec.name
        )))
    }

    /// A container that died of SIGKILL is asked about again a few times: the Engine records
    /// an out-of-memory kill from the kernel's event, which can come after the exit (seen
    /// under load on cgroup v2: 137 without `OOMKilled`, then with it).
    async fn inspect(&self, container: &str) -> Result<ContainerState, ExecError> {
        let mut state = self.inspect_once(container).await?;
        for _ in 0..OOM_LATE_TRIES {
            if state != ContainerState::Exited(Termination::Exited { code: 137 }) {
                break;
            }
            tokio::time::sleep(OOM_LATE_WAIT).await;
            state = self.inspect_once(container).await?;
        }
        Ok(state)
    }

    async fn kill(&self, container: &str) -> Result<(), ExecError> {
        match self.sigkill(container).await? {
            Ok(()) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            // Not running (exited, or only created): nothing to kill.
            Err(e) if status(&e) == Some(409) => {
                // A paused container must be thawed to die; anything else is not running.
                if self.inspect(container).await? != ContainerState::Paused {
                    return Ok(());
                }
                self.unpause(container).await?;
                match self.sigkill(container).await? {
                    Ok(()) => Ok(()),
                    Err(e) if matches!(status(&e), Some(404 | 409)) => Ok(()),
                    Err(e) => Err(engine_error(e)),
                }
            }
            Err(e) => Err(engine_error(e)),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pause: true,
            stats: true,
            exec: true,
            terminal: true,
        }
    }

    async fn stats(&self, container: &str) -> Result<ContainerStats, ExecError> {
        inside::stats(self.client().await?, container).await
    }

    async fn exec(&self, container: &str, request: &ExecRequest) -> Result<ExecOutput, ExecError> {
        inside::exec(self.client().await?, container, request).await
    }

    async fn terminal(
        &self,
        container: &str,
        request: &TerminalRequest,
    ) -> Result<Terminal, ExecError> {
        terminal::open(self.client().await?, container, request).await
    }

    async fn pause(&self, container: &str) -> Result<(), ExecError> {
        self.client()
            .await?
            .pause_container(container)
            .await
            .map_err(engine_error)
    }

    async fn unpause(&self, container: &str) -> Result<(), ExecError> {
        self.client()
            .await?
            .unpause_container(container)
            .await
            .map_err(engine_error)
    }

    async fn remove(&self, container: &str) -> Result<(), ExecError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self
            .client()
            .await?
            .remove_container(container, Some(options))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) if removal_in_progress(&e) => Ok(()),
            Err(e) => Err(engine_error(e)),
        }
    }

    async fn list_labelled(&self, server_id: &str) -> Result<Vec<Labelled>, ExecError> {
        let options = ListContainersOptions {
            all: true,
            filters: Some(server_filter(server_id)),
            ..Default::default()
        };
        let containers = self
            .client()
            .await?
            .list_containers(Some(options))
            .await
            .map_err(engine_error)?;
        let mut found = Vec::with_capacity(containers.len());
        for c in containers {
            let Some(id) = c.id.clone() else { continue };
            let state = match c.state {
                Some(ContainerSummaryStateEnum::RUNNING) => ContainerState::Running,
                Some(ContainerSummaryStateEnum::PAUSED) => ContainerState::Paused,
                // Exit code, OOM and errors are only in the container's own state.
                _ => self.inspect(&id).await?,
            };
            if state == ContainerState::Gone {
                continue;
            }
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            found.push(Labelled {
                container_id: id,
                name,
                job: job_of(c.labels.as_ref()),
                state,
            });
        }
        Ok(found)
    }

    async fn watch_exits(&self, server_id: &str, tx: mpsc::Sender<ExitEvent>) {
        let mut filters = server_filter(server_id);
        filters.insert("type".into(), vec!["container".into()]);
        filters.insert("event".into(), vec!["die".into()]);
        // Warned once per outage, not at every attempt to subscribe again.
        let mut warned = false;
        while !tx.is_closed() {
            let options = EventsOptions {
                filters: Some(filters.clone()),
                ..Default::default()
            };
            let docker = match self.client().await {
                Ok(d) => d,
                Err(e) => {
                    if !std::mem::replace(&mut warned, true) {
                        tracing::warn!("{e}; retrying every second");
                    }
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = tx.closed() => return,
                    }
                    continue;
                }
            };
            if warned && docker.ping().await.is_ok() {
                tracing::info!("the Docker Engine at {} answers again", self.url);
                warned = false;
            }
            let mut events = Box::pin(docker.events(Some(options)));
            loop {
                let event = tokio::select! {
                    e = events.next() => e,
                    () = tx.closed() => return,
                };
                match event {
                    Some(Ok(ev)) => {
                        let attributes = ev.actor.as_ref().and_then(|a| a.attributes.as_ref());
                        if let Some(job) = job_of(attributes) {
                            if tx.send(ExitEvent::Exited(job)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Some(Err(e)) => {
                        if !std::mem::replace(&mut warned, true) {
                            tracing::warn!(error = %e, "Docker event stream failed; resubscribing every second");
                            let why = format!("the Docker event stream failed: {e}");
                            if tx.send(ExitEvent::StreamBroken { why }).await.is_err() {
                                return;
                            }
                        }
                        break;
                    }
                    None => {
                        tracing::debug!("Docker event stream ended; resubscribing in 1 s");
                        break;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = tx.closed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// What the Engine's answers mean for a start and a removal.
    #[test]
    fn engine_answers_are_classified() {
        let answer = |status_code: u16, message: &str| BollardError::DockerResponseServerError {
            status_code,
            message: message.into(),
        };
        // (answer, start refused for good, removal already in progress)
        let cases = [
            (answer(400, "invalid mount config"), true, false),
            (
                answer(500, "OCI runtime create failed: exec: \"/x\": not found"),
                true,
                false,
            ),
            (answer(500, "runc run failed: unable to start"), true, false),
            (answer(500, "Internal Server Error"), false, false),
            (
                answer(409, "removal of container c is already in progress"),
                true,
                true,
            ),
            (answer(409, "container c is paused"), true, false),
            (BollardError::RequestTimeoutError, false, false),
        ];
        for (e, refused, in_progress) in cases {
            assert_eq!(start_refused(&e), refused, "{e}: start refused");
            assert_eq!(
                removal_in_progress(&e),
                in_progress,
                "{e}: removal in progress"
            );
        }
    }

    #[test]
    fn image_references_split_into_repo_and_tag() {
        assert_eq!(split_image("busybox"), ("busybox", "latest"));
        assert_eq!(
            split_image("god-test/minimal:latest"),
            ("god-test/minimal", "latest")
        );
        assert_eq!(split_image("reg:5000/a/b"), ("reg:5000/a/b", "latest"));
        assert_eq!(split_image("reg:5000/a/b:1.2"), ("reg:5000/a/b", "1.2"));
        assert_eq!(split_image("a@sha256:abc"), ("a", "sha256:abc"));
        assert_eq!(registry_of("reg:5000/a/b"), "reg:5000");
        assert_eq!(registry_of("localhost/a"), "localhost");
        assert_eq!(
            registry_of("library/busybox"),
            "https://index.docker.io/v1/"
        );
    }

    #[test]
    fn api_versions_parse() {
        assert_eq!(client_version("auto").unwrap(), *API_DEFAULT_VERSION);
        let v = client_version("1.41").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(client_version("latest").is_err());
    }

    #[test]
    fn urls_and_tls_combinations() {
        let mut cfg = DockerConfig {
            url: Some("ftp://x".into()),
            ..Default::default()
        };
        let v = *API_DEFAULT_VERSION;
        assert!(matches!(
            open(&cfg, &v),
            Err(Opened::Failed(ExecError::Unavailable(_)))
        ));
        cfg.url = Some("tcp://127.0.0.1:2375".into());
        assert!(open(&cfg, &v).is_ok());
        cfg.tls = true;
        let err = open(&cfg, &v).err().unwrap().to_string();
        assert!(err.contains("ca_cert"), "{err}");
        cfg.ca_cert = Some("/nonexistent/ca.pem".into());
        cfg.client_cert = Some("/c.pem".into());
        let err = open(&cfg, &v).err().unwrap().to_string();
        assert!(err.contains("together"), "{err}");
        cfg.client_cert = None;
        // A CA that cannot be read is reported, not a panic.
        assert!(matches!(
            open(&cfg, &v),
            Err(Opened::Failed(ExecError::Unavailable(_)))
        ));
        cfg.url = Some("unix:///var/run/docker.sock".into());
        assert!(open(&cfg, &v).is_err(), "tls on a unix socket");
        // An Engine that is not running yet has no socket: not a configuration error.
        cfg.tls = false;
        cfg.url = Some("unix:///nonexistent/docker.sock".into());
        assert!(matches!(open(&cfg, &v), Err(Opened::NoSocket(_))));
        assert!(
            DockerExecutor::new(&cfg).is_ok(),
            "the Engine is reached later"
        );
    }

    fn spec() -> LaunchSpec {
        god_core::testing::launch_spec()
    }

    #[test]
    fn the_container_is_locked_down() {
        let body = create_body(&spec()).unwrap();
        assert_eq!(body.user.as_deref(), Some("0:0"));
        let env = body.env.unwrap();
        assert!(
            env.contains(&"GODOCKER_PWD=/mnt/go-docker".to_string()),
            "{env:?}"
        );
        assert!(env.contains(&"GOD_INIT_UID=2001".to_string()), "{env:?}");
        assert_eq!(
            body.entrypoint.unwrap(),
            vec![god_core::launch::INIT_PATH.to_string()]
        );
        assert_eq!(body.working_dir.as_deref(), Some("/mnt/go-docker"));
        let hc = body.host_config.unwrap();
        assert_eq!(
            hc.binds.unwrap(),
            vec![
                "/data/god-init:/.godocker/god-init:ro".to_string(),
                "/jobs/7:/mnt/go-docker:rw".to_string(),
                "/h:/c:ro".to_string()
            ]
        );
        assert_eq!(hc.nano_cpus, Some(2_000_000_000));
        assert_eq!(hc.memory, Some(64_000_000));
        assert_eq!(hc.memory_swap, Some(64_000_000));
        assert_eq!(hc.pids_limit, Some(100));
        assert_eq!(hc.cap_drop.unwrap(), vec!["ALL".to_string()]);
        assert_eq!(hc.cap_add.unwrap().len(), 6);
        assert_eq!(
            hc.security_opt.unwrap(),
            vec!["no-new-privileges".to_string()]
        );
        assert_eq!(hc.network_mode.as_deref(), Some("none"));
        assert_eq!(hc.privileged, Some(false));
        let mut s = spec();
        s.mounts[0].host = "/a:b".into();
        assert!(matches!(create_body(&s), Err(ExecError::Refused(_))));
    }

    #[test]
    fn engine_states_map() {
        use bollard::models::ContainerState as S;
        let s = |status, code, error: &str| S {
            status: Some(status),
            exit_code: Some(code),
            error: Some(error.to_string()),
            oom_killed: Some(code == 137),
            ..Default::default()
        };
        assert_eq!(
            state_of(Some(&s(ContainerStateStatusEnum::CREATED, 0, ""))),
            ContainerState::Created
        );
        assert_eq!(
            state_of(Some(&s(
                ContainerStateStatusEnum::CREATED,
                0,
                "no such file"
            ))),
            ContainerState::Exited(Termination::EngineFailure {
                code: 128,
                message: "no such file".into()
            })
        );
        assert_eq!(
            state_of(Some(&s(ContainerStateStatusEnum::EXITED, 137, ""))),
            ContainerState::Exited(Termination::OutOfMemory { code: 137 })
        );
        assert_eq!(
            state_of(Some(&s(ContainerStateStatusEnum::PAUSED, 0, ""))),
            ContainerState::Paused
        );
        assert_eq!(state_of(None), ContainerState::Gone);
        let e = engine_error(BollardError::DockerResponseServerError {
            status_code: 400,
            message: "bad".into(),
        });
        assert!(matches!(e, ExecError::Refused(_)));
        let e = engine_error(BollardError::DockerResponseServerError {
            status_code: 500,
            message: "oops".into(),
        });
        assert!(matches!(e, ExecError::Unavailable(_)));
    }
}
