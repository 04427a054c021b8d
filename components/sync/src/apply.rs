//! The Redis-triggered side: `sync.command` events wake it, and it applies the pending commands
//! of the event's scope in the order they were accepted (the database's sequence, not the order
//! events arrive in), each in its own transaction, then wakes the scope's polls. A command is
//! applied once: its row says whether it is still pending. Commands whose event never arrived
//! (Redis lost it) are applied at the next wake-up.

use crate::commands::PRODUCER;
use crate::devices;
use crate::player::{Rejection, Sender};
use crate::rooms;
use crate::settings::COMMAND_RETENTION_MS;
use crate::state::{self, user_scope};
use spindle_shared::Problem;
use spindle_shared::events::{Consumer, DrainReport, Envelope, Event, SyncCommand, outbox};
use spindle_shared::sql::{Db, get_int, get_text, int, opt_text, text};
use spindle_shared::time::now_ms;

/// The consumer group: this component's id.
pub const GROUP: &str = "sync";
/// A command still pending this long after it was accepted lost its event.
const LOST_AFTER_MS: u64 = 2_000;

/// Everything a wake-up does: send what the outbox holds, handle pending events, apply commands
/// whose events were lost, forget old command ids.
pub fn wake_up() -> Result<DrainReport, String> {
    let db = state::open().map_err(|p| p.to_string())?;
    outbox::flush(&db.conn, PRODUCER);
    let report = drain()?;
    recover(&db).map_err(|p| p.to_string())?;
    let cutoff = now_ms().saturating_sub(COMMAND_RETENTION_MS) as i64;
    db.run(
        "DELETE FROM commands WHERE accepted_at < ? AND status <> 'pending'",
        &[int(cutoff)],
    )
    .map_err(|p| p.to_string())?;
    Ok(report)
}

fn drain() -> Result<DrainReport, String> {
    let redis_url =
        spindle_shared::variable("redis_url").ok_or("the redis_url variable is not set")?;
    let handle = |envelope: &Envelope| {
        let result = match &envelope.payload {
            Event::SyncCommand(c) => command_arrived(c),
            Event::UserDeleted(e) => user_deleted(&e.user_id),
            _ => Ok(()),
        };
        result.map_err(|p| p.to_string())
    };
    Consumer::connect(&redis_url, GROUP)
        .map_err(|e| e.to_string())?
        .on("sync.command", handle)
        .on("user.deleted", handle)
        .drain()
        .map_err(|e| e.to_string())
}

fn command_arrived(command: &SyncCommand) -> Result<(), Problem> {
    let db = state::open()?;
    let found = db.rows(
        "SELECT seq, scope FROM commands WHERE user_id = ? AND command_id = ?",
        &[text(&command.user_id), text(&command.command_id)],
        |row| (get_int(row, 0), get_text(row, 1)),
    )?;
    match found.into_iter().next() {
        Some((seq, scope)) => apply_through(&db, &scope, seq),
        // Forgotten already (older than the retention), or its user is gone.
        None => Ok(()),
    }
}

/// Applies the pending commands of `scope` up to `last_seq`, oldest first.
pub fn apply_through(db: &Db, scope: &str, last_seq: i64) -> Result<(), Problem> {
    loop {
        let done = db.transaction(|| {
            let next = db.rows(
                "SELECT seq, command FROM commands WHERE scope = ? AND status = 'pending'
                 ORDER BY seq LIMIT 1",
                &[text(scope)],
                |row| (get_int(row, 0), get_text(row, 1)),
            )?;
            match next.into_iter().next() {
                Some((seq, command)) if seq <= last_seq => {
                    apply_one(db, scope, seq, &command).map(Some)
                }
                _ => Ok(None),
            }
        })?;
        match done {
            Some(version) => crate::notify::changed(scope, version),
            None => return Ok(()),
        }
    }
}

