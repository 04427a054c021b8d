//! The component's SQLite database (label `notification`); every SQL statement lives here.

use spin_sdk::sqlite::{Connection, QueryResult, Value};
use spindle_shared::migrations::Migration;
use spindle_shared::sql::{get_int, get_opt_text, get_text, opt_text, text};

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: include_str!("../../../migrations/notification/0001_init.sql"),
}];

pub struct Store {
    conn: Connection,
}

/// One inbox entry as the API shows it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// An email waiting to go, or gone.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: i64,
    pub event_id: String,
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
}

impl Store {
    pub fn open() -> Result<Self, String> {
        let conn = spindle_shared::sql::open("notification", MIGRATIONS)?;
        Ok(Self { conn })
    }

    fn run(&self, sql: &str, params: &[Value]) -> Result<QueryResult, String> {
        self.conn.execute(sql, params).map_err(|e| e.to_string())
    }

    // --- people ------------------------------------------------------------------------

    pub fn upsert_user(
        &self,
        user_id: &str,
        email: &str,
        display_name: &str,
    ) -> Result<(), String> {
        self.run(
            "INSERT INTO users (user_id, email, display_name) VALUES (?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, display_name = excluded.display_name",
            &[text(user_id), text(email), text(display_name)],
        )?;
        Ok(())
    }

    pub fn user_email(&self, user_id: &str) -> Result<Option<String>, String> {
        let r = self.run(
            "SELECT email FROM users WHERE user_id = ?",
            &[text(user_id)],
        )?;
        Ok(r.rows.first().map(|row| get_text(&row.values, 0)))
    }

    /// Erases everything the component holds about a user.
    pub fn erase_user(&self, user_id: &str) -> Result<(), String> {
        let email = self.user_email(user_id)?;
        for sql in [
            "DELETE FROM inbox WHERE user_id = ?",
            "DELETE FROM preferences WHERE user_id = ?",
            "DELETE FROM follows WHERE follower_id = ? OR artist_id = ?1",
            "DELETE FROM users WHERE user_id = ?",
        ] {
            self.run(sql, &[text(user_id)])?;
        }
        if let Some(email) = email {
            self.run("DELETE FROM deliveries WHERE recipient = ?", &[text(email)])?;
        }
        Ok(())
    }

    pub fn follow(&self, artist_id: &str, follower_id: &str, on: bool) -> Result<(), String> {
        let sql = if on {
            "INSERT OR IGNORE INTO follows (artist_id, follower_id) VALUES (?, ?)"
        } else {
            "DELETE FROM follows WHERE artist_id = ? AND follower_id = ?"
        };
        self.run(sql, &[text(artist_id), text(follower_id)])?;
        Ok(())
    }

    /// Followers of an artist, with whether each wants new releases by email.
    pub fn followers(&self, artist_id: &str) -> Result<Vec<(String, bool)>, String> {
        let r = self.run(
            "SELECT f.follower_id, COALESCE(p.new_releases_email, 0)
             FROM follows f LEFT JOIN preferences p ON p.user_id = f.follower_id
             WHERE f.artist_id = ? ORDER BY f.follower_id",
            &[text(artist_id)],
        )?;
        Ok(r.rows
            .iter()
            .map(|row| (get_text(&row.values, 0), get_int(&row.values, 1) != 0))
            .collect())
    }

    // --- preferences ---------------------------------------------------------------------

    pub fn new_releases_email(&self, user_id: &str) -> Result<bool, String> {
        let r = self.run(
            "SELECT new_releases_email FROM preferences WHERE user_id = ?",
            &[text(user_id)],
        )?;
        Ok(r.rows
            .first()
            .is_some_and(|row| get_int(&row.values, 0) != 0))
    }

    pub fn set_new_releases_email(&self, user_id: &str, on: bool) -> Result<(), String> {
        self.run(
            "INSERT INTO preferences (user_id, new_releases_email, updated_at) VALUES (?, ?, datetime('now'))
             ON CONFLICT (user_id) DO UPDATE SET new_releases_email = excluded.new_releases_email,
                                                 updated_at = excluded.updated_at",
            &[text(user_id), Value::Integer(on as i64)],
        )?;
        Ok(())
    }

    // --- inbox ---------------------------------------------------------------------------

    /// Adds an entry once per (event, user, kind): a redelivered event adds nothing.
    pub fn add_notification(
        &self,
        id: &str,
        user_id: &str,
        event_id: &str,
        kind: &str,
        (title, body, link): (&str, &str, Option<&str>),
    ) -> Result<(), String> {
        self.run(
            "INSERT OR IGNORE INTO inbox (id, user_id, event_id, kind, title, body, link, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            &[text(id), text(user_id), text(event_id), text(kind), text(title), text(body), opt_text(link)],
        )?;
        Ok(())
    }

