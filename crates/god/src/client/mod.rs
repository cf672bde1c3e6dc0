//! The command line client: talks to a Go-Docker server over its REST API.
//!
//! `god login` saves the server, login and API key; every other command reads them (or
//! `GOD_SERVER`, `GOD_USER`, `GOD_APIKEY`), gets a token, and calls the API. People get tables;
//! `--json` prints the server's JSON for scripts.

mod account;
mod admin;
mod events;
mod files;
mod http;
mod jobs;
mod limits;
mod list;
mod nodes;
mod output;
mod project;
mod raw;
mod session;
mod submit;
mod watch;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// Check and save the server, login and API key the other commands use
    #[command(
        long_about = "Check and save the server, login and API key the other commands use.\n\n\
        The credentials go to $GOD_CLIENT_CONFIG if set, else $XDG_CONFIG_HOME/god/client.json \
        (~/.config/god/client.json), readable by you only. Without --apikey (or GOD_APIKEY) the \
        key is asked for when standard input is a terminal; `--apikey -` reads it from standard \
        input.\n\nScripts can skip login altogether: set GOD_SERVER, GOD_USER and GOD_APIKEY."
    )]
    Login(session::LoginArgs),
    /// Submit a job: a command line or a bash script, run in a container as you
    #[command(
        long_about = "Submit a job: a command line or a bash script, run in a container as you.\n\n\
        Examples:\n  god submit -- echo hello\n  god submit --cpu 2 --ram 0.5 --name build --script build.sh\n  \
        god submit --wait -- make test      # exits with the job's exit code\n  \
        echo 'uname -a' | god submit --script -\n\n\
        One argument after `--` is a shell command line, run as written \
        (`god submit -- 'make && ./run > out.txt'`); several arguments are a program and its \
        arguments, each quoted so the shell sees them as data."
    )]
    Submit(Box<submit::SubmitArgs>),
    /// List your pending and running jobs (--over: finished ones; --all: everybody's)
    #[command(
        long_about = "List your pending and running jobs (--over: finished ones; --all: \
        everybody's).\n\n\
        A job array is one line, its parent's, with how many of its tasks are in each state \
        (`array 1:1000: 12 running, 300 pending, 688 over`; tasks not created yet count as \
        pending); --expand lists each task under it. --json prints the server's list as it is.\n\n\
        Filters and pages (newest first): --state, --user (administrators), --project, --tag, \
        --name (in the name or description), --image, --since 2d, --limit N, and --after ID for \
        the next page (the last id listed).\n\n\
        Examples:\n  god list --tag nightly --limit 20\n  \
        god list --over --since 1d --name align\n  god list --all --user alice --state pending"
    )]
    List(list::ListArgs),
    /// Show one job: state, requirements, times, exit code, node, volumes
    Show(jobs::ShowArgs),
    /// Print a job's output (god.log, or god.err with --err); -f follows it until the job ends
    Logs(files::LogsArgs),
    /// Follow your jobs' changes as they happen, one line each (with ids: until they are over)
    #[command(
        long_about = "Follow your jobs' changes as they happen, one line each, from the \
        server's event stream (no polling).\n\n\
        Examples:\n  god watch              # every change of your jobs, until interrupted\n  \
        god watch 12 13        # until jobs 12 and 13 are over; exit 1 if one failed\n  \
        god watch --json       # each event's JSON, one per line"
    )]
    Watch(watch::WatchArgs),
    /// Kill jobs (pending or running)
    Kill(jobs::ControlArgs),
    /// Suspend (pause) running jobs
    Suspend(jobs::ControlArgs),
    /// Resume suspended jobs
    Resume(jobs::ControlArgs),
    /// Run running jobs again from the start (they go back to pending)
    Reschedule(jobs::ControlArgs),
    /// Archive finished jobs (delete their job directory), or purge them altogether
    #[command(
        long_about = "Archive finished jobs (delete their job directory), or purge them altogether.\n\n\
        Examples:\n  god archive 12 13                          # archive jobs 12 and 13\n  \
        god archive --purge 12                     # delete job 12 and its files for good\n  \
        god archive --older-than 30 --tag nightly  # your jobs over for more than 30 days"
    )]
    Archive(jobs::ArchiveArgs),
    /// List a job's directory, or download one of its files
    #[command(
        long_about = "List a job's directory, or download one of its files.\n\n\
        Examples:\n  god files 12                 # the job directory\n  \
        god files 12 results/        # a subdirectory\n  \
        god files 12 out.csv -o out.csv"
    )]
    Files(files::FilesArgs),
    /// Change a job's maximum run time (pending or running jobs)
    #[command(
        long_about = "Change a job's maximum run time (pending or running jobs).\n\n\
        Examples:\n  god update 12 --maxlifespan 2h\n  god update 12 13 --maxlifespan 30m"
    )]
    Update(jobs::UpdateArgs),
    /// Every node, its executor, whether it answers, and what runs on it (administrators)
    Nodes(nodes::NodesArgs),
    /// Show who you are logged in as on which server
    Whoami(account::WhoamiArgs),
    /// Accounts over the API: show, change (quotas, priority, SSH key...), usage, new API key
    #[command(
        subcommand,
        long_about = "Accounts over the API: show, change (quotas, priority, SSH key...), \
        usage, new API key.\n\n\
        Unlike `god user`, which runs on the server machine and opens the database, these go \
        through the server as the logged-in user: administrators for any account, others for \
        their own.\n\n\
        Examples:\n  god account show\n  god account set alice --quota-cpu 8 --prio 60\n  \
        god account usage alice\n  god account renew-key"
    )]
    Account(account::AccountCmd),
    /// Maintenance mode: on (no job starts), off, status
    #[command(
        subcommand,
        long_about = "Maintenance mode: on (no job starts), off, status.\n\n\
        While it is on, the scheduler starts no job: running jobs go on, pending ones wait and \
        say why (with the message). It is kept in the database: a restart does not end it. \
        Administrators switch it; anybody may ask its status.\n\n\
        Examples:\n  god maintenance on --message 'new disks, until 14:00'\n  \
        god maintenance status\n  god maintenance off"
    )]
    Maintenance(admin::MaintenanceCmd),
    /// Who did what to whom, newest first (administrators)
    #[command(
        long_about = "Who did what to whom, newest first (administrators).\n\n\
        Recorded: administrators' kills, suspends, resumes, reschedules and archives of other \
        users' jobs; changes of accounts (priority, quotas, admin, disabled, guests activated), \
        API keys renewed for others; projects created, changed, deleted, their members and \
        usage resets; maintenance mode; terminals opened in jobs.\n\n\
        Examples:\n  god audit\n  god audit --actor root --limit 20\n  \
        god audit --target alice --action quota_changed"
    )]
    Audit(admin::AuditArgs),
    /// Projects: list, show, create, change, members, usage
    #[command(
        subcommand,
        long_about = "Projects: list, show, create, change, members, usage.\n\n\
        Jobs are accounted to a project with `god submit --project ID`; only its members (and \
        administrators) may. Everybody is a member of `default`.\n\n\
        Examples:\n  god project create genomics --description 'Genome assembly' --members alice,bob\n  \
        god project add-member genomics carol\n  god project set genomics --quota-cpu 32\n  \
        god project usage genomics"
    )]
    Project(project::ProjectCmd),
}

