//! What the Docker executor reads or runs inside a job's running container: its usage (one-shot
//! stats) and non-interactive commands as the job's user (exec). Interactive sessions, with a TTY
//! attached, are `terminal.rs`'s.

use super::{engine_error, status};
use crate::{ContainerStats, ExecError, ExecOutput, ExecRequest};
use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ContainerMemoryStats, ExecConfig};
use bollard::query_parameters::StatsOptions;
use bollard::Docker;
use futures_util::StreamExt;
use god_core::launch::INIT_PATH;

/// One sample of the container's stats (no streaming, no second sample for a cpu rate).
pub(super) async fn stats(docker: &Docker, container: &str) -> Result<ContainerStats, ExecError> {
    let options = StatsOptions {
        stream: false,
        one_shot: true,
    };
    let not_running = || ExecError::Refused(format!("container {container} is not running"));
    let sample = match docker.stats(container, Some(options)).next().await {
        Some(Ok(sample)) => sample,
        Some(Err(e)) if status(&e) == Some(404) => return Err(not_running()),
        Some(Err(e)) => return Err(engine_error(e)),
        None => {
            return Err(ExecError::Unavailable(format!(
                "the Engine sent no stats for {container}"
            )))
        }
    };
    // A stopped container answers with empty memory figures.
    let memory = sample.memory_stats.filter(|m| m.usage.is_some());
    let Some(memory) = memory else {
        return Err(not_running());
    };
    let cpu_ns = sample
        .cpu_stats
        .and_then(|c| c.cpu_usage)
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    Ok(ContainerStats {
        cpu_seconds: cpu_ns as f64 / 1e9,
        memory_bytes: memory_in_use(&memory),
        memory_limit_bytes: memory.limit,
    })
}

/// Usage less the inactive file cache, as `docker stats` shows it (cgroup v2 `inactive_file`,
/// v1 `total_inactive_file`).
fn memory_in_use(m: &ContainerMemoryStats) -> u64 {
    let usage = m.usage.unwrap_or(0);
    let inactive = m.stats.as_ref().and_then(|s| {
        s.get("inactive_file")
            .or_else(|| s.get("total_inactive_file"))
            .copied()
    });
    match inactive {
        Some(i) if i < usage => usage - i,
        _ => usage,
    }
}

/// What runs `argv` in a job's container: god-init's exec mode, which refuses root and sets
/// no_new_privs, as the script has it (an exec'd process does not descend from the script, and
/// has it from the engine only where the engine could ask for it: not a Swarm service's
/// container before Engine API 1.46).
pub(super) fn through_init(argv: &[String]) -> Vec<String> {
    let mut cmd = Vec::with_capacity(argv.len() + 2);
    cmd.push(INIT_PATH.to_string());
    cmd.push("--exec".to_string());
    cmd.extend(argv.iter().cloned());
    cmd
}

/// Added to an exec's environment for a job started with an older god-init (a running
/// container keeps the helper it started with), which knows no `--exec` and would set the job up
/// again as the user: a job directory that cannot be opened (under a file) stops it at once, with
/// 126 and its message, before it writes anything. God-init's exec mode removes it.
pub(super) fn old_init_stop() -> String {
    format!("GOD_INIT_DIR={INIT_PATH}/exec")
}

/// Run `request.argv` in the running container as `uid:gid`, unprivileged (through god-init:
/// no_new_privs), stdout and stderr collected up to [`crate::EXEC_OUTPUT_LIMIT`] each. At the timeout the output so far is
/// returned without an exit code; the command itself is left to end with the job (the Engine
/// cannot signal an exec'd process).
pub(super) async fn exec(
    docker: &Docker,
    container: &str,
    request: &ExecRequest,
) -> Result<ExecOutput, ExecError> {
    if request.uid == 0 {
        return Err(ExecError::Refused(
            "commands in a job never run as root".into(),
        ));
    }
    if request.argv.is_empty() {
        return Err(ExecError::Refused("no command to run".into()));
    }
    let config = ExecConfig {
        attach_stdin: Some(false),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        privileged: Some(false),
        user: Some(format!("{}:{}", request.uid, request.gid)),
        cmd: Some(through_init(&request.argv)),
        env: Some(
            request
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .chain(std::iter::once(old_init_stop()))
                .collect(),
        ),
        ..Default::default()
    };
    // 404: no such container, 409: not running: both a refusal.
    let id = docker
        .create_exec(container, config)
        .await
        .map_err(engine_error)?
        .id;
    let options = StartExecOptions {
        detach: false,
        tty: false,
        output_capacity: None,
    };
    let started = docker
        .start_exec(&id, Some(options))
        .await
        .map_err(engine_error)?;
    let mut out = ExecOutput::default();
    if let StartExecResults::Attached { mut output, .. } = started {
        let collect = async {
            while let Some(item) = output.next().await {
                match item.map_err(engine_error)? {
                    LogOutput::StdOut { message } => out.push(false, &message),
                    LogOutput::StdErr { message } => out.push(true, &message),
                    LogOutput::StdIn { .. } | LogOutput::Console { .. } => {}
                }
            }
            Ok::<(), ExecError>(())
        };
        match tokio::time::timeout(request.timeout, collect).await {
            Ok(done) => done?,
            Err(_elapsed) => return Ok(out),
        }
    }
    let inspected = docker.inspect_exec(&id).await.map_err(engine_error)?;
    out.exit_code = inspected
        .exit_code
        .filter(|_| inspected.running != Some(true));
    Ok(out)
}
