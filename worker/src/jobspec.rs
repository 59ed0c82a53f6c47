//! The job spec and its canonical hash live in `dgcm_contracts::jobspec` (the lease commits to
//! the hash, and `dgcm tx place-order --job-spec` computes the same one); re-exported here.

pub use dgcm_contracts::jobspec::*;
