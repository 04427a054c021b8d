//! Request bodies: a JSON object read field by field, so a 422 can name every bad field.

use serde_json::{Map, Value};
use spin_sdk::http::Request;
use spindle_shared::Problem;
use spindle_shared::problem::FieldError;

/// Auth's bodies are small: emails, names, passwords and tokens.
pub const MAX_BODY: usize = 16 * 1024;

pub struct Fields {
    body: Map<String, Value>,
    pub errors: Vec<FieldError>,
}

impl Fields {
    /// 415 / 413 / 400 / 422 as for every JSON body.
    pub fn parse(req: &Request) -> Result<Self, Problem> {
        Ok(Self {
            body: spindle_shared::http::parse_json(req, MAX_BODY)?,
            errors: Vec::new(),
        })
    }

    /// A required string; records "is required" or "must be a string".
    pub fn string(&mut self, name: &str) -> String {
        match self.optional_string(name) {
            Some(value) => value,
            None => {
                if !self.errors.iter().any(|e| e.field == name) {
                    self.error(name, "is required");
                }
                String::new()
            }
        }
    }

    pub fn optional_string(&mut self, name: &str) -> Option<String> {
        match self.body.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    pub fn boolean(&mut self, name: &str) -> bool {
        match self.body.get(name) {
            Some(Value::Bool(b)) => *b,
            None | Some(Value::Null) => {
                self.error(name, "is required");
                false
            }
            Some(_) => {
                self.error(name, "must be true or false");
                false
            }
        }
    }

    pub fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push(Problem::field(name, message));
    }

    /// 422 listing every recorded error, if any.
    pub fn finish(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Problem::invalid(self.errors))
        }
    }

    /// A required email, trimmed and lower-cased.
    pub fn email(&mut self, name: &str) -> String {
        let email = normalise_email(&self.string(name));
        if self.errors.iter().all(|e| e.field != name)
            && let Err(message) = check_email(&email)
        {
            self.error(name, message);
        }
        email
    }

    /// A required display name: trimmed, 1 to 64 characters, no control characters.
    pub fn display_name(&mut self, name: &str) -> String {
        let value = self.string(name);
        self.check_display_name(name, &value)
    }

    pub fn check_display_name(&mut self, name: &str, value: &str) -> String {
        let value = value.trim().to_string();
        if self.errors.iter().any(|e| e.field == name) {
            return value;
        }
        let chars = value.chars().count();
        if chars == 0 {
            self.error(name, "must not be empty");
        } else if chars > 64 {
            self.error(name, "must be at most 64 characters");
        } else if value.chars().any(char::is_control) {
            self.error(name, "must not contain control characters");
        }
        value
    }
}

pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A practical check (the mailbox itself is proven by a code): one `@`, a non-empty local
/// part, a dotted domain, no spaces, at most 254 characters.
pub fn check_email(email: &str) -> Result<(), &'static str> {
    let Some((local, domain)) = email.split_once('@') else {
        return Err("must be an email address");
    };
    let valid = email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(())
    } else {
        Err("must be an email address")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalise_email("  Ann@Example.COM "), "ann@example.com");
        for good in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(check_email(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "ann@@example.com",
            "an n@example.com",
            "ann@.example.com",
            "ann@example..com",
            "ann@example.com.",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@example.com", "a".repeat(65))).is_err());
    }
}