/// Applies or rejects one command (inside the caller's transaction); answers the scope's version
/// afterwards.
fn apply_one(db: &Db, scope: &str, seq: i64, command: &str) -> Result<i64, Problem> {
    let now = now_ms();
    let command: SyncCommand = serde_json::from_str(command)
        .map_err(|e| Problem::internal(format!("stored command {seq}: {e}")))?;
    let mut current = state::load(db, scope, now)?;
    let outcome = decide(db, scope, &command, &mut current, now)?;
    let (status, reason, detail, version) = match outcome {
        Ok(()) => {
            current.player.changed_by_device_id = Some(command.device_id.clone());
            current.player.changed_at = now;
            current.player.last_command_id = Some(command.command_id.clone());
            (
                "applied",
                None,
                None,
                state::save_next(db, scope, &current)?,
            )
        }
        Err(r) => ("rejected", Some(r.reason), Some(r.detail), current.version),
    };
    db.run(
        "UPDATE commands SET status = ?, reason = ?, detail = ?, version = ?, applied_at = ?
         WHERE seq = ?",
        &[
            text(status),
            opt_text(reason),
            opt_text(detail.as_deref()),
            int(version),
            int(now as i64),
            int(seq),
        ],
    )?;
    Ok(version)
}

/// Whether `command` may change `current`, and the change itself when it may.
fn decide(
    db: &Db,
    scope: &str,
    command: &SyncCommand,
    current: &mut state::State,
    now: u64,
) -> Result<Result<(), Rejection>, Problem> {
    use crate::player::reject;
    let sender = devices::find(db, &command.device_id)?;
    if sender.is_none_or(|d| d.user_id != command.user_id) {
        return Ok(Err(reject(
            "device_removed",
            "the device that sent it was removed",
        )));
    }
    let room_id = scope.strip_prefix("room:");
    if let Some(room_id) = room_id
        && let Err(rejection) = rooms::check_command(db, room_id, &command.user_id, now)?
    {
        return Ok(Err(rejection));
    }
    if let Some(expected) = command.expected_version
        && expected as i64 != current.version
    {
        return Ok(Err(reject(
            "stale_version",
            format!(
                "the command expected version {expected}, but the state is at version {}",
                current.version
            ),
        )));
    }
    let sender = Sender {
        device_id: &command.device_id,
        in_room: room_id.is_some(),
    };
    let owns = |id: &str| {
        devices::find(db, id)
            .ok()
            .flatten()
            .is_some_and(|d| d.user_id == command.user_id)
    };
    Ok(current.player.apply(&command.action, &sender, now, owns))
}

/// Applies commands that have waited too long for their event.
fn recover(db: &Db) -> Result<(), Problem> {
    let cutoff = now_ms().saturating_sub(LOST_AFTER_MS) as i64;
    let scopes = db.rows(
        "SELECT scope, MAX(seq) FROM commands WHERE status = 'pending' AND accepted_at < ?
         GROUP BY scope LIMIT 100",
        &[int(cutoff)],
        |row| (get_text(row, 0), get_int(row, 1)),
    )?;
    for (scope, last) in scopes {
        apply_through(db, &scope, last)?;
    }
    Ok(())
}

/// Called by polls: when a command of `scope` has waited too long (its wake-up was lost, say
/// while Redis restarted and the trigger was reconnecting), wakes the handler again.
pub fn nudge_if_stuck(db: &Db, scope: &str, now: u64) -> Result<(), Problem> {
    let cutoff = now.saturating_sub(LOST_AFTER_MS) as i64;
    let stuck = db.run(
        "SELECT 1 FROM commands WHERE scope = ? AND status = 'pending' AND accepted_at < ? LIMIT 1",
        &[text(scope), int(cutoff)],
    )?;
    if !stuck.rows.is_empty() {
        crate::notify::wake_handler();
    }
    Ok(())
}

/// A user is gone: their devices, state, commands and room memberships go.
fn user_deleted(user_id: &str) -> Result<(), Problem> {
    let db = state::open()?;
    let now = now_ms();
    rooms::forget_user(&db, user_id, now)?;
    db.transaction(|| {
        db.run("DELETE FROM devices WHERE user_id = ?", &[text(user_id)])?;
        db.run("DELETE FROM commands WHERE user_id = ?", &[text(user_id)])?;
        db.run(
            "DELETE FROM join_failures WHERE user_id = ?",
            &[text(user_id)],
        )?;
        state::delete(&db, &user_scope(user_id))
    })?;
    crate::notify::forget(&user_scope(user_id));
    Ok(())
}
