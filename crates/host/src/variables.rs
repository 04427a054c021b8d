//! `fermyon:spin/variables@2.0.0` and application variables: `[variables]` declarations with
//! `default`/`required`/`secret`, component `variables` templates (`"https://{{ host }}/"`),
//! and the environment provider (`SPIN_VARIABLE_NAME`, then a `.env` file in the working directory).

use crate::bindings::spin::variables::{self, Error};
use crate::manifest::VariableDecl;
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::HasData;

pub const ENV_PREFIX: &str = "SPIN_VARIABLE";

/// Spin's rule for names in the manifest: words of lower-case letters and digits, each starting
/// with a letter, joined by single underscores (`api_key`, `redis_url`).
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.split('_').all(|w| {
            w.starts_with(|c: char| c.is_ascii_lowercase())
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !ok {
        bail!(
            "`{name}` is not a valid variable name: use lower-case words of letters and digits, \
             each starting with a letter, joined by single underscores"
        );
    }
    Ok(())
}

/// The looser check Spin applies to a name a guest asks for: lower-case letters, digits and
/// single underscores, starting with a letter and ending with a letter or digit.
pub fn validate_key(name: &str) -> Result<()> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let starts = name.starts_with(|c: char| c.is_ascii_lowercase());
    if !valid_chars || !starts || name.contains("__") || name.ends_with('_') {
        bail!(
            "`{name}` is not a valid variable name: use lower-case letters, digits and single \
             underscores, starting with a letter"
        );
    }
    Ok(())
}

/// One part of a template: literal text or a `{{ variable }}` reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Literal(String),
    Variable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template(pub Vec<Part>);

impl Template {
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!("unterminated `{{{{` in `{text}`");
            };
            let name = after[..end].trim();
            validate_name(name).with_context(|| format!("invalid variable template `{text}`"))?;
            parts.push(Part::Variable(name.to_string()));
            rest = &after[end + 2..];
        }
        if rest.contains("}}") {
            bail!("unmatched `}}}}` in `{text}`");
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template(parts))
    }

    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Part::Variable(v) => Some(v.as_str()),
            Part::Literal(_) => None,
        })
    }
}

/// A source of variable values, asked in order (Spin's provider chain).
pub enum Provider {
    /// `spin up --variable` and `[[variables_provider]] type = "static"`.
    Static(HashMap<String, String>),
    /// `PREFIX_NAME` from the environment, else from a dotenv file.
    Env {
        prefix: String,
        env: HashMap<String, String>,
        dotenv: HashMap<String, String>,
    },
}

impl Provider {
    /// The environment provider Spin always appends: `SPIN_VARIABLE_*`, then `.env` in the
    /// working directory.
    pub fn env(prefix: &str, env: HashMap<String, String>, dotenv_path: &Path) -> Result<Self> {
        Ok(Provider::Env {
            prefix: prefix.trim_end_matches('_').to_string(),
            env,
            dotenv: read_dotenv(dotenv_path)?.into_iter().collect(),
        })
    }

    fn get(&self, name: &str) -> Option<String> {
        match self {
            Provider::Static(values) => values.get(name).cloned(),
            Provider::Env {
                prefix,
                env,
                dotenv,
            } => {
                let key = format!("{prefix}_{}", name.to_ascii_uppercase());
                env.get(&key).or_else(|| dotenv.get(&key)).cloned()
            }
        }
    }
}

/// Resolves application variables: the first provider with a value, then the declared default.
pub struct Resolver {
    declared: BTreeMap<String, VariableDecl>,
    /// The provider answer for each declared variable that has one.
    provided: HashMap<String, String>,
}

impl Resolver {
    pub fn new(declared: BTreeMap<String, VariableDecl>, providers: &[Provider]) -> Self {
        let provided = declared
            .keys()
            .filter_map(|name| {
                providers
                    .iter()
                    .find_map(|p| p.get(name))
                    .map(|v| (name.clone(), v))
            })
            .collect();
        Self { declared, provided }
    }

    /// Spin refuses to start when a `required` variable has no value.
    pub fn check_required(&self) -> Result<()> {
        for (name, decl) in &self.declared {
            if decl.required && !self.provided.contains_key(name) {
                bail!(
                    "no provider resolved required variable `{name}`: set {ENV_PREFIX}_{}",
                    name.to_ascii_uppercase()
                );
            }
        }
        Ok(())
    }

    /// Every variable a template names must be declared in `[variables]`.
    pub fn check_template(&self, template: &Template, context: &str) -> Result<()> {
        for name in template.variables() {
            if !self.declared.contains_key(name) {
                bail!(
                    "{context} references variable `{name}`, which is not declared in [variables]"
                );
            }
        }
        Ok(())
    }

