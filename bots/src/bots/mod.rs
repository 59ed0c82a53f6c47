//! The bots: each turns the round's market view into jobs for the executor runtime.

pub mod liquidator;
pub mod matcher;
pub mod rosen_relay;
pub mod settle;

pub use liquidator::liquidator_jobs;
pub use matcher::matcher_jobs;
pub use rosen_relay::{rosen_jobs, RosenRelay};
pub use settle::{settler_jobs, slasher_jobs};
