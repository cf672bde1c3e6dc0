//! Time as data. Nothing in this crate reads the wall clock: decisions take `now` as an argument.
//! The service's loops ask a [`Clock`] for it: the system's in production, a [`ManualClock`]
//! that tests move by hand, so that a test of a lifespan or a decay never sleeps.

use std::sync::atomic::{AtomicU64, Ordering};

pub trait Clock: Send + Sync {
    /// Seconds since the epoch.
    fn now(&self) -> f64;
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    bits: AtomicU64,
}

impl ManualClock {
    pub fn at(t: f64) -> Self {
        ManualClock {
            bits: AtomicU64::new(t.to_bits()),
        }
    }

    pub fn set(&self, t: f64) {
        self.bits.store(t.to_bits(), Ordering::SeqCst);
    }

    pub fn advance(&self, secs: f64) {
        self.set(self.now() + secs);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = ManualClock::at(1000.0);
        assert_eq!(c.now(), 1000.0);
        c.advance(2.5);
        assert_eq!(c.now(), 1002.5);
        c.set(7.0);
        assert_eq!(c.now(), 7.0);
    }
}
