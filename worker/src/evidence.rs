//! What a completion commits to. R9 of the completed lease (its "usage commitment") is
//! blake2b256 of the job's **evidence manifest**, `evidence.json`: the digests of everything the
//! renter may need in a dispute — the usage samples, the log, the results archive — with the exit
//! code, the final status and the image the job ran (its ID). The renter downloads the manifest
//! (`GET /v1/leases/{id}/evidence`), checks its blake2b256 against R9 on chain, then each file
//! against its digest. The contracts only require R9 to be 32 bytes; nothing on chain changes.

use std::io::Read;
use std::path::Path;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use serde::{Deserialize, Serialize};

/// The manifest (fields in this order; serialised with `serde_json`, no whitespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Format version: 1.
    pub version: u32,
    pub lease_id: String,
    /// The image ID the container was created from (`sha256:…`), or the spec's image for the
    /// process runtime.
    pub image: String,
    /// Final status (`succeeded`, `failed`, `oom_killed`, `deadline_exceeded`).
    pub status: String,
    pub exit_code: Option<i64>,
    /// blake2b256 (hex) of the usage samples file as served by `GET …/usage`.
    pub usage_blake2b256: String,
    /// blake2b256 (hex) of the log as served by `GET …/logs`.
    pub log_blake2b256: String,
    /// blake2b256 (hex) of the results archive as served by `GET …/results`, or `None` with
    /// the reason in `results_error` (e.g. above the worker's results cap).
    pub results_blake2b256: Option<String>,
    pub results_error: Option<String>,
}

impl Evidence {
    /// The manifest's bytes, as served and as committed.
    pub fn to_bytes(&self) -> Vec<u8> {
        #[allow(clippy::expect_used)] // strings, integers and options always serialise
        serde_json::to_vec(self).expect("evidence serialises")
    }

    /// What R9 holds: blake2b256 of [`Evidence::to_bytes`].
    pub fn commitment(&self) -> [u8; 32] {
        dgcm_contracts::util::blake2b256(&self.to_bytes())
    }
}

/// blake2b256 of a file, streamed (results archives can be large); an absent file hashes as
/// empty.
pub fn file_blake2b256(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut h = Blake2b::<U32>::new();
    match std::fs::File::open(path) {
        Ok(mut f) => {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_digest_equals_the_one_shot_digest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        assert_eq!(
            file_blake2b256(&p).unwrap(),
            dgcm_contracts::util::blake2b256(&data)
        );
        assert_eq!(
            file_blake2b256(&dir.path().join("absent")).unwrap(),
            dgcm_contracts::util::blake2b256(b"")
        );
    }
}
