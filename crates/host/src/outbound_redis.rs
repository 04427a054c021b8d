//! `fermyon:spin/redis@2.0.0`: outbound Redis to the hosts a component may reach. As in Spin,
//! every guest `open` makes its own connection, closed when the guest drops it, with no response
//! timeout: a blocking command (`XREAD BLOCK`, `BLPOP`) waits on its own connection and holds
//! up no other instance's commands.

use crate::allowed_hosts::AllowedHosts;
use crate::bindings::spin::redis::{self as spin_redis, Error, RedisParameter, RedisResult};
use redis::aio::MultiplexedConnection;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{HasData, Resource, ResourceTable};

/// Spin's per-instance limit on open Redis connections (`too-many-connections` past it).
const MAX_CONNECTIONS: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes the connections of the application's instances.
#[derive(Default)]
pub struct Connections;

impl Connections {
    /// A new connection to `address`, for one guest `open` (as Spin's `establish_connection`).
    /// Unlike Spin, connecting gives up after [`CONNECT_TIMEOUT`] rather than hanging on an
    /// address that never answers; once connected, commands have no deadline, as in Spin.
    pub async fn open(&self, address: &str) -> Result<MultiplexedConnection, Error> {
        let client = redis::Client::open(address).map_err(|_| Error::InvalidAddress)?;
        let config = redis::AsyncConnectionConfig::new().set_connection_timeout(CONNECT_TIMEOUT);
        tokio::time::timeout(
            CONNECT_TIMEOUT,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| Error::Other(format!("timed out connecting to {address}")))?
        .map_err(other)
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

    fn conn(&self, this: &Resource<ConnectionHandle>) -> wasmtime::Result<MultiplexedConnection> {
        Ok(self.table.get(this)?.conn.clone())
    }
}

pub struct ConnectionHandle {
    conn: MultiplexedConnection,
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
    mut conn: MultiplexedConnection,
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
        let conn = match self.connections.open(&address).await {
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
