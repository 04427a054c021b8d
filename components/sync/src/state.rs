//! Playback states as stored (one row per scope: `user:{id}` or `room:{id}`), the JSON devices
//! see, and the wake-up that tells waiting polls a state changed.

use crate::player::Player;
use serde_json::{Value, json};
use spindle_shared::Problem;
use spindle_shared::migrations::Migration;
use spindle_shared::sql::{Db, get_int, get_text, int, text};

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: include_str!("../../../migrations/sync/0001_init.sql"),
}];

pub fn open() -> Result<Db, Problem> {
    Db::open("sync", MIGRATIONS)
}

pub fn user_scope(user_id: &str) -> String {
    format!("user:{user_id}")
}

pub fn room_scope(room_id: &str) -> String {
    format!("room:{room_id}")
}

/// A scope's state: version 0 and a fresh player when nothing was ever applied.
pub struct State {
    pub version: i64,
    pub player: Player,
}

pub fn load(db: &Db, scope: &str, now: u64) -> Result<State, Problem> {
    let rows = db.rows(
        "SELECT version, player FROM states WHERE scope = ?",
        &[text(scope)],
        |row| (get_int(row, 0), get_text(row, 1)),
    )?;
    match rows.into_iter().next() {
        Some((version, player)) => Ok(State {
            version,
            player: serde_json::from_str(&player)
                .map_err(|e| Problem::internal(format!("state of {scope}: {e}")))?,
        }),
        None => Ok(State {
            version: 0,
            player: Player::new(now),
        }),
    }
}

/// A scope's version (0 before its first change), read without decoding the state: what a
/// waiting poll compares.
pub fn version(db: &Db, scope: &str) -> Result<i64, Problem> {
    Ok(db
        .rows(
            "SELECT version FROM states WHERE scope = ?",
            &[text(scope)],
            |row| get_int(row, 0),
        )?
        .into_iter()
        .next()
        .unwrap_or(0))
}

/// A scope's active device, read without decoding the whole state (polls ask every time).
pub fn active_device(db: &Db, scope: &str) -> Result<Option<String>, Problem> {
    Ok(db
        .rows(
            "SELECT json_extract(player, '$.activeDeviceId') FROM states WHERE scope = ?",
            &[text(scope)],
            |row| spindle_shared::sql::get_opt_text(row, 0),
        )?
        .into_iter()
        .next()
        .flatten())
}

/// Stores `state` with its version one higher; call inside a write transaction. Answers the new
/// version.
pub fn save_next(db: &Db, scope: &str, state: &State) -> Result<i64, Problem> {
    let version = state.version + 1;
    let player = serde_json::to_string(&state.player)
        .map_err(|e| Problem::internal(format!("encoding the state: {e}")))?;
    db.run(
        "INSERT INTO states (scope, version, player) VALUES (?, ?, ?)
         ON CONFLICT (scope) DO UPDATE SET version = excluded.version, player = excluded.player",
        &[text(scope), int(version), text(player)],
    )?;
    Ok(version)
}

pub fn delete(db: &Db, scope: &str) -> Result<(), Problem> {
    db.run("DELETE FROM states WHERE scope = ?", &[text(scope)])?;
    Ok(())
}

/// The state as devices see it. `room` is the room block for room states.
pub fn view(state: &State, room: Option<Value>, now: u64) -> Value {
    let p = &state.player;
    let index = p.current_index();
    let current = index.map(|i| &p.queue[i]);
    json!({
        "version": state.version,
        "scope": if room.is_some() { "room" } else { "user" },
        "roomCode": room.as_ref().and_then(|r| r.get("code")).cloned(),
        "queue": p.queue,
        "currentEntryId": current.map(|e| &e.entry_id),
        "currentIndex": index,
        "currentSongId": current.map(|e| &e.song_id),
        "positionMs": p.position_ms,
        "positionAt": p.position_at,
        "playing": p.playing,
        "playbackRate": p.playback_rate,
        "shuffle": p.shuffle,
        "playOrder": p.play_order(),
        "repeat": p.repeat,
        "volume": p.volume,
        "activeDeviceId": p.active_device_id,
        "changedByDeviceId": p.changed_by_device_id,
        "changedAt": p.changed_at,
        "lastCommandId": p.last_command_id,
        "serverTime": now,
        "room": room,
    })
}

/// The strong validator of a state version.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// Parses an `If-None-Match` holding one of our tags.
pub fn version_of_etag(value: &str) -> Option<i64> {
    let tag = value.trim().trim_start_matches("W/");
    tag.strip_prefix("\"v")?.strip_suffix('"')?.parse().ok()
}
