//! Configuration: one YAML file (`go-d.yml`, keys of the original `go-d.ini`, reference section
//! 8.1), `GODOCKER_*` environment overrides (section 8.3), then built-in defaults.
//!
//! Parsing is pure: the caller reads the file and the environment and passes them in.

mod original;
mod paths;
mod read;
mod settings;
mod types;
mod validate;

pub use paths::absolute;
pub use settings::{GuestHome, GuestSettings, LdapService, LdapSettings, LdapTls, OidcSettings};
pub use types::{
    AuthPolicyName, DurationSpec, ExecutorKind, ExecutorSpec, Executors, SchedulerPolicy, SizeSpec,
    SyncMode, WatcherName,
};

use crate::error::{ConfigError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Job directories live under `<shared_dir>/tasks/pairtree_root`. Default: `<data>/shared`.
    pub shared_dir: Option<String>,
    /// Our addition: where `god up` listens (overridden by `--listen`).
    pub listen: Option<String>,
    /// Our addition: data directory (SQLite file, secrets). Overridden by `--data`.
    pub data_dir: Option<String>,
    pub defaults_cpu: u32,
    pub defaults_ram: f64,
    pub allow_root: bool,
    pub allow_user_images: bool,
    pub default_images: Vec<ImageEntry>,
    pub use_private_registry: Option<String>,
    pub volumes: Vec<VolumeConfig>,
    pub volumes_check: bool,
    pub constraints: Vec<Constraint>,
    pub executors: Executors,
    pub docker: DockerConfig,
    /// `FiFo`, `FairShare` (reference 2.5) or `fairshare` (decayed consumed resources).
    pub scheduler_policy: SchedulerPolicy,
    pub fairshare_waiting_time_weight: f64,
    pub fairshare_user_time_weight: f64,
    pub fairshare_user_cpu_weight: f64,
    pub fairshare_user_ram_weight: f64,
    pub fairshare_group_time_weight: f64,
    pub fairshare_group_cpu_weight: f64,
    pub fairshare_group_ram_weight: f64,
    pub fairshare_user_weight: f64,
    pub fairshare_group_weight: f64,
    /// Half-life of recorded usage (`7d`, `12h`, seconds).
    pub fairshare_half_life: DurationSpec,
    /// Days of usage that quotas on time look at.
    pub user_reset_usage_duration: u64,
    /// Our addition: EASY backfill (a big job at the head keeps a reservation; smaller ones
    /// run only where they do not delay it).
    pub backfill: bool,
    /// Our addition: labels of the local node (`storage: ssd`), matched by `requirements.label`.
    pub node_labels: std::collections::BTreeMap<String, String>,
    /// Our addition: users and projects the local node is reserved for (empty: everybody).
    pub node_reservation: Vec<String>,
    pub max_job_pop: u32,
    /// Our addition: seconds between scheduler/watcher/archiver passes when nothing wakes them.
    pub tick_seconds: f64,
    pub maxlifespan: DurationSpec,
    /// Watcher plugins, in order (`maxlifespan`, `fake`).
    pub watchers: Vec<WatcherName>,
    pub dynamic_fields: Vec<DynamicField>,
    pub secret_passphrase: Option<String>,
    /// Seconds an API token stays valid.
    pub token_ttl: u64,
    /// Seconds a web UI session holds after its last use (the original's browser sessions).
    pub session_timeout: u64,
    /// Logins that are administrators.
    pub admin: Vec<String>,
    /// `local` (our database, argon2 passwords), `system` (host accounts: NSS + PAM), `ldap`
    /// (alias `goauth`, the original's name) or `fake` (tests only, needs `allow_fake_auth`).
    pub auth_policy: AuthPolicyName,
    pub allow_fake_auth: bool,
    /// Our addition: PAM service of the `system` policy (a file in `/etc/pam.d`).
    pub pam_service: String,
    /// LDAP server of the `ldap` policy (reference 5.3).
    pub ldap_host: Option<String>,
    /// Default 636 with `ldap.ssl`, else 389.
    pub ldap_port: Option<u16>,
    /// Base DN of the directory, e.g. `dc=example,dc=org`.
    pub ldap_dn: Option<String>,
    /// Where people are, relative to `ldap_dn`.
    pub ldap_base_dn_filter: String,
    /// Optional service account for searches (else anonymous).
    pub ldap_admin_dn: Option<String>,
    pub ldap_admin_password: Option<String>,
    pub ldap: LdapConfig,
    /// Our addition: failed logins allowed before `POST /authenticate` answers 429.
    pub login_rate_limit: LoginRateLimit,
    pub max_file_download: u64,
    /// Bytes of job directories a user may keep (`40G`); archiving frees them. None: no quota.
    pub disk_default_quota: Option<SizeSpec>,
    pub rate_limit: Option<u64>,
    pub rate_limit_all: Option<u64>,
    pub share_project_tasks: bool,
    pub network: NetworkConfig,
    pub fake: FakeConfig,
    /// The native executor: jobs run on the host, as the user, without containers.
    pub native: NativeExecConfig,
    /// Our addition: the `swarm-mode` executor.
    pub swarm: SwarmConfig,
    /// Our addition: API requests per second allowed to each user (token bucket; 0 = no limit).
    pub api_rate_limit: f64,
    /// Our addition: burst size of that bucket.
    pub api_rate_burst: f64,
    /// Node-failure retries: `strategy` caps `requirements.failure_policy`.
    pub failure_policy: FailurePolicy,
    /// Our addition: largest request body accepted, in bytes.
    pub max_request_body: usize,
    /// Our addition: `full` (fsync every commit: an acknowledged job survives power loss) or
    /// `normal` (survives a crash of the server, not of the machine).
    pub sqlite_synchronous: SyncMode,
    /// Guests (reference 5.4): people who log in through an OpenID Connect provider (`oidc`)
    /// instead of the site's directory. They run as `guest_bind` and wait for an administrator
    /// to activate them.
    pub guest_allow: bool,
    /// The system account (a login NSS knows) whose uid and gid every guest job runs with.
    pub guest_bind: Option<String>,
    /// Guests' homes are `<guest_home_root>/<login>`; `default`: guest_bind's home; unset: no
    /// home volume.
    pub guest_home_root: Option<String>,
    /// May guests run root jobs? (Also needs `allow_root`.)
    pub guest_allow_root: bool,
    /// Our addition: the OpenID Connect provider guests log in with.
    pub oidc: OidcConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            shared_dir: None,
            listen: None,
            data_dir: None,
            defaults_cpu: 1,
            defaults_ram: 1.0,
            allow_root: false,
            allow_user_images: true,
            default_images: Vec::new(),
            use_private_registry: None,
            volumes: Vec::new(),
            volumes_check: true,
            constraints: Vec::new(),
            executors: ExecutorKind::Docker.into(),
            docker: DockerConfig::default(),
            scheduler_policy: SchedulerPolicy::Fifo,
            fairshare_waiting_time_weight: 0.1,
            fairshare_user_time_weight: 1.0,
            fairshare_user_cpu_weight: 0.2,
            fairshare_user_ram_weight: 0.2,
            fairshare_group_time_weight: 0.1,
            fairshare_group_cpu_weight: 0.01,
            fairshare_group_ram_weight: 0.01,
            fairshare_user_weight: 1.0,
            fairshare_group_weight: 1.0,
            fairshare_half_life: DurationSpec::days(7),
            user_reset_usage_duration: 30,
            backfill: true,
            node_labels: Default::default(),
            node_reservation: Vec::new(),
            max_job_pop: 100,
            tick_seconds: 2.0,
            maxlifespan: DurationSpec::days(7),
            watchers: vec![WatcherName::Maxlifespan],
            dynamic_fields: vec![DynamicField {
                name: "maxlifespan".into(),
                admin_only: false,
            }],
            secret_passphrase: None,
            token_ttl: 86_400,
            session_timeout: 172_800,
            admin: Vec::new(),
            auth_policy: AuthPolicyName::Local,
            allow_fake_auth: false,
            pam_service: "login".into(),
            ldap_host: None,
            ldap_port: None,
            ldap_dn: None,
            ldap_base_dn_filter: "ou=People".into(),
            ldap_admin_dn: None,
            ldap_admin_password: None,
            ldap: LdapConfig::default(),
            login_rate_limit: LoginRateLimit::default(),
            max_file_download: 0,
            disk_default_quota: None,
            rate_limit: None,
            rate_limit_all: None,
            share_project_tasks: false,
            network: NetworkConfig::default(),
            fake: FakeConfig::default(),
            native: NativeExecConfig::default(),
            swarm: SwarmConfig::default(),
            api_rate_limit: 200.0,
            api_rate_burst: 400.0,
            failure_policy: FailurePolicy::default(),
            max_request_body: 1 << 20,
            sqlite_synchronous: SyncMode::Full,
            guest_allow: false,
            guest_bind: None,
            guest_home_root: None,
            guest_allow_root: false,
            oidc: OidcConfig::default(),
        }
    }
}

