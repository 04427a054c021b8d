//! Small helpers around Spin's SQLite interface: parameters, reading columns, and opening a
//! component's database with its migrations applied.

use crate::Problem;
use crate::migrations::{self, Migration};
use serde::Serialize;
use spin_sdk::sqlite::{Connection, QueryResult, Value};
use std::sync::Mutex;

/// The labels whose migrations this instance has checked. A Spin instance serves one request
/// or event; when it opens its database again (a long poll after each wait, a handler per
/// event) the schema is already known to be current.
static MIGRATED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Opens the database `label` and applies `migrations` (a no-op once they are applied; checked
/// once per instance).
pub fn open(label: &str, migrations: &[Migration]) -> Result<Connection, String> {
    let conn = Connection::open(label).map_err(|e| format!("open database {label}: {e}"))?;
    let mut migrated = MIGRATED.lock().unwrap_or_else(|e| e.into_inner());
    if !migrated.iter().any(|done| done == label) {
        migrations::apply(&conn, migrations)?;
        migrated.push(label.to_string());
    }
    Ok(conn)
}

/// A component's database for its HTTP routes: failures are problems (500s).
pub struct Db {
    pub conn: Connection,
}

impl Db {
    /// Opens the database `label` with its migrations applied.
    pub fn open(label: &str, migrations: &[Migration]) -> Result<Self, Problem> {
        Ok(Self {
            conn: open(label, migrations).map_err(Problem::from)?,
        })
    }

    pub fn run(&self, sql: &str, params: &[Value]) -> Result<QueryResult, Problem> {
        self.conn
            .execute(sql, params)
            .map_err(|e| Problem::from(format!("database: {e}")))
    }

    /// The rows `sql` answers, each made into a `T` by `f`.
    pub fn rows<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl Fn(&[Value]) -> T,
    ) -> Result<Vec<T>, Problem> {
        Ok(self
            .run(sql, params)?
            .rows
            .iter()
            .map(|row| f(&row.values))
            .collect())
    }

    /// Runs `f` in a write transaction.
    pub fn transaction<T>(&self, f: impl FnOnce() -> Result<T, Problem>) -> Result<T, Problem> {
        transaction(&self.conn, f)
    }

    /// Runs the reads of `f` in one read transaction, so they see one state of the database
    /// (a write committing meanwhile shows in all of them or in none).
    pub fn snapshot<T>(&self, f: impl FnOnce() -> Result<T, Problem>) -> Result<T, Problem> {
        self.run("BEGIN", &[])?;
        let result = f();
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = self.run(end, &[]);
        let value = result?;
        ended?;
        Ok(value)
    }
}

pub fn text(v: impl Into<String>) -> Value {
    Value::Text(v.into())
}

pub fn opt_text(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::Text(s.to_string()))
}

pub fn int(v: impl Into<i64>) -> Value {
    Value::Integer(v.into())
}

pub fn real(v: f64) -> Value {
    Value::Real(v)
}

/// `items` as a JSON text parameter, for `json_each(?)` or a JSON column. A list of strings or
/// numbers always serializes; "[]" (matching nothing) is only the fallback for what cannot.
pub fn json_list(items: &(impl Serialize + ?Sized)) -> Value {
    text(serde_json::to_string(items).unwrap_or_else(|_| "[]".into()))
}

/// A column as text (integers are formatted); empty for NULL.
pub fn get_text(row: &[Value], i: usize) -> String {
    match row.get(i) {
        Some(Value::Text(s)) => s.clone(),
        Some(Value::Integer(n)) => n.to_string(),
        _ => String::new(),
    }
}

pub fn get_opt_text(row: &[Value], i: usize) -> Option<String> {
    match row.get(i) {
        Some(Value::Text(s)) => Some(s.clone()),
        _ => None,
    }
}

/// A column as an integer; 0 for NULL.
pub fn get_int(row: &[Value], i: usize) -> i64 {
    get_opt_int(row, i).unwrap_or(0)
}

pub fn get_opt_int(row: &[Value], i: usize) -> Option<i64> {
    match row.get(i) {
        Some(Value::Integer(n)) => Some(*n),
        _ => None,
    }
}

/// A column as a float (integers widened); 0 for NULL.
pub fn get_real(row: &[Value], i: usize) -> f64 {
    match row.get(i) {
        Some(Value::Real(f)) => *f,
        Some(Value::Integer(n)) => *n as f64,
        _ => 0.0,
    }
}

/// Runs `f` inside `BEGIN IMMEDIATE` … `COMMIT` (the write lock is taken up front, so
/// read-then-write steps in `f` see no concurrent writer), rolling back when it fails.
pub fn transaction<T, E: From<String>>(
    conn: &Connection,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    conn.execute("BEGIN IMMEDIATE", &[])
        .map_err(|e| E::from(format!("begin: {e}")))?;
    match f() {
        Ok(value) => {
            conn.execute("COMMIT", &[])
                .map_err(|e| E::from(format!("commit: {e}")))?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.execute("ROLLBACK", &[]);
            Err(e)
        }
    }
}
