//! `fermyon:spin/sqlite@2.0.0`: databases by label. `default` is `.spin/sqlite_db.db`; other
//! labels come from `[sqlite_database.NAME]` (`type = "spin"`, `path`) in the runtime config.

use crate::bindings::spin::sqlite::{self, Error, QueryResult, RowResult, Value};
use crate::key_value::blocking;
use anyhow::{Context, Result, bail};
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{ToSqlOutput, ValueRef};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
        /// Allow `ATTACH` of database files (Spin denies it by default).
        #[serde(default)]
        allow_attach_file: bool,
    },
}

/// Where a database lives; every `open` gets a new connection to it, as in Spin, so nothing
/// connection-scoped (temporary tables, pragmas) passes from one instance to another.
#[derive(Debug, Clone)]
struct Database {
    /// `None`: a new, empty in-memory database for each connection.
    path: Option<PathBuf>,
    allow_attach_file: bool,
}

pub struct Databases {
    databases: HashMap<String, Database>,
}

impl Databases {
    /// Relative `path`s resolve against the working directory, as in Spin; with no state
    /// directory, `default` (like any `path`-less database) is in memory.
    pub fn new(
        configs: &HashMap<String, DatabaseConfig>,
        state_dir: Option<&Path>,
    ) -> Result<Self> {
        let mut databases = HashMap::new();
        for (
            label,
            DatabaseConfig::Spin {
                path,
                allow_attach_file,
            },
        ) in configs
        {
            let path = path.as_deref().map(std::path::absolute).transpose()?;
            databases.insert(label.clone(), Database::new(path, *allow_attach_file)?);
        }
        if !databases.contains_key("default") {
            let path = state_dir.map(|dir| dir.join("sqlite_db.db"));
            databases.insert("default".into(), Database::new(path, false)?);
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

impl Database {
    fn new(path: Option<PathBuf>, allow_attach_file: bool) -> Result<Self> {
        if let Some(dir) = path.as_deref().and_then(Path::parent) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
        }
        Ok(Self {
            path,
            allow_attach_file,
        })
    }

    fn connect(&self) -> rusqlite::Result<rusqlite::Connection> {
        let conn = match &self.path {
            Some(path) => rusqlite::Connection::open(path)?,
            None => rusqlite::Connection::open_in_memory()?,
        };
        conn.busy_timeout(Duration::from_secs(5))?;
        if !self.allow_attach_file {
            conn.authorizer(Some(|ctx: AuthContext<'_>| match ctx.action {
                AuthAction::Attach { filename }
                    if !filename.is_empty() && filename != ":memory:" =>
                {
                    Authorization::Deny
                }
                _ => Authorization::Allow,
            }));
        }
        Ok(conn)
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

/// An open connection in a guest's table. Like Spin, the SQLite connection itself is made at
/// the first `execute` and kept for the handle's lifetime (so transactions span calls).
pub struct ConnectionHandle {
    database: Database,
    conn: Arc<Mutex<Option<rusqlite::Connection>>>,
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
        let Some(database) = self.databases.databases.get(&database).cloned() else {
            return Ok(Err(Error::NoSuchDatabase));
        };
        if self.open >= MAX_CONNECTIONS {
            return Ok(Err(Error::Io("too many connections opened".into())));
        }
        self.open += 1;
        Ok(Ok(self.table.push(ConnectionHandle {
            database,
            conn: Arc::new(Mutex::new(None)),
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
        let (database, conn) = (handle.database.clone(), handle.conn.clone());
        Ok(blocking(move || {
            let mut conn = conn.lock().unwrap();
            if conn.is_none() {
                *conn = Some(database.connect().map_err(io)?);
            }
            execute(
                conn.as_ref().expect("connected above"),
                &statement,
                parameters,
            )
        })
        .await)
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
