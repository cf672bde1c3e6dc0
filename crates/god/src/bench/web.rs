//! `god bench web`: the web UI's job list where a user feels it. The service runs as `god up`
//! would (every role, the web UI, data on disk, rate limits set) with `--jobs` jobs of one user
//! in its database (most over, some pending: the scheduler passes over them while we measure);
//! a browser session asks for the default list (active jobs), the over list and all jobs, page
//! one of 50 rows each, and the time to the whole answer and its size are printed against the
//! targets (≤ 100 ms, ≤ 100 KB).

use super::common::{scratch, serve};
use anyhow::{bail, Context, Result};
use clap::Args;
use god_core::config::{Config, ExecutorKind};
use god_core::submit::{self, Identity};
use god_core::Primary;
use god_server::Roles;
use std::time::Instant;

#[derive(Args)]
pub struct WebArgs {
    /// Jobs of the user in the database
    #[arg(long, default_value_t = 100_000)]
    jobs: usize,
    /// Of which pending (the rest over)
    #[arg(long, default_value_t = 5_000)]
    pending: usize,
    /// Requests of each list measured
    #[arg(long, default_value_t = 21)]
    rounds: usize,
}

const LOGIN: &str = "uma";
const KEY: &str = "bench-web-key-0123456789abcdefghijklmnopq";

pub async fn web_bench(a: WebArgs) -> Result<()> {
    let dir = scratch("web")?;
    let data = dir.join("data");
    let mut config = Config::default();
    config.executors = ExecutorKind::Fake.into();
    config.fake.fail_on = 0;
    config.fake.run_seconds = 3600.0;
    config.rate_limit = Some(1_000_000);
    config.rate_limit_all = Some(2_000_000);
    {
        let store = god_server::open_store(&data, &config).await?;
        store
            .add_user(&god_store::UserRecord {
                login: LOGIN.into(),
                uid: 4101,
                gid: 4101,
                apikey_hash: god_server::auth::hash_apikey(KEY),
                key_version: 1,
                ..Default::default()
            })
            .await?;
        let who = Identity {
            login: LOGIN.into(),
            uid: 4101,
            gid: 4101,
            ..Default::default()
        };
        let body = serde_json::to_vec(&super::job_body())?;
        let task = submit::validate(
            submit::parse(&body).map_err(|e| anyhow::anyhow!("{e:?}"))?,
            &who,
            &config,
            &submit::World::at(god_server::clock::now()),
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut over = task.clone();
        over.status.primary = Primary::Over;
        over.status.exitcode = Some(0);
        over.status.date_running = Some(over.date);
        over.status.date_over = Some(over.date + 1.0);
        let over_n = a.jobs.saturating_sub(a.pending);
        for (n, t) in [(over_n, &over), (a.pending, &task)] {
            let batch = vec![t.clone(); 1000];
            let mut left = n;
            while left > 0 {
                let k = left.min(batch.len());
                store.insert_jobs(&batch[..k]).await?;
                left -= k;
            }
        }
    }
    let started = serve(config, &data, Roles::ALL).await?;
    let base = format!("http://{}", started.listen.context("no address")?);
    println!(
        "web: {} jobs of one user ({} pending, the rest over), every role running (scheduler \
         passing over the pending ones), data on disk ({}), rate limits set",
        a.jobs,
        a.pending,
        data.display()
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = http.get(format!("{base}/app/login")).send().await?;
    let nonce_cookie = cookie(&page, "god_login").context("no login nonce")?;
    let nonce = nonce_cookie.trim_start_matches("god_login=").to_string();
    let r = http
        .post(format!("{base}/app/login"))
        .header("cookie", &nonce_cookie)
        .form(&[
            ("user", LOGIN),
            ("secret", KEY),
            ("method", "apikey"),
            ("nonce", nonce.as_str()),
        ])
        .send()
        .await?;
    let session = cookie(&r, "god_session").context("no session after login")?;
    let mut failed = false;
    for (what, path) in [
        ("default list (active)", "/app/jobs"),
        ("over", "/app/jobs?state=over"),
        ("all", "/app/jobs?state=all"),
        ("name search", "/app/jobs?state=all&name=bench"),
    ] {
        let mut ms = Vec::new();
        let (mut size, mut rows) = (0, 0);
        for _ in 0..a.rounds {
            let t = Instant::now();
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", &session)
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("{path}: {}", r.status());
            }
            let body = r.bytes().await?;
            size = body.len();
            rows = String::from_utf8_lossy(&body)
                .matches("data-testid=\"state-")
                .count();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(|x, y| x.total_cmp(y));
        let median = ms[ms.len() / 2];
        let p95 = ms[(ms.len() * 95 / 100).min(ms.len() - 1)];
        let ok = median <= 100.0 && size <= 100_000;
        failed |= !ok && !what.contains("search");
        println!(
            "  {what:24} {rows} rows: median {median:6.1} ms, p95 {p95:6.1} ms, {:6.1} KB  {}",
            size as f64 / 1000.0,
            if what.contains("search") {
                "(no target: a search over every row)"
            } else if ok {
                "pass (<= 100 ms, <= 100 KB)"
            } else {
                "FAIL (target <= 100 ms, <= 100 KB)"
            }
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failed {
        bail!("a list missed its target");
    }
    Ok(())
}

fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(String::from)
}
