//! Server-side commands: `god up`, the single roles, and `god user`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use god_core::config::{self, Config};
use god_core::ConfigError;
use god_server::accounts;
use god_server::auth::DirectoryUser;
use god_server::Roles;
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Configuration file (default: $GOD_CONFIG, then ./go-d.yml, then ./go-d.ini, if present)
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Address the API and UI listen on [default: the `listen` key, else 127.0.0.1:6543]
    #[arg(long, env = "GOD_LISTEN")]
    pub listen: Option<String>,
    /// Data directory (SQLite database, job directories, secrets) [default: the `data_dir` key,
    /// else ./god-data]
    #[arg(long, env = "GOD_DATA")]
    pub data: Option<PathBuf>,
}

/// The configuration file: `--config`, `$GOD_CONFIG`, `./go-d.yml`, then `./go-d.ini` (the
/// original's file name, YAML inside).
fn config_file(path: Option<&Path>) -> Option<PathBuf> {
    path.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("GOD_CONFIG").map(PathBuf::from))
        .or_else(|| {
            ["go-d.yml", "go-d.ini"]
                .into_iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        })
}

/// Load the configuration (see [`config_file`]; none: built-in defaults), with every path in it
/// made absolute against the working directory.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    let path = config_file(path);
    let text = match &path {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => String::new(),
    };
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("GODOCKER_"))
        .collect();
    let loaded = config::load(&text, &env).map_err(|e| not_usable(path.as_deref(), &e))?;
    match &path {
        Some(p) => tracing::debug!("configuration: {}", p.display()),
        None => tracing::debug!("configuration: none found, built-in defaults"),
    }
    for w in &loaded.warnings {
        tracing::warn!("configuration: {w}");
    }
    let mut config = loaded.config;
    let cwd = std::env::current_dir().context("reading the working directory")?;
    for (key, value) in config.resolve_paths(&cwd) {
        tracing::info!("configuration: {key} is relative to the working directory: {value}");
    }
    Ok(config)
}

/// Print every problem of a configuration on its own line (`god: <file>: configuration: <key>:
/// <what>`); the error that then stops the command.
fn not_usable(file: Option<&Path>, e: &ConfigError) -> anyhow::Error {
    let file = file
        .map(|p| format!("{}: ", p.display()))
        .unwrap_or_default();
    for line in e.lines() {
        eprintln!("god: {file}configuration: {line}");
    }
    let n = e.problems.len();
    anyhow::anyhow!(
        "{file}the configuration is not usable: {n} problem{} above",
        if n == 1 { "" } else { "s" }
    )
}

