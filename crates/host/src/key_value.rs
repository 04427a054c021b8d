//! `fermyon:spin/key-value@2.0.0`: stores by label. `default` lives in
//! `.spin/sqlite_key_value.db` (the file and table Spin uses); other labels come from
//! `[key_value_store.NAME]` in the runtime config, as a Spin SQLite file or a Redis server.

use crate::bindings::spin::key_value::{self, Error};
use crate::sqlite_pool::SqlitePool;
use anyhow::{Context, Result, bail};
use redis::AsyncCommands;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::{HasData, Resource, ResourceTable};

/// Spin's limit on stores one instance may have open at once (`store-table-full` past it).
const MAX_OPEN_STORES: usize = 256;

/// `[key_value_store.NAME]` in the runtime config.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreConfig {
    Spin {
        #[serde(default)]
        path: Option<String>,
    },
    Redis {
        url: String,
    },
}

/// Every store the application can use, by label.
pub struct Stores {
    stores: HashMap<String, Arc<Store>>,
}

pub enum Store {
    Sqlite(Arc<SqlitePool>),
    Redis(redis::aio::ConnectionManager),
}

impl Stores {
    /// `configs` come from the runtime config; `base` is the runtime config's directory
    /// (relative paths resolve against it), `state_dir` holds the default store (in memory
    /// when there is none).
    pub async fn new(
        configs: &HashMap<String, StoreConfig>,
        base: &Path,
        state_dir: Option<&Path>,
    ) -> Result<Self> {
        let mut stores = HashMap::new();
        for (label, config) in configs {
            let store = match config {
                StoreConfig::Spin { path: Some(path) } => {
                    Store::Sqlite(open_sqlite(&base.join(path))?)
                }
                StoreConfig::Spin { path: None } => {
                    let pool = SqlitePool::memory(&format!("kv-{label}"))?;
                    create_table(&pool)?;
                    Store::Sqlite(pool)
                }
                StoreConfig::Redis { url } => {
                    let client = redis::Client::open(url.as_str())
                        .with_context(|| format!("key_value_store.{label}: invalid Redis url"))?;
                    let manager = tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        redis::aio::ConnectionManager::new(client),
                    )
                    .await
                    .with_context(|| {
                        format!("key_value_store.{label}: timed out connecting to Redis")
                    })?
                    .with_context(|| format!("key_value_store.{label}: cannot connect to Redis"))?;
                    Store::Redis(manager)
                }
            };
            stores.insert(label.clone(), Arc::new(store));
        }
        if !stores.contains_key("default") {
            let pool = match state_dir {
                Some(dir) => open_sqlite(&dir.join("sqlite_key_value.db"))?,
                None => {
                    let pool = SqlitePool::memory("kv-default")?;
                    create_table(&pool)?;
                    pool
                }
            };
            stores.insert("default".into(), Arc::new(Store::Sqlite(pool)));
        }
        Ok(Self { stores })
    }

    /// Spin refuses to start an app whose component names a store label nobody defined.
    pub fn check_labels<'a>(
        &self,
        component: &str,
        labels: impl IntoIterator<Item = &'a String>,
    ) -> Result<()> {
        for label in labels {
            if !self.stores.contains_key(label) {
                bail!(
                    "component `{component}` uses key-value store `{label}`, which is not defined: \
                     add [key_value_store.{label}] to the runtime config"
                );
            }
        }
        Ok(())
    }
}

fn open_sqlite(path: &Path) -> Result<Arc<SqlitePool>> {
    let pool = SqlitePool::file(path)?;
    create_table(&pool)?;
    Ok(pool)
}

fn create_table(pool: &Arc<SqlitePool>) -> Result<()> {
    pool.get()?.execute_batch(
        "CREATE TABLE IF NOT EXISTS spin_key_value (
            store TEXT NOT NULL,
            key   TEXT NOT NULL,
            value BLOB NOT NULL,
            PRIMARY KEY (store, key)
        );",
    )?;
    Ok(())
}

/// The per-instance side: which labels this component declared, and its open stores.
pub struct InstanceState {
    stores: Arc<Stores>,
    allowed: Arc<HashSet<String>>,
    table: ResourceTable,
    open: usize,
}

impl InstanceState {
    pub fn new(stores: Arc<Stores>, allowed: Arc<HashSet<String>>) -> Self {
        Self {
            stores,
            allowed,
            table: ResourceTable::new(),
            open: 0,
        }
    }
}

