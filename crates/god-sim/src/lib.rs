//! Go-Docker scheduling in virtual time: a deterministic simulator that drives the pure
//! scheduling pass (`god_core::schedule::pass`) repeatedly, a seeded workload generator, and
//! large synthetic snapshots for benchmarks (`cargo run --release -p god-sim --bin sched-bench`).
//!
//! Architecture invariant: no wall clock and no I/O in the library; time is virtual and every
//! run is reproducible from its seed. Only the `sched-bench` binary reads the clock (to time
//! passes) and `/proc/self/statm` (to measure memory).

pub mod bench;
pub mod rng;
pub mod sim;

pub use rng::Rng;
pub use sim::{simulate, three_users, JobMix, Report, SimConfig, UserSpec, Workload};
