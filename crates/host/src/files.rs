//! `files` mounts: like `spin up`, each component's files are copied into its own directory of
//! the app's working directory and mounted read-only at `/` in the guest.

use crate::manifest::FileMount;
use anyhow::{Context, Result, bail};
use std::path::{Component as PathPart, Path, PathBuf};

/// Copies a component's `files` (minus `exclude_files`) into `dest` and returns it, or `None`
/// when the component has no files.
pub fn prepare(
    app_dir: &Path,
    mounts: &[FileMount],
    exclude: &[String],
    dest: &Path,
) -> Result<Option<PathBuf>> {
    if mounts.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(dest)?;
    let excluded = exclude
        .iter()
        .map(|p| {
            glob::Pattern::new(p).with_context(|| format!("invalid exclude_files pattern `{p}`"))
        })
        .collect::<Result<Vec<_>>>()?;
    let is_excluded = |rel: &Path| excluded.iter().any(|p| p.matches_path(rel));
    for mount in mounts {
        match mount {
            FileMount::Pattern(pattern) => {
                check_relative(pattern)?;
                let source = app_dir.join(pattern);
                if source.is_file() {
                    copy(&source, &dest.join(pattern))?;
                } else if source.is_dir() {
                    for file in walk(&source)? {
                        let rel = file.strip_prefix(app_dir)?;
                        if !is_excluded(rel) {
                            copy(&file, &dest.join(rel))?;
                        }
                    }
                } else if pattern.contains(['*', '?', '[']) {
                    let full = app_dir.join(pattern);
                    for entry in glob::glob(&full.to_string_lossy())? {
                        let file = entry?;
                        if file.is_file() {
                            let rel = file.strip_prefix(app_dir)?;
                            if !is_excluded(rel) {
                                copy(&file, &dest.join(rel))?;
                            }
                        }
                    }
                } else {
                    bail!("\"{pattern}\" does not exist and doesn't appear to be a glob pattern");
                }
            }
            FileMount::Placement {
                source,
                destination,
            } => {
                check_relative(source)?;
                let source_path = app_dir.join(source);
                let target = dest.join(destination.trim_start_matches('/'));
                if source_path.is_file() {
                    if destination.ends_with('/') {
                        bail!("file mount destination `{destination}` must name a file");
                    }
                    copy(&source_path, &target)?;
                } else if source_path.is_dir() {
                    for file in walk(&source_path)? {
                        let rel_to_app = file.strip_prefix(app_dir)?;
                        if !is_excluded(rel_to_app) {
                            copy(&file, &target.join(file.strip_prefix(&source_path)?))?;
                        }
                    }
                } else {
                    bail!("file mount source `{source}` does not exist");
                }
            }
        }
    }
    Ok(Some(dest.to_path_buf()))
}

fn check_relative(path: &str) -> Result<()> {
    let p = Path::new(path);
    if p.is_absolute() || p.components().any(|c| matches!(c, PathPart::ParentDir)) {
        bail!("file mount `{path}` must stay inside the application directory");
    }
    Ok(())
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    Ok(files)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to).with_context(|| format!("failed to copy {}", from.display()))?;
    Ok(())
}
