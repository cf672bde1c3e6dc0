//! Placement and backfill tables: which node a job goes to, why it fits nowhere, and the
//! EASY reservation held for the head of the queue.

use super::super::test_support::*;
use super::super::*;

#[test]
fn placement() {
    let labelled = |mut n: Node, labels: &[u32]| {
        n.labels = labels.to_vec();
        n
    };
    let reserved = |mut n: Node, users: &[u32], projects: &[u32]| {
        n.reservation = Some(NodeReservation {
            users: users.to_vec(),
            projects: projects.to_vec(),
        });
        n
    };
    let with_labels = |mut j: Pending, labels: &[u32]| {
        j.labels = labels.to_vec();
        j
    };
    let gpus = |mut j: Pending, g: u32| {
        j.gpus = g;
        j
    };
    let plain = || node("plain", 8, 32.0, 0);
    // (scenario, nodes, running (user, node, cpu, ram, gpus), job, expected node or reason)
    type Case = (
        &'static str,
        Vec<Node>,
        Vec<(u32, u32, u32, f64, u32)>,
        Pending,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "label constraint picks the labelled node",
            vec![plain(), labelled(node("ssd", 8, 32.0, 0), &[SSD])],
            vec![],
            with_labels(job(1, ALICE, DEFAULT, 1, 1.0), &[SSD]),
            "ssd",
        ),
        (
            "label no node has",
            vec![plain(), labelled(node("ssd", 8, 32.0, 0), &[SSD])],
            vec![],
            with_labels(job(1, ALICE, DEFAULT, 1, 1.0), &[NVME]),
            "no node has label storage==nvme",
        ),
        (
            "labels no single node has",
            vec![
                labelled(node("ssd", 8, 32.0, 0), &[SSD]),
                labelled(node("gpu", 8, 32.0, 1), &[GPU]),
            ],
            vec![],
            with_labels(job(1, ALICE, DEFAULT, 1, 1.0), &[SSD, GPU]),
            "no node has all the requested labels",
        ),
        (
            "gpu job goes to the gpu node",
            vec![plain(), node("gpu", 8, 32.0, 2)],
            vec![],
            gpus(job(1, ALICE, DEFAULT, 1, 1.0), 1),
            "gpu",
        ),
        (
            "cpu job keeps off the gpu node (best fit)",
            vec![node("gpu", 8, 32.0, 2), node("small", 2, 8.0, 0)],
            vec![],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "small",
        ),
        (
            "too many gpus",
            vec![plain(), node("gpu", 8, 32.0, 2)],
            vec![],
            gpus(job(1, ALICE, DEFAULT, 1, 1.0), 3),
            "no node has 3 gpus",
        ),
        (
            "gpus in use",
            vec![plain(), node("gpu", 8, 32.0, 2)],
            vec![(BOB, 1, 1, 1.0, 2)],
            gpus(job(1, ALICE, DEFAULT, 1, 1.0), 1),
            "no node with 1 gpu free",
        ),
        (
            "reserved node is closed to others",
            vec![reserved(plain(), &[BOB], &[])],
            vec![],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "every node that fits is reserved for other users or projects",
        ),
        (
            "reserved node admits its user",
            vec![node("other", 8, 32.0, 0), reserved(plain(), &[ALICE], &[])],
            vec![(BOB, 0, 8, 1.0, 0)],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "plain",
        ),
        (
            "reserved node admits its project",
            vec![reserved(plain(), &[BOB], &[P80])],
            vec![],
            job(1, ALICE, P80, 1, 1.0),
            "plain",
        ),
        (
            "free room only on a node reserved for others",
            vec![node("full", 8, 32.0, 0), reserved(plain(), &[BOB], &[])],
            vec![(BOB, 0, 8, 1.0, 0)],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "no node with 1 cpu free",
        ),
        (
            "ram in use",
            vec![node("n", 8, 128.0, 0)],
            vec![(BOB, 0, 1, 96.0, 0)],
            job(1, ALICE, DEFAULT, 1, 64.0),
            "no node with 64 GB free",
        ),
        (
            "ram no node has",
            vec![node("n", 8, 128.0, 0)],
            vec![],
            job(1, ALICE, DEFAULT, 1, 256.0),
            "no node has 256 GB",
        ),
        (
            "cpus no node has",
            vec![node("n", 8, 128.0, 0), node("m", 16, 16.0, 0)],
            vec![],
            job(1, ALICE, DEFAULT, 32, 1.0),
            "no node has 32 cpus",
        ),
        (
            "cpus and ram on different nodes",
            vec![node("n", 8, 128.0, 0), node("m", 16, 16.0, 0)],
            vec![],
            job(1, ALICE, DEFAULT, 12, 64.0),
            "no node has 12 cpus and 64 GB at once",
        ),
        (
            "free cpus and free ram on different nodes",
            vec![node("a", 8, 64.0, 0), node("b", 8, 64.0, 0)],
            vec![(BOB, 0, 0, 60.0, 0), (BOB, 1, 6, 0.0, 0)],
            job(1, ALICE, DEFAULT, 4, 16.0),
            "no node with 4 cpus and 16 GB free at once",
        ),
        (
            "best fit: the fullest node that fits",
            vec![node("roomy", 8, 32.0, 0), node("tight", 8, 32.0, 0)],
            vec![(BOB, 1, 6, 1.0, 0)],
            job(1, ALICE, DEFAULT, 2, 1.0),
            "tight",
        ),
        (
            "empty cluster",
            vec![],
            vec![],
            job(1, ALICE, DEFAULT, 1, 1.0),
            "the cluster has no node",
        ),
    ];
    for (name, nodes, run, j, want) in cases {
        let mut s = base();
        s.nodes = nodes;
        s.running = run
            .iter()
            .map(|&(user, node, cpu, ram, gpus)| Running {
                gpus,
                ..running(user, node, cpu, ram, 10.0, None)
            })
            .collect();
        s.pending = vec![j];
        let d = pass(&s, &config(Policy::FiFo));
        let got = match d.dispatch.first() {
            Some(x) => s.nodes[x.node as usize].name.clone(),
            None => why(&d, 1),
        };
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn backfill() {
    // node0: 8 cpus, 6 in use until now+100; node1: 4 cpus, 2 in use until now+1000.
    // (scenario, backfill, pending (id, cpu, walltime), dispatched, reasons, reservation)
    type Case = (
        &'static str,
        bool,
        Vec<(u64, u32, Option<f64>)>,
        Vec<u64>,
        Vec<(u64, &'static str)>,
        Option<(u64, u32, f64)>,
    );
    let cases: Vec<Case> = vec![
        (
            "small job uses a node the head does not need",
            true,
            vec![(1, 8, None), (2, 2, Some(500.0))],
            vec![2],
            vec![(1, "no node with 8 cpus free")],
            Some((1, 0, NOW + 100.0)),
        ),
        (
            "a long job may not delay the head; a short one may fill the gap",
            true,
            vec![
                (1, 8, None),
                (2, 2, Some(500.0)),
                (3, 2, Some(500.0)),
                (4, 2, Some(50.0)),
            ],
            vec![2, 4],
            vec![(3, "behind 2 older jobs")],
            Some((1, 0, NOW + 100.0)),
        ),
        (
            "a job without limit is estimated with the default",
            true,
            vec![(1, 8, None), (2, 2, Some(500.0)), (3, 2, None)],
            vec![2],
            vec![(3, "behind 2 older jobs")],
            Some((1, 0, NOW + 100.0)),
        ),
        (
            "resources the head does not need at its start are free to use",
            true,
            vec![
                (1, 6, None),
                (2, 2, Some(500.0)),
                (3, 2, Some(500.0)),
                (4, 1, Some(500.0)),
            ],
            vec![2, 3],
            vec![(4, "no node with 1 cpu free")],
            Some((1, 0, NOW + 100.0)),
        ),
        (
            "without backfill the small jobs take everything",
            false,
            vec![(1, 8, None), (2, 2, Some(500.0)), (3, 2, Some(500.0))],
            vec![2, 3],
            vec![(1, "no node with 8 cpus free")],
            None,
        ),
        (
            "jobs started in the pass count in the reservation estimate",
            true,
            vec![(1, 2, Some(50.0)), (2, 8, None), (3, 2, Some(50.0))],
            vec![1, 3],
            vec![(2, "no node with 8 cpus free")],
            Some((2, 0, NOW + 100.0)),
        ),
    ];
    for (name, backfill, pend, want, reasons, reservation) in cases {
        let mut s = base();
        s.nodes = vec![node("n0", 8, 64.0, 0), node("n1", 4, 64.0, 0)];
        s.running = vec![
            running(BOB, 0, 6, 1.0, 100.0, Some(200.0)),
            running(BOB, 1, 2, 1.0, 0.0, Some(1000.0)),
        ];
        s.pending = pend
            .iter()
            .map(|&(id, cpu, walltime)| Pending {
                walltime,
                ..job(id, ALICE, DEFAULT, cpu, 1.0)
            })
            .collect();
        let cfg = PassConfig {
            backfill,
            ..config(Policy::FiFo)
        };
        let d = pass(&s, &cfg);
        assert_eq!(ids(&d), want, "{name}");
        for (id, r) in reasons {
            assert_eq!(why(&d, id), r, "{name}: job {id}");
        }
        let got = d.reserved.map(|r| (r.job.0, r.node, r.start));
        assert_eq!(got, reservation, "{name}: reservation");
    }
}

/// Several passes over time: with EASY backfill the big job starts at its reserved time while
/// a stream of small jobs keeps arriving; without it, it waits until the stream dries up.
#[test]
fn head_job_is_not_starved() {
    fn simulate(backfill: bool) -> Option<f64> {
        let mut s = base();
        s.nodes = vec![node("n", 4, 64.0, 0)];
        let mut now = NOW;
        s.running = (0..4)
            .map(|i| running(BOB, 0, 1, 1.0, 0.0, Some(30.0 + 20.0 * f64::from(i))))
            .collect();
        let mut pending = vec![Pending {
            walltime: Some(100.0),
            ..job(1, ALICE, DEFAULT, 4, 1.0)
        }];
        let mut next_id = 2;
        let cfg = PassConfig {
            backfill,
            ..config(Policy::FiFo)
        };
        while now < NOW + 2000.0 {
            // Two short jobs arrive every 10 s.
            for _ in 0..2 {
                pending.push(Pending {
                    walltime: Some(40.0),
                    submitted: now,
                    ..job(next_id, BOB, DEFAULT, 1, 1.0)
                });
                next_id += 1;
            }
            s.now = now;
            s.running
                .retain(|r| r.started + r.walltime.unwrap_or(0.0) > now);
            s.pending = pending.clone();
            let d = pass(&s, &cfg);
            for x in &d.dispatch {
                if x.job.0 == 1 {
                    return Some(now);
                }
                if let Some(p) = pending.iter().find(|p| p.id == x.job) {
                    s.running.push(Running {
                        user: p.user,
                        node: x.node,
                        cpu: p.cpu,
                        ram: p.ram,
                        started: now,
                        walltime: p.walltime,
                        ..Running::default()
                    });
                }
            }
            pending.retain(|p| !d.dispatch.iter().any(|x| x.job == p.id));
            now += 10.0;
        }
        None
    }
    // The last of the initial jobs ends at now+90: the big one starts then.
    assert_eq!(simulate(true), Some(NOW + 90.0));
    assert_eq!(simulate(false), None);
}
