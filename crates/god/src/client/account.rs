//! `god login` and `god whoami`.

use super::http::{self, Api, Credentials};
use super::output::{emit_line, print_json};
use anyhow::{anyhow, bail, Result};
use clap::Args;
use serde_json::Value;
use std::io::{BufRead, IsTerminal};

#[derive(Args)]
pub struct LoginArgs {
    /// Server address [default: $GOD_SERVER, else the saved one, else http://127.0.0.1:6543]
    #[arg(long, short = 's', value_name = "URL")]
    server: Option<String>,
    /// Your login [default: $GOD_USER, else the saved one, else $USER]
    #[arg(long, short = 'u', value_name = "LOGIN")]
    user: Option<String>,
    /// Your API key (`-`: read it from standard input) [default: $GOD_APIKEY, else asked for]
    #[arg(long, short = 'k', value_name = "KEY")]
    apikey: Option<String>,
}

fn env_nonempty(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// Ask for the API key on the terminal, without echo when `stty` can turn it off.
fn prompt_apikey(prompt: &str) -> Result<String> {
    eprint!("{prompt}");
    let quiet = std::process::Command::new("stty")
        .arg("-echo")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if quiet {
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
    }
    read.map_err(|e| anyhow!("reading the API key: {e}"))?;
    Ok(line.trim().to_string())
}

fn read_apikey_from_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| anyhow!("reading the API key from standard input: {e}"))?;
    Ok(line.trim().to_string())
}

pub fn login(a: LoginArgs) -> Result<i32> {
    let path = http::config_path(&http::process_env)?;
    let saved = http::read_credentials(&path)
        .ok()
        .flatten()
        .unwrap_or_default();
    let nonempty = |s: &String| !s.is_empty();
    let server = a
        .server
        .or_else(|| env_nonempty("GOD_SERVER"))
        .or_else(|| Some(saved.server.clone()).filter(nonempty))
        .unwrap_or_else(|| http::DEFAULT_SERVER.to_string());
    let server = http::normalize_server(&server)?;
    let user = a
        .user
        .or_else(|| env_nonempty("GOD_USER"))
        .or_else(|| Some(saved.user.clone()).filter(nonempty))
        .or_else(|| env_nonempty("USER"))
        .ok_or_else(|| anyhow!("no login given: pass --user LOGIN"))?;
    let apikey = match a.apikey.as_deref() {
        Some("-") => read_apikey_from_stdin()?,
        Some(k) => k.to_string(),
        None => match env_nonempty("GOD_APIKEY") {
            Some(k) => k,
            None if std::io::stdin().is_terminal() => {
                prompt_apikey(&format!("API key for {user} at {server}: "))?
            }
            None => bail!(
                "no API key: pass --apikey KEY (or `--apikey -` to read it from standard input)"
            ),
        },
    };
    if apikey.is_empty() {
        bail!("the API key is empty");
    }
    let client = http::http_client()?;
    let token = http::authenticate(&client, &server, &user, &apikey)
        .map_err(|e| anyhow!("logging in to {server} as {user}: {e:#}"))?;
    let creds = Credentials {
        server: server.clone(),
        user: user.clone(),
        apikey: apikey.clone(),
    };
    let mut bytes = serde_json::to_vec_pretty(&creds).map_err(|e| anyhow!("{e}"))?;
    bytes.push(b'\n');
    http::write_private(&path, &bytes)?;
    if let Some(dir) = path.parent() {
        Api::store_token(dir, &server, &user, &apikey, &token);
    }
    emit_line(&format!(
        "Logged in to {server} as {user} (credentials saved in {})",
        path.display()
    ))?;
    Ok(0)
}

#[derive(Args)]
pub struct WhoamiArgs {
    /// Print the server's JSON (the user document)
    #[arg(long)]
    json: bool,
}

pub fn whoami(a: WhoamiArgs) -> Result<i32> {
    let mut api = Api::connect()?;
    let url = api.url_with("/api/1.0/user", &[&api.user.clone()])?;
    let u = api.get_url(url)?;
    if a.json {
        print_json(&u)?;
        return Ok(0);
    }
    let s = |k: &str| u.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
    let n = |k: &str| u.get(k).and_then(Value::as_i64);
    let login = s("id").unwrap_or(&api.user);
    let admin = u.get("admin").and_then(Value::as_bool).unwrap_or(false);
    let disabled = u.get("disabled").and_then(Value::as_bool).unwrap_or(false);
    let mut roles = Vec::new();
    if admin {
        roles.push("administrator");
    }
    if disabled {
        roles.push("disabled");
    }
    let mut out = format!("User:    {login}");
    if !roles.is_empty() {
        out.push_str(&format!(" ({})", roles.join(", ")));
    }
    out.push_str(&format!("\nServer:  {}", api.server));
    let ids = match (n("uid"), n("gid")) {
        (Some(uid), Some(gid)) => format!("uid {uid}, gid {gid}"),
        _ => "-".into(),
    };
    let groups: Vec<String> = u
        .get("sgids")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|g| g.to_string()).collect())
        .unwrap_or_default();
    out.push_str(&format!("\nIds:     {ids}"));
    if !groups.is_empty() {
        out.push_str(&format!(", groups {}", groups.join(",")));
    }
    out.push_str(&format!("\nEmail:   {}", s("email").unwrap_or("-")));
    out.push_str(&format!("\nHome:    {}", s("homeDirectory").unwrap_or("-")));
    emit_line(&out)?;
    Ok(0)
}
