//! GPU detection and samples through NVML (nvml-wrapper, which loads libnvidia-ml at run time).
//!
//! Without the library or a driver (e.g. this CI machine), `Nvml::init()` fails: the worker then
//! says so loudly, takes the listing's GPU spec from `[worker.gpu]`, and its usage samples have no
//! GPU part. That configured spec is the only stand-in ("mock") for a GPU in this crate.

use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::Nvml;
use serde::{Deserialize, Serialize};

use crate::config::GpuConfig;

/// The GPU spec published in the listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// `nvml` (detected) or `config` (NVML unavailable or disabled).
    pub source: String,
    pub model: String,
    /// Per GPU.
    pub vram_mib: i64,
    pub count: i64,
    pub driver: String,
    /// Why NVML is not used, when it is not.
    pub nvml_error: Option<String>,
}

/// One GPU at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuSample {
    pub index: u32,
    pub util_pct: u32,
    pub memory_used_bytes: u64,
    pub power_mw: u32,
    pub temp_c: u32,
}

pub struct Gpu {
    nvml: Option<Nvml>,
    pub info: GpuInfo,
}

impl Gpu {
    /// NVML when it loads and sees at least one device; the configured spec otherwise.
    pub fn detect(cfg: &GpuConfig) -> Gpu {
        let fallback = |reason: String| {
            tracing::warn!(
                "NVML unavailable ({reason}): NO GPU METRICS; the listing's GPU spec comes from \
                 [worker.gpu] (model {:?}, {} MiB x {}) and is not verified",
                cfg.model,
                cfg.vram_mib,
                cfg.count
            );
            Gpu {
                nvml: None,
                info: GpuInfo {
                    source: "config".into(),
                    model: cfg.model.clone(),
                    vram_mib: cfg.vram_mib,
                    count: cfg.count,
                    driver: cfg.driver.clone(),
                    nvml_error: Some(reason),
                },
            }
        };
        if !cfg.nvml {
            return fallback("disabled by worker.gpu.nvml = false".into());
        }
        let nvml = match Nvml::init() {
            Ok(n) => n,
            Err(e) => return fallback(format!("NVML init: {e}")),
        };
        let count = match nvml.device_count() {
            Ok(0) => return fallback("NVML sees no device".into()),
            Ok(n) => n,
            Err(e) => return fallback(format!("NVML device count: {e}")),
        };
        let first = match nvml.device_by_index(0) {
            Ok(d) => d,
            Err(e) => return fallback(format!("NVML device 0: {e}")),
        };
        let model = first.name().unwrap_or_else(|_| cfg.model.clone());
        let vram_mib = first
            .memory_info()
            .map(|m| (m.total / (1024 * 1024)) as i64)
            .unwrap_or(cfg.vram_mib);
        let driver = nvml.sys_driver_version().unwrap_or_default();
        tracing::info!(%model, vram_mib, count, %driver, "GPUs detected through NVML");
        Gpu {
            info: GpuInfo {
                source: "nvml".into(),
                model,
                vram_mib,
                count: count as i64,
                driver,
                nvml_error: None,
            },
            nvml: Some(nvml),
        }
    }

    pub fn available(&self) -> bool {
        self.nvml.is_some()
    }

    /// Current readings of every GPU (empty without NVML); a failing reading is 0.
    pub fn sample(&self) -> Vec<GpuSample> {
        let Some(nvml) = &self.nvml else {
            return vec![];
        };
        let n = nvml.device_count().unwrap_or(0);
        (0..n)
            .filter_map(|i| {
                let d = nvml.device_by_index(i).ok()?;
                Some(GpuSample {
                    index: i,
                    util_pct: d.utilization_rates().map(|u| u.gpu).unwrap_or(0),
                    memory_used_bytes: d.memory_info().map(|m| m.used).unwrap_or(0),
                    power_mw: d.power_usage().unwrap_or(0),
                    temp_c: d.temperature(TemperatureSensor::Gpu).unwrap_or(0),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_driver_the_spec_comes_from_config_and_says_why() {
        let cfg = GpuConfig {
            model: "RTX 4090".into(),
            vram_mib: 24576,
            ..Default::default()
        };
        let g = Gpu::detect(&cfg);
        if g.available() {
            eprintln!("NVML present on this machine: detected {:?}", g.info);
            return;
        }
        assert_eq!(g.info.source, "config");
        assert_eq!(g.info.model, "RTX 4090");
        assert!(g.info.nvml_error.is_some());
        assert!(g.sample().is_empty());
        let off = Gpu::detect(&GpuConfig { nvml: false, ..cfg });
        assert!(off.info.nvml_error.unwrap().contains("disabled"));
    }
}