pub use account::AccountSetArgs;

/// `god user set`: the same as `god account set`.
pub fn user_set(a: AccountSetArgs) -> Result<()> {
    run(Command::Account(account::AccountCmd::Set(a)))
}

pub fn run(cmd: Command) -> Result<()> {
    let code = match cmd {
        Command::Login(a) => session::login(a)?,
        Command::Whoami(a) => account::whoami(a)?,
        Command::Nodes(a) => nodes::nodes(a)?,
        Command::Submit(a) => submit::submit(*a)?,
        Command::List(a) => list::list(a)?,
        Command::Show(a) => jobs::show(a)?,
        Command::Kill(a) => jobs::control(a, jobs::Action::Kill)?,
        Command::Suspend(a) => jobs::control(a, jobs::Action::Suspend)?,
        Command::Resume(a) => jobs::control(a, jobs::Action::Resume)?,
        Command::Reschedule(a) => jobs::control(a, jobs::Action::Reschedule)?,
        Command::Archive(a) => jobs::archive(a)?,
        Command::Logs(a) => files::logs(a)?,
        Command::Watch(a) => watch::watch(a)?,
        Command::Files(a) => files::files(a)?,
        Command::Update(a) => jobs::update(a)?,
        Command::Account(c) => account::account(c)?,
        Command::Project(c) => project::project(c)?,
        Command::Maintenance(c) => admin::maintenance(c)?,
        Command::Audit(a) => admin::audit(a)?,
    };
    if code != 0 {
        // Failures were reported already (one line each); only the status is left to give.
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::process::exit(code);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: Command,
    }

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("god").chain(args.iter().copied())).map(|c| c.cmd)
    }

    #[test]
    fn admin_commands_parse() {
        use account::AccountCmd;
        use project::ProjectCmd;
        assert!(matches!(
            parse(&["account", "set", "alice", "--quota-cpu", "4"]),
            Ok(Command::Account(AccountCmd::Set(_)))
        ));
        assert!(matches!(
            parse(&["account", "show"]),
            Ok(Command::Account(AccountCmd::Show(_)))
        ));
        assert!(matches!(
            parse(&["account", "usage", "bob", "--json"]),
            Ok(Command::Account(AccountCmd::Usage(_)))
        ));
        assert!(matches!(
            parse(&["account", "renew-key"]),
            Ok(Command::Account(AccountCmd::RenewKey(_)))
        ));
        assert!(matches!(
            parse(&["project", "create", "p", "--members", "a,b", "--prio", "10"]),
            Ok(Command::Project(ProjectCmd::Create(_)))
        ));
        assert!(matches!(
            parse(&["project", "add-member", "p", "a", "b"]),
            Ok(Command::Project(ProjectCmd::AddMember(_)))
        ));
        assert!(
            parse(&["project", "add-member", "p"]).is_err(),
            "a login is required"
        );
        assert!(matches!(
            parse(&["project", "reset-usage", "p"]),
            Ok(Command::Project(ProjectCmd::ResetUsage(_)))
        ));
        assert!(matches!(
            parse(&["update", "3", "--maxlifespan", "2h"]),
            Ok(Command::Update(_))
        ));
        assert!(matches!(
            parse(&["list", "--over", "--expand"]),
            Ok(Command::List(_))
        ));
        assert!(matches!(
            parse(&["maintenance", "on", "--message", "disks"]),
            Ok(Command::Maintenance(admin::MaintenanceCmd::On(_)))
        ));
        assert!(matches!(
            parse(&["maintenance", "status"]),
            Ok(Command::Maintenance(admin::MaintenanceCmd::Status(_)))
        ));
        assert!(matches!(
            parse(&["audit", "--actor", "root", "--limit", "5"]),
            Ok(Command::Audit(_))
        ));
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
