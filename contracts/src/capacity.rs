//! A listing's capacity (PROTOCOL.md, "Capacity"): the one definition of the two rules the
//! listing and order scripts enforce and every tool (builders, matcher, worker, `dgcm tx`,
//! indexer) applies the same way.
//!
//! - **Busy rule** (issue 23): a match writes the new lease's deadline into the listing
//!   successor's R7 (`busyUntil`, Long); a listing is matched only when `HEIGHT > busyUntil`
//!   (absent R7 = free). The provider's own path may clear it early (its worker does once the
//!   lease is completed).
//! - **Fit rule** (issue 24): a listing publishes the limits its worker enforces on a job
//!   ([`Capacity`], listing R5 7..10); an order declares its job's requests (order R5 8..11); a
//!   match by the order needs every request ≤ the listing's limit. The worker runs any job spec
//!   whose resources fit its listing ([`spec_fits`]) and refuses one that does not (the renter's
//!   fault: settled as a no-show).

use serde::{Deserialize, Serialize};

use crate::jobspec::{JobSpec, SpecError};

/// The least memory (MiB), CPU (thousandths of a core) and processes a job may ask for.
pub const MIN_MEMORY_MIB: i64 = 4;
pub const MIN_CPU_MILLIS: i64 = 10;
pub const MIN_PIDS: i64 = 1;

/// Resource amounts: a listing's limits (R5 `[7 maxMemoryMiB, 8 maxCpuMillis, 9 maxPids,
/// 10 maxDiskMiB]`) or an order's requests (R5 `[8 memoryMiB, 9 cpuMillis, 10 pids,
/// 11 diskMiB]`, 0 = no request).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Capacity {
    pub memory_mib: i64,
    /// Thousandths of a CPU core.
    pub cpu_millis: i64,
    pub pids: i64,
    /// Disk for the job's output (the worker's `/output` quota).
    pub disk_mib: i64,
}

/// The limits a worker enforces unless configured otherwise (`worker.docker`: memory_mib,
/// cpu_millis, pids_limit, max_output_mib), and what `dgcm tx list` publishes by default.
pub const DEFAULT_LIMITS: Capacity = Capacity {
    memory_mib: 4096,
    cpu_millis: 2000,
    pids: 256,
    disk_mib: 1024,
};

/// Field names, in register order.
pub const FIELDS: [&str; 4] = ["memory_mib", "cpu_millis", "pids", "disk_mib"];

impl Capacity {
    pub fn to_vec(self) -> Vec<i64> {
        vec![self.memory_mib, self.cpu_millis, self.pids, self.disk_mib]
    }

    /// From four register elements (the caller checked the length).
    pub fn from_slice(v: &[i64]) -> Capacity {
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        Capacity {
            memory_mib: at(0),
            cpu_millis: at(1),
            pids: at(2),
            disk_mib: at(3),
        }
    }

    /// The first negative field, if any (a negative limit or request means nothing).
    pub fn negative(&self) -> Option<&'static str> {
        FIELDS
            .iter()
            .zip(self.to_vec())
            .find(|(_, v)| *v < 0)
            .map(|(f, _)| *f)
    }
}

/// Why requests do not fit limits: the field, what was asked and the most allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {asked} asked, the listing allows at most {max}")]
pub struct Overrun {
    pub field: &'static str,
    pub asked: i64,
    pub max: i64,
}

/// The fit rule of order.es: every request ≤ the listing's limit.
pub fn fits(requests: &Capacity, limits: &Capacity) -> Result<(), Overrun> {
    for ((field, asked), max) in FIELDS.iter().zip(requests.to_vec()).zip(limits.to_vec()) {
        if asked > max {
            return Err(Overrun { field, asked, max });
        }
    }
    Ok(())
}

/// The busy rule of listing.es and order.es: a listing whose R7 is `busy_until` may be matched
/// by a transaction in block `height`.
pub fn free_at(busy_until: Option<i64>, height: u32) -> bool {
    busy_until.is_none_or(|b| height as i64 > b)
}

