//! `fermyon:spin/redis@2.0.0`: outbound Redis to the hosts a component may reach. Connections
//! are shared per address (a multiplexed connection that reconnects by itself), because
//! opening a fresh TCP connection per guest `open` would dominate every request.

use crate::allowed_hosts::AllowedHosts;
use crate::bindings::spin::redis::{self as spin_redis, Error, RedisParameter, RedisResult};
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use wasmtime::component::{HasData, Resource, ResourceTable};

/// Spin's per-instance limit on open Redis connections (`too-many-connections` past it).
const MAX_CONNECTIONS: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections shared by every instance of the application, by address.
#[derive(Default)]
pub struct Connections {
    by_address: Mutex<HashMap<String, ConnectionManager>>,
}

impl Connections {
    pub async fn get(&self, address: &str) -> Result<ConnectionManager, Error> {
        let mut map = self.by_address.lock().await;
        if let Some(conn) = map.get(address) {
            return Ok(conn.clone());
        }
        let client = redis::Client::open(address).map_err(|_| Error::InvalidAddress)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(Duration::from_secs(30))
            .set_number_of_retries(1)
            .set_factor(50)
            .set_max_delay(500);
        let conn = tokio::time::timeout(
            CONNECT_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| Error::Other(format!("timed out connecting to {address}")))?
        .map_err(other)?;
        map.insert(address.to_string(), conn.clone());
        Ok(conn)
    }
}

pub struct InstanceState {
    connections: Arc<Connections>,
    allowed: Arc<AllowedHosts>,
    table: ResourceTable,
    open: usize,
}

impl InstanceState {
    pub fn new(connections: Arc<Connections>, allowed: Arc<AllowedHosts>) -> Self {
        Self {
            connections,
            allowed,
            table: ResourceTable::new(),
            open: 0,
        }
    }

    fn conn(&self, this: &Resource<ConnectionHandle>) -> wasmtime::Result<ConnectionManager> {
        Ok(self.table.get(this)?.conn.clone())
    }
}

pub struct ConnectionHandle {
    conn: ConnectionManager,
}

pub struct OutboundRedis;
impl HasData for OutboundRedis {
    type Data<'a> = &'a mut InstanceState;
}

fn other(e: redis::RedisError) -> Error {
    Error::Other(e.to_string())
}

/// Runs a command; as in Spin, every failure is `other` with the client's message.
async fn run<T: redis::FromRedisValue>(
    mut conn: ConnectionManager,
    cmd: redis::Cmd,
) -> Result<T, Error> {
    cmd.query_async::<T>(&mut conn).await.map_err(other)
}

impl spin_redis::Host for InstanceState {}

