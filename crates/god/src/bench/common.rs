//! What the benchmarks share: a scratch directory, the service started in-process, a login.

use anyhow::{Context, Result};
use god_core::config::Config;
use god_server::{Options, Roles, Started};
use serde_json::{json, Value};
use std::path::PathBuf;

pub fn scratch(name: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("god-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Start the service in this process on a free loopback port, with `roles`.
pub async fn serve(config: Config, data: &std::path::Path, roles: Roles) -> Result<Started> {
    let (started, serving) = god_server::start(Options {
        config,
        data_dir: data.to_path_buf(),
        listen: "127.0.0.1:0".into(),
        roles,
        web: Some(god_web::router),
    })
    .await?;
    tokio::spawn(serving);
    Ok(started)
}

pub async fn token(base: &str, key: &str) -> Result<String> {
    let v: Value = reqwest::Client::new()
        .post(format!("{base}/api/1.0/authenticate"))
        .json(&json!({"user": "admin", "apikey": key}))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["token"].as_str().context("no token")?.to_string())
}
