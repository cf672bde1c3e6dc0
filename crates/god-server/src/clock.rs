//! The only place the service reads the wall clock: decisions get `now` as an argument.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The system's clock.
pub struct SystemClock;

impl god_core::clock::Clock for SystemClock {
    fn now(&self) -> f64 {
        now()
    }
}