/// What a job spec asks for, as an order declares it: each absent request is 0 (the worker's
/// limit applies, which every listing has); the spec has no disk request.
pub fn spec_requests(spec: &JobSpec) -> Capacity {
    let r = &spec.resources;
    let n = |x: Option<u64>| x.map_or(0, |v| i64::try_from(v).unwrap_or(i64::MAX));
    Capacity {
        memory_mib: n(r.memory_mib),
        cpu_millis: n(r.cpu_millis),
        pids: r.pids.unwrap_or(0),
        disk_mib: 0,
    }
}

/// Whether a worker publishing `limits` and `gpu_count` GPUs must run `spec`: each request
/// (absent = the limit) within `[minimum, limit]`, and at most `gpu_count` GPUs. The worker
/// refuses exactly the specs this refuses (its limits are its listing's), naming the field.
pub fn spec_fits(spec: &JobSpec, limits: &Capacity, gpu_count: i64) -> Result<(), SpecError> {
    let r = &spec.resources;
    let n = |x: Option<u64>, d: i64| x.map_or(d, |v| i64::try_from(v).unwrap_or(i64::MAX));
    let checks = [
        (
            "memory_mib",
            n(r.memory_mib, limits.memory_mib),
            MIN_MEMORY_MIB,
            limits.memory_mib,
        ),
        (
            "cpu_millis",
            n(r.cpu_millis, limits.cpu_millis),
            MIN_CPU_MILLIS,
            limits.cpu_millis,
        ),
        ("pids", r.pids.unwrap_or(limits.pids), MIN_PIDS, limits.pids),
        ("gpus", r.gpus.map_or(0, i64::from), 0, gpu_count),
    ];
    for (field, asked, min, max) in checks {
        if asked > max || asked < min {
            return Err(SpecError {
                field: format!("resources.{field}"),
                reason: format!(
                    "{asked} asked, this listing allows at most {max} (and at least {min})"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(m: i64, c: i64, p: i64, d: i64) -> Capacity {
        Capacity {
            memory_mib: m,
            cpu_millis: c,
            pids: p,
            disk_mib: d,
        }
    }

    #[test]
    fn fit_and_busy_rules() {
        let l = cap(4096, 2000, 256, 1024);
        assert!(fits(&cap(4096, 2000, 256, 1024), &l).is_ok());
        assert!(fits(&Capacity::default(), &l).is_ok());
        let e = fits(&cap(4097, 0, 0, 0), &l).unwrap_err();
        assert_eq!((e.field, e.asked, e.max), ("memory_mib", 4097, 4096));
        assert_eq!(fits(&cap(0, 0, 0, 2048), &l).unwrap_err().field, "disk_mib");
        assert!(free_at(None, 1));
        assert!(free_at(Some(99), 100));
        assert!(!free_at(Some(100), 100));
        assert_eq!(cap(1, -1, 0, 0).negative(), Some("cpu_millis"));
    }

    #[test]
    fn a_spec_fits_its_listing_or_names_the_field() {
        let l = cap(4096, 2000, 256, 1024);
        let mut s = JobSpec::from_json(br#"{"image":"x:1"}"#).unwrap();
        assert!(spec_fits(&s, &l, 0).is_ok(), "absent = the listing's limit");
        assert_eq!(spec_requests(&s), Capacity::default());
        s.resources.memory_mib = Some(8192);
        assert_eq!(
            spec_fits(&s, &l, 0).unwrap_err().field,
            "resources.memory_mib"
        );
        s.resources.memory_mib = Some(2);
        assert!(spec_fits(&s, &l, 0).is_err(), "below the minimum");
        s.resources.memory_mib = Some(2048);
        s.resources.gpus = Some(1);
        assert_eq!(spec_fits(&s, &l, 0).unwrap_err().field, "resources.gpus");
        assert!(spec_fits(&s, &l, 1).is_ok());
        assert_eq!(spec_requests(&s).memory_mib, 2048);
    }
}
