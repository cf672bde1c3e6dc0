//! Fair share in virtual time: the long-run shares of consumed cpu·seconds follow priorities.

use god_core::schedule::{Fair, Policy};
use god_sim::{simulate, three_users};

/// Three users with priorities giving shares 1:2:3 on a saturated cluster, a simulated day,
/// policy `fairshare` (7-day half-life): each receives its share of consumed cpu·seconds
/// within ±2% (relative).
#[test]
fn shares_follow_priorities_one_two_three() {
    let (w, cfg) = three_users(Policy::Fairshare(Fair::default()));
    let report = simulate(&w, &cfg);
    let shares = report.shares();
    let want = [1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0];
    assert!(
        report.utilization > 0.95,
        "cluster not saturated: {report:?}"
    );
    for (i, (got, want)) in shares.iter().zip(want).enumerate() {
        let err = (got - want) / want;
        assert!(
            err.abs() <= 0.02,
            "user {i}: share {got:.4}, want {want:.4} ({:+.2}%); {report:?}",
            err * 100.0
        );
    }
}

#[test]
fn same_seed_same_run() {
    let (w, mut cfg) = three_users(Policy::Fairshare(Fair::default()));
    cfg.horizon = 4.0 * 3600.0;
    assert_eq!(simulate(&w, &cfg), simulate(&w, &cfg));
    cfg.seed += 1;
    let (a, b) = (
        simulate(&w, &cfg),
        simulate(&w, &{
            let mut c = cfg.clone();
            c.seed += 1;
            c
        }),
    );
    assert_ne!(a, b);
}

/// FiFo ignores priorities: with equal backlogs the shares are far from 1:2:3.
#[test]
fn fifo_does_not_follow_priorities() {
    let (w, cfg) = three_users(Policy::FiFo);
    let shares = simulate(&w, &cfg).shares();
    assert!((shares[2] - 0.5).abs() > 0.05, "{shares:?}");
}
