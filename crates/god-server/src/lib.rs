//! The Go-Docker service. [`start`] opens the store and the executor, reconciles them after a
//! restart, then runs the roles asked for: the REST API, the scheduler, the watcher and the
//! archiver (all of them in `god up`).

pub mod access;
pub mod accounts;
pub mod api;
pub mod archiver;
pub mod auth;
pub mod clock;
mod error;
pub mod executors;
pub mod feed;
pub mod handles;
pub mod recovery;
pub mod scheduler;
pub mod state;
pub mod submit;
pub mod watcher;

#[cfg(test)]
mod loop_tests;
#[cfg(test)]
mod testing;

pub use error::{ApiError, ServerError};

use executors::{ExecutorSet, Member};
use god_core::clock::Clock;
use god_core::config::{Config, ExecutorKind, SyncMode};
use god_exec::docker::DockerExecutor;
use god_exec::fake::FakeExecutor;
use god_exec::{ExecError, Executor};
use god_store::{SqliteStore, Store};
use state::{AppState, LoopState, Paths, RecoveryGate, UserCache, Wake};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which parts of the service this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub api: bool,
    pub scheduler: bool,
    pub watcher: bool,
    pub archiver: bool,
}

impl Roles {
    pub const ALL: Roles = Roles {
        api: true,
        scheduler: true,
        watcher: true,
        archiver: true,
    };
}

pub struct Options {
    pub config: Config,
    pub data_dir: PathBuf,
    pub listen: String,
    pub roles: Roles,
    /// The web UI's routes (under `/app/`), served beside the API when given.
    pub web: Option<WebUi>,
}

/// Builds the web UI's routes on the API's state (the `god-web` crate's `router`).
pub type WebUi = fn(AppState) -> axum::Router;

/// Start-up recovery (see [`recovery`]): done, or waiting for the executor to answer.
pub enum Recovery {
    Done(recovery::Report),
    /// The executor does not answer: recovery runs as soon as it does, and nothing is
    /// dispatched before.
    Deferred(String),
}

/// What a started service tells its operator.
pub struct Started {
    pub listen: Option<SocketAddr>,
    /// This server's identity (the `godocker.server` label of its containers).
    pub server_id: String,
    /// The administrator's API key, only when it was created by this start.
    pub admin_key: Option<String>,
    pub recovery: Recovery,
    pub data_dir: PathBuf,
}

/// The database file in a data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("god.db")
}

/// Open the store of a data directory (creating it).
pub async fn open_store(data_dir: &Path, config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    std::fs::create_dir_all(data_dir).map_err(|source| ServerError::Io {
        what: format!("creating data directory {}", data_dir.display()),
        source,
    })?;
    let store = SqliteStore::open(
        &db_path(data_dir),
        config.sqlite_synchronous == SyncMode::Full,
    )
    .await?;
    Ok(Arc::new(store))
}

/// Every configured executor, the primary first.
async fn executors(
    config: &Config,
    data_dir: &Path,
    init_helper: &Path,
    clock: Arc<dyn Clock>,
) -> Result<ExecutorSet, ServerError> {
    let mut members = Vec::new();
    for spec in config.executors.iter() {
        members.push(Member {
            name: spec.name().to_string(),
            kind: spec.kind,
            exec: executor(spec.kind, config, data_dir, init_helper, clock.clone()).await?,
        });
    }
    let mut members = members.into_iter();
    match members.next() {
        Some(primary) => Ok(ExecutorSet::new(primary, members.collect())),
        None => Err(ServerError::Config(god_core::ConfigError::new(
            "executors",
            "at least one executor is needed",
        ))),
    }
}

