//! The Spin application manifest (`spin.toml`, `spin_manifest_version = 2`): the subset of the
//! format this host runs, parsed strictly so that a typo is an error at start-up, as in Spin.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, Component>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub trigger: ApplicationTriggers,
}

#[derive(Debug, Default, Deserialize)]
pub struct ApplicationTriggers {
    #[serde(default)]
    pub http: Option<ApplicationHttp>,
    #[serde(default)]
    pub redis: Option<ApplicationRedis>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationHttp {
    #[serde(default)]
    pub base: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRedis {
    pub address: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    #[serde(default)]
    pub redis: Vec<RedisTrigger>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    #[serde(default)]
    pub id: Option<String>,
    pub route: RouteSpec,
    /// Exactly one of `component` and `static_response`.
    #[serde(default)]
    pub component: Option<String>,
    #[serde(default)]
    pub static_response: Option<StaticResponse>,
    #[serde(default)]
    pub executor: Option<toml::Value>,
}

/// A route answered by the host itself, with no component.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticResponse {
    #[serde(default = "default_status")]
    pub status_code: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
}

fn default_status() -> u16 {
    200
}

impl HttpTrigger {
    /// The router's target: the component id, or a name for a static response.
    pub fn target(&self, index: usize) -> String {
        match &self.component {
            Some(id) => id.clone(),
            None => format!("{STATIC_TARGET_PREFIX}{index}"),
        }
    }
}

/// Router targets that name a `static_response` trigger rather than a component (component ids
/// cannot contain `:`).
pub const STATIC_TARGET_PREFIX: &str = "static-response:";

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RouteSpec {
    Route(String),
    Private { private: bool },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTrigger {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    pub channel: String,
    pub component: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub source: Source,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<FileMount>,
    #[serde(default)]
    pub exclude_files: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub allowed_http_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub ai_models: Vec<String>,
    #[serde(default)]
    pub build: Option<BuildConfig>,
    #[serde(default)]
    pub dependencies_inherit_configuration: Option<bool>,
    #[serde(default)]
    pub tool: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Source {
    Local(String),
    Remote(toml::Value),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileMount {
    Pattern(String),
    Placement { source: String, destination: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    pub command: BuildCommand,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub watch: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BuildCommand {
    One(String),
    Many(Vec<String>),
}

impl BuildCommand {
    pub fn commands(&self) -> Vec<&str> {
        match self {
            BuildCommand::One(c) => vec![c.as_str()],
            BuildCommand::Many(cs) => cs.iter().map(String::as_str).collect(),
        }
    }
}

/// A manifest read from disk, with the directory its relative paths resolve against.
#[derive(Debug)]
pub struct LoadedManifest {
    pub manifest: Manifest,
    pub path: PathBuf,
    pub dir: PathBuf,
}

impl LoadedManifest {
    pub fn load(path: &Path) -> Result<Self> {
        let path = if path.is_dir() {
            path.join("spin.toml")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("failed to read manifest {}", path.display()))?;
        let manifest: Manifest = toml::from_str(&text)
            .with_context(|| format!("failed to parse manifest {}", path.display()))?;
        manifest.validate()?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let dir = dir
            .canonicalize()
            .with_context(|| format!("no directory {}", dir.display()))?;
        Ok(Self {
            manifest,
            path,
            dir,
        })
    }

    pub fn component_source(&self, id: &str) -> Result<PathBuf> {
        let component = &self.manifest.component[id];
        match &component.source {
            Source::Local(p) => Ok(self.dir.join(p)),
            Source::Remote(_) => bail!(
                "component `{id}`: only local `source` paths are supported by this host \
                 (remote `url`/`registry` sources need real Spin)"
            ),
        }
    }
}

impl Manifest {
    fn validate(&self) -> Result<()> {
        if self.spin_manifest_version != 2 {
            bail!(
                "unsupported spin_manifest_version {}: this host runs version 2 manifests",
                self.spin_manifest_version
            );
        }
        for name in self.variables.keys() {
            crate::variables::validate_name(name)
                .with_context(|| format!("invalid variable name `{name}`"))?;
        }
        for (name, decl) in &self.variables {
            if decl.required && decl.default.is_some() {
                bail!("variable `{name}` cannot be both `required` and have a `default`");
            }
        }
        for (id, component) in &self.component {
            validate_component_id(id)?;
            for name in component.variables.keys() {
                crate::variables::validate_name(name)
                    .with_context(|| format!("component `{id}`: invalid variable name `{name}`"))?;
            }
        }
        let mut seen_trigger_ids = HashMap::new();
        for trigger in &self.trigger.http {
            match (&trigger.component, &trigger.static_response) {
                (Some(id), None) => self.check_component_ref(id, "trigger.http")?,
                (None, Some(_)) => {}
                _ => bail!(
                    "an HTTP trigger must have exactly one of `component` and `static_response`"
                ),
            }
            if let Some(executor) = &trigger.executor {
                let kind = executor.get("type").and_then(|t| t.as_str()).unwrap_or("");
                if kind != "spin" && kind != "http" {
                    bail!("HTTP trigger executor `{kind}` is not supported by this host");
                }
            }
            if let Some(id) = &trigger.id
                && seen_trigger_ids.insert(id.clone(), ()).is_some()
            {
                bail!("duplicate trigger id `{id}`");
            }
        }
        for trigger in &self.trigger.redis {
            self.check_component_ref(&trigger.component, "trigger.redis")?;
            if trigger.address.is_none() && self.application.trigger.redis.is_none() {
                bail!(
                    "Redis trigger for component `{}` has no `address` and there is no \
                     [application.trigger.redis] address",
                    trigger.component
                );
            }
        }
        Ok(())
    }

    fn check_component_ref(&self, id: &str, what: &str) -> Result<()> {
        if !self.component.contains_key(id) {
            bail!("{what} refers to component `{id}`, which is not defined in the manifest");
        }
        Ok(())
    }
}

/// Spin component ids are kebab-case: lower-case letters, digits and single dashes, starting
/// with a letter. They double as `ID.spin.internal` host names for service chaining.
pub fn validate_component_id(id: &str) -> Result<()> {
    let ok = id.split('-').all(|word| {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    }) && id.starts_with(|c: char| c.is_ascii_lowercase());
    if !ok {
        bail!("invalid component id `{id}`: use lower-case kebab-case such as `my-component`");
    }
    Ok(())
}
