//! The wasmtime engine: pooling allocator for cheap per-request instances, and an on-disk cache
//! of compiled components (as Spin keeps wasmtime's cache), so a restart does not recompile.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Instances that may be alive at once across the whole process unless `SPIN_MAX_INSTANCE_COUNT`
/// says otherwise (Spin's default and variable). Every request in progress holds one, so this is
/// also the most requests served at once (a long poll holds its instance while it waits).
const DEFAULT_MAX_INSTANCES: u32 = 1000;

/// `SPIN_MAX_INSTANCE_COUNT`, as Spin reads it; the default when unset or not a number.
fn max_instances() -> u32 {
    std::env::var("SPIN_MAX_INSTANCE_COUNT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_INSTANCES)
}
/// Largest linear memory a guest may grow to.
pub const MAX_MEMORY_BYTES: usize = 256 << 20;

/// The process's one engine, as in Spin: every app loaded in this process shares its instance
/// pool (each pool reserves terabytes of address space, so one per app would not scale).
pub fn shared_engine() -> Result<Engine> {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine.clone());
    }
    let engine = new_engine()?;
    Ok(ENGINE.get_or_init(|| engine).clone())
}

fn new_engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);

    let max_instances = max_instances();
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        // As Spin derives them from SPIN_MAX_INSTANCE_COUNT: a spin-sdk component instantiates
        // three core instances (its module and the adapters), so Spin's four per component.
        .total_component_instances(max_instances)
        .total_core_instances(max_instances * 4)
        // A spin-sdk component has one linear memory; each slot reserves 4 GiB of address
        // space (so bounds checks are free), and several apps may share one test process.
        .total_memories(max_instances)
        .total_tables(max_instances * 2)
        .max_memory_size(MAX_MEMORY_BYTES)
        .max_component_instance_size(1 << 20)
        .max_core_instances_per_component(32)
        .max_memories_per_component(32)
        .max_tables_per_component(32)
        .total_stacks(max_instances)
        // Resetting a slot with madvise on every request costs cross-core TLB shootdowns; keep
        // the first MiB resident and reset it in place, using the kernel's pagemap scan (Linux
        // 6.7+) to touch only pages the guest dirtied. Together they doubled /health
        // throughput in the benchmark; keep-resident alone made it worse.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(1 << 20)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("failed to create the wasmtime engine")
}

/// Loads a component, reusing a cached compilation when the bytes and engine match.
pub fn load_component(engine: &Engine, path: &Path) -> Result<Component> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "failed to read component {} (has it been built? run `spindle build`)",
            path.display()
        )
    })?;
    let Some(cache_path) = cache_path(engine, &bytes) else {
        return Ok(Component::new(engine, &bytes)?);
    };
    if cache_path.exists() {
        // SAFETY: the file was written by `Component::serialize` for an engine with the same
        // compatibility hash (part of the file name) and is only ever replaced atomically.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cache_path) } {
            return Ok(component);
        }
    }
    let component = Component::new(engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("failed to compile component {}", path.display()))?;
    if let Ok(serialized) = component.serialize() {
        let tmp = cache_path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, serialized).is_ok() {
            let _ = std::fs::rename(&tmp, &cache_path);
        }
    }
    Ok(component)
}

fn cache_path(engine: &Engine, bytes: &[u8]) -> Option<PathBuf> {
    let base = std::env::var_os("SPINDLE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("spindle")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/spindle")))?;
    let dir = base.join("components");
    std::fs::create_dir_all(&dir).ok()?;
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    std::hash::Hash::hash(
        &engine.precompile_compatibility_hash(),
        &mut HashWriter(&mut hasher),
    );
    Some(dir.join(format!("{}.cwasm", hex::encode(hasher.finalize()))))
}

struct HashWriter<'a>(&'a mut Sha256);
impl std::hash::Hasher for HashWriter<'_> {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
