//! Fuzz the task document parser and validator (`god_core::submit::{parse, validate}`).
//!
//! Property: neither function panics on any input (they return `SubmitError`s), and a task that
//! validates satisfies cheap invariants: the server's identity replaced whatever the client sent,
//! `requirements.cpu >= 1`, `requirements.ram > 0`, and the task re-serializes with serde_json.
#![no_main]

use god_core::config::{
    Config, Constraint, ExecutorKind, ExecutorSpec, Executors, VolumeConfig,
};
use god_core::submit::{parse, validate, Identity, World, MAX_CPU, MAX_RAM_GB};
use god_core::Primary;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const NOW: f64 = 1_700_000_000.0;

static WHO: LazyLock<Identity> = LazyLock::new(|| Identity {
    login: "alice".into(),
    uid: 2001,
    gid: 2002,
    sgids: vec![3000],
    email: Some("alice@example.org".into()),
    home: Some("/home/alice".into()),
    admin: false,
    guest: false,
});

/// The defaults, as the brief asks for.
static DEFAULT: LazyLock<Config> = LazyLock::new(Config::default);

/// A richer configuration so that volumes, labels, executors and root jobs get past the
/// first refusal and their later checks are exercised too.
static RICH: LazyLock<Config> = LazyLock::new(|| {
    let mut c = Config::default();
    c.allow_root = true;
    c.defaults_cpu = 0; // validate must still give at least 1 CPU
    let specs = ["docker", "fake", "native:local"]
        .into_iter()
        .filter_map(|e| ExecutorSpec::parse(e).ok())
        .collect();
    c.executors = Executors::new(specs).unwrap_or_else(|_| ExecutorKind::Docker.into());
    c.constraints = vec![
        Constraint {
            name: "storage".into(),
            value: "ssd, hdd".into(),
        },
        Constraint {
            name: "arch".into(),
            value: "x86_64".into(),
        },
    ];
    c.volumes = vec![
        VolumeConfig {
            name: "data".into(),
            acl: "ro".into(),
            path: "/data/$USERID".into(),
            mount: None,
        },
        VolumeConfig {
            name: "scratch".into(),
            acl: "rw".into(),
            path: "/scratch".into(),
            mount: Some("/mnt/scratch/$USERID".into()),
        },
    ];
    c
});

fn check(data: &[u8], config: &Config) {
    let Ok(task) = parse(data) else { return };
    let world = World {
        now: NOW,
        path_exists: &|p: &str| !p.contains("missing"),
        node_gpus: Some(2),
    };
    let Ok(t) = validate(task, &WHO, config, &world) else {
        return;
    };
    assert_eq!(t.user.id, WHO.login, "the client's user.id must be ignored");
    assert_eq!(t.user.uid, WHO.uid, "the client's user.uid must be ignored");
    assert_eq!(t.user.gid, WHO.gid, "the client's user.gid must be ignored");
    assert_eq!(t.status.primary, Primary::Pending);
    assert_eq!(t.date, NOW);
    assert!(t.requirements.cpu >= 1, "cpu {}", t.requirements.cpu);
    assert!(t.requirements.cpu <= MAX_CPU, "cpu {}", t.requirements.cpu);
    assert!(t.requirements.ram > 0.0, "ram {}", t.requirements.ram);
    assert!(t.requirements.ram <= MAX_RAM_GB, "ram {}", t.requirements.ram);
    if let Err(e) = serde_json::to_vec(&t) {
        panic!("a validated task does not re-serialize: {e}");
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, &DEFAULT);
    check(data, &RICH);
});
