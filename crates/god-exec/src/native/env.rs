//! The environment of a native job: the launch's variables as seen on the host, and ours.

use super::*;
use god_core::launch::View;

impl Shared {
    /// The job's environment on the host (`View::Host`: its job directory and home at their
    /// host paths), a `PATH`, and what god-init needs to know it runs without a container.
    pub(super) fn environment(
        &self,
        spec: &LaunchSpec,
        procs: &[PathBuf],
    ) -> Vec<(String, String)> {
        let mut env = spec.env(View::Host);
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push(("PATH".into(), DEFAULT_PATH.into()));
        }
        env.push(("GOD_INIT_NATIVE".into(), "1".into()));
        if !procs.is_empty() {
            let list: Vec<String> = procs.iter().map(|p| p.display().to_string()).collect();
            env.push(("GOD_INIT_CGROUP_PROCS".into(), list.join("\n")));
        }
        env
    }
}