/// The OpenID Connect provider of guests: a confidential client of it, authorization code flow
/// with PKCE. The provider's page sends people back to `redirect_url`, which must be this
/// server's `/auth/oidc/callback` as the provider's users reach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcConfig {
    /// Issuer URL (discovery at `<issuer>/.well-known/openid-configuration`).
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// E.g. `https://god.example.org/auth/oidc/callback`.
    pub redirect_url: Option<String>,
    /// Guests' logins are this prefix plus their `preferred_username` (or `sub`), so they never
    /// collide with the site's accounts.
    pub login_prefix: String,
    /// Seconds to wait for the provider.
    pub timeout: f64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: None,
            client_id: None,
            client_secret: None,
            redirect_url: None,
            login_prefix: "guest-".into(),
            timeout: 10.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ImageEntry {
    pub name: String,
    pub url: String,
    pub interactive: bool,
    pub default: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct VolumeConfig {
    pub name: String,
    pub acl: String,
    pub path: String,
    pub mount: Option<String>,
}

impl VolumeConfig {
    /// The one check of a volume offered to users (configured, or a project's): a name, an
    /// access mode `ro` or `rw`, and an absolute host path that does not climb (`home` takes
    /// each user's home directory and needs none). The error names the field (`name`, `acl`,
    /// `path`).
    pub fn check(&self) -> Result<(), crate::FieldError> {
        use crate::FieldError;
        if self.name.is_empty() {
            return Err(FieldError::new("name", "must not be empty"));
        }
        if !matches!(self.acl.as_str(), "ro" | "rw") {
            return Err(FieldError::new(
                "acl",
                format!("{:?}: use ro or rw", self.acl),
            ));
        }
        let climbs = |p: &str| p.split('/').any(|s| s == "..");
        if self.name != "home" && (!self.path.starts_with('/') || climbs(&self.path)) {
            return Err(FieldError::new("path", "must be an absolute path"));
        }
        if self
            .mount
            .as_deref()
            .is_some_and(|m| !m.starts_with('/') || climbs(m))
        {
            return Err(FieldError::new("mount", "must be an absolute path"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Constraint {
    pub name: String,
    /// Comma-separated allowed values, as the original.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DynamicField {
    pub name: String,
    pub admin_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DockerConfig {
    /// `unix:///var/run/docker.sock` (default), `tcp://host:port` or `http(s)://…`.
    pub url: Option<String>,
    pub api_version: String,
    pub tls: bool,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// Our addition: capacity override (CPUs usable by jobs). Default: the Engine's.
    pub cpus: Option<u32>,
    /// Our addition: capacity override in GB. Default: the Engine's memory.
    pub ram: Option<f64>,
    /// Our addition: credentials for `use_private_registry`.
    pub registry_username: Option<String>,
    pub registry_password: Option<String>,
    /// Our addition: pids limit of job containers.
    pub pids_limit: i64,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            url: None,
            api_version: "auto".into(),
            tls: false,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            cpus: None,
            ram: None,
            registry_username: None,
            registry_password: None,
            pids_limit: 4096,
        }
    }
}

/// `ldap:` of the original (`ssl`, `fields.homeDirectory`) plus our `starttls` and `ca_cert`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LdapConfig {
    /// `ldaps://` (TLS from the first byte).
    pub ssl: bool,
    /// Our addition: StartTLS on `ldap://` before anything else is sent.
    pub starttls: bool,
    /// Our addition: PEM file of the CA(s) the server certificate must chain to (default: the
    /// system's roots).
    pub ca_cert: Option<String>,
    pub fields: LdapFields,
    /// Our addition: seconds to wait for the server (connect and each operation).
    pub timeout: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LdapFields {
    /// Attribute holding the home directory.
    #[serde(rename = "homeDirectory")]
    pub home_directory: String,
}

impl Default for LdapFields {
    fn default() -> Self {
        LdapFields {
            home_directory: "homeDirectory".into(),
        }
    }
}

/// Failed logins tolerated within `window` seconds, per login and per client address (0 = no
/// limit); past them `POST /api/1.0/authenticate` answers 429 with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginRateLimit {
    pub per_login: u32,
    pub per_address: u32,
    pub window: u64,
}

impl Default for LoginRateLimit {
    fn default() -> Self {
        LoginRateLimit {
            per_login: 5,
            per_address: 20,
            window: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FailurePolicy {
    /// Most node-failure retries a job may ask for.
    pub strategy: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NetworkConfig {
    pub disabled: bool,
}

/// The `swarm-mode` executor: the Swarm manager's Engine API, and the Engines of its nodes for
/// what only a node can do (pause, stats, exec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SwarmConfig {
    /// The manager's Engine API, as `docker.url` (default `unix:///var/run/docker.sock`).
    pub url: Option<String>,
    pub api_version: String,
    pub tls: bool,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// Node (host name as the Swarm lists it) → its Engine's URL. A node without one runs
    /// jobs, but cannot pause them nor give their stats.
    pub node_urls: BTreeMap<String, String>,
    /// Seconds a node may stay unknown to the manager before its jobs count as lost to a
    /// node failure (a node the manager marks down counts at once).
    pub node_timeout: f64,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        SwarmConfig {
            url: None,
            api_version: "auto".into(),
            tls: false,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            node_urls: BTreeMap::new(),
            node_timeout: 30.0,
        }
    }
}

impl SwarmConfig {
    /// How to reach the manager's Engine API, in the Docker executor's terms.
    pub fn manager(&self) -> DockerConfig {
        DockerConfig {
            url: self.url.clone(),
            api_version: self.api_version.clone(),
            tls: self.tls,
            ca_cert: self.ca_cert.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            ..DockerConfig::default()
        }
    }

    /// How to reach one node's Engine (same TLS files as the manager's).
    pub fn node_engine(&self, url: &str) -> DockerConfig {
        DockerConfig {
            url: Some(url.to_string()),
            ..self.manager()
        }
    }
}

/// Capacity overrides and state directory of the native executor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NativeExecConfig {
    pub cpus: Option<u32>,
    /// GB.
    pub ram: Option<f64>,
    /// Where it keeps one small file per running job (default `<data>/native`; a tmpfs such as
    /// `/run/god` is faster).
    pub state_dir: Option<String>,
}

/// The fake executor of the original's tests (reference 4.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeConfig {
    /// Jobs accepted per dispatch call; the rest are rejected.
    pub fail_on: u32,
    pub cpus: u32,
    pub ram: f64,
    /// Seconds a fake job "runs".
    pub run_seconds: f64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            fail_on: 5,
            cpus: 1_000_000,
            ram: 1_000_000.0,
            run_seconds: 0.0,
        }
    }
}

/// A loaded configuration and the warnings about it (unknown or unused keys).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Parse `yaml` (may be empty), apply `env` overrides, check values. Every problem found is
/// reported (a value that is not one, values that cannot work together), each naming its key.
pub fn load(yaml: &str, env: &[(String, String)]) -> Result<Loaded, ConfigError> {
    let mut root: Value = if yaml.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_norway::from_str(yaml)
            .map_err(|e| ConfigError::new("", format!("not valid YAML: {e}")))?
    };
    if root.is_null() {
        root = Value::Object(Default::default());
    }
    if !root.is_object() {
        return Err(ConfigError::new("", "the file must be a mapping of keys"));
    }
    let adapted = original::adapt(&mut root, env);
    let mut warnings = adapted.warnings.clone();
    let mut problems = adapted.problems.clone();
    let mut unreadable = Vec::new();
    let config = read::read(root.clone(), &mut unreadable);
    // A value a `GODOCKER_*` variable set is not in the file: say where it came from.
    problems.extend(
        unreadable
            .into_iter()
            .map(|p| match adapted.variable_of(&p.field) {
                Some(var) => FieldError::new(p.field, format!("{} (set by {var})", p.message)),
                None => p,
            }),
    );
    let mut ignored = Vec::new();
    let _: Result<Config, _> = serde_ignored::deserialize(&root, |p| ignored.push(p.to_string()));
    for key in ignored {
        warnings.push(format!("{key}: unknown key, ignored"));
    }
    // A value taken out for not being one has its default in `config`: what validation says of
    // that key is about the default, not about what was written.
    let taken_out: Vec<String> = problems.iter().map(|p| p.field.clone()).collect();
    problems.extend(
        validate::validate(&config)
            .into_iter()
            .filter(|p| !taken_out.iter().any(|t| same_key(t, &p.field))),
    );
    ConfigError::check(problems)?;
    Ok(Loaded { config, warnings })
}

/// Is one key the other, or inside it (`executors` and `executors[0]`, `ldap` and `ldap.ssl`)?
fn same_key(a: &str, b: &str) -> bool {
    a == b || read::inside(a, b) || read::inside(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let l = load("", &[]).unwrap();
        assert_eq!(l.config, Config::default());
        assert!(l.warnings.is_empty());
    }

    #[test]
    fn unknown_keys_warn_and_legacy_keys_are_accepted() {
        let l = load(
            "foo: 1\nredis_host: x\nallow_root: true\ndocker: {bogus: 1}\n",
            &[],
        )
        .unwrap();
        assert!(
            l.warnings
                .iter()
                .any(|w| w.starts_with("docker.bogus: unknown")),
            "{:?}",
            l.warnings
        );
        assert!(l.config.allow_root);
        assert!(l.warnings.iter().any(|w| w.starts_with("foo: unknown")));
        assert!(l.warnings.iter().any(|w| w.starts_with("redis_host")));
    }

    /// A bad value of each kind of key names that key, and only it.
    #[test]
    fn invalid_values_name_the_key() {
        let cases: [(&str, &[&str]); 31] = [
            ("allow_root: maybe", &["allow_root"]),
            ("defaults_cpu: -1", &["defaults_cpu"]),
            ("defaults_ram: many", &["defaults_ram"]),
            ("defaults_ram: 0", &["defaults_ram"]),
            ("tick_seconds: 0", &["tick_seconds"]),
            ("session_timeout: 10", &["session_timeout"]),
            ("shared_dir: [a]", &["shared_dir"]),
            ("executors: [mesos]", &["executors[0]"]),
            ("executors: [docker, sge]", &["executors[1]"]),
            ("executors: [docker, native, swarm]", &["executors"]),
            ("executors: []", &["executors"]),
            ("scheduler_policy: x", &["scheduler_policy"]),
            ("sqlite_synchronous: off", &["sqlite_synchronous"]),
            ("watchers: [maxlifespan, godflow]", &["watchers[1]"]),
            ("maxlifespan: forever", &["maxlifespan"]),
            ("fairshare_half_life: [1]", &["fairshare_half_life"]),
            ("disk_default_quota: lots", &["disk_default_quota"]),
            ("node_labels: 3", &["node_labels"]),
            ("volumes: [{name: x, acl: rx, path: /x}]", &["volumes[0].acl"]),
            ("volumes: [{name: x, acl: ro, path: x}]", &["volumes[0].path"]),
            ("docker: {tls: 3}", &["docker.tls"]),
            ("docker: {url: [x]}", &["docker.url"]),
            ("ldap: {fields: {homeDirectory: 7}}", &["ldap.fields.homeDirectory"]),
            ("auth_policy: fake", &["auth_policy"]),
            ("auth_policy: kerberos", &["auth_policy"]),
            ("auth_policy: ldap\nldap_dn: dc=x", &["ldap_host"]),
            ("auth_policy: goauth\nldap_host: h", &["ldap_dn"]),
            (
                "auth_policy: ldap\nldap_host: h\nldap_dn: dc=x\nldap: {ssl: true, starttls: true}",
                &["ldap.starttls"],
            ),
            ("ldap_port: many", &["ldap_port"]),
            ("guest_allow: true\nguest_bind: nobody\noidc: {issuer: ftp://x, client_id: c, redirect_url: http://h/cb}", &["oidc.issuer"]),
            (
                "guest_allow: true\nguest_bind: nobody\nguest_home_root: homes\noidc: {issuer: http://x, client_id: c, redirect_url: http://h/cb}",
                &["guest_home_root"],
            ),
        ];
        for (yaml, keys) in cases {
            let err = load(yaml, &[]).unwrap_err();
            let got: Vec<&str> = err.fields().collect();
            assert_eq!(got, keys, "{yaml}: {err}");
            for line in err.to_string().lines() {
                assert!(line.starts_with("configuration: "), "{yaml}: {line}");
            }
        }
    }

    /// Every problem is reported, one line each, not only the first.
    #[test]
    fn every_problem_is_reported_one_line_each() {
        let err = load(
            "scheduler_policy: x\nexecutors: [docker, sge]\ntick_seconds: 0\nguest_allow: true\n",
            &[],
        )
        .unwrap_err();
        let fields: Vec<&str> = err.fields().collect();
        assert_eq!(
            fields,
            [
                "executors[1]",
                "scheduler_policy",
                "tick_seconds",
                "guest_bind",
                "oidc.issuer",
                "oidc.client_id",
                "oidc.redirect_url"
            ]
        );
        let text = err.to_string();
        assert_eq!(text.lines().count(), fields.len(), "{text}");
        assert!(
            text.contains(
                "configuration: scheduler_policy: unknown policy \"x\" (expected FiFo, FairShare or fairshare)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("configuration: executors[1]: unknown executor \"sge\""),
            "{text}"
        );
    }

    /// The document as a whole, and `GODOCKER_*` variables, are named too.
    #[test]
    fn documents_and_variables_are_named() {
        let env = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let cases: [(&str, Vec<(String, String)>, &[&str], &str); 5] = [
            ("a: [", vec![], &[""], "configuration: not valid YAML"),
            (
                "- a\n- b",
                vec![],
                &[""],
                "configuration: the file must be a mapping",
            ),
            (
                "",
                env("GODOCKER_LDAP_PORT", "x"),
                &["GODOCKER_LDAP_PORT"],
                "configuration: GODOCKER_LDAP_PORT: \"x\": expected an integer (it sets ldap_port)",
            ),
            (
                "",
                env("GODOCKER_SCHEDULER_POLICY", "lifo"),
                &["scheduler_policy"],
                "(set by GODOCKER_SCHEDULER_POLICY)",
            ),
            (
                "",
                env("GODOCKER_EXECUTOR", "docker,sge"),
                &["executors[1]"],
                "(set by GODOCKER_EXECUTOR)",
            ),
        ];
        for (yaml, env, keys, says) in cases {
            let err = load(yaml, &env).unwrap_err();
            let got: Vec<&str> = err.fields().collect();
            assert_eq!(got, keys, "{yaml} {env:?}: {err}");
            assert!(err.to_string().contains(says), "{yaml} {env:?}: {err}");
        }
    }

    #[test]
    fn env_overrides_and_legacy_names() {
        let env = vec![
            ("GODOCKER_EXECUTOR".to_string(), "fake".to_string()),
            ("GODOCKER_DOCKER_TLS".to_string(), "1".to_string()),
        ];
        let l = load("docker_url: tcp://x:2375\nexecutor: swarm\n", &env).unwrap();
        assert_eq!(l.config.executors, Executors::from(ExecutorKind::Fake));
        assert!(l.config.docker.tls);
        assert_eq!(l.config.docker.url.as_deref(), Some("tcp://x:2375"));
    }

    /// Every key and `GODOCKER_*` variable of the original that this version does not use is
    /// named in a warning (no silent no-op); one that asks for nothing is accepted quietly.
    #[test]
    fn recognised_but_unused_keys_and_variables_warn_by_name() {
        let cases: [(&str, &[(&str, &str)], &[&str]); 6] = [
            (
                "network: {use_cni: true, cni_plugin: weave, cni_public_network_name: pub}",
                &[],
                &[
                    "network.use_cni: recognised, not used",
                    "network.cni_plugin: recognised, not used",
                    "network.cni_public_network_name: recognised, not used",
                ],
            ),
            (
                "failure_policy: {strategy: 2, skip_failed_nodes: true}",
                &[],
                &["failure_policy.skip_failed_nodes: recognised, not used"],
            ),
            ("clean_old: 30", &[], &["clean_old: recognised, not used"]),
            ("network: {use_cni: false}\nlive_events: false\n", &[], &[]),
            (
                "",
                &[
                    ("GODOCKER_MONGO_URL", "mongodb://x"),
                    ("GODOCKER_FTP_PORT", "2121"),
                ],
                &[
                    "GODOCKER_FTP_PORT: recognised, not used",
                    "GODOCKER_MONGO_URL: recognised, not used",
                ],
            ),
            (
                "",
                &[
                    ("GODOCKER_SHARED_DIRR", "/x"),
                    ("GODOCKER_SHARED_DIR", "/s"),
                ],
                &["GODOCKER_SHARED_DIRR: unknown environment variable"],
            ),
        ];
        for (yaml, env, want) in cases {
            let env: Vec<(String, String)> = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let l = load(yaml, &env).unwrap();
            assert_eq!(
                l.warnings.len(),
                want.len(),
                "{yaml} {env:?}: {:?}",
                l.warnings
            );
            for (got, want) in l.warnings.iter().zip(want) {
                assert!(got.starts_with(want), "{yaml} {env:?}: {got}");
            }
        }
        let l = load("", &[("GODOCKER_SHARED_DIR".into(), "/s".into())]).unwrap();
        assert_eq!(l.config.shared_dir.as_deref(), Some("/s"));
        let l = load(
            "failure_policy: {strategy: 2, skip_failed_nodes: true}",
            &[],
        )
        .unwrap();
        assert_eq!(
            l.config.failure_policy.strategy, 2,
            "the rest of the block is read"
        );
    }

    #[test]
    fn ldap_keys_of_the_original_load() {
        let yaml = "auth_policy: goauth\nldap_host: ldap.example.org\nldap_port: 636\n\
                    ldap_dn: dc=example,dc=org\nldap_admin_dn: cn=admin,dc=example,dc=org\n\
                    ldap_admin_password: pw\nldap: {ssl: false, fields: {homeDirectory: home}}\n";
        let env = vec![("GODOCKER_LDAP_SSL".to_string(), "1".to_string())];
        let l = load(yaml, &env).unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let c = l.config;
        assert_eq!(c.auth_policy, AuthPolicyName::Ldap, "goauth is ldap");
        assert_eq!(c.ldap_host.as_deref(), Some("ldap.example.org"));
        assert_eq!(c.ldap_port, Some(636));
        assert_eq!(c.ldap_base_dn_filter, "ou=People");
        assert!(c.ldap.ssl, "GODOCKER_LDAP_SSL=1");
        assert_eq!(c.ldap.fields.home_directory, "home");
        assert_eq!(c.login_rate_limit, LoginRateLimit::default());
        assert_eq!(c.pam_service, "login");
    }
}
