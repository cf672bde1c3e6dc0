//! The environment of a native job: container paths of the launch translated to host paths.

use super::*;

impl Shared {
    /// Translate container paths in the launch's environment to host paths, and add ours.
    pub(super) fn environment(
        &self,
        spec: &LaunchSpec,
        procs: &[PathBuf],
    ) -> Vec<(String, String)> {
        // Binds, longest container path first.
        let mut binds: Vec<(&str, &str)> = spec
            .binds
            .iter()
            .map(|b| (b.container.as_str(), b.host.as_str()))
            .collect();
        binds.push((god_core::launch::JOB_MOUNT, spec.job_dir.as_str()));
        binds.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
        let translate = |v: &str| -> String {
            for (c, h) in &binds {
                if v == *c {
                    return h.to_string();
                }
                if let Some(rest) = v.strip_prefix(c).filter(|r| r.starts_with('/')) {
                    return format!("{h}{rest}");
                }
            }
            v.to_string()
        };
        let mut env: Vec<(String, String)> = Vec::with_capacity(spec.env.len() + 4);
        let mut has_path = false;
        for (k, v) in &spec.env {
            match k.as_str() {
                "GOD_INIT_NATIVE" | "GOD_INIT_CGROUP_PROCS" => continue,
                "GOD_INIT_DIR" | "GODOCKER_PWD" => {
                    env.push((k.clone(), spec.job_dir.clone()));
                    continue;
                }
                "PATH" => has_path = true,
                _ => {}
            }
            if k.starts_with("GOD_INIT_") || k.starts_with("GODOCKER_") {
                env.push((k.clone(), translate(v)));
            } else {
                env.push((k.clone(), v.clone()));
            }
        }
        if !env.iter().any(|(k, _)| k == "GOD_INIT_DIR") {
            env.push(("GOD_INIT_DIR".into(), spec.job_dir.clone()));
        }
        if !has_path {
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
