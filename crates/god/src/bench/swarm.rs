//! `god bench swarm`: Go-Docker on a Docker Swarm (`swarm-mode`) against what a user would do
//! by hand on the same Swarm: `service create` of a one-task replicated job, wait for its
//! task to end, remove it.
//!
//! - Per job, sequential and interleaved (raw, Go-Docker, raw, …), so a Swarm getting faster or
//!   slower weighs on both alike.
//! - Throughput: N jobs at once over the workers, one slot each (`godocker.cpus=1`), against one
//!   raw worker per node doing the same one after the other.
//!
//! Go-Docker runs as `god up` would: every role, data on disk, rate limits set.

use anyhow::{bail, Context, Result};
use bollard::models::{
    ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicatedJob, TaskSpec, TaskSpecContainerSpec,
    TaskSpecPlacement, TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::ListTasksOptions;
use bollard::Docker;
use clap::Args;
use god_core::config::{Config, ExecutorKind};
use god_core::node::NodeState;
use god_core::Primary;
use god_server::Roles;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct SwarmArgs {
    /// Jobs measured one by one (each side)
    #[arg(long, default_value_t = 20)]
    jobs: usize,
    /// Jobs submitted at once for the throughput figure
    #[arg(long, default_value_t = 40)]
    burst: usize,
    /// Throughput rounds (raw, then Go-Docker, each round); their median ratio is the figure
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    #[arg(long, default_value = "god-test/minimal:latest")]
    image: String,
    /// Print every job's times
    #[arg(long)]
    samples: bool,
}

/// How often the raw side looks at its task's state (as often as Go-Docker's executor does).
const POLL: Duration = Duration::from_millis(10);
/// How often the bench looks at the end of a Go-Docker job (in its store, then its service),
/// so that the observation adds as little as it can to what is measured.
const OBSERVE: Duration = Duration::from_millis(1);

pub async fn swarm_bench(a: SwarmArgs) -> Result<()> {
    let docker = Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?;
    let dir = super::common::scratch("swarm")?;
    let data = dir.join("data");
    let mut config = Config::default();
    config.executors = ExecutorKind::SwarmMode.into();
    config.tick_seconds = 30.0;
    config.rate_limit = Some(1_000_000);
    config.rate_limit_all = Some(2_000_000);
    config.max_job_pop = 1000;
    let started = super::common::serve(config.clone(), &data, Roles::ALL).await?;
    let base = format!("http://{}", started.listen.context("no address")?);
    let token = super::common::token(&base, &started.admin_key.context("no admin key")?).await?;
    let store = god_server::open_store(&data, &config).await?;
    let http = reqwest::Client::new();

    // The workers, as the scheduler published them: the raw side uses the same nodes.
    let mut nodes = Vec::new();
    for _ in 0..100 {
        nodes = store
            .node_views()
            .await?
            .nodes
            .into_iter()
            .filter(|n| n.state == NodeState::Ready)
            .map(|n| n.name)
            .collect();
        if !nodes.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if nodes.is_empty() {
        bail!("no Swarm node takes jobs: run scripts/start-swarm.sh");
    }
    let node_ids = node_ids(&docker, &nodes).await?;
    println!(
        "swarm: {} workers ({}), image {}, Go-Docker with every role, data on disk ({}), rate \
         limits set",
        nodes.len(),
        nodes.join(", "),
        a.image,
        data.display()
    );

    let submit = |body: Value| {
        let (http, base, token) = (&http, &base, &token);
        async move {
            let v: Value = http
                .post(format!("{base}/api/1.0/task"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?
                .json()
                .await?;
            v["id"].as_u64().context("no id")
        }
    };
    let body = json!({"meta": {"name": "bench"}, "container": {"image": a.image},
                      "command": {"cmd": "true"}, "requirements": {"cpu": 1, "ram": 0.25}});
    // Over and its service removed (the raw side removes its own too); its phases, ms:
    // submitted → dispatched, dispatched → recorded over, recorded over → service gone.
    let wait_god = |id: u64, every: Duration| {
        let (store, docker) = (&store, &docker);
        async move {
            let id = god_core::JobId(id);
            loop {
                match store.get_job(id).await? {
                    Some(j) if j.status.primary == Primary::Over => {
                        if j.status.exitcode != Some(0) {
                            bail!("job {id} failed: {:?}", j.status);
                        }
                        let name = j.container.name.context("no service name")?;
                        while docker.inspect_service(&name, None).await.is_ok() {
                            tokio::time::sleep(every).await;
                        }
                        let gone = god_server::clock::now();
                        let running = j.status.date_running.unwrap_or(j.date);
                        let over = j.status.date_over.unwrap_or(gone);
                        return Ok([
                            (running - j.date) * 1e3,
                            (over - running) * 1e3,
                            (gone - over) * 1e3,
                        ]);
                    }
                    _ => tokio::time::sleep(every).await,
                }
            }
        }
    };

    // The middle column: Go-Docker's own service (user, mounts, limits, hardening) launched
    // straight through the executor, no API, database, scheduler or watcher: what isolation
    // costs, apart from what the service costs.
    let exec = god_exec::swarm::SwarmExecutor::new(&config.swarm)?;
    let helper = god_exec::helper::install(&dir.join("same/bin"))?;
    let shared = dir.join("same/shared");
    let who = god_core::submit::Identity {
        login: "bench".into(),
        uid: 65534,
        gid: 65534,
        ..Default::default()
    };
    let node_names = nodes.clone();
    let same_job = |i: usize| {
        let (exec, helper, shared, who, config, body) =
            (&exec, &helper, &shared, &who, &config, &body);
        let node = node_names[i % node_names.len()].clone();
        async move {
            use god_exec::{ContainerState, Executor};
            let doc = serde_json::to_vec(body)?;
            let parsed = god_core::submit::parse(&doc).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let mut task =
                god_core::submit::validate(parsed, who, config, &god_core::submit::World::at(0.0))
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            task.id = god_core::JobId(1_000_000 + i as u64);
            task.container.name = Some(format!("god-bench-same-{}-{i}", std::process::id()));
            let job_dir = god_exec::jobdir::prepare(shared, &task)?;
            let mut spec = god_core::launch::spec(
                &task,
                config,
                "bench-same",
                &job_dir.to_string_lossy(),
                &helper.to_string_lossy(),
            );
            spec.node = Some(node);
            let id = exec.start(&spec).await?;
            loop {
                match exec.inspect(&id).await? {
                    ContainerState::Exited(_) => break,
                    ContainerState::Gone => bail!("service {id} vanished"),
                    _ => tokio::time::sleep(POLL).await,
                }
            }
            exec.remove(&id).await?;
            anyhow::Ok(())
        }
    };

    // Per job, interleaved; the first two of each are warm-up. Twice: back to back, then each
    // job started at a phase of the manager's batch spread over its interval.
    for spread_phases in [false, true] {
        let mut sides = Sides::default();
        for i in 0..a.jobs + 2 {
            let node = &node_ids[i % node_ids.len()];
            let pause = |k: usize| async move {
                if spread_phases {
                    tokio::time::sleep(spread(3 * i + k)).await;
                }
            };
            pause(0).await;
            let t = Instant::now();
            let phases = raw_job(
                &docker,
                &a.image,
                node,
                &format!("bench-raw-{}-{spread_phases}-{i}", std::process::id()),
            )
            .await?;
            let raw_ms = t.elapsed().as_secs_f64() * 1e3;
            pause(1).await;
            let t = Instant::now();
            same_job(i).await?;
            let same_ms = t.elapsed().as_secs_f64() * 1e3;
            pause(2).await;
            let t = Instant::now();
            let id = submit(body.clone()).await?;
            let god_phase = wait_god(id, OBSERVE).await?;
            let god_ms = t.elapsed().as_secs_f64() * 1e3;
            if i >= 2 {
                if a.samples {
                    println!(
                        "  job {i}: raw {raw_ms:.1} ms {phases:.1?}, direct {same_ms:.1} ms, \
                         Go-Docker {god_ms:.1} ms {god_phase:.1?}"
                    );
                }
                sides.raw.push(raw_ms);
                sides.same.push(same_ms);
                sides.god.push(god_ms);
                sides.raw_phases.push(phases);
                sides.god_phases.push(god_phase);
            }
        }
        sides.print(a.jobs, spread_phases);
    }

    // Throughput, `rounds` times: raw, then Go-Docker.
    let mut ratios = Vec::new();
    for round in 0..a.rounds {
        // One raw worker per node, one job after the other on it.
        let t = Instant::now();
        let per_node = a.burst.div_ceil(node_ids.len());
        let mut workers = Vec::new();
        for (k, node) in node_ids.iter().enumerate() {
            let (docker, image, node) = (docker.clone(), a.image.clone(), node.clone());
            let n = per_node.min(a.burst.saturating_sub(k * per_node));
            workers.push(tokio::spawn(async move {
                for j in 0..n {
                    let name = format!("bench-rawb-{}-{round}-{k}-{j}", std::process::id());
                    raw_job(&docker, &image, &node, &name).await?;
                }
                anyhow::Ok(())
            }));
        }
        for w in workers {
            w.await??;
        }
        let raw_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut ids = Vec::new();
        for _ in 0..a.burst {
            ids.push(submit(body.clone()).await?);
        }
        // Only the last end matters here: looked at as often as the raw side looks.
        for id in &ids {
            wait_god(*id, POLL).await?;
        }
        let god_s = t.elapsed().as_secs_f64();
        if a.samples {
            print_slots(store.as_ref(), &ids).await?;
        }
        println!(
            "throughput, {} jobs over {} one-slot nodes, round {}:\n  \
             raw, one worker per node               {:6.2} s  {:5.2} jobs/s\n  \
             through Go-Docker, submitted at once   {:6.2} s  {:5.2} jobs/s\n  \
             ratio {:.3}",
            a.burst,
            node_ids.len(),
            round + 1,
            raw_s,
            a.burst as f64 / raw_s,
            god_s,
            a.burst as f64 / god_s,
            raw_s / god_s,
        );
        ratios.push(raw_s / god_s);
    }
    println!(
        "throughput ratio, median of {} rounds: {:.3} (target >= 0.95)",
        ratios.len(),
        median(&ratios)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The manager commits the task states its nodes report every 100 ms (swarmkit's dispatcher
/// batch). Jobs run back to back lock onto that clock: each takes a whole number of batches,
/// and a few milliseconds more or less decide whether it takes one batch more. A user's job
/// arrives at any phase of it.
const BATCH: Duration = Duration::from_millis(100);

/// The `k`-th wait before a job, spread evenly over [`BATCH`] (a golden-ratio sequence: the same
/// in every run).
fn spread(k: usize) -> Duration {
    BATCH.mul_f64((k as f64 * 0.618_033_988_749_895).fract())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The per-job times of each side, ms.
#[derive(Default)]
struct Sides {
    raw: Vec<f64>,
    same: Vec<f64>,
    god: Vec<f64>,
    /// Create call, created → seen complete, remove call.
    raw_phases: Vec<[f64; 3]>,
    /// Submitted → dispatched, dispatched → recorded over, recorded over → service gone.
    god_phases: Vec<[f64; 3]>,
}

impl Sides {
    fn print(&self, jobs: usize, spread_phases: bool) {
        let phase_means = |v: &[[f64; 3]]| -> Vec<f64> {
            (0..3)
                .map(|k| mean(&v.iter().map(|p| p[k]).collect::<Vec<_>>()))
                .collect()
        };
        let (rp, gp) = (phase_means(&self.raw_phases), phase_means(&self.god_phases));
        let how = if spread_phases {
            "each started at a phase spread over the manager's 100 ms batch"
        } else {
            "back to back (locked onto the manager's 100 ms batch)"
        };
        println!(
            "per job, {jobs} of `true` each side, interleaved, {how}, mean (median) ms:\n  \
             raw service create + wait + remove                 {:7.1} ({:.1})\n  \
             Go-Docker's service launched directly (no service) {:7.1} ({:.1})\n  \
             through Go-Docker, submit to removed               {:7.1} ({:.1})\n  \
             ratio {:.3} mean, {:.3} median{}; isolation (user, mounts, limits, hardening) \
             {:+.1} ms mean, the service (API, database, scheduler, watcher) {:+.1} ms\n  \
             phases, mean ms: raw create {:.1}, created to seen complete {:.1}, remove {:.1}; \
             Go-Docker submitted to dispatched {:.1}, dispatched to recorded over {:.1}, over \
             to service gone {:.1}",
            mean(&self.raw),
            median(&self.raw),
            mean(&self.same),
            median(&self.same),
            mean(&self.god),
            median(&self.god),
            mean(&self.god) / mean(&self.raw),
            median(&self.god) / median(&self.raw),
            if spread_phases {
                " (target <= 1.05)"
            } else {
                ""
            },
            mean(&self.same) - mean(&self.raw),
            mean(&self.god) - mean(&self.same),
            rp[0],
            rp[1],
            rp[2],
            gp[0],
            gp[1],
            gp[2],
        );
    }
}

/// Each slot's jobs of a burst, one after the other: when each ran, and the gap between one
/// job's end and the next one's start on its node (ms from the first submission).
async fn print_slots(store: &dyn god_store::Store, ids: &[u64]) -> Result<()> {
    let jobs = store
        .get_jobs(&ids.iter().map(|i| god_core::JobId(*i)).collect::<Vec<_>>())
        .await?;
    let first = jobs.iter().map(|j| j.date).fold(f64::MAX, f64::min);
    let mut rows: Vec<(String, f64, f64, u64)> = jobs
        .iter()
        .map(|j| {
            (
                j.node_name().unwrap_or("?").to_string(),
                j.status.date_running.unwrap_or(first),
                j.status.date_over.unwrap_or(first),
                j.id.0,
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut before: Option<(&str, f64)> = None;
    for (node, running, over, id) in &rows {
        let gap = match before {
            Some((n, end)) if n == node => format!(", gap {:.1}", (running - end) * 1e3),
            _ => String::new(),
        };
        println!(
            "  {node} job {id}: ran {:.1} to {:.1} ({:.1}){gap}",
            (running - first) * 1e3,
            (over - first) * 1e3,
            (over - running) * 1e3
        );
        before = Some((node, *over));
    }
    Ok(())
}

/// The Swarm node id of each node name (host name).
async fn node_ids(docker: &Docker, names: &[String]) -> Result<Vec<String>> {
    let listed = docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await?;
    let mut ids = Vec::new();
    for name in names {
        let id = listed
            .iter()
            .find(|n| n.description.as_ref().and_then(|d| d.hostname.as_deref()) == Some(name))
            .and_then(|n| n.id.clone())
            .with_context(|| format!("node {name} is not in the Swarm"))?;
        ids.push(id);
    }
    Ok(ids)
}

/// What a user does by hand: a one-task replicated job on `node`, waited for, removed. Its
/// phases, ms: the create call, created → seen complete, the remove call.
async fn raw_job(docker: &Docker, image: &str, node: &str, name: &str) -> Result<[f64; 3]> {
    let t = Instant::now();
    let spec = ServiceSpec {
        name: Some(name.to_string()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.to_string()),
                command: Some(vec!["/bin/sh".into(), "-c".into(), "true".into()]),
                ..Default::default()
            }),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            placement: Some(TaskSpecPlacement {
                constraints: Some(vec![format!("node.id=={node}")]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob {
                max_concurrent: Some(1),
                total_completions: Some(1),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .create_service(spec, None)
        .await?
        .id
        .context("no service id")?;
    let created = t.elapsed();
    let options = ListTasksOptions {
        filters: Some(HashMap::from([("service".to_string(), vec![id.clone()])])),
    };
    loop {
        let tasks = docker.list_tasks(Some(options.clone())).await?;
        let state = tasks
            .iter()
            .find_map(|t| t.status.as_ref().and_then(|s| s.state));
        match state {
            Some(TaskState::COMPLETE) => break,
            Some(TaskState::FAILED | TaskState::REJECTED) => bail!("raw job {name}: {tasks:?}"),
            _ => tokio::time::sleep(POLL).await,
        }
    }
    let complete = t.elapsed();
    docker.delete_service(&id).await?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok([
        ms(created),
        ms(complete - created),
        ms(t.elapsed() - complete),
    ])
}
