//! Consuming: a component's consumer group drains its topics' streams when woken, handling each
//! event once, retrying failures with backoff and dead-lettering what keeps failing.

use super::redis::{Arg, Redis, int, text};
use super::{BusError, Envelope, RETENTION_MS, stream_key};
use crate::time;
use spin_sdk::redis::RedisResult;

/// The one handler a consumer registers for a topic. An `Err` is retried later.
pub type Handler<'a> = Box<dyn Fn(&Envelope) -> Result<(), String> + 'a>;

/// How often and how patiently a failed event is retried before it is dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Deliveries in all, the first included.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay_ms: 1_000,
            max_delay_ms: 5 * 60_000,
        }
    }
}

impl RetryPolicy {
    /// The wait before delivery number `attempts + 1`.
    pub fn delay_after(&self, attempts: u32) -> u64 {
        let doublings = attempts.saturating_sub(1).min(30);
        self.base_delay_ms
            .saturating_mul(1 << doublings)
            .min(self.max_delay_ms)
    }
}

/// What one drain did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainReport {
    pub handled: u32,
    pub failed: u32,
    pub duplicates: u32,
    pub dead_lettered: u32,
    /// Events still waiting for a retry.
    pub pending: u32,
}

/// An event that kept failing, with the last error.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// Its id in the dead-letter stream.
    pub id: String,
    pub topic: String,
    pub error: String,
    pub attempts: u32,
    pub failed_at: String,
    pub event: serde_json::Value,
}

/// Events taken per read, and at most per drain (the rest waits for the next wake-up, which
/// the drain sends itself).
const BATCH: i64 = 100;
const MAX_PER_DRAIN: u32 = 2_000;
/// Every consumer group reads as one consumer: which replica handles an event does not
/// matter, and pending events are reclaimed by idle time.
const CONSUMER: &str = "worker";

pub struct Consumer<'a> {
    redis: Redis,
    group: String,
    handlers: Vec<(String, Handler<'a>)>,
    policy: RetryPolicy,
}

impl<'a> Consumer<'a> {
    /// `group` is the consuming component's id.
    pub fn connect(redis_url: &str, group: &str) -> Result<Self, BusError> {
        Ok(Self {
            redis: Redis::open(redis_url)?,
            group: group.to_string(),
            handlers: Vec::new(),
            policy: RetryPolicy::default(),
        })
    }

    /// Registers the handler for `topic`.
    pub fn on(
        mut self,
        topic: &str,
        handler: impl Fn(&Envelope) -> Result<(), String> + 'a,
    ) -> Self {
        self.handlers.push((topic.to_string(), Box::new(handler)));
        self
    }

    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn processed_key(&self) -> String {
        format!("spindle:processed:{}", self.group)
    }
    fn errors_key(&self) -> String {
        format!("spindle:errors:{}", self.group)
    }
    fn dead_key(&self) -> String {
        format!("spindle:dead:{}", self.group)
    }
    /// Expires when the next retry is due; its expiry event wakes this consumer.
    pub fn timer_key(&self) -> String {
        format!("spindle:timer:{}", self.group)
    }

    /// Handles everything pending for this group: due retries first, then new events.
    pub fn drain(&self) -> Result<DrainReport, BusError> {
        let mut drain = Drain::default();
        for (topic, handler) in &self.handlers {
            let sub = Subscription {
                stream: stream_key(topic),
                topic,
                handler,
            };
            self.ensure_group(&sub.stream)?;
            self.retry_due(&sub, &mut drain)?;
            self.read_new(&sub, &mut drain)?;
        }
        let cutoff = time::now_ms().saturating_sub(RETENTION_MS) as i64;
        self.redis.run(
            "ZREMRANGEBYSCORE",
            &[
                Arg::from(&self.processed_key()),
                "-inf".into(),
                Arg::Int(cutoff),
            ],
        )?;
        if let Some(delay) = drain.next_retry_ms {
            self.arm_timer(delay)?;
        }
        Ok(drain.report)
    }

