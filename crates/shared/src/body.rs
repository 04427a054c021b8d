//! JSON request bodies read field by field, so a 422 names every field that is wrong (serde
//! alone names none on a type error) and every field the route does not know.

use crate::Problem;
use crate::http::parse_json;
use crate::problem::FieldError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use spin_sdk::http::Request;

pub struct Body {
    fields: Map<String, Value>,
    known: Vec<&'static str>,
    errors: Vec<FieldError>,
}

impl Body {
    /// The JSON object of `req` (415, 413 past `limit`, 400, 422 as `parse_json` answers).
    pub fn read(req: &Request, limit: usize) -> Result<Self, Problem> {
        Ok(Self::of(parse_json(req, limit)?))
    }

    pub fn of(fields: Map<String, Value>) -> Self {
        Self {
            fields,
            known: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Field `name` when sent, noting an error when it has the wrong shape (`expected` says
    /// what it should be).
    pub fn optional<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
        expected: &str,
    ) -> Option<T> {
        self.known.push(name);
        let value = self.fields.get(name)?.clone();
        match serde_json::from_value(value) {
            Ok(v) => Some(v),
            Err(_) => {
                self.errors
                    .push(Problem::field(name, format!("must be {expected}")));
                None
            }
        }
    }

    /// Field `name`, noting an error when it is missing or has the wrong shape.
    pub fn required<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
        expected: &str,
    ) -> Option<T> {
        if !self.fields.contains_key(name) {
            self.known.push(name);
            self.errors.push(Problem::field(name, "is required"));
            return None;
        }
        self.optional(name, expected)
    }

    /// Required field `name` holding an id the client made (for idempotency): 1 to 64 letters,
    /// digits, `.`, `_`, `:` and `-`.
    pub fn client_id(&mut self, name: &'static str) -> Option<String> {
        let id: String = self.required(name, "a string")?;
        let valid = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
        if !valid {
            self.error(
                name,
                "must be 1 to 64 characters of letters, digits, '.', '_', ':' and '-'",
            );
            return None;
        }
        Some(id)
    }

    /// Notes an error about `field`.
    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Problem::field(field, message));
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    /// 422 naming every wrong and unknown field, if any.
    pub fn finish(self) -> Result<(), Problem> {
        let errors = self.into_errors();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Problem::invalid(errors))
        }
    }

    /// Every error noted, unknown fields included, for a caller that reads a nested object
    /// (it names them under its own prefix).
    pub fn into_errors(mut self) -> Vec<FieldError> {
        for key in self.fields.keys() {
            if !self.known.contains(&key.as_str()) {
                self.errors
                    .push(Problem::field(key, "is not a field of this request"));
            }
        }
        self.errors
    }
}
