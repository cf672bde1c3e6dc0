//! `god bench`: measurements the issues ask for, run on this machine with a release build.
//!
//! - `submit`: durable submissions per second through `POST /api/1.0/task` (fake executor, the
//!   API alone, many keep-alive clients).
//! - `drain`: end-to-end drain rate of trivial jobs on the fake executor (all loops running).
//! - `docker`: per-job overhead of running a trivial job through Go-Docker on the Docker Engine,
//!   against raw create + start + wait + remove of the same image in the same command.
//! - `swarm` (`swarm.rs`): the same on a Docker Swarm, per job and in throughput.
//! - `web` (`web.rs`): the web UI's job list with 100,000 jobs in the database.

mod common;
mod swarm;
mod web;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use common::{scratch, serve, token};
use god_core::config::{Config, ExecutorKind};
use god_core::submit::{self, Identity};
use god_core::Primary;
use god_server::Roles;
use god_store::JobQuery;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum Bench {
    /// Durable submissions per second through POST /api/1.0/task (fake executor, API only)
    Submit(SubmitArgs),
    /// Drain rate of trivial jobs on the fake executor, scheduler and watcher running
    Drain(DrainArgs),
    /// Added cost per job of Go-Docker on the Docker Engine vs raw create+start+wait+remove
    Docker(DockerArgs),
    /// Go-Docker on a Docker Swarm vs raw service create+wait+remove: per job and throughput
    Swarm(swarm::SwarmArgs),
    /// The web UI's job list with many jobs in the database (every role running)
    Web(web::WebArgs),
}

#[derive(Args)]
pub struct SubmitArgs {
    /// Concurrent keep-alive HTTP clients
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds to measure
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// SQLite commit durability: full (fsync every commit) or normal
    #[arg(long, default_value = "full")]
    sync: String,
}

#[derive(Args)]
pub struct DrainArgs {
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    /// `fake` (no process at all) or `native` (`/bin/true` run on the host as nobody)
    #[arg(long, default_value = "fake")]
    executor: String,
    /// Where to put the data directory (a tmpfs such as /dev/shm measures the scheduler, not
    /// the disk's inode allocation)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// CPUs the executor offers (native): jobs running at once
    #[arg(long, default_value_t = 64)]
    slots: u32,
}

#[derive(Args)]
pub struct DockerArgs {
    #[arg(long, default_value_t = 20)]
    jobs: usize,
    #[arg(long, default_value = "god-test/minimal:latest")]
    image: String,
}

pub fn run(b: Bench) -> Result<()> {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("GOD_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match b {
            Bench::Submit(a) => submit_bench(a).await,
            Bench::Drain(a) => drain_bench(a).await,
            Bench::Docker(a) => docker_bench(a).await,
            Bench::Swarm(a) => swarm::swarm_bench(a).await,
            Bench::Web(a) => web::web_bench(a).await,
        }
    })
}

fn fake_config() -> Config {
    let mut c = Config::default();
    c.executors = ExecutorKind::Fake.into();
    c.fake.fail_on = 0;
    c.fake.run_seconds = 0.0;
    c.max_job_pop = 1000;
    c.api_rate_limit = 0.0;
    c
}

fn job_body() -> Value {
    json!({"meta": {"name": "bench"}, "container": {"image": "img"},
           "command": {"cmd": "true"}, "requirements": {"cpu": 1, "ram": 0.1}})
}

