//! The component's SQLite database (label `auth`) and the user records in it.

use serde::Serialize;
use spin_sdk::sqlite::Value;
use spindle_shared::Problem;
use spindle_shared::auth::Role;
use spindle_shared::migrations::Migration;
use spindle_shared::sql::{Db, get_int, get_opt_text, get_text, int, text};
use spindle_shared::time::{now_ms, rfc3339};

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: include_str!("../../../migrations/auth/0001_init.sql"),
}];

/// The component's database; [`Db`]'s `run` and `transaction` through `Deref`.
pub struct Store {
    db: Db,
}

impl std::ops::Deref for Store {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

/// An account, as stored.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub password_hash: Option<String>,
    pub display_name: String,
    pub role: Role,
    pub blocked: bool,
    pub oidc_subject: Option<String>,
    pub created_at: u64,
}

const USER_COLUMNS: &str = "id, email, email_verified, password_hash, display_name, role, blocked, oidc_subject, created_at";

/// The signed-in user's own view of their account.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
    pub role: Role,
    pub has_password: bool,
    /// Whether a Google (OpenID Connect) account is linked.
    pub google_linked: bool,
    pub created_at: String,
}

/// What an admin sees of an account.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminUser {
    #[serde(flatten)]
    pub account: Me,
    pub blocked: bool,
}

/// What anybody may see of an account: never the email.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicProfile {
    pub id: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: String,
}

impl User {
    pub fn me(&self) -> Me {
        Me {
            id: self.id.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            display_name: self.display_name.clone(),
            role: self.role,
            has_password: self.password_hash.is_some(),
            google_linked: self.oidc_subject.is_some(),
            created_at: rfc3339(self.created_at),
        }
    }

    pub fn admin_view(&self) -> AdminUser {
        AdminUser {
            account: self.me(),
            blocked: self.blocked,
        }
    }

    pub fn public_profile(&self) -> PublicProfile {
        PublicProfile {
            id: self.id.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            created_at: rfc3339(self.created_at),
        }
    }

    fn from_row(row: &[Value]) -> Self {
        Self {
            id: get_text(row, 0),
            email: get_text(row, 1),
            email_verified: get_int(row, 2) != 0,
            password_hash: get_opt_text(row, 3),
            display_name: get_text(row, 4),
            role: parse_role(&get_text(row, 5)).unwrap_or(Role::Listener),
            blocked: get_int(row, 6) != 0,
            oidc_subject: get_opt_text(row, 7),
            created_at: get_int(row, 8) as u64,
        }
    }
}

