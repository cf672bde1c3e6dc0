//! The command line client: talks to a Go-Docker server over its REST API.
//!
//! `god login` saves the server, login and API key; every other command reads them (or
//! `GOD_SERVER`, `GOD_USER`, `GOD_APIKEY`), gets a token, and calls the API. People get tables;
//! `--json` prints the server's JSON for scripts.

mod account;
mod files;
mod http;
mod jobs;
mod output;
mod submit;

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
    Login(account::LoginArgs),
    /// Submit a job: a command line or a bash script, run in a container as you
    #[command(
        long_about = "Submit a job: a command line or a bash script, run in a container as you.\n\n\
        Examples:\n  god submit -- echo hello\n  god submit --cpu 2 --ram 0.5 --name build --script build.sh\n  \
        god submit --wait -- make test      # exits with the job's exit code\n  \
        echo 'uname -a' | god submit --script -\n\n\
        The arguments after `--` are joined, shell-quoted, into one command line; for pipes or \
        several commands use `-- bash -c '...'` or --script."
    )]
    Submit(submit::SubmitArgs),
    /// List your pending and running jobs (--over: finished ones; --all: everybody's)
    List(jobs::ListArgs),
    /// Show one job: state, requirements, times, exit code, node, volumes
    Show(jobs::ShowArgs),
    /// Print a job's output (god.log, or god.err with --err); -f follows it until the job ends
    Logs(files::LogsArgs),
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
    /// Show who you are logged in as on which server
    Whoami(account::WhoamiArgs),
}

pub fn run(cmd: Command) -> Result<()> {
    let code = match cmd {
        Command::Login(a) => account::login(a)?,
        Command::Whoami(a) => account::whoami(a)?,
        Command::Submit(a) => submit::submit(a)?,
        Command::List(a) => jobs::list(a)?,
        Command::Show(a) => jobs::show(a)?,
        Command::Kill(a) => jobs::control(a, jobs::Action::Kill)?,
        Command::Suspend(a) => jobs::control(a, jobs::Action::Suspend)?,
        Command::Resume(a) => jobs::control(a, jobs::Action::Resume)?,
        Command::Reschedule(a) => jobs::control(a, jobs::Action::Reschedule)?,
        Command::Archive(a) => jobs::archive(a)?,
        Command::Logs(a) => files::logs(a)?,
        Command::Files(a) => files::files(a)?,
    };
    if code != 0 {
        // Failures were reported already (one line each); only the status is left to give.
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::process::exit(code);
    }
    Ok(())
}
