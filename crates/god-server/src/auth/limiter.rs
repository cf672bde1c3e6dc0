//! Rate limit of failed logins: at most `per_login` failures of one login and `per_address`
//! failures from one client address within `window` seconds; past that, `POST /authenticate`
//! answers 429 with `Retry-After` (the time until the oldest counted failure leaves the window)
//! without checking the credential at all. A success clears the login's failures (not the
//! address's: one good account must not reset a guesser's budget).

use god_core::config::LoginRateLimit;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before old ones are swept.
const SWEEP_AT: usize = 20_000;

#[derive(Default)]
struct Failures {
    logins: HashMap<String, VecDeque<Instant>>,
    addrs: HashMap<IpAddr, VecDeque<Instant>>,
}

pub struct LoginLimiter {
    per_login: usize,
    per_address: usize,
    window: Duration,
    failures: Mutex<Failures>,
}

/// Logins are compared case-insensitively (directories usually are).
fn key(login: &str) -> String {
    login.trim().to_lowercase()
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        q.pop_front();
    }
}

/// `Some(wait)` if `q` already holds `max` failures within the window.
fn blocked(
    q: Option<&mut VecDeque<Instant>>,
    max: usize,
    now: Instant,
    window: Duration,
) -> Option<Duration> {
    let q = q?;
    prune(q, now, window);
    if max == 0 || q.len() < max {
        return None;
    }
    // The failure whose expiry brings the count below `max`.
    let t = q[q.len() - max];
    Some((t + window).saturating_duration_since(now))
}

impl LoginLimiter {
    pub fn new(cfg: &LoginRateLimit) -> Self {
        LoginLimiter {
            per_login: cfg.per_login as usize,
            per_address: cfg.per_address as usize,
            window: Duration::from_secs(cfg.window),
            failures: Mutex::new(Failures::default()),
        }
    }

    fn disabled(&self) -> bool {
        self.window.is_zero() || (self.per_login == 0 && self.per_address == 0)
    }

    /// `Err(seconds to wait)` when `login` or `addr` has used up its failures.
    pub fn check(&self, login: &str, addr: Option<IpAddr>) -> Result<(), u64> {
        self.check_at(login, addr, Instant::now())
    }

    pub fn check_at(&self, login: &str, addr: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        if self.disabled() {
            return Ok(());
        }
        let Ok(mut f) = self.failures.lock() else {
            return Ok(());
        };
        let by_login = blocked(
            f.logins.get_mut(&key(login)),
            self.per_login,
            now,
            self.window,
        );
        let by_addr =
            addr.and_then(|a| blocked(f.addrs.get_mut(&a), self.per_address, now, self.window));
        match by_login.max(by_addr) {
            Some(wait) => Err(wait.as_secs_f64().ceil().max(1.0) as u64),
            None => Ok(()),
        }
    }

    /// Count a failed login.
    pub fn failed(&self, login: &str, addr: Option<IpAddr>) {
        self.failed_at(login, addr, Instant::now())
    }

    pub fn failed_at(&self, login: &str, addr: Option<IpAddr>, now: Instant) {
        if self.disabled() {
            return;
        }
        let Ok(mut f) = self.failures.lock() else {
            return;
        };
        let window = self.window;
        if f.logins.len() + f.addrs.len() > SWEEP_AT {
            f.logins.retain(|_, q| {
                prune(q, now, window);
                !q.is_empty()
            });
            f.addrs.retain(|_, q| {
                prune(q, now, window);
                !q.is_empty()
            });
        }
        if self.per_login > 0 {
            let q = f.logins.entry(key(login)).or_default();
            prune(q, now, window);
            q.push_back(now);
            // Keep no more than needed to decide.
            while q.len() > self.per_login {
                q.pop_front();
            }
        }
        if let (Some(a), true) = (addr, self.per_address > 0) {
            let q = f.addrs.entry(a).or_default();
            prune(q, now, window);
            q.push_back(now);
            while q.len() > self.per_address {
                q.pop_front();
            }
        }
    }

    /// A successful login clears the failures of `login`.
    pub fn succeeded(&self, login: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.logins.remove(&key(login));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_login: u32, per_address: u32) -> LoginLimiter {
        LoginLimiter::new(&LoginRateLimit {
            per_login,
            per_address,
            window: 60,
        })
    }

    #[test]
    fn a_login_is_blocked_after_its_failures_until_the_window_passes() {
        let l = limiter(5, 20);
        let a: Option<IpAddr> = "10.0.0.1".parse().ok();
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(l.check_at("alice", a, t0), Ok(()), "attempt {i}");
            l.failed_at("alice", a, t0 + Duration::from_secs(i));
        }
        let t = t0 + Duration::from_secs(10);
        assert_eq!(l.check_at("alice", a, t), Err(50));
        assert_eq!(l.check_at("ALICE", a, t), Err(50), "case-insensitive");
        assert_eq!(l.check_at("bob", a, t), Ok(()), "other logins are fine");
        // The first failure leaves the window at t0+60.
        assert_eq!(l.check_at("alice", a, t0 + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn success_resets_the_login_but_not_the_address() {
        let l = limiter(3, 5);
        let a: Option<IpAddr> = "10.0.0.2".parse().ok();
        let t0 = Instant::now();
        for _ in 0..2 {
            l.failed_at("carol", a, t0);
        }
        l.succeeded("carol");
        for _ in 0..2 {
            l.failed_at("carol", a, t0);
        }
        assert_eq!(l.check_at("carol", a, t0), Ok(()), "counter was reset");
        l.failed_at("erin", a, t0);
        assert!(l.check_at("dave", a, t0).is_err(), "5 failures from a");
        let b: Option<IpAddr> = "10.0.0.3".parse().ok();
        assert_eq!(l.check_at("dave", b, t0), Ok(()));
    }

    #[test]
    fn zero_disables() {
        let l = limiter(0, 0);
        let t0 = Instant::now();
        for _ in 0..100 {
            l.failed_at("x", None, t0);
        }
        assert_eq!(l.check_at("x", None, t0), Ok(()));
    }
}
