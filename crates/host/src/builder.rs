//! `spindle build`: runs each component's `[component.ID.build] command`, as `spin build` does.

use crate::manifest::LoadedManifest;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

pub fn build(manifest_path: &Path, only: &[String]) -> Result<()> {
    let loaded = LoadedManifest::load(manifest_path)?;
    for id in only {
        if !loaded.manifest.component.contains_key(id) {
            bail!("no component `{id}` in {}", loaded.path.display());
        }
    }
    for (id, component) in &loaded.manifest.component {
        if !only.is_empty() && !only.contains(id) {
            continue;
        }
        let Some(build) = &component.build else {
            eprintln!("Component {id} has no build command, skipping");
            continue;
        };
        let workdir = match &build.workdir {
            Some(w) => loaded.dir.join(w),
            None => loaded.dir.clone(),
        };
        for command in build.command.commands() {
            eprintln!("Building component {id} with `{command}`");
            let status = Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&workdir)
                .envs(&build.environment)
                .status()
                .with_context(|| format!("failed to run build command for component {id}"))?;
            if !status.success() {
                bail!("build command for component {id} failed ({status})");
            }
        }
    }
    eprintln!("Finished building all Spin components");
    Ok(())
}
