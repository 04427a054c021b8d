//! A small pool of SQLite connections to one key-value database file. The key-value store
//! runs only the host's own statements, so connections can be reused across instances without
//! one guest's connection state reaching another; concurrent requests each borrow their own
//! connection instead of queueing behind one mutex.

use anyhow::{Context, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Idle connections kept per database; more may be open at once under load.
const MAX_IDLE: usize = 16;

pub struct SqlitePool {
    location: Location,
    idle: Mutex<Vec<Connection>>,
}

#[derive(Clone, Debug)]
enum Location {
    File(PathBuf),
    /// One shared in-memory database (a `path`-less key-value store); all connections see
    /// the same data through a named shared cache.
    Memory(String),
}

impl SqlitePool {
    pub fn file(path: &Path) -> Result<Arc<Self>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create directory {}", dir.display()))?;
        }
        let pool = Arc::new(Self {
            location: Location::File(path.to_path_buf()),
            idle: Mutex::new(Vec::new()),
        });
        // Open once up front so that a bad path fails at start-up, not in the first request.
        let conn = pool.open()?;
        pool.put(conn);
        Ok(pool)
    }

    pub fn memory(name: &str) -> Result<Arc<Self>> {
        // Unique per pool: two apps in one process (tests) must not share a database.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pid = std::process::id();
        let pool = Arc::new(Self {
            location: Location::Memory(format!("file:{name}-{pid}-{n}?mode=memory&cache=shared")),
            idle: Mutex::new(Vec::new()),
        });
        // Keep one connection alive for the life of the pool so the shared database persists.
        let keeper = pool.open()?;
        pool.put(keeper);
        Ok(pool)
    }

    pub fn get(self: &Arc<Self>) -> Result<PooledConnection> {
        let conn = self.idle.lock().unwrap().pop();
        let conn = match conn {
            Some(conn) => conn,
            None => self.open()?,
        };
        Ok(PooledConnection {
            conn: Some(conn),
            pool: self.clone(),
        })
    }

    fn open(&self) -> Result<Connection> {
        let conn = match &self.location {
            Location::File(path) => Connection::open(path)
                .with_context(|| format!("failed to open SQLite database {}", path.display()))?,
            Location::Memory(uri) => Connection::open_with_flags(
                uri,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                    | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )?,
        };
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn put(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

/// A connection borrowed from a pool; it goes back when dropped.
pub struct PooledConnection {
    conn: Option<Connection>,
    pool: Arc<SqlitePool>,
}

impl std::ops::Deref for PooledConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put(conn);
        }
    }
}