async fn executor(
    kind: ExecutorKind,
    config: &Config,
    data_dir: &Path,
    init_helper: &Path,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Executor>, ServerError> {
    match kind {
        ExecutorKind::Fake => Ok(Arc::new(FakeExecutor::new(
            config.fake.clone(),
            clock,
            &data_dir.join("fake"),
        )?)),
        ExecutorKind::Native => {
            let state_dir = config
                .native
                .state_dir
                .as_ref()
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("native"));
            let cfg = god_exec::native::NativeConfig {
                cpus: config.native.cpus,
                ram_gb: config.native.ram,
                state_dir,
            };
            Ok(Arc::new(god_exec::native::NativeExecutor::new(
                init_helper.to_path_buf(),
                cfg,
            )?))
        }
        ExecutorKind::Docker => Ok(Arc::new(DockerExecutor::new(&config.docker)?)),
        ExecutorKind::SwarmMode => {
            if config.network.disabled {
                tracing::warn!(
                    "network.disabled: the swarm-mode executor cannot take jobs off the \
                     network (a Swarm task cannot join network \"none\"): its jobs use their \
                     node's default network"
                );
            }
            if config.docker.registry_username.is_some() {
                tracing::warn!(
                    "docker.registry_username: not used by the swarm-mode executor, whose \
                     nodes pull images themselves: the images must be on the nodes or \
                     pullable without credentials"
                );
            }
            tracing::info!(
                "executor swarm-mode: jobs run as Swarm services placed by this scheduler, \
                 through the manager at {} (named, not detected: `swarm` keeps the original's \
                 meaning, the Docker API at docker.url)",
                config
                    .swarm
                    .url
                    .as_deref()
                    .unwrap_or("unix:///var/run/docker.sock")
            );
            Ok(Arc::new(god_exec::swarm::SwarmExecutor::new(
                &config.swarm,
            )?))
        }
    }
}

/// The state every part of a service on one data directory shares, before any loop runs (what
/// [`start`] runs, and what the loop tests step by hand), and the administrator's API key when
/// this call created it.
pub(crate) async fn assemble(
    config: Config,
    store: Arc<dyn Store>,
    paths: Paths,
    execs: ExecutorSet,
    clock: Arc<dyn Clock>,
) -> Result<(LoopState, Option<String>), ServerError> {
    let execs = Arc::new(execs);
    let server_id = store
        .meta_get_or_init("server_id", &format!("{:08x}", rand::random::<u32>()))
        .await?;
    let secret = match &config.secret_passphrase {
        Some(s) if !s.is_empty() => s.clone(),
        _ => {
            store
                .meta_get_or_init("token_secret", &auth::new_secret())
                .await?
        }
    };
    let admin_key = accounts::bootstrap_admin(&store).await?;
    let submit = submit::SubmitQueue::start(store.clone());
    let store_for_feed = store.clone();
    let plugins = god_core::watchers::from_config(&config);
    let limiter = Arc::new(state::RateLimiter::new(
        config.api_rate_limit,
        config.api_rate_burst,
    ));
    let auth = Arc::new(auth::Auth::from_config(&config, store.clone())?);
    let (config, server_id) = (Arc::new(config), Arc::new(server_id));
    let terminal = handles::JobTerminal::new(
        execs.clone(),
        config.clone(),
        server_id.clone(),
        &paths.shared_dir,
        &paths.init_helper,
    );
    let state = AppState {
        auth,
        store,
        config,
        secret: Arc::new(secret),
        server_id,
        paths: Arc::new(paths),
        wake: Arc::new(Wake::default()),
        users: Arc::new(UserCache::default()),
        submit,
        limiter,
        plugins: Arc::new(plugins),
        recovered: Arc::new(RecoveryGate::default()),
        clock,
        feed: feed::ChangeFeed::start(store_for_feed),
        nodes: Arc::default(),
        stats: handles::JobStats::new(execs.clone()),
        exec_in_job: handles::JobExec::new(execs.clone()),
        terminal,
        executors: Arc::new(
            execs
                .iter()
                .map(|m| (m.name.clone(), m.exec.capabilities()))
                .collect(),
        ),
        web_ui: false,
    };
    Ok((LoopState { app: state, execs }, admin_key))
}

/// Start the service; returns once it is listening and its loops run. The returned future
/// `serve` runs until the process is stopped.
pub async fn start(
    opts: Options,
) -> Result<
    (
        Started,
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ServerError>> + Send>>,
    ),
    ServerError,
