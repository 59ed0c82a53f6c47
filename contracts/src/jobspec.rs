//! The job spec a lease commits to, and its canonical hash (lease R7, order R6[3]).
//!
//! Canonical form: the spec with every field present (absent optional fields as `null`, absent
//! `env` as `{}`), serialised as JSON with object keys sorted by their UTF-8 bytes, no
//! whitespace, strings escaped as serde_json does. The hash is blake2b256 of those bytes. A
//! renter computes it with [`job_spec_hash`] (or any JSON library that sorts keys) when placing
//! the order; the worker recomputes it from the submitted spec and refuses any difference.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What to run. Unknown fields are refused (nothing is silently ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Image reference as the Docker daemon knows it (`repo:tag` or `sha256:...`).
    pub image: String,
    /// Command and arguments (empty: the image's default command).
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub resources: Resources,
}

/// Upper limits the job asks for; each must be within the worker's limits (absent = the
/// worker's limit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub memory_mib: Option<u64>,
    /// Thousandths of a CPU core.
    pub cpu_millis: Option<u64>,
    pub pids: Option<i64>,
    /// GPUs wanted (0 = none); only with a worker configured for GPUs.
    pub gpus: Option<u32>,
}

/// Why a spec is refused; `field` names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> SpecError {
    SpecError {
        field: field.into(),
        reason: reason.into(),
    }
}

impl JobSpec {
    /// Parses a submitted spec (JSON), naming the field on error.
    pub fn from_json(bytes: &[u8]) -> Result<JobSpec, SpecError> {
        let spec: JobSpec =
            serde_json::from_slice(bytes).map_err(|e| err("spec", e.to_string()))?;
        spec.check()?;
        Ok(spec)
    }

    /// Shape checks that do not depend on the worker's limits.
    pub fn check(&self) -> Result<(), SpecError> {
        if self.image.trim().is_empty() {
            return Err(err("image", "must not be empty"));
        }
        if self.image.len() > 512 || self.image.chars().any(|c| c.is_whitespace()) {
            return Err(err("image", "not an image reference"));
        }
        if self.command.len() > 4096
            || self.command.iter().map(String::len).sum::<usize>() > 1 << 20
        {
            return Err(err("command", "too long"));
        }
        if self.command.iter().any(|a| a.contains('\0')) {
            return Err(err("command", "contains a NUL byte"));
        }
        if self.env.len() > 1024 {
            return Err(err("env", "too many variables"));
        }
        for (k, v) in &self.env {
            if k.is_empty()
                || k.contains('=')
                || k.contains('\0')
                || v.contains('\0')
                || k.len() + v.len() > 65536
            {
                return Err(err(format!("env.{k}"), "not a valid environment variable"));
            }
        }
        Ok(())
    }

    /// The canonical JSON bytes (see the module docs).
    pub fn canonical_json(&self) -> Vec<u8> {
        #[allow(clippy::expect_used)] // plain strings, maps and integers always serialise
        let v = serde_json::to_value(self).expect("a job spec serialises");
        let mut out = Vec::new();
        write_canonical(&v, &mut out);
        out
    }
}

/// blake2b256 of [`JobSpec::canonical_json`]: the value a lease's R7 must hold.
pub fn job_spec_hash(spec: &JobSpec) -> [u8; 32] {
    crate::util::blake2b256(&spec.canonical_json())
}

/// JSON with object keys sorted (whatever the `serde_json` map order is) and no whitespace.
pub fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(&Value::String(k.clone()), out);
                out.push(b':');
                if let Some(x) = m.get(k) {
                    write_canonical(x, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, out);
            }
            out.push(b']');
        }
        other => {
            #[allow(clippy::expect_used)] // scalars always serialise
            out.extend(serde_json::to_vec(other).expect("scalar"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_is_stable_and_complete() {
        let a = JobSpec::from_json(br#"{"image":"x:1","command":["echo","hi"]}"#).unwrap();
        let b = JobSpec::from_json(
            br#"{ "command": ["echo", "hi"], "resources": {}, "env": {}, "image": "x:1" }"#,
        )
        .unwrap();
        assert_eq!(a.canonical_json(), b.canonical_json());
        assert_eq!(job_spec_hash(&a), job_spec_hash(&b));
        assert_eq!(
            String::from_utf8(a.canonical_json()).unwrap(),
            r#"{"command":["echo","hi"],"env":{},"image":"x:1","resources":{"cpu_millis":null,"gpus":null,"memory_mib":null,"pids":null}}"#
        );
        let c = JobSpec::from_json(br#"{"image":"x:1","command":["echo","ho"]}"#).unwrap();
        assert_ne!(job_spec_hash(&a), job_spec_hash(&c));
    }

    #[test]
    fn bad_specs_name_the_field() {
        let e = JobSpec::from_json(br#"{"image":"x","extra":1}"#).unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
        let e = JobSpec::from_json(br#"{"image":""}"#).unwrap_err();
        assert_eq!(e.field, "image");
        let e = JobSpec::from_json(br#"{"image":"x","env":{"A=B":"c"}}"#).unwrap_err();
        assert_eq!(e.field, "env.A=B");
        assert!(JobSpec::from_json(b"not json").is_err());
    }
}