    pub fn resolve(&self, name: &str) -> Result<String, Error> {
        let Some(decl) = self.declared.get(name) else {
            return Err(Error::Undefined(format!("no variable named {name:?}")));
        };
        if let Some(value) = self.provided.get(name) {
            return Ok(value.clone());
        }
        decl.default.clone().ok_or_else(|| {
            Error::Provider(format!("no provider resolved required variable {name:?}"))
        })
    }

    pub fn render(&self, template: &Template) -> Result<String, Error> {
        let mut out = String::new();
        for part in &template.0 {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Variable(name) => out.push_str(&self.resolve(name)?),
            }
        }
        Ok(out)
    }

    /// Renders a manifest string that may hold `{{ variable }}` templates (allowed hosts,
    /// trigger addresses) at start-up.
    pub fn render_str(&self, text: &str, context: &str) -> Result<String> {
        let template = Template::parse(text)?;
        self.check_template(&template, context)?;
        self.render(&template)
            .map_err(|e| anyhow::anyhow!("{context}: cannot resolve `{text}`: {e:?}"))
    }
}

fn read_dotenv(path: &Path) -> Result<Vec<(String, String)>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            bail!("{}: malformed line `{line}`", path.display());
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        pairs.push((key.trim().to_string(), value.to_string()));
    }
    Ok(pairs)
}

/// The per-instance side: the component's own `variables` table.
pub struct InstanceState {
    resolver: Arc<Resolver>,
    component_id: Arc<str>,
    component_vars: Arc<BTreeMap<String, Template>>,
}

impl InstanceState {
    pub fn new(
        resolver: Arc<Resolver>,
        component_id: Arc<str>,
        component_vars: Arc<BTreeMap<String, Template>>,
    ) -> Self {
        Self {
            resolver,
            component_id,
            component_vars,
        }
    }
}

pub struct Variables;
impl HasData for Variables {
    type Data<'a> = &'a mut InstanceState;
}

impl variables::Host for InstanceState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if let Err(e) = validate_key(&name) {
            return Ok(Err(Error::InvalidName(format!("{name:?}: {e}"))));
        }
        let Some(template) = self.component_vars.get(&name) else {
            return Ok(Err(Error::Undefined(format!(
                "no variable for {:?}.{name:?}",
                self.component_id
            ))));
        };
        Ok(self.resolver.render(template))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_literals_and_references() {
        let t = Template::parse("redis://{{ host }}:{{port}}/0").unwrap();
        assert_eq!(
            t.0,
            vec![
                Part::Literal("redis://".into()),
                Part::Variable("host".into()),
                Part::Literal(":".into()),
                Part::Variable("port".into()),
                Part::Literal("/0".into()),
            ]
        );
        assert!(Template::parse("{{ host").is_err());
        assert!(Template::parse("{{ Host }}").is_err());
    }

    #[test]
    fn names_follow_spin_rules() {
        for ok in ["a", "redis_url", "key2"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "2a", "a__b", "a_", "a-b", "a_2"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert!(validate_key("a_2").is_ok());
        for bad in ["", "A", "2a", "a__b", "a_", "a-b"] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn providers_are_asked_in_order_before_defaults() {
        let mut declared = BTreeMap::new();
        declared.insert(
            "a".to_string(),
            VariableDecl {
                default: Some("da".into()),
                ..Default::default()
            },
        );
        declared.insert(
            "b".to_string(),
            VariableDecl {
                default: Some("db".into()),
                ..Default::default()
            },
        );
        declared.insert(
            "c".to_string(),
            VariableDecl {
                required: true,
                ..Default::default()
            },
        );
        let cli = Provider::Static([("a".to_string(), "cli".to_string())].into());
        let env = Provider::Env {
            prefix: "SPIN_VARIABLE".into(),
            env: [("SPIN_VARIABLE_A".to_string(), "env".to_string())].into(),
            dotenv: [("SPIN_VARIABLE_B".to_string(), "dotenv".to_string())].into(),
        };
        let r = Resolver::new(declared, &[cli, env]);
        assert_eq!(r.resolve("a").unwrap(), "cli");
        assert_eq!(r.resolve("b").unwrap(), "dotenv");
        assert!(matches!(r.resolve("c"), Err(Error::Provider(_))));
        assert!(r.check_required().is_err());
        let t = Template::parse("x-{{ a }}-{{b}}").unwrap();
        assert_eq!(r.render(&t).unwrap(), "x-cli-dotenv");
    }
}
