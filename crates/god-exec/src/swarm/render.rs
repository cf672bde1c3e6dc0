//! A job attempt as a Swarm service: one `replicated-job` of one task that is never restarted,
//! pinned to the node we placed it on, running our init helper as root with only the
//! capabilities it needs (as the Docker executor's container; the helper drops to the user and
//! sets `no_new_privs` itself, which Engine API 1.41 services cannot ask for). Pure.

use crate::docker::CAPABILITIES;
use crate::{ExecError, LaunchSpec};
use bollard::models::{
    Limit, Mount, MountType, ResourceObject, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicatedJob, TaskSpec, TaskSpecContainerSpec, TaskSpecContainerSpecPrivileges,
    TaskSpecPlacement, TaskSpecResources, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum,
};
use god_core::launch::View;
use std::collections::HashMap;

/// How long a job removed from the Swarm has after SIGTERM before SIGKILL, in nanoseconds.
const STOP_GRACE_NANOS: i64 = 2_000_000_000;

/// The label that says which node a job service is pinned to (its Swarm node id).
pub const LABEL_NODE: &str = "godocker.node";

/// The service of `spec`, pinned to the node `node_id` (`None`: the Swarm places it).
pub fn service(spec: &LaunchSpec, node_id: Option<&str>) -> Result<ServiceSpec, ExecError> {
    let binds = spec.container_binds();
    let mut mounts = Vec::with_capacity(binds.len());
    for b in &binds {
        mounts.push(Mount {
            target: Some(b.container.clone()),
            source: Some(b.host.clone()),
            typ: Some(MountType::BIND),
            read_only: Some(b.read_only),
            ..Default::default()
        });
    }
    let mut labels: HashMap<String, String> = spec.labels.iter().cloned().collect();
    if let Some(id) = node_id {
        labels.insert(LABEL_NODE.into(), id.to_string());
    }
    let memory =
        (spec.memory_bytes > 0).then(|| i64::try_from(spec.memory_bytes).unwrap_or(i64::MAX));
    let nano_cpus = i64::from(spec.cpus) * 1_000_000_000;
    let container = TaskSpecContainerSpec {
        image: Some(spec.image.clone()),
        labels: Some(labels.clone()),
        command: Some(spec.container_entrypoint()),
        args: Some(Vec::new()),
        env: Some(
            spec.env(View::Container)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        dir: Some(spec.job_dir_in(View::Container).to_string()),
        user: Some("0:0".into()),
        tty: Some(false),
        open_stdin: Some(false),
        mounts: Some(mounts),
        init: Some(false),
        // Removing the service (a kill) stops the job at once, as the Docker executor's kill:
        // the script gets SIGTERM (forwarded by god-init) and SIGKILL soon after.
        stop_grace_period: Some(STOP_GRACE_NANOS),
        capability_drop: Some(vec!["ALL".into()]),
        capability_add: Some(CAPABILITIES.iter().map(|c| format!("CAP_{c}")).collect()),
        privileges: Some(TaskSpecContainerSpecPrivileges {
            // Honoured from API 1.46; older managers ignore it (god-init sets it anyway).
            no_new_privileges: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let task = TaskSpec {
        container_spec: Some(container),
        resources: Some(TaskSpecResources {
            limits: Some(Limit {
                nano_cpus: Some(nano_cpus),
                memory_bytes: memory,
                pids: (spec.pids_limit > 0).then_some(spec.pids_limit),
            }),
            // Memory reserved, cpus only limited: on Engine 20.10 a cpu reservation makes the
            // Swarm reject a running job's task at the next update of its node (any label
            // change: "assigned node no longer meets constraints"). We place jobs ourselves;
            // the reservation only keeps other services off what a job uses.
            reservations: Some(ResourceObject {
                memory_bytes: memory,
                ..Default::default()
            }),
            ..Default::default()
        }),
        restart_policy: Some(TaskSpecRestartPolicy {
            condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
            max_attempts: Some(0),
            ..Default::default()
        }),
        placement: Some(TaskSpecPlacement {
            constraints: Some(
                node_id
                    .map(|id| format!("node.id=={id}"))
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        }),
        // No network attached: a Swarm task cannot be given network "none" (the manager
        // refuses: "network none not found"); its node's default network is used, and
        // `network.disabled` is said not to hold at start-up.
        ..Default::default()
    };
    Ok(ServiceSpec {
        name: Some(spec.name.clone()),
        labels: Some(labels),
        task_template: Some(task),
        mode: Some(ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob {
                max_concurrent: Some(1),
                total_completions: Some(1),
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use god_core::launch::LABEL_JOB;

    fn spec() -> LaunchSpec {
        god_core::testing::launch_spec()
    }

    #[test]
    fn the_service_is_one_pinned_locked_down_task() {
        let s = service(&spec(), Some("node1")).unwrap();
        assert_eq!(s.name.as_deref(), Some("god-s-7-1"));
        let labels = s.labels.unwrap();
        assert_eq!(labels.get(LABEL_JOB).map(String::as_str), Some("7"));
        assert_eq!(labels.get(LABEL_NODE).map(String::as_str), Some("node1"));
        let job = s.mode.unwrap().replicated_job.unwrap();
        assert_eq!(
            (job.max_concurrent, job.total_completions),
            (Some(1), Some(1))
        );
        let t = s.task_template.unwrap();
        assert_eq!(
            t.restart_policy.unwrap().condition,
            Some(TaskSpecRestartPolicyConditionEnum::NONE)
        );
        assert_eq!(
            t.placement.unwrap().constraints.unwrap(),
            vec!["node.id==node1".to_string()]
        );
        let r = t.resources.unwrap();
        let limits = r.limits.unwrap();
        assert_eq!(
            (limits.nano_cpus, limits.memory_bytes, limits.pids),
            (Some(2_000_000_000), Some(64_000_000), Some(100))
        );
        let reserved = r.reservations.unwrap();
        assert_eq!(
            (reserved.nano_cpus, reserved.memory_bytes),
            (None, Some(64_000_000))
        );
        let c = t.container_spec.unwrap();
        assert_eq!(c.user.as_deref(), Some("0:0"));
        assert_eq!(c.capability_drop.unwrap(), vec!["ALL".to_string()]);
        assert_eq!(c.capability_add.unwrap().len(), CAPABILITIES.len());
        assert_eq!(c.command.unwrap(), vec!["/.godocker/god-init".to_string()]);
        assert!(c
            .env
            .unwrap()
            .contains(&"GODOCKER_PWD=/mnt/go-docker".to_string()));
        let m = &c.mounts.unwrap()[2];
        assert_eq!(
            (m.source.as_deref(), m.target.as_deref(), m.read_only),
            (Some("/h"), Some("/c"), Some(true))
        );
        assert_eq!(t.networks, None);
        let unpinned = service(&spec(), None).unwrap();
        let constraints = unpinned
            .task_template
            .unwrap()
            .placement
            .unwrap()
            .constraints;
        assert_eq!(constraints, Some(vec![]));
    }
}
