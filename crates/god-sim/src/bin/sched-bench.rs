//! Times one scheduling pass at 1k, 10k, 100k and 1M pending jobs, measures the memory of the
//! pending-job representation, and runs the 1:2:3 fair-share simulation.
//!
//! `cargo run --release -p god-sim --bin sched-bench`. Options: `--quick` (stop at 100k),
//! `--sizes 1000,100000`, `--policy fairshare`, `--runs 20`, `--pass-only` (skip the memory
//! and simulator parts).

use god_core::schedule::{pass, Decision, Fair, PassConfig, Policy, Reason, Weights};
use god_sim::bench::{self, Spec};
use god_sim::{simulate, three_users};
use std::hint::black_box;
use std::time::Instant;

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn policies() -> [(&'static str, Policy); 3] {
    [
        ("FiFo", Policy::FiFo),
        ("FairShare", Policy::FairShare(Weights::default())),
        ("fairshare", Policy::Fairshare(Fair::default())),
    ]
}

fn summary(d: &Decision) -> String {
    let mut no_free = 0;
    let mut behind = 0;
    let mut quota = 0;
    let mut other = 0;
    for (_, r) in &d.waiting {
        match r {
            Reason::NoFreeNode { .. } => no_free += 1,
            Reason::Behind { .. } => behind += 1,
            Reason::Quota { .. } => quota += 1,
            _ => other += 1,
        }
    }
    format!(
        "{:>5} {:>8} {:>7} {:>7} {:>6} {:>6}",
        d.dispatch.len(),
        no_free,
        behind,
        quota,
        other,
        d.doomed.len()
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let mut sizes = vec![1_000usize, 10_000, 100_000];
    if !flag("--quick") {
        sizes.push(1_000_000);
    }
    if let Some(v) = value("--sizes") {
        sizes = v.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    }
    let only_policy = value("--policy");
    let runs_override: Option<usize> = value("--runs").and_then(|v| v.parse().ok());
    let cfg = |policy| PassConfig {
        policy,
        max_dispatch: 1_000,
        default_walltime: 86_400.0,
        backfill: true,
        keep_order: false,
    };

    let base = bench::cluster(&Spec::default());
    let busy: u64 = base.running.iter().map(|r| u64::from(r.cpu)).sum();
    let cpus: u64 = base.nodes.iter().map(|n| u64::from(n.cpus)).sum();
    println!(
        "one pass: {} users, {} projects, {} nodes ({} of {} cpus busy, {} running jobs), \
         max_dispatch 1000, EASY backfill",
        base.users.len(),
        base.projects.len(),
        base.nodes.len(),
        busy,
        cpus,
        base.running.len()
    );
    println!();
    println!(
        "{:>9} {:<10} {:>10} {:>9} {:>9} | {:>5} {:>8} {:>7} {:>7} {:>6} {:>6}",
        "pending",
        "policy",
        "median ms",
        "min ms",
        "ns/job",
        "disp",
        "no-free",
        "behind",
        "quota",
        "other",
        "doomed"
    );
    for &n in &sizes {
        let s = bench::snapshot(&Spec {
            pending: n,
            ..Spec::default()
        });
        let runs = runs_override.unwrap_or(if n >= 1_000_000 { 5 } else { 11 });
        for (name, policy) in policies() {
            if only_policy.as_deref().is_some_and(|p| p != name) {
                continue;
            }
            let c = cfg(policy);
            let mut times = Vec::with_capacity(runs);
            let mut last = None;
            for _ in 0..runs {
                let t = Instant::now();
                let d = black_box(pass(black_box(&s), &c));
                times.push(t.elapsed().as_secs_f64() * 1e3);
                last = Some(d);
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            println!(
                "{:>9} {:<10} {:>10.2} {:>9.2} {:>9.0} | {}",
                n,
                name,
                median,
                times[0],
                median * 1e6 / n as f64,
                last.as_ref().map(summary).unwrap_or_default()
            );
        }
    }

    if flag("--pass-only") {
        return;
    }
    println!();
    let n = 1_000_000;
    let before = resident_bytes();
    let (jobs, parents) = bench::pending(&Spec {
        pending: n,
        ..Spec::default()
    });
    let after = resident_bytes();
    let bytes = bench::pending_bytes(&jobs);
    println!(
        "memory, {} pending jobs: size_of::<Pending>() = {} B; structs + heap (labels, deps) = {:.1} B/job",
        n,
        std::mem::size_of::<god_core::schedule::Pending>(),
        bytes as f64 / n as f64
    );
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "  resident memory growth while building them: {:.1} B/job (includes the {} parent states)",
            a.saturating_sub(b) as f64 / n as f64,
            parents.len()
        );
    }
    drop(black_box(jobs));

    println!();
    println!(
        "simulator: 3 users with priorities 10/20/30 (shares 1:2:3), 8 nodes x 16 cpus kept \
         saturated, one virtual day; shares of consumed cpu·s (want 0.1667 / 0.3333 / 0.5000):"
    );
    for (name, policy) in policies() {
        let (w, c) = three_users(policy);
        let t = Instant::now();
        let r = simulate(&w, &c);
        let shares = r.shares();
        let share = |i: usize| shares.get(i).copied().unwrap_or(0.0);
        println!(
            "  {:<10} {:.4} / {:.4} / {:.4}   utilization {:.1}%, {} jobs, {} passes, {:.0} ms",
            name,
            share(0),
            share(1),
            share(2),
            r.utilization * 100.0,
            r.finished,
            r.passes,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}
