//! A thin layer over Spin's outbound Redis `execute`, which answers every reply as one flat
//! list (nested arrays flattened in order).

use super::BusError;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

pub struct Redis {
    conn: Connection,
}

/// One argument of a command.
pub enum Arg<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
    Int(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Str(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Str(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}

impl Redis {
    pub fn open(url: &str) -> Result<Self, BusError> {
        Connection::open(url)
            .map(|conn| Self { conn })
            .map_err(|e| BusError(format!("cannot open {url}: {e}")))
    }

    pub fn run(&self, command: &str, args: &[Arg<'_>]) -> Result<Vec<RedisResult>, BusError> {
        let params: Vec<RedisParameter> = args
            .iter()
            .map(|a| match a {
                Arg::Str(s) => RedisParameter::Binary(s.as_bytes().to_vec()),
                Arg::Bytes(b) => RedisParameter::Binary(b.to_vec()),
                Arg::Int(i) => RedisParameter::Int64(*i),
            })
            .collect();
        self.conn
            .execute(command, &params)
            .map_err(|e| BusError(format!("{command}: {e}")))
    }

    pub fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), BusError> {
        self.conn
            .publish(channel, payload)
            .map_err(|e| BusError(format!("PUBLISH {channel}: {e}")))
    }
}

pub fn text(r: &RedisResult) -> Option<String> {
    match r {
        RedisResult::Binary(b) => String::from_utf8(b.clone()).ok(),
        RedisResult::Status(s) => Some(s.clone()),
        RedisResult::Int64(i) => Some(i.to_string()),
        RedisResult::Nil => None,
    }
}

pub fn int(r: &RedisResult) -> Option<i64> {
    match r {
        RedisResult::Int64(i) => Some(*i),
        other => text(other).and_then(|t| t.parse().ok()),
    }
}
