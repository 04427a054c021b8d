//! The Redis trigger: each message published on a subscribed channel goes to a fresh instance
//! of every component subscribed to it (`fermyon:spin/inbound-redis#handle-message`).
//!
//! Like Spin, messages from one server are handled one after another, and a handler's failure is
//! logged and does not stop the trigger. Unlike Spin, which exits when its connection drops,
//! this host reconnects and resubscribes with backoff (messages published meanwhile are lost, as
//! with any pub/sub subscriber that is away).

use crate::app::App;
use anyhow::{Context, Result};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The subscriptions on one Redis server: channel → components.
pub struct Subscriber {
    address: String,
    channels: BTreeMap<String, Vec<String>>,
    pubsub: Option<redis::aio::PubSub>,
}

/// Connects and subscribes at start-up; as in Spin, a server that cannot be reached then is an
/// error that stops the app from starting.
pub async fn subscribe(app: &App) -> Result<Vec<Subscriber>> {
    let mut by_address: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for t in &app.redis_triggers {
        by_address
            .entry(t.address.clone())
            .or_default()
            .entry(t.channel.clone())
            .or_default()
            .push(t.component.clone());
    }
    let mut subscribers = Vec::new();
    for (address, channels) in by_address {
        let pubsub = connect(&address, &channels)
            .await
            .with_context(|| format!("Redis trigger failed to connect to {address}"))?;
        println!("Active Channels on {address}:");
        for (channel, components) in &channels {
            println!("\t{address}/{channel}: [{}]", components.join(","));
        }
        subscribers.push(Subscriber {
            address,
            channels,
            pubsub: Some(pubsub),
        });
    }
    Ok(subscribers)
}

async fn connect(
    address: &str,
    channels: &BTreeMap<String, Vec<String>>,
) -> Result<redis::aio::PubSub> {
    let client = redis::Client::open(address)?;
    let mut pubsub = tokio::time::timeout(Duration::from_secs(5), client.get_async_pubsub())
        .await
        .context("timed out")??;
    for channel in channels.keys() {
        pubsub.subscribe(channel).await?;
    }
    Ok(pubsub)
}

pub async fn run(
    app: Arc<App>,
    subscribers: Vec<Subscriber>,
    shutdown: CancellationToken,
) -> Result<()> {
    let tasks: Vec<_> = subscribers
        .into_iter()
        .map(|s| tokio::spawn(listen(app.clone(), s, shutdown.clone())))
        .collect();
    for task in tasks {
        task.await?;
    }
    Ok(())
}

async fn listen(app: Arc<App>, mut sub: Subscriber, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let pubsub = match sub.pubsub.take() {
            Some(p) => p,
            None => match connect(&sub.address, &sub.channels).await {
                Ok(p) => {
                    tracing::info!("Redis trigger reconnected to {}", sub.address);
                    backoff = Duration::from_millis(100);
                    p
                }
                Err(e) => {
                    tracing::warn!(
                        "Redis trigger cannot reach {}: {e:#}; retrying in {backoff:?}",
                        sub.address
                    );
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            },
        };
        let mut messages = pubsub.into_on_message();
        loop {
            let msg = tokio::select! {
                _ = shutdown.cancelled() => return,
                msg = messages.next() => msg,
            };
            let Some(msg) = msg else { break };
            let channel = msg.get_channel_name().to_string();
            let payload = msg.get_payload_bytes().to_vec();
            let Some(components) = sub.channels.get(&channel) else {
                continue;
            };
            let calls = components
                .iter()
                .map(|id| handle(&app, id, payload.clone()));
            futures::future::join_all(calls).await;
        }
        tracing::warn!(
            "Redis trigger disconnected from {}; reconnecting",
            sub.address
        );
    }
}

async fn handle(app: &Arc<App>, component_id: &str, payload: Vec<u8>) {
    if let Err(e) = try_handle(app, component_id, payload).await {
        tracing::error!("Component {component_id} handler failed: {e:#}");
    }
}

async fn try_handle(app: &Arc<App>, component_id: &str, payload: Vec<u8>) -> Result<()> {
    let component = app
        .component(component_id)
        .context("no such component")?
        .clone();
    let pre = component
        .redis
        .clone()
        .context("component has no Redis handler")?;
    let mut store = app.new_store(&component, "http")?;
    let instance = pre.instantiate_async(&mut store).await?;
    instance
        .fermyon_spin_inbound_redis()
        .call_handle_message(&mut store, &payload)
        .await?
        .map_err(|e| anyhow::anyhow!("handler returned {e:?}"))
}