    /// Creates the group at the start of the stream, so a consumer that starts late still
    /// reads what was published before it.
    fn ensure_group(&self, stream: &str) -> Result<(), BusError> {
        match self.redis.run(
            "XGROUP",
            &[
                "CREATE".into(),
                stream.into(),
                Arg::from(&self.group),
                "0".into(),
                "MKSTREAM".into(),
            ],
        ) {
            Ok(_) => Ok(()),
            Err(BusError(e)) if e.contains("BUSYGROUP") => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn read_new(&self, sub: &Subscription<'_, 'a>, drain: &mut Drain) -> Result<(), BusError> {
        loop {
            let reply = self.redis.run(
                "XREADGROUP",
                &[
                    "GROUP".into(),
                    Arg::from(&self.group),
                    CONSUMER.into(),
                    "COUNT".into(),
                    Arg::Int(BATCH),
                    "STREAMS".into(),
                    Arg::from(&sub.stream),
                    ">".into(),
                ],
            )?;
            // Flattened: [stream, id, "e", json, id, "e", json, ...], or [nil] when empty.
            let entries = parse_entries(reply.get(1..).unwrap_or_default());
            if entries.is_empty() {
                return Ok(());
            }
            for (id, json) in entries {
                self.deliver(sub, (&id, &json), 1, drain)?;
            }
            let report = &drain.report;
            if report.handled + report.failed + report.duplicates >= MAX_PER_DRAIN {
                // Leave the rest to the next wake-up, which we send ourselves.
                self.redis
                    .publish(&super::wake_channel(sub.topic), b"continue")?;
                return Ok(());
            }
        }
    }

    fn retry_due(&self, sub: &Subscription<'_, 'a>, drain: &mut Drain) -> Result<(), BusError> {
        let stream = sub.stream.as_str();
        // Flattened quadruples: id, consumer, idle ms, deliveries.
        let reply = self.redis.run(
            "XPENDING",
            &[
                stream.into(),
                Arg::from(&self.group),
                "-".into(),
                "+".into(),
                Arg::Int(BATCH),
            ],
        )?;
        if reply.len() / 4 >= BATCH as usize {
            // More pending entries than one page: come back for the rest at once.
            keep_earliest(&mut drain.next_retry_ms, 1);
        }
        for chunk in reply.chunks_exact(4) {
            let (Some(id), Some(idle), Some(attempts)) =
                (text(&chunk[0]), int(&chunk[2]), int(&chunk[3]))
            else {
                continue;
            };
            let attempts = attempts as u32;
            let wait = self.policy.delay_after(attempts);
            if (idle as u64) < wait {
                drain.report.pending += 1;
                keep_earliest(&mut drain.next_retry_ms, wait - idle as u64);
                continue;
            }
            // Claiming counts as a delivery. The minimum idle time makes the claim atomic: it
            // resets the idle time, so a drain running at the same time (another wake-up, or
            // `POST drain`) that saw the same entry due gets nothing and does not run it again.
            let claimed = self.redis.run(
                "XCLAIM",
                &[
                    stream.into(),
                    Arg::from(&self.group),
                    CONSUMER.into(),
                    Arg::Int(wait.max(1) as i64),
                    Arg::from(&id),
                ],
            )?;
            match parse_entries(&claimed).into_iter().next() {
                Some((id, json)) => self.deliver(sub, (&id, &json), attempts + 1, drain)?,
                // Claimed by another drain meanwhile (or trimmed, which Redis 7 drops from
                // the pending list itself): not ours to settle.
                None if claimed.is_empty() => {}
                // Trimmed from the stream meanwhile (Redis < 7 answers nil): nothing left to
                // deliver.
                None => self.ack(stream, &id)?,
            }
        }
        Ok(())
    }

    /// Handles one delivery of one event and settles it: acknowledged when handled (or
    /// already handled before), left pending for a retry, or dead-lettered.
    fn deliver(
        &self,
        sub: &Subscription<'_, 'a>,
        (id, json): (&str, &[u8]),
        attempt: u32,
        drain: &mut Drain,
    ) -> Result<(), BusError> {
        let (stream, topic, report) = (sub.stream.as_str(), sub.topic, &mut drain.report);
        let envelope: Envelope = match serde_json::from_slice(json) {
            Ok(envelope) => envelope,
            Err(e) => {
                // An event this consumer cannot read will not become readable by retrying.
                report.dead_lettered += 1;
                return self.dead_letter(
                    stream,
                    topic,
                    id,
                    json,
                    &format!("unreadable event: {e}"),
                    attempt,
                );
            }
        };
        let already = self.redis.run(
            "ZSCORE",
            &[Arg::from(&self.processed_key()), Arg::from(&envelope.id)],
        )?;
        if already
            .first()
            .is_some_and(|r| !matches!(r, RedisResult::Nil))
        {
            report.duplicates += 1;
            return self.ack(stream, id);
        }
        match (sub.handler)(&envelope) {
            Ok(()) => {
                report.handled += 1;
                self.mark_processed(&envelope.id)?;
                self.redis
                    .run("HDEL", &[Arg::from(&self.errors_key()), id.into()])?;
                self.ack(stream, id)
            }
            Err(error) if attempt >= self.policy.max_attempts => {
                report.dead_lettered += 1;
                self.dead_letter(stream, topic, id, json, &error, attempt)
            }
            Err(error) => {
                report.failed += 1;
                report.pending += 1;
                self.redis.run(
                    "HSET",
                    &[Arg::from(&self.errors_key()), id.into(), Arg::from(&error)],
                )?;
                keep_earliest(&mut drain.next_retry_ms, self.policy.delay_after(attempt));
                Ok(())
            }
        }
    }

    /// Remembers that `event_id` was handled, so a second delivery is only acknowledged.
    fn mark_processed(&self, event_id: &str) -> Result<(), BusError> {
        let now = time::now_ms() as i64;
        self.redis.run(
            "ZADD",
            &[
                Arg::from(&self.processed_key()),
                Arg::Int(now),
                event_id.into(),
            ],
        )?;
        Ok(())
    }

    fn ack(&self, stream: &str, id: &str) -> Result<(), BusError> {
        self.redis
            .run("XACK", &[stream.into(), Arg::from(&self.group), id.into()])?;
        Ok(())
    }

    fn dead_letter(
        &self,
        stream: &str,
        topic: &str,
        id: &str,
        json: &[u8],
        error: &str,
        attempts: u32,
    ) -> Result<(), BusError> {
        let failed_at = time::rfc3339(time::now_ms());
        let attempts = attempts.to_string();
        self.redis.run(
            "XADD",
            &[
                Arg::from(&self.dead_key()),
                "*".into(),
                "topic".into(),
                topic.into(),
                "error".into(),
                error.into(),
                "attempts".into(),
                Arg::from(&attempts),
                "failed_at".into(),
                Arg::from(&failed_at),
                "event".into(),
                Arg::Bytes(json),
            ],
        )?;
        self.redis
            .run("HDEL", &[Arg::from(&self.errors_key()), id.into()])?;
        self.ack(stream, id)
    }

    /// Sets the retry timer to fire in `delay_ms`, unless it already fires sooner. Redis
    /// announces the expiry on [`super::TIMER_CHANNEL`] once keyspace events are enabled.
    fn arm_timer(&self, delay_ms: u64) -> Result<(), BusError> {
        let key = self.timer_key();
        let ttl = self.redis.run("PTTL", &[Arg::from(&key)])?;
        let current = ttl.first().and_then(int).unwrap_or(-2);
        if current >= 0 && (current as u64) <= delay_ms {
            return Ok(());
        }
        // Managed Redis may refuse CONFIG; then retries wait for the next wake-up instead.
        let _ = self.redis.run(
            "CONFIG",
            &["SET".into(), "notify-keyspace-events".into(), "Ex".into()],
        );
        self.redis.run(
            "SET",
            &[
                Arg::from(&key),
                "1".into(),
                "PX".into(),
                Arg::Int(delay_ms.max(1) as i64),
            ],
        )?;
        Ok(())
    }

    /// The newest dead letters first, at most `limit`.
    pub fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, BusError> {
        let reply = self.redis.run(
            "XREVRANGE",
            &[
                Arg::from(&self.dead_key()),
                "+".into(),
                "-".into(),
                "COUNT".into(),
                Arg::Int(limit as i64),
            ],
        )?;
        Ok(parse_dead_letters(&reply))
    }

    /// Runs a dead letter's handler again now; on success it leaves the dead letters.
    pub fn replay(&self, dead_id: &str) -> Result<Result<(), String>, BusError> {
        let reply = self.redis.run(
            "XRANGE",
            &[Arg::from(&self.dead_key()), dead_id.into(), dead_id.into()],
        )?;
        let Some(letter) = parse_dead_letters(&reply).into_iter().next() else {
            return Ok(Err(format!("no dead letter {dead_id}")));
        };
        let envelope: Envelope = match serde_json::from_value(letter.event.clone()) {
            Ok(e) => e,
            Err(e) => return Ok(Err(format!("unreadable event: {e}"))),
        };
        let Some((_, handler)) = self.handlers.iter().find(|(t, _)| *t == envelope.topic) else {
            return Ok(Err(format!("no handler for topic {}", envelope.topic)));
        };
        let outcome = handler(&envelope);
        if outcome.is_ok() {
            self.mark_processed(&envelope.id)?;
            self.redis
                .run("XDEL", &[Arg::from(&self.dead_key()), dead_id.into()])?;
        }
        Ok(outcome)
    }
}

/// One topic being drained.
struct Subscription<'s, 'a> {
    stream: String,
    topic: &'s str,
    handler: &'s Handler<'a>,
}

/// What a drain has done so far, and when the earliest pending retry is due.
#[derive(Default)]
struct Drain {
    report: DrainReport,
    next_retry_ms: Option<u64>,
}

fn keep_earliest(slot: &mut Option<u64>, candidate: u64) {
    *slot = Some(slot.map_or(candidate, |current| current.min(candidate)));
}

/// Stream entries from a flattened reply whose entries each hold the one field `e`:
/// `id, "e", json, id, "e", json, ...`.
fn parse_entries(reply: &[RedisResult]) -> Vec<(String, Vec<u8>)> {
    let mut entries = Vec::new();
    let mut i = 0;
    while i + 2 < reply.len() {
        let (Some(id), Some(field)) = (text(&reply[i]), text(&reply[i + 1])) else {
            i += 1;
            continue;
        };
        if field != "e" {
            i += 1;
            continue;
        }
        if let RedisResult::Binary(json) = &reply[i + 2] {
            entries.push((id, json.clone()));
        }
        i += 3;
    }
    entries
}

/// Dead letters from a flattened XRANGE reply: `id` then five field/value pairs per entry.
fn parse_dead_letters(reply: &[RedisResult]) -> Vec<DeadLetter> {
    reply
        .chunks_exact(11)
        .filter_map(|c| {
            let id = text(&c[0])?;
            let mut fields = std::collections::HashMap::new();
            for pair in c[1..].chunks_exact(2) {
                fields.insert(text(&pair[0])?, pair[1].clone());
            }
            let get = |name: &str| fields.get(name).and_then(text).unwrap_or_default();
            let event = match fields.get("event") {
                // An unreadable event is shown as the text it was, for the operator.
                Some(RedisResult::Binary(b)) => serde_json::from_slice(b).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(b).into_owned())
                }),
                _ => serde_json::Value::Null,
            };
            Some(DeadLetter {
                id,
                topic: get("topic"),
                error: get("error"),
                attempts: get("attempts").parse().unwrap_or(0),
                failed_at: get("failed_at"),
                event,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(s: &str) -> RedisResult {
        RedisResult::Binary(s.as_bytes().to_vec())
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 8,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
        };
        assert_eq!(p.delay_after(1), 100);
        assert_eq!(p.delay_after(2), 200);
        assert_eq!(p.delay_after(4), 800);
        assert_eq!(p.delay_after(5), 1_000);
        assert_eq!(p.delay_after(40), 1_000);
    }

    #[test]
    fn entries_parse_from_a_flattened_read() {
        let reply = vec![
            bin("1-0"),
            bin("e"),
            bin("{\"a\":1}"),
            bin("2-0"),
            bin("e"),
            bin("{}"),
        ];
        let entries = parse_entries(&reply);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, "1-0");
        assert_eq!(entries[1].1, b"{}");
        assert!(parse_entries(&[RedisResult::Nil]).is_empty());
        assert!(parse_entries(&[]).is_empty());
    }

    #[test]
    fn dead_letters_parse_from_a_flattened_range() {
        let reply = vec![
            bin("5-0"),
            bin("topic"),
            bin("user.created"),
            bin("error"),
            bin("smtp down"),
            bin("attempts"),
            bin("3"),
            bin("failed_at"),
            bin("2026-01-01T00:00:00.000Z"),
            bin("event"),
            bin("{\"id\":\"x\"}"),
        ];
        let letters = parse_dead_letters(&reply);
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].error, "smtp down");
        assert_eq!(letters[0].attempts, 3);
        assert_eq!(letters[0].event["id"], "x");
    }
}
