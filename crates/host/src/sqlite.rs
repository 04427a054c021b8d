//! `fermyon:spin/sqlite@2.0.0`: databases by label. `default` is `.spin/sqlite_db.db`; other
//! labels come from `[sqlite_database.NAME]` (`type = "spin"`, `path`) in the runtime config.

use crate::bindings::spin::sqlite::{self, Error, QueryResult, RowResult, Value};
use crate::key_value::blocking;
use crate::sqlite_pool::{PooledConnection, SqlitePool};
use anyhow::{Result, bail};
use rusqlite::types::{ToSqlOutput, ValueRef};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use wasmtime::component::{HasData, Resource, ResourceTable};

/// Connections one instance may hold open at once.
const MAX_CONNECTIONS: usize = 256;

/// `[sqlite_database.NAME]` in the runtime config.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DatabaseConfig {
    Spin {
        #[serde(default)]
        path: Option<String>,
    },
}

pub struct Databases {
    databases: HashMap<String, Arc<SqlitePool>>,
}

impl Databases {
    /// Relative `path`s resolve against the working directory, as in Spin; with no state
    /// directory, `default` (like any `path`-less database) is a fresh in-memory database per
    /// `open`.
    pub fn new(
        configs: &HashMap<String, DatabaseConfig>,
        state_dir: Option<&Path>,
    ) -> Result<Self> {
        let mut databases = HashMap::new();
        for (label, DatabaseConfig::Spin { path }) in configs {
            let pool = match path {
                Some(path) => SqlitePool::file(&std::path::absolute(path)?)?,
                None => SqlitePool::fresh_memory(),
            };
            databases.insert(label.clone(), pool);
        }
        if !databases.contains_key("default") {
            let pool = match state_dir {
                Some(dir) => SqlitePool::file(&dir.join("sqlite_db.db"))?,
                None => SqlitePool::fresh_memory(),
            };
            databases.insert("default".into(), pool);
        }
        Ok(Self { databases })
    }

    pub fn check_labels<'a>(
        &self,
        component: &str,
        labels: impl IntoIterator<Item = &'a String>,
    ) -> Result<()> {
        for label in labels {
            if !self.databases.contains_key(label) {
                bail!(
                    "component `{component}` uses SQLite database `{label}`, which is not defined: \
                     add [sqlite_database.{label}] to the runtime config"
                );
            }
        }
        Ok(())
    }
}

pub struct InstanceState {
    databases: Arc<Databases>,
    allowed: Arc<HashSet<String>>,
    table: ResourceTable,
    open: usize,
}

impl InstanceState {
    pub fn new(databases: Arc<Databases>, allowed: Arc<HashSet<String>>) -> Self {
        Self {
            databases,
            allowed,
            table: ResourceTable::new(),
            open: 0,
        }
    }
}

/// An open connection in a guest's table; it holds a pooled connection for its lifetime so a
/// transaction begun in one `execute` continues in the next.
pub struct ConnectionHandle {
    conn: Arc<Mutex<PooledConnection>>,
}

pub struct Sqlite;
impl HasData for Sqlite {
    type Data<'a> = &'a mut InstanceState;
}

fn io(e: impl std::fmt::Display) -> Error {
    Error::Io(e.to_string())
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::Io(s)
    }
}

impl sqlite::Host for InstanceState {}

impl sqlite::HostConnection for InstanceState {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
        if !self.allowed.contains(&database) {
            return Ok(Err(Error::AccessDenied));
        }
        let Some(pool) = self.databases.databases.get(&database).cloned() else {
            return Ok(Err(Error::NoSuchDatabase));
        };
        if self.open >= MAX_CONNECTIONS {
            return Ok(Err(Error::Io("too many connections opened".into())));
        }
        let conn = match blocking(move || pool.get().map_err(|_| Error::InvalidConnection)).await {
            Ok(conn) => conn,
            Err(e) => return Ok(Err(e)),
        };
        self.open += 1;
        Ok(Ok(self.table.push(ConnectionHandle {
            conn: Arc::new(Mutex::new(conn)),
        })?))
    }

    async fn execute(
        &mut self,
        this: Resource<ConnectionHandle>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let Ok(handle) = self.table.get(&this) else {
            return Ok(Err(Error::InvalidConnection));
        };
        let conn = handle.conn.clone();
        Ok(blocking(move || execute(&conn.lock().unwrap(), &statement, parameters)).await)
    }

    async fn drop(&mut self, this: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        self.open -= 1;
        Ok(())
    }
}

fn execute(
    conn: &rusqlite::Connection,
    statement: &str,
    parameters: Vec<Value>,
) -> Result<QueryResult, Error> {
    let mut stmt = conn.prepare_cached(statement).map_err(map_error)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let params: Vec<SqlValue> = parameters.into_iter().map(SqlValue).collect();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(map_error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_error)? {
        let values = (0..columns.len())
            .map(|i| row.get_ref(i).map(convert).map_err(map_error))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
}

/// Spin reports every SQLite failure as `io` with SQLite's message.
fn map_error(e: rusqlite::Error) -> Error {
    io(e)
}

fn convert(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

struct SqlValue(Value);

impl rusqlite::ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match &self.0 {
            Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}
