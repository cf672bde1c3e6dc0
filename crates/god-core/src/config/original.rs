//! The original's configuration (reference 8.1 and 8.3) as this version reads it: its old key
//! names, its `GODOCKER_*` environment overrides, and the keys and variables it had that this
//! version recognises but does not use yet (each one a start-up warning naming it, never a silent
//! no-op).

use crate::error::FieldError;
use serde_json::Value;

/// Keys (dotted paths) of the original configuration that this version recognises but does not
/// use yet: taken out before the rest is read, each one a warning.
const UNUSED_KEYS: &[&str] = &[
    "network.use_cni",
    "network.cni_plugin",
    "network.cni_public_network_name",
    "failure_policy.skip_failed_nodes",
    "clean_old",
    "plugins_dir",
    "storage",
    "live_events",
    "live_events_url",
    "shared_secret_passphrase",
    "plugin_zfs",
    "port_allocate",
    "port_start",
    "port_range",
    "mongo_url",
    "mongo_db",
    "redis_host",
    "redis_port",
    "redis_db",
    "redis_prefix",
    "influxdb_host",
    "influxdb_port",
    "influxdb_user",
    "influxdb_password",
    "influxdb_db",
    "placement",
    "prometheus_key",
    "prometheus_exporter",
    "master_timeout",
    "web_endpoint",
    "mesos",
    "kube_server",
    "kube_token",
    "kube_namespace",
    "allow_proxy_remote_user",
    "cadvisor_port",
    "cadvisor_samples",
    "cadvisor_url_part_override",
    "email_from",
    "email_smtp_tls",
    "email_smtp_user",
    "email_smtp_password",
    "email_smtp_host",
    "email_smtp_port",
    "status_policy",
    "etcd_prefix",
    "etcd_host",
    "etcd_port",
    "ftp",
    "flow",
    "link_image_to_registry",
    "log_config",
];

/// `GODOCKER_*` variables of the original that this version recognises but does not use yet.
const UNUSED_ENV: &[&str] = &[
    "GODOCKER_PLUGINS_DIR",
    "GODOCKER_MONGO_URL",
    "GODOCKER_MONGO_DB",
    "GODOCKER_REDIS_HOST",
    "GODOCKER_REDIS_PORT",
    "GODOCKER_INFLUXDB_HOST",
    "GODOCKER_INFLUXDB_PORT",
    "GODOCKER_INFLUXDB_USER",
    "GODOCKER_INFLUXDB_PASSWORD",
    "GODOCKER_INFLUXDB_DB",
    "GODOCKER_STATUS_POLICY",
    "GODOCKER_PROMETHEUS_EXPORTER",
    "GODOCKER_WEB_ENDPOINT",
    "GODOCKER_MESOS_MASTER",
    "GODOCKER_KUBE_SERVER",
    "GODOCKER_KUBE_TOKEN",
    "GODOCKER_CADVISOR_PORT",
    "GODOCKER_EMAIL_FROM",
    "GODOCKER_EMAIL_SMTP_TLS",
    "GODOCKER_EMAIL_SMTP_USER",
    "GODOCKER_EMAIL_SMTP_PASSWORD",
    "GODOCKER_EMAIL_SMTP_HOST",
    "GODOCKER_EMAIL_SMTP_PORT",
    "GODOCKER_ETCD_PREFIX",
    "GODOCKER_ETCD_HOST",
    "GODOCKER_ETCD_PORT",
    "GODOCKER_FTP_LISTEN",
    "GODOCKER_FTP_PUBLIC_ENDPOINT",
    "GODOCKER_FTP_PORT",
];

