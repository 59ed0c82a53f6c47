//! DGCM bots: the executor framework and the bots anyone can run for the contracts' capped fees.

pub mod bench;
pub mod policy;