/// An open store in a guest's table.
pub struct StoreHandle {
    label: String,
    store: Arc<Store>,
}

pub struct KeyValue;
impl HasData for KeyValue {
    type Data<'a> = &'a mut InstanceState;
}

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

impl key_value::Host for InstanceState {}

impl key_value::HostStore for InstanceState {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<StoreHandle>, Error>> {
        if !self.allowed.contains(&label) {
            return Ok(Err(Error::AccessDenied));
        }
        let Some(store) = self.stores.stores.get(&label).cloned() else {
            return Ok(Err(Error::NoSuchStore));
        };
        if self.open >= MAX_OPEN_STORES {
            return Ok(Err(Error::StoreTableFull));
        }
        self.open += 1;
        Ok(Ok(self.table.push(StoreHandle { label, store })?))
    }

    async fn get(
        &mut self,
        this: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let h = self.table.get(&this)?;
        Ok(match &*h.store {
            Store::Sqlite(pool) => {
                let (pool, label) = (pool.clone(), h.label.clone());
                blocking(move || {
                    let conn = pool.get().map_err(other)?;
                    let mut stmt = conn
                        .prepare_cached(
                            "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                        )
                        .map_err(other)?;
                    let mut rows = stmt.query([&label, &key]).map_err(other)?;
                    match rows.next().map_err(other)? {
                        Some(row) => Ok(Some(row.get::<_, Vec<u8>>(0).map_err(other)?)),
                        None => Ok(None),
                    }
                })
                .await
            }
            Store::Redis(conn) => conn
                .clone()
                .get::<_, Option<Vec<u8>>>(key)
                .await
                .map_err(other),
        })
    }

    async fn set(
        &mut self,
        this: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let h = self.table.get(&this)?;
        Ok(match &*h.store {
            Store::Sqlite(pool) => {
                let (pool, label) = (pool.clone(), h.label.clone());
                blocking(move || {
                    let conn = pool.get().map_err(other)?;
                    conn.prepare_cached(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                    )
                    .and_then(|mut s| s.execute(rusqlite::params![label, key, value]))
                    .map(|_| ())
                    .map_err(other)
                })
                .await
            }
            Store::Redis(conn) => conn
                .clone()
                .set::<_, _, ()>(key, value)
                .await
                .map_err(other),
        })
    }

    async fn delete(
        &mut self,
        this: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let h = self.table.get(&this)?;
        Ok(match &*h.store {
            Store::Sqlite(pool) => {
                let (pool, label) = (pool.clone(), h.label.clone());
                blocking(move || {
                    let conn = pool.get().map_err(other)?;
                    conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")
                        .and_then(|mut s| s.execute([&label, &key]))
                        .map(|_| ())
                        .map_err(other)
                })
                .await
            }
            Store::Redis(conn) => conn.clone().del::<_, ()>(key).await.map_err(other),
        })
    }

    async fn exists(
        &mut self,
        this: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let h = self.table.get(&this)?;
        Ok(match &*h.store {
            Store::Sqlite(pool) => {
                let (pool, label) = (pool.clone(), h.label.clone());
                blocking(move || {
                    let conn = pool.get().map_err(other)?;
                    conn.prepare_cached(
                        "SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2",
                    )
                    .and_then(|mut s| s.exists([&label, &key]))
                    .map_err(other)
                })
                .await
            }
            Store::Redis(conn) => conn.clone().exists::<_, bool>(key).await.map_err(other),
        })
    }

    async fn get_keys(
        &mut self,
        this: Resource<StoreHandle>,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let h = self.table.get(&this)?;
        Ok(match &*h.store {
            Store::Sqlite(pool) => {
                let (pool, label) = (pool.clone(), h.label.clone());
                blocking(move || {
                    let conn = pool.get().map_err(other)?;
                    let mut stmt = conn
                        .prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")
                        .map_err(other)?;
                    stmt.query_map([&label], |row| row.get::<_, String>(0))
                        .and_then(|rows| rows.collect())
                        .map_err(other)
                })
                .await
            }
            Store::Redis(conn) => conn
                .clone()
                .keys::<_, Vec<String>>("*")
                .await
                .map_err(other),
        })
    }

    async fn drop(&mut self, this: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        self.open -= 1;
        Ok(())
    }
}

/// Runs SQLite work off the async executor, as Spin does.
pub(crate) async fn blocking<T: Send + 'static, E: From<String> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => Err(E::from(format!("database task failed: {e}"))),
    }
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::Other(s)
    }
}
