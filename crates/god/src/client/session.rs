//! `god login` and the credentials it saves: the server, the login, an API key or a session
//! token; a renewed key of one's own is saved there too.

use super::http::{self, Api, Credentials};
use super::output::emit_line;
use anyhow::{anyhow, bail, Result};
use clap::Args;
use std::io::{BufRead, IsTerminal};
use std::path::Path;

#[derive(Args)]
pub struct LoginArgs {
    /// Server address [default: $GOD_SERVER, else the saved one, else http://127.0.0.1:6543]
    #[arg(long, short = 's', value_name = "URL")]
    server: Option<String>,
    /// Your login [default: $GOD_USER, else the saved one, else $USER]
    #[arg(long, short = 'u', value_name = "LOGIN")]
    user: Option<String>,
    /// Your API key (`-`: read it from standard input) [default: $GOD_APIKEY; without one, your
    /// password is asked for]
    #[arg(long, short = 'k', value_name = "KEY")]
    apikey: Option<String>,
    /// Log in with your password instead (`-`: read it from standard input; without a value it
    /// is asked for). The session lasts as long as the server's token.
    #[arg(long, short = 'p', value_name = "PASSWORD", num_args = 0..=1, default_missing_value = "")]
    password: Option<String>,
    /// Use a session token the server gave your browser (guests: the page after logging in
    /// at SERVER/auth/oidc/login); `-` reads it from standard input
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["apikey", "password"])]
    token: Option<String>,
}

pub fn env_nonempty(k: &str) -> Option<String> {
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

/// Write the credentials file (readable by its owner only).
fn write_credentials(path: &Path, creds: &Credentials) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(creds).map_err(|e| anyhow!("{e}"))?;
    bytes.push(b'\n');
    http::write_private(path, &bytes)
}

/// Save the credentials and the token they were just given, so the next command need not log in.
fn save_login(path: &Path, creds: &Credentials, token: &str) -> Result<()> {
    write_credentials(path, creds)?;
    if let Some(dir) = path.parent() {
        Api::store_token(dir, &creds.server, &creds.user, &creds.apikey, token);
    }
    Ok(())
}

/// Save a session (no API key: the token alone, until it expires).
fn save_session(path: &Path, server: &str, user: &str, token: &str) -> Result<()> {
    let creds = Credentials {
        server: server.to_string(),
        user: user.to_string(),
        apikey: String::new(),
        session: true,
    };
    save_login(path, &creds, token)
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
    let client = http::http_client()?;
    if let Some(token) = a.token.as_deref() {
        let token = match token {
            "-" => read_apikey_from_stdin()?,
            t => t.trim().to_string(),
        };
        if token.is_empty() {
            bail!("the token is empty");
        }
        http::check_token(&client, &server, &user, &token)
            .map_err(|e| anyhow!("logging in to {server} as {user} with the token: {e:#}"))?;
        save_session(&path, &server, &user, &token)?;
        emit_line(&format!(
            "Logged in to {server} as {user} with a session token until it expires \
             (`god account renew-key` gives you an API key for scripts)"
        ))?;
        return Ok(0);
    }
    let password = match (a.password.as_deref(), a.apikey.as_deref()) {
        (Some("-"), _) => Some(read_apikey_from_stdin()?),
        (Some(""), _) => Some(prompt_apikey(&format!(
            "Password for {user} at {server}: "
        ))?),
        (Some(p), _) => Some(p.to_string()),
        (None, None) if env_nonempty("GOD_APIKEY").is_none() && std::io::stdin().is_terminal() => {
            Some(prompt_apikey(&format!(
                "Password for {user} at {server}: "
            ))?)
        }
        _ => None,
    };
    if let Some(password) = password {
        if password.is_empty() {
            bail!("the password is empty");
        }
        let token = http::authenticate_password(&client, &server, &user, &password)
            .map_err(|e| anyhow!("logging in to {server} as {user}: {e:#}"))?;
        save_session(&path, &server, &user, &token)?;
        emit_line(&format!(
            "Logged in to {server} as {user} with your password until the session expires \
             (`god account renew-key` gives you an API key for scripts)"
        ))?;
        return Ok(0);
    }
    let apikey = match a.apikey.as_deref() {
        Some("-") => read_apikey_from_stdin()?,
        Some(k) => k.to_string(),
        None => match env_nonempty("GOD_APIKEY") {
            Some(k) => k,
            None => bail!(
                "no API key: pass --apikey KEY (or `--apikey -` to read it from standard input), or --password"
            ),
        },
    };
    if apikey.is_empty() {
        bail!("the API key is empty");
    }
    let token = http::authenticate(&client, &server, &user, &apikey)
        .map_err(|e| anyhow!("logging in to {server} as {user}: {e:#}"))?;
    let creds = Credentials {
        server: server.clone(),
        user: user.clone(),
        apikey: apikey.clone(),
        session: false,
    };
    save_login(&path, &creds, &token)?;
    emit_line(&format!(
        "Logged in to {server} as {user} (credentials saved in {})",
        path.display()
    ))?;
    Ok(0)
}

/// Put a renewed key of the logged-in user in the credentials file; says what was done.
pub fn save_renewed_key(server: &str, login: &str, key: &str) -> Result<String> {
    let path = http::config_path(&http::process_env)?;
    let env_key = env_nonempty("GOD_APIKEY").is_some();
    let hint = if env_key {
        " GOD_APIKEY is set: change it to the new key."
    } else {
        ""
    };
    match http::read_credentials(&path)? {
        Some(mut c) if c.user == login && (c.server.is_empty() || c.server == server) => {
            c.apikey = key.to_string();
            write_credentials(&path, &c).map_err(|e| {
                anyhow!("the new key (printed above) could not be saved: {e:#}")
            })?;
            Ok(format!("The new key is saved in {}.{hint}", path.display()))
        }
        _ => Ok(format!(
            "The old key no longer works; log in again with `god login --user {login} --apikey -`.{hint}"
        )),
    }
}
