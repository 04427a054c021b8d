//! The runtime config file (`spin up --runtime-config-file`): state and log directories, stores,
//! databases and variable providers. Unknown top-level keys are an error, as in Spin.

use crate::key_value::StoreConfig;
use crate::sqlite::DatabaseConfig;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    #[serde(default)]
    pub state_dir: Option<String>,
    #[serde(default)]
    pub log_dir: Option<String>,
    #[serde(default)]
    pub key_value_store: HashMap<String, StoreConfig>,
    #[serde(default)]
    pub sqlite_database: HashMap<String, DatabaseConfig>,
    #[serde(default, alias = "config_provider")]
    pub variables_provider: Vec<VariablesProvider>,
}

/// `[[variables_provider]]`: the providers this host implements (`vault` and
/// `azure_key_vault` need real Spin).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VariablesProvider {
    Static {
        values: HashMap<String, String>,
    },
    Env {
        #[serde(default)]
        prefix: Option<String>,
        #[serde(default)]
        dotenv_path: Option<PathBuf>,
    },
}

/// A runtime config with the directory its relative paths resolve against.
#[derive(Debug, Default)]
pub struct LoadedRuntimeConfig {
    pub config: RuntimeConfig,
    pub dir: Option<PathBuf>,
}

impl LoadedRuntimeConfig {
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read runtime config {}", path.display()))?;
        let config: RuntimeConfig = toml::from_str(&text)
            .with_context(|| format!("failed to parse runtime config {}", path.display()))?;
        let dir = std::path::absolute(path)?.parent().map(Path::to_path_buf);
        Ok(Self { config, dir })
    }

    /// Where relative key-value `path`s resolve: the runtime config's own directory.
    pub fn base_dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| PathBuf::from("."))
    }
}

/// `""` means unset, for flags and config keys alike.
pub fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}