async fn submit_bench(a: SubmitArgs) -> Result<()> {
    let dir = scratch("submit")?;
    let mut config = fake_config();
    config.sqlite_synchronous = match a.sync.as_str() {
        "full" => god_core::config::SyncMode::Full,
        "normal" => god_core::config::SyncMode::Normal,
        other => anyhow::bail!("--sync {other:?}: use full or normal"),
    };
    let roles = Roles {
        api: true,
        scheduler: false,
        watcher: false,
        archiver: false,
    };
    let started = serve(config, &dir.join("data"), roles).await?;
    let base = format!("http://{}", started.listen.context("no address")?);
    let key = started.admin_key.context("no admin key")?;
    let token = token(&base, &key).await?;
    let body = serde_json::to_vec(&job_body())?;
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let lat = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    // Warm up, then measure.
    let warm = Duration::from_secs(1);
    let total = warm + Duration::from_secs_f64(a.seconds);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.clients {
        let (base, token, body, ok, failed, lat) = (
            base.clone(),
            token.clone(),
            body.clone(),
            ok.clone(),
            failed.clone(),
            lat.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()?;
            let mut mine = Vec::new();
            while t0.elapsed() < total {
                let s = Instant::now();
                let r = http
                    .post(format!("{base}/api/1.0/task"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let good = matches!(&r, Ok(r) if r.status().is_success());
                if let Ok(r) = r {
                    let _ = r.bytes().await;
                }
                if t0.elapsed() > warm {
                    if good {
                        ok.fetch_add(1, Ordering::Relaxed);
                        mine.push(s.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            if let Ok(mut l) = lat.lock() {
                l.extend(mine);
            }
            Ok::<(), reqwest::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let n = ok.load(Ordering::Relaxed);
    let mut l = lat.lock().map(|l| l.clone()).unwrap_or_default();
    l.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        l.get(((l.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "submit: {} clients, sync={}: {:.0} durable jobs/s ({} in {:.1} s, {} failed), latency p50 {:.2} ms p99 {:.2} ms",
        a.clients, a.sync, n as f64 / a.seconds, n, a.seconds, failed.load(Ordering::Relaxed), pct(0.5), pct(0.99)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn drain_bench(a: DrainArgs) -> Result<()> {
    let dir = match &a.dir {
        Some(d) => {
            let d = d.join(format!("god-bench-drain-{}", std::process::id()));
            std::fs::create_dir_all(&d)?;
            d
        }
        None => scratch("drain")?,
    };
    let data = dir.join("data");
    let mut config = fake_config();
    match a.executor.as_str() {
        "fake" => {}
        "native" => {
            config.executors = ExecutorKind::Native.into();
            config.native.cpus = Some(a.slots);
            config.native.ram = Some(f64::from(a.slots));
        }
        other => bail!("--executor {other}: use fake or native"),
    }
    // Queue the jobs first, straight into the store, then start the loops and time the drain.
    {
        let store = god_server::open_store(&data, &config).await?;
        let who = Identity {
            login: "bench".into(),
            uid: 65534,
            gid: 65534,
            ..Default::default()
        };
        let body = serde_json::to_vec(&job_body())?;
        let task = submit::validate(
            submit::parse(&body).map_err(|e| anyhow::anyhow!("{:?}", e))?,
            &who,
            &config,
            &submit::World::at(0.0),
        )
        .map_err(|e| anyhow::anyhow!("{:?}", e))?;
        let batch = vec![task; 1000];
        let mut left = a.jobs;
        while left > 0 {
            let n = left.min(batch.len());
            store.insert_jobs(&batch[..n]).await?;
            left -= n;
        }
    }
    let t0 = Instant::now();
    serve(config.clone(), &data, Roles::ALL).await?;
    let store = god_server::open_store(&data, &config).await?;
    let active = JobQuery {
        states: vec![Primary::Pending, Primary::Running],
        limit: 1,
        ..Default::default()
    };
    loop {
        if store.list_jobs(&active).await?.is_empty() {
            break;
        }
        if t0.elapsed() > Duration::from_secs(3600) {
            bail!("not drained after an hour");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "drain: {} trivial jobs on the {} executor in {:.2} s: {:.0} jobs/s",
        a.jobs,
        a.executor,
        secs,
        a.jobs as f64 / secs
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn docker_bench(a: DockerArgs) -> Result<()> {
    use bollard::models::ContainerCreateBody;
    use bollard::query_parameters::{RemoveContainerOptions, WaitContainerOptions};
    use futures_util::StreamExt;

    let docker = bollard::Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?;
    // Go-Docker on a fresh data directory, woken only by events (no periodic pass).
    let dir = scratch("docker")?;
    let data = dir.join("data");
    let mut config = Config::default();
    config.tick_seconds = 30.0;
    let started = serve(config.clone(), &data, Roles::ALL).await?;
    let base = format!("http://{}", started.listen.context("no address")?);
    let token = token(&base, &started.admin_key.context("no admin key")?).await?;
    let store = god_server::open_store(&data, &config).await?;
    let http = reqwest::Client::new();

    // The second baseline launches Go-Docker's own container (user, mounts, limits, hardening)
    // straight through the executor: no API, database, scheduler or watcher.
    let exec = god_exec::docker::DockerExecutor::connect(&config.docker).await?;
    let helper = god_exec::helper::install(&dir.join("same/bin"))?;
    let shared = dir.join("same/shared");
    let who = Identity {
        login: "bench".into(),
        uid: 65534,
        gid: 65534,
        ..Default::default()
    };

    // One raw Engine job, one Go-Docker container launched directly, then one Go-Docker job,
    // and so on: interleaved, so that the Engine getting faster or slower over the run weighs
    // on every side alike.
    let mut raw = Vec::new();
    let mut same = Vec::new();
    let mut god = Vec::new();
    for i in 0..a.jobs + 2 {
        // Baseline: the Engine alone, same image, same trivial command.
        let t = Instant::now();
        let body = ContainerCreateBody {
            image: Some(a.image.clone()),
            cmd: Some(vec!["/bin/sh".into(), "-c".into(), "true".into()]),
            ..Default::default()
        };
        let c = docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await?;
        docker
            .start_container(
                &c.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await?;
        let mut w = docker.wait_container(&c.id, None::<WaitContainerOptions>);
        while let Some(r) = w.next().await {
            let _ = r;
        }
        docker
            .remove_container(
                &c.id,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await?;
        let raw_ms = t.elapsed().as_secs_f64() * 1000.0;

        // Same container as Go-Docker's, launched directly.
        let t = Instant::now();
        let body = json!({"meta": {"name": "bench"}, "container": {"image": a.image}, "command": {"cmd": "true"}, "requirements": {"cpu": 1, "ram": 0.5}});
        let mut task = submit::validate(
            submit::parse(&serde_json::to_vec(&body)?).map_err(|e| anyhow::anyhow!("{e:?}"))?,
            &who,
            &config,
            &submit::World::at(0.0),
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        task.id = god_core::JobId(1_000_000 + i as u64);
        task.container.name = Some(format!("god-bench-same-{}-{i}", std::process::id()));
        let job_dir = god_exec::jobdir::prepare(&shared, &task)?;
        let spec = god_core::launch::spec(
            &task,
            &config,
            "bench-same",
            &job_dir.to_string_lossy(),
            &helper.to_string_lossy(),
        );
        let id = god_exec::Executor::start(&exec, &spec).await?;
        let mut w = docker.wait_container(&id, None::<WaitContainerOptions>);
        while let Some(r) = w.next().await {
            let _ = r;
        }
        god_exec::Executor::remove(&exec, &id).await?;
        let same_ms = t.elapsed().as_secs_f64() * 1000.0;

        // Go-Docker: submit through the API, wait until the job is over (polling the store
        // every millisecond) and its container removed (the baseline includes its remove).
        let t = Instant::now();
        let body = json!({"meta": {"name": "bench"}, "container": {"image": a.image}, "command": {"cmd": "true"}, "requirements": {"cpu": 1, "ram": 0.5}});
        let v: Value = http
            .post(format!("{base}/api/1.0/task"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let id = god_core::JobId(v["id"].as_u64().context("no id")?);
        loop {
            match store.get_job(id).await? {
                Some(j) if j.status.primary == Primary::Over && j.container.id.is_some() => {
                    if j.status.exitcode != Some(0) {
                        bail!("job {id} failed: {:?}", j.status);
                    }
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
        let name = store
            .get_job(id)
            .await?
            .and_then(|j| j.container.name)
            .context("no container name")?;
        while docker
            .inspect_container(
                &name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .is_ok()
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // The first two of each are warm-up.
        if i >= 2 {
            raw.push(raw_ms);
            same.push(same_ms);
            god.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let (rm, sm, gm) = (mean(&raw), mean(&same), mean(&god));
    let (rmed, smed, gmed) = (
        med(&mut raw.clone()),
        med(&mut same.clone()),
        med(&mut god.clone()),
    );
    println!(
        "docker: {} jobs of `true` on {}, interleaved, mean (median) ms:\n  \
         raw Engine create+start+wait+remove, plain container   {rm:6.1} ({rmed:.1})\n  \
         Go-Docker's container launched directly (no service)   {sm:6.1} ({smed:.1})\n  \
         through Go-Docker, submit to removed                   {gm:6.1} ({gmed:.1})\n\
         added by the service (API, database, scheduler, watcher): {:.1} ms mean ({:.1} median), ratio {:.3}\n\
         added by isolation (user, mounts, limits, hardening):     {:.1} ms mean ({:.1} median)\n\
         total vs a plain container: +{:.1} ms mean ({:.1} median), ratio {:.2}",
        a.jobs,
        a.image,
        gm - sm,
        gmed - smed,
        gm / sm,
        sm - rm,
        smed - rmed,
        gm - rm,
        gmed - rmed,
        gm / rm
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