pub fn parse_role(name: &str) -> Option<Role> {
    match name {
        "listener" => Some(Role::Listener),
        "artist" => Some(Role::Artist),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

/// A new account's fields.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub email_verified: bool,
    pub password_hash: Option<&'a str>,
    pub display_name: &'a str,
    pub role: Role,
    pub oidc_subject: Option<&'a str>,
}

/// Filters of the admin user list.
#[derive(Default)]
pub struct UserFilter {
    pub after: Option<String>,
    pub role: Option<Role>,
    pub blocked: Option<bool>,
    pub email_prefix: Option<String>,
}

impl Store {
    pub fn open() -> Result<Self, Problem> {
        Ok(Self {
            db: Db::open("auth", MIGRATIONS)?,
        })
    }

    /// Deletes what has expired (ended sessions and their tokens, old codes, counters,
    /// sign-ins in flight) a day after it expired; runs at most once an hour, from sign-ins.
    pub fn tidy(&self) -> Result<(), Problem> {
        const HOUR_MS: i64 = 60 * 60 * 1000;
        let now = now_ms() as i64;
        let claimed = self.run(
            "INSERT INTO cache (key, value, fetched_at) VALUES ('tidied', '', ?1)
             ON CONFLICT (key) DO UPDATE SET fetched_at = ?1 WHERE fetched_at <= ?2
             RETURNING 1",
            &[int(now), int(now - HOUR_MS)],
        )?;
        if claimed.rows.is_empty() {
            return Ok(());
        }
        let day_ago = int(now - 24 * HOUR_MS);
        for sql in [
            "DELETE FROM refresh_tokens WHERE session_id IN
               (SELECT id FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1)",
            "DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1",
            "DELETE FROM one_time_codes WHERE expires_at < ?1",
            "DELETE FROM rate_limits WHERE window_start < ?1",
            "DELETE FROM oidc_logins WHERE expires_at < ?1",
            "DELETE FROM handoffs WHERE expires_at < ?1",
        ] {
            self.run(sql, std::slice::from_ref(&day_ago))?;
        }
        Ok(())
    }

    // --- users ---------------------------------------------------------------------------

    pub fn user(&self, id: &str) -> Result<Option<User>, Problem> {
        self.user_where("id = ?", text(id))
    }

    pub fn user_by_email(&self, email: &str) -> Result<Option<User>, Problem> {
        self.user_where("email = ?", text(email))
    }

    pub fn user_by_subject(&self, subject: &str) -> Result<Option<User>, Problem> {
        self.user_where("oidc_subject = ?", text(subject))
    }

    fn user_where(&self, condition: &str, value: Value) -> Result<Option<User>, Problem> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {condition}");
        let result = self.run(&sql, &[value])?;
        Ok(result.rows.first().map(|r| User::from_row(&r.values)))
    }

    /// Inserts an account; `None` when the email is taken.
    pub fn insert_user(&self, new: &NewUser) -> Result<Option<User>, Problem> {
        let id = spindle_shared::events::new_ulid(now_ms());
        let now = now_ms() as i64;
        let result = self.run(
            "INSERT INTO users (id, email, email_verified, password_hash, display_name, role, oidc_subject, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?8) ON CONFLICT (email) DO NOTHING RETURNING id",
            &[
                text(&id),
                text(new.email),
                int(new.email_verified),
                spindle_shared::sql::opt_text(new.password_hash),
                text(new.display_name),
                text(new.role.as_str()),
                spindle_shared::sql::opt_text(new.oidc_subject),
                int(now),
            ],
        )?;
        if result.rows.is_empty() {
            return Ok(None);
        }
        self.user(&id)
    }

    /// Sets one column of a user (the column name comes from this crate, never from input).
    pub fn set_user(&self, id: &str, column: &str, value: Value) -> Result<(), Problem> {
        let sql = format!("UPDATE users SET {column} = ?, updated_at = ? WHERE id = ?");
        self.run(&sql, &[value, int(now_ms() as i64), text(id)])?;
        Ok(())
    }

    /// Deletes an account and everything auth keeps about it.
    pub fn delete_user(&self, id: &str) -> Result<(), Problem> {
        for sql in [
            "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)",
            "DELETE FROM sessions WHERE user_id = ?",
            "DELETE FROM one_time_codes WHERE user_id = ?",
            "DELETE FROM handoffs WHERE user_id = ?",
            "DELETE FROM users WHERE id = ?",
        ] {
            self.run(sql, &[text(id)])?;
        }
        Ok(())
    }

    /// Admins who can still act (not blocked).
    pub fn active_admins(&self) -> Result<i64, Problem> {
        let result = self.run(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND blocked = 0",
            &[],
        )?;
        Ok(result.rows.first().map_or(0, |r| get_int(&r.values, 0)))
    }

    /// A page of accounts, oldest first, after the cursor.
    pub fn users(&self, filter: &UserFilter, limit: u32) -> Result<Vec<User>, Problem> {
        let prefix = filter.email_prefix.as_ref().map(|p| {
            let escaped = p
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("{escaped}%")
        });
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users
             WHERE (?1 IS NULL OR id > ?1) AND (?2 IS NULL OR role = ?2)
               AND (?3 IS NULL OR blocked = ?3) AND (?4 IS NULL OR email LIKE ?4 ESCAPE '\\')
             ORDER BY id LIMIT ?5"
        );
        let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
        let result = self.run(
            &sql,
            &[
                opt(filter.after.as_deref().map(text)),
                opt(filter.role.map(|r| text(r.as_str()))),
                opt(filter.blocked.map(int)),
                opt(prefix.map(text)),
                int(limit),
            ],
        )?;
        Ok(result
            .rows
            .iter()
            .map(|r| User::from_row(&r.values))
            .collect())
    }
}
