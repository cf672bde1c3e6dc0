//! Paths in the configuration are made absolute once, at start-up, before anything uses them: a
//! relative path means nothing to a container engine (a relative bind source is taken for a
//! volume name) nor to a process started from another directory.
//!
//! Keys that must be absolute on every node (`volumes[].path`, `guest_home_root`) are refused by
//! validation instead: they are resolved on machines whose working directory we do not know.

use super::Config;
use std::path::{Component, Path, PathBuf};

/// `path` joined onto `cwd` when relative, without `.` components; absolute paths are kept as
/// they are. Lexical only: symlinks are not resolved, so what the operator wrote stays readable.
pub fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    joined
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

impl Config {
    /// Make every path-valued key absolute against `cwd` (the working directory at start-up).
    /// Returns the keys that changed, with their new values, to be shown to the operator.
    pub fn resolve_paths(&mut self, cwd: &Path) -> Vec<(&'static str, String)> {
        let mut changed = Vec::new();
        let keys: [(&'static str, &mut Option<String>); 7] = [
            ("data_dir", &mut self.data_dir),
            ("shared_dir", &mut self.shared_dir),
            ("docker.ca_cert", &mut self.docker.ca_cert),
            ("docker.client_cert", &mut self.docker.client_cert),
            ("docker.client_key", &mut self.docker.client_key),
            ("ldap.ca_cert", &mut self.ldap.ca_cert),
            ("native.state_dir", &mut self.native.state_dir),
        ];
        for (key, value) in keys {
            let Some(v) = value.as_mut().filter(|v| !v.is_empty()) else {
                continue;
            };
            if Path::new(v.as_str()).is_absolute() {
                continue;
            }
            *v = absolute(cwd, Path::new(v.as_str()))
                .to_string_lossy()
                .into_owned();
            changed.push((key, v.clone()));
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_become_absolute_against_the_working_directory() {
        let cases = [
            ("god-data", "/srv/lab/god-data"),
            ("./god-data/", "/srv/lab/god-data"),
            ("../shared", "/srv/lab/../shared"),
            ("/abs/dir", "/abs/dir"),
            (".", "/srv/lab"),
        ];
        for (given, want) in cases {
            let got = absolute(Path::new("/srv/lab"), Path::new(given));
            assert_eq!(got, PathBuf::from(want), "{given}");
        }
    }

    #[test]
    fn every_path_key_is_resolved_and_reported() {
        let mut c = Config::default();
        c.data_dir = Some("data".into());
        c.shared_dir = Some("/shared".into());
        c.docker.ca_cert = Some("certs/ca.pem".into());
        c.docker.client_cert = Some("certs/cert.pem".into());
        c.docker.client_key = Some("certs/key.pem".into());
        c.ldap.ca_cert = Some("ldap-ca.pem".into());
        c.native.state_dir = Some("run".into());
        let changed = c.resolve_paths(Path::new("/etc/god"));
        assert_eq!(c.data_dir.as_deref(), Some("/etc/god/data"));
        assert_eq!(c.shared_dir.as_deref(), Some("/shared"), "absolute: kept");
        assert_eq!(c.docker.ca_cert.as_deref(), Some("/etc/god/certs/ca.pem"));
        assert_eq!(
            c.docker.client_key.as_deref(),
            Some("/etc/god/certs/key.pem")
        );
        assert_eq!(c.ldap.ca_cert.as_deref(), Some("/etc/god/ldap-ca.pem"));
        assert_eq!(c.native.state_dir.as_deref(), Some("/etc/god/run"));
        let keys: Vec<&str> = changed.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "data_dir",
                "docker.ca_cert",
                "docker.client_cert",
                "docker.client_key",
                "ldap.ca_cert",
                "native.state_dir"
            ]
        );
    }
}