    /// A page of a user's inbox, newest first, after `before` (an entry id) when given.
    pub fn inbox_page(
        &self,
        user_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Notification>, String> {
        let r = self.run(
            "SELECT id, kind, title, body, link, created_at, read_at FROM inbox
             WHERE user_id = ?1 AND (?2 IS NULL OR id < ?2)
             ORDER BY id DESC LIMIT ?3",
            &[
                text(user_id),
                opt_text(before),
                Value::Integer(limit as i64),
            ],
        )?;
        Ok(r.rows
            .iter()
            .map(|row| {
                let v = &row.values;
                Notification {
                    id: get_text(v, 0),
                    kind: get_text(v, 1),
                    title: get_text(v, 2),
                    body: get_text(v, 3),
                    link: get_opt_text(v, 4),
                    created_at: get_text(v, 5),
                    read_at: get_opt_text(v, 6),
                }
            })
            .collect())
    }

    pub fn unread_count(&self, user_id: &str) -> Result<i64, String> {
        let r = self.run(
            "SELECT COUNT(*) FROM inbox WHERE user_id = ? AND read_at IS NULL",
            &[text(user_id)],
        )?;
        Ok(r.rows.first().map_or(0, |row| get_int(&row.values, 0)))
    }

    /// Marks one of the user's entries read; false when the user has no such entry.
    pub fn mark_read(&self, user_id: &str, id: &str) -> Result<bool, String> {
        let exists = self.run(
            "SELECT 1 FROM inbox WHERE user_id = ? AND id = ?",
            &[text(user_id), text(id)],
        )?;
        if exists.rows.is_empty() {
            return Ok(false);
        }
        self.run(
            "UPDATE inbox SET read_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE user_id = ? AND id = ? AND read_at IS NULL",
            &[text(user_id), text(id)],
        )?;
        Ok(true)
    }

    pub fn mark_all_read(&self, user_id: &str) -> Result<i64, String> {
        let before = self.unread_count(user_id)?;
        self.run(
            "UPDATE inbox SET read_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE user_id = ? AND read_at IS NULL",
            &[text(user_id)],
        )?;
        Ok(before)
    }

    // --- deliveries ----------------------------------------------------------------------

    /// Records an email for an event once; a redelivered event finds it already there.
    pub fn add_delivery(
        &self,
        event_id: &str,
        template: &str,
        email: &crate::email::Email,
    ) -> Result<(), String> {
        self.run(
            "INSERT OR IGNORE INTO deliveries (event_id, template, recipient, subject, text_body, html_body, created_at)
             VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            &[
                text(event_id),
                text(template),
                text(email.to.clone()),
                text(email.subject.clone()),
                text(email.text.clone()),
                text(email.html.clone()),
            ],
        )?;
        Ok(())
    }

    const DELIVERY_COLUMNS: &'static str = "id, event_id, template, recipient, subject, text_body, html_body, status, attempts, last_error, created_at";

    fn deliveries(&self, filter: &str, params: &[Value]) -> Result<Vec<Delivery>, String> {
        let sql = format!(
            "SELECT {} FROM deliveries WHERE {filter}",
            Self::DELIVERY_COLUMNS
        );
        let r = self.run(&sql, params)?;
        Ok(r.rows
            .iter()
            .map(|row| {
                let v = &row.values;
                Delivery {
                    id: get_int(v, 0),
                    event_id: get_text(v, 1),
                    template: get_text(v, 2),
                    recipient: get_text(v, 3),
                    subject: get_text(v, 4),
                    text_body: get_text(v, 5),
                    html_body: get_text(v, 6),
                    status: get_text(v, 7),
                    attempts: get_int(v, 8),
                    last_error: get_opt_text(v, 9),
                    created_at: get_text(v, 10),
                }
            })
            .collect())
    }

    pub fn pending_deliveries(&self, event_id: &str) -> Result<Vec<Delivery>, String> {
        self.deliveries(
            "event_id = ? AND status = 'pending' ORDER BY id",
            &[text(event_id)],
        )
    }

    pub fn outbox(&self, limit: u32) -> Result<Vec<Delivery>, String> {
        self.deliveries(
            "status = 'outbox' ORDER BY id DESC LIMIT ?",
            &[Value::Integer(limit as i64)],
        )
    }

    /// `status` is `sent` or `outbox`; a sent one-time code is not kept readable.
    pub fn delivered(&self, id: i64, status: &str) -> Result<(), String> {
        self.run(
            "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = NULL,
                    sent_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
            &[text(status), Value::Integer(id)],
        )?;
        self.run(
            "UPDATE deliveries SET text_body = '[sent]', html_body = '[sent]'
             WHERE id = ? AND status = 'sent' AND template = 'one_time_code'",
            &[Value::Integer(id)],
        )?;
        Ok(())
    }

    pub fn delivery_failed(&self, id: i64, error: &str) -> Result<(), String> {
        self.run(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            &[text(error), Value::Integer(id)],
        )?;
        Ok(())
    }
}