/// What [`adapt`] made of the document and the environment.
#[derive(Debug, Default)]
pub(super) struct Adapted {
    pub warnings: Vec<String>,
    /// Variables whose value is not one (the key they set is left as the file has it).
    pub problems: Vec<FieldError>,
    /// The keys `GODOCKER_*` variables set: `(key, variable)`.
    pub set_by_env: Vec<(&'static str, String)>,
}

impl Adapted {
    /// The variable that set `field` or a key above it (`docker` for `docker.tls`), if any.
    pub fn variable_of(&self, field: &str) -> Option<&str> {
        self.set_by_env
            .iter()
            .find(|(key, _)| {
                field
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .map(|(_, var)| var.as_str())
    }
}

/// Bring the original's document to this version's shape: old key names renamed, environment
/// overrides applied, recognised-but-unused keys taken out.
pub(super) fn adapt(root: &mut Value, env: &[(String, String)]) -> Adapted {
    let mut out = Adapted::default();
    // Old names (reference 8.3).
    if let Some(exec) = take_path(root, "executor") {
        if let Some(obj) = root.as_object_mut() {
            obj.entry("executors").or_insert(Value::Array(vec![exec]));
        }
    }
    for (old, new) in [
        ("docker_url", "docker.url"),
        ("docker_api_version", "docker.api_version"),
        ("network_disabled", "network.disabled"),
    ] {
        if let Some(v) = take_path(root, old) {
            set_path(root, new, v);
        }
    }
    let mut names: Vec<&String> = env
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("GODOCKER_"))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let Some((_, raw)) = env.iter().find(|(k, _)| k == name) else {
            continue;
        };
        match ENV_OVERRIDES.iter().find(|(n, _, _)| n == name) {
            Some((_, path, kind)) => match env_value(raw, *kind) {
                Ok(v) => {
                    set_path(root, path, v);
                    out.set_by_env.push((path, name.clone()));
                }
                Err(why) => out.problems.push(FieldError::new(
                    name.as_str(),
                    format!("{why} (it sets {path})"),
                )),
            },
            None if UNUSED_ENV.contains(&name.as_str()) => out
                .warnings
                .push(format!("{name}: recognised, not used by this version")),
            None => out
                .warnings
                .push(format!("{name}: unknown environment variable, ignored")),
        }
    }
    for key in UNUSED_KEYS {
        // A value that asks for nothing (`use_cni: false`, `live_events: null`) needs no warning.
        if take_path(root, key).is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false))) {
            out.warnings
                .push(format!("{key}: recognised, not used by this version"));
        }
    }
    out
}

/// The value a variable's text stands for; `Err` says why it stands for none.
fn env_value(raw: &str, kind: EnvKind) -> Result<Value, String> {
    Ok(match kind {
        EnvKind::Str => Value::String(raw.to_string()),
        EnvKind::Int => match raw.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => return Err(format!("{raw:?}: expected an integer")),
        },
        EnvKind::Flag => Value::Bool(raw == "1" || raw.eq_ignore_ascii_case("true")),
        EnvKind::List => Value::Array(
            raw.split(',')
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
    })
}

/// Remove the value at a dotted path (`network.use_cni`), if there is one.
fn take_path(root: &mut Value, path: &str) -> Option<Value> {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (
            parent
                .split('.')
                .try_fold(&mut *root, |cur, p| cur.get_mut(p))?,
            last,
        ),
        None => (root, path),
    };
    parent.as_object_mut()?.remove(last)
}

/// `GODOCKER_*` environment variables and the configuration path they set.
const ENV_OVERRIDES: &[(&str, &str, EnvKind)] = &[
    ("GODOCKER_SHARED_DIR", "shared_dir", EnvKind::Str),
    ("GODOCKER_EXECUTOR", "executors", EnvKind::List),
    (
        "GODOCKER_SCHEDULER_POLICY",
        "scheduler_policy",
        EnvKind::Str,
    ),
    ("GODOCKER_AUTH_POLICY", "auth_policy", EnvKind::Str),
    ("GODOCKER_DOCKER_URL", "docker.url", EnvKind::Str),
    ("GODOCKER_DOCKER_TLS", "docker.tls", EnvKind::Flag),
    ("GODOCKER_DOCKER_CA_CERT", "docker.ca_cert", EnvKind::Str),
    (
        "GODOCKER_DOCKER_CLIENT_CERT",
        "docker.client_cert",
        EnvKind::Str,
    ),
    (
        "GODOCKER_DOCKER_CLIENT_KEY",
        "docker.client_key",
        EnvKind::Str,
    ),
    ("GODOCKER_LDAP_HOST", "ldap_host", EnvKind::Str),
    ("GODOCKER_LDAP_PORT", "ldap_port", EnvKind::Int),
    ("GODOCKER_LDAP_DN", "ldap_dn", EnvKind::Str),
    (
        "GODOCKER_LDAP_BASE_DN_FILTER",
        "ldap_base_dn_filter",
        EnvKind::Str,
    ),
    ("GODOCKER_LDAP_SSL", "ldap.ssl", EnvKind::Flag),
    ("GODOCKER_WATCHERS", "watchers", EnvKind::List),
];

#[derive(Debug, Clone, Copy)]
enum EnvKind {
    Str,
    Int,
    Flag,
    List,
}

fn set_path(root: &mut Value, path: &str, v: Value) {
    let mut cur = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        if i == parts.len() - 1 {
            obj.insert((*p).to_string(), v);
            return;
        }
        cur = obj
            .entry((*p).to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
}
