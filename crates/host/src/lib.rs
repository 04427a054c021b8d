//! A small Spin-compatible host on wasmtime: runs a `spin.toml` application (HTTP and Redis
//! triggers, key-value, SQLite, variables, outbound HTTP and Redis) the way `spin up` does.
//!
//! Each host capability is a module in the shape of Spin's factor crates: its runtime-config
//! type, the app-wide state built at load, the per-instance state, and the generated `Host`
//! trait implementations.

pub mod allowed_hosts;
mod app;
pub mod bindings;
pub mod builder;
pub mod engine;
mod files;
pub mod key_value;
mod logs;
pub mod manifest;
pub mod outbound_http;
pub mod outbound_redis;
pub mod routes;
pub mod runtime_config;
pub mod sqlite;
mod sqlite_pool;
pub mod trigger_http;
pub mod trigger_redis;
pub mod variables;

pub use app::{App, RunningApp, UpOptions, up};
pub use builder::build;
