//! `god`: the Go-Docker server and its command line client in one binary.

mod bench;
mod client;
mod server_cmd;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "god",
    version,
    about = "Go-Docker: a batch system that runs users' jobs in containers, as the users",
    long_about = "Go-Docker: a batch system that runs users' jobs in containers, as the users.\n\n\
        Run everything on one machine with `god up`; then, as a user, `god login`, \
        `god submit -- CMD...`, `god list`, `god logs ID`."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run everything on this machine: API, scheduler, watcher and archiver, SQLite in the data
    /// directory, the local Docker Engine
    Up(server_cmd::ServeArgs),
    /// Run only the scheduler (several roles can share one data directory on one machine)
    Scheduler(server_cmd::ServeArgs),
    /// Run only the watcher
    Watcher(server_cmd::ServeArgs),
    /// Run only the archiver
    Archiver(server_cmd::ServeArgs),
    /// Manage local users (works while the server runs)
    #[command(subcommand)]
    User(server_cmd::UserCmd),
    /// Measure throughput and overheads on this machine (use a release build)
    #[command(subcommand)]
    Bench(bench::Bench),
    /// Print a shell completion script (bash, zsh, fish, …)
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    #[command(flatten)]
    Client(client::Command),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Up(a) => server_cmd::serve(a, god_server::Roles::ALL),
        Cmd::Scheduler(a) => server_cmd::serve(
            a,
            god_server::Roles {
                api: false,
                scheduler: true,
                watcher: false,
                archiver: false,
            },
        ),
        Cmd::Watcher(a) => server_cmd::serve(
            a,
            god_server::Roles {
                api: false,
                scheduler: false,
                watcher: true,
                archiver: false,
            },
        ),
        Cmd::Archiver(a) => server_cmd::serve(
            a,
            god_server::Roles {
                api: false,
                scheduler: false,
                watcher: false,
                archiver: true,
            },
        ),
        Cmd::User(u) => server_cmd::user(u),
        Cmd::Bench(b) => bench::run(b),
        Cmd::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "god", &mut std::io::stdout());
            Ok(())
        }
        Cmd::Client(c) => client::run(c),
    };
    if let Err(e) = result {
        let msg = format!("{e:#}").replace('\n', " ");
        eprintln!("god: {msg}");
        std::process::exit(1);
    }
}