/// The data directory (`--data`, `data_dir`, `./god-data`), absolute.
fn data_dir(arg: Option<&PathBuf>, config: &Config) -> Result<PathBuf> {
    let dir = arg
        .cloned()
        .or_else(|| config.data_dir.as_ref().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("god-data"));
    let cwd = std::env::current_dir().context("reading the working directory")?;
    Ok(config::absolute(&cwd, &dir))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GOD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn serve(args: ServeArgs, roles: Roles) -> Result<()> {
    init_logging();
    let config = load_config(args.config.as_deref())?;
    let file = config_file(args.config.as_deref());
    let data = data_dir(args.data.as_ref(), &config)?;
    let listen = args
        .listen
        .clone()
        .or_else(|| config.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:6543".into());
    runtime()?.block_on(async move {
        let started = god_server::start(god_server::Options {
            config,
            data_dir: data,
            listen,
            roles,
            web: Some(god_web::router),
        })
        .await;
        let (started, serve) = match started {
            // What only start-up finds (an LDAP CA file that gives no certificate…).
            Err(god_server::ServerError::Config(e)) => return Err(not_usable(file.as_deref(), &e)),
            other => other?,
        };
        if let Some(addr) = started.listen {
            println!("Go-Docker {} listening on http://{addr} (API under /api/1.0)", env!("CARGO_PKG_VERSION"));
        }
        if let Some(key) = &started.admin_key {
            let server = started.listen.map(|a| format!("http://{a}")).unwrap_or_default();
            println!("administrator: {} API key: {key}", accounts::ADMIN_LOGIN);
            println!("  (shown once) log in with: god login --server {server} --user {} --apikey {key}", accounts::ADMIN_LOGIN);
        }
        match &started.recovery {
            god_server::Recovery::Done(r) => {
                if r.reattached + r.requeued + r.lost + r.removed_orphans > 0 {
                    println!(
                        "recovery: {} running jobs re-attached, {} re-queued, {} lost, {} stray containers removed",
                        r.reattached, r.requeued, r.lost, r.removed_orphans
                    );
                }
            }
            god_server::Recovery::Deferred(why) => {
                println!("recovery: waiting for the executor ({why}); no job starts before");
            }
        }
        println!("server id: {}", started.server_id);
        println!("data directory: {}", started.data_dir.display());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::select! {
            res = serve => res?,
            _ = shutdown_signal() => { tracing::info!("stopping"); }
        }
        Ok::<(), anyhow::Error>(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}

#[derive(Subcommand)]
pub enum UserCmd {
    /// Create a local user; prints only its API key
    Add {
        login: String,
        #[arg(long)]
        uid: u32,
        #[arg(long)]
        gid: u32,
        /// Secondary groups, comma-separated
        #[arg(long, value_delimiter = ',')]
        sgids: Vec<u32>,
        #[arg(long)]
        home: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        place: Place,
    },
    /// List users
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: Place,
    },
    /// Change a user's priority, quotas, admin flag… over the API (as `god account set`; needs
    /// `god login` as an administrator)
    Set(crate::client::AccountSetArgs),
    /// Issue a new API key (prints it); tokens of the old key stop working
    Apikey {
        login: String,
        /// Required: renewing invalidates the current key
        #[arg(long)]
        renew: bool,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Args, Debug, Clone)]
pub struct Place {
    /// Configuration file (as for `god up`)
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Data directory (as for `god up`)
    #[arg(long, env = "GOD_DATA")]
    pub data: Option<PathBuf>,
}

fn unreachable_set() -> Result<Place> {
    anyhow::bail!("god user set goes through the API (see main)")
}

pub fn user(cmd: UserCmd) -> Result<()> {
    if let UserCmd::Set(a) = cmd {
        // A blocking HTTP client: not inside the async runtime.
        return crate::client::user_set(a);
    }
    runtime()?.block_on(async move {
        let place = match &cmd {
            UserCmd::Add { place, .. }
            | UserCmd::List { place, .. }
            | UserCmd::Apikey { place, .. } => place.clone(),
            UserCmd::Set(_) => unreachable_set()?,
        };
        let config = load_config(place.config.as_deref())?;
        let store = god_server::open_store(&data_dir(place.data.as_ref(), &config)?, &config).await?;
        match cmd {
            UserCmd::Set(_) => unreachable_set().map(|_| ())?,
            UserCmd::Add { login, uid, gid, sgids, home, email, admin, .. } => {
                let key = accounts::add_user(&store, &DirectoryUser { login, uid, gid, sgids, home, email }, admin).await?;
                println!("{key}");
            }
            UserCmd::List { json, .. } => {
                let users = store.list_users().await?;
                if json {
                    let v: Vec<serde_json::Value> = users
                        .iter()
                        .map(|u| serde_json::json!({"id": u.login, "uid": u.uid, "gid": u.gid, "sgids": u.sgids, "home": u.home, "email": u.email, "admin": u.admin, "disabled": u.disabled, "guest": u.guest.is_some(), "active": !u.inactive_guest()}))
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    println!("{:<20} {:>7} {:>7}  {:<8} HOME", "LOGIN", "UID", "GID", "ROLE");
                    for u in users {
                        let role = match (u.admin, u.disabled, &u.guest) {
                            (_, true, _) => "disabled",
                            (true, _, _) => "admin",
                            (_, _, Some(g)) if !g.active => "inactive",
                            (_, _, Some(_)) => "guest",
                            _ => "",
                        };
                        println!("{:<20} {:>7} {:>7}  {:<8} {}", u.login, u.uid, u.gid, role, u.home.unwrap_or_default());
                    }
                }
            }
            UserCmd::Apikey { login, renew, .. } => {
                if !renew {
                    anyhow::bail!("API keys are stored hashed and cannot be shown again: use --renew to issue a new one");
                }
                println!("{}", accounts::renew_apikey(&store, &login).await?);
            }
        }
        Ok(())
    })
}