impl spin_redis::HostConnection for InstanceState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
        let Ok(url) = url::Url::parse(&address) else {
            return Ok(Err(Error::InvalidAddress));
        };
        if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none() {
            return Ok(Err(Error::InvalidAddress));
        }
        if !self.allowed.allows_url(&url) {
            tracing::warn!(
                "A component tried to connect to Redis at {address} which is not in allowed_outbound_hosts"
            );
            return Ok(Err(Error::InvalidAddress));
        }
        if self.open >= MAX_CONNECTIONS {
            return Ok(Err(Error::TooManyConnections));
        }
        let conn = match self.connections.get(&address).await {
            Ok(conn) => conn,
            Err(e) => return Ok(Err(e)),
        };
        self.open += 1;
        Ok(Ok(self.table.push(ConnectionHandle { conn })?))
    }

    async fn publish(
        &mut self,
        this: Resource<ConnectionHandle>,
        channel: String,
        payload: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let conn = self.conn(&this)?;
        Ok(run::<i64>(
            conn,
            redis::cmd("PUBLISH").arg(channel).arg(payload).clone(),
        )
        .await
        .map(|_| ()))
    }

    async fn get(
        &mut self,
        this: Resource<ConnectionHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let conn = self.conn(&this)?;
        Ok(run(conn, redis::cmd("GET").arg(key).clone()).await)
    }

    async fn set(
        &mut self,
        this: Resource<ConnectionHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let conn = self.conn(&this)?;
        Ok(run::<()>(conn, redis::cmd("SET").arg(key).arg(value).clone()).await)
    }

    async fn incr(
        &mut self,
        this: Resource<ConnectionHandle>,
        key: String,
    ) -> wasmtime::Result<Result<i64, Error>> {
        let conn = self.conn(&this)?;
        Ok(run(conn, redis::cmd("INCRBY").arg(key).arg(1).clone()).await)
    }

    async fn del(
        &mut self,
        this: Resource<ConnectionHandle>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let conn = self.conn(&this)?;
        Ok(run(conn, redis::cmd("DEL").arg(keys).clone()).await)
    }

    async fn sadd(
        &mut self,
        this: Resource<ConnectionHandle>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let mut conn = self.conn(&this)?;
        // Spin maps a type mismatch here, and only here, to `type-error`.
        let result = redis::cmd("SADD")
            .arg(key)
            .arg(values)
            .query_async::<u32>(&mut conn)
            .await;
        Ok(result.map_err(|e| match e.kind() {
            redis::ErrorKind::TypeError => Error::TypeError,
            _ => other(e),
        }))
    }

    async fn smembers(
        &mut self,
        this: Resource<ConnectionHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let conn = self.conn(&this)?;
        Ok(run(conn, redis::cmd("SMEMBERS").arg(key).clone()).await)
    }

    async fn srem(
        &mut self,
        this: Resource<ConnectionHandle>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let conn = self.conn(&this)?;
        Ok(run(conn, redis::cmd("SREM").arg(key).arg(values).clone()).await)
    }

    async fn execute(
        &mut self,
        this: Resource<ConnectionHandle>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> wasmtime::Result<Result<Vec<RedisResult>, Error>> {
        let conn = self.conn(&this)?;
        let mut cmd = redis::cmd(&command);
        for arg in arguments {
            match arg {
                RedisParameter::Int64(i) => cmd.arg(i),
                RedisParameter::Binary(b) => cmd.arg(b),
            };
        }
        Ok(run::<redis::Value>(conn, cmd).await.map(|value| {
            let mut out = Vec::new();
            flatten(value, &mut out);
            out
        }))
    }

    async fn drop(&mut self, this: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        self.open -= 1;
        Ok(())
    }
}

/// Spin returns a reply as a flat list: arrays (and nested arrays) are flattened in order.
fn flatten(value: redis::Value, out: &mut Vec<RedisResult>) {
    use redis::Value as V;
    match value {
        V::Nil => out.push(RedisResult::Nil),
        V::Int(i) => out.push(RedisResult::Int64(i)),
        V::BulkString(b) => out.push(RedisResult::Binary(b)),
        V::SimpleString(s) => out.push(RedisResult::Status(s)),
        V::Okay => out.push(RedisResult::Status("OK".into())),
        V::Array(items) | V::Set(items) => items.into_iter().for_each(|v| flatten(v, out)),
        V::Map(pairs) => pairs.into_iter().for_each(|(k, v)| {
            flatten(k, out);
            flatten(v, out);
        }),
        V::Double(d) => out.push(RedisResult::Binary(d.to_string().into_bytes())),
        V::Boolean(b) => out.push(RedisResult::Int64(b as i64)),
        V::VerbatimString { text, .. } => out.push(RedisResult::Binary(text.into_bytes())),
        V::BigNumber(n) => out.push(RedisResult::Binary(n.to_string().into_bytes())),
        V::Push { data, .. } => data.into_iter().for_each(|v| flatten(v, out)),
        V::Attribute { data, .. } => flatten(*data, out),
        V::ServerError(e) => out.push(RedisResult::Status(format!("{e:?}"))),
    }
}