> {
    let mut config = opts.config;
    // Every path handed to an engine or kept for later must be absolute (a relative bind
    // source is a volume name to the Docker Engine). The binary resolves them already; this is
    // for every other caller.
    let cwd = std::env::current_dir().map_err(|source| ServerError::Io {
        what: "reading the working directory".into(),
        source,
    })?;
    config.resolve_paths(&cwd);
    let data_dir = god_core::config::absolute(&cwd, &opts.data_dir);
    let store = open_store(&data_dir, &config).await?;
    let shared_dir = config
        .shared_dir
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.join("shared"));
    std::fs::create_dir_all(&shared_dir).map_err(|source| ServerError::Io {
        what: format!("creating shared_dir {}", shared_dir.display()),
        source,
    })?;
    let init_helper = god_exec::helper::install(&data_dir.join("bin"))?;
    let clock: Arc<dyn Clock> = Arc::new(clock::SystemClock);
    let execs = executors(&config, &data_dir, &init_helper, clock.clone()).await?;
    executors::refuse_machines_counted_twice(&execs).await?;
    let paths = Paths {
        data_dir: data_dir.clone(),
        shared_dir,
        init_helper,
    };
    let (mut state, admin_key) = assemble(config, store, paths, execs, clock).await?;
    state.app.web_ui = opts.web.is_some() && opts.roles.api;
    let roles = opts.roles;
    // Ask the executors once before anything is served; a scheduler publishes their nodes now,
    // so the API knows them from its first request.
    let mut capacity = scheduler::CapacityCache::default();
    let answers = if roles.scheduler {
        capacity.get(&state).await?
    } else {
        let mut answers = Vec::new();
        for m in state.execs.iter() {
            answers.push(scheduler::Answer {
                executor: m.name.clone(),
                placement: m.exec.placement(),
                nodes: m.exec.nodes().await,
            });
        }
        answers
    };
    for scheduler::Answer {
        executor, nodes, ..
    } in answers
    {
        if let Err(e @ ExecError::Unavailable(_)) = nodes {
            // Start anyway: submissions are kept, and jobs wait (saying why) until it answers.
            tracing::warn!(
                "executor {executor}: {e}. Its jobs will wait until it answers: start it (e.g. \
                 `dockerd &`), or run jobs on this machine without containers with \
                 `executors: [native]` in the configuration"
            );
        }
    }
    let recovery = if roles.watcher {
        let done = recovery::reconcile(&state).await?;
        if done.waiting.is_empty() {
            Recovery::Done(done.report)
        } else {
            Recovery::Deferred(done.waiting.join("; "))
        }
    } else {
        state.recovered.open();
        Recovery::Done(recovery::Report::default())
    };
    if roles.scheduler {
        tokio::spawn(scheduler::run(state.clone(), capacity));
    }
    if roles.watcher {
        // Executors that did not answer are recovered when they do; the watcher looks after
        // the others' jobs meanwhile.
        let deferred = state.clone();
        tokio::spawn(async move { recovery::when_deferred(&deferred).await });
        tokio::spawn(watcher::run(state.clone()));
    }
    if roles.archiver {
        tokio::spawn(archiver::run(state.app.clone()));
    }
    let mut listen = None;
    let serve: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), ServerError>> + Send>,
    > = if roles.api {
        let listener = tokio::net::TcpListener::bind(&opts.listen)
            .await
            .map_err(|source| ServerError::Listen {
                addr: opts.listen.clone(),
                source,
            })?;
        listen = listener.local_addr().ok();
        let app = api::router(state.app.clone(), opts.web);
        Box::pin(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .map_err(|source| ServerError::Io {
                what: "serving HTTP".into(),
                source,
            })
        })
    } else {
        Box::pin(std::future::pending())
    };
    Ok((
        Started {
            listen,
            server_id: state.server_id.to_string(),
            admin_key,
            recovery,
            data_dir,
        },
        serve,
    ))
}
