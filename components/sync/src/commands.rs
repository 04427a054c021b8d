//! Commands: a device asks to change the playback of its user or of a listening room. A command
//! is stored as pending together with its `sync.command` event (the outbox), in one transaction,
//! and answered 202; the event travels through Redis to the Redis-triggered handler
//! (`apply.rs`), which applies the pending commands of that scope in the order they were
//! accepted. The same `commandId` again is the same command: applied once.

use crate::devices::{self, Device};
use crate::rooms;
use crate::settings::{MAX_ADD_TO_QUEUE, MAX_BODY, MAX_SET_QUEUE};
use crate::state::{self, room_scope, user_scope};
use serde_json::{Map, Value, json};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::body::Body;
use spindle_shared::events::{
    Event, RepeatMode, SetQueue, SyncAction, SyncCommand, Transfer, outbox,
};
use spindle_shared::http::json;
use spindle_shared::problem::FieldError;
use spindle_shared::sql::{Db, get_int, get_opt_int, get_opt_text, get_text, int, text};
use spindle_shared::time::now_ms;

pub const PRODUCER: &str = "sync";

pub const TYPES: &[&str] = &[
    "play",
    "pause",
    "seek",
    "next",
    "previous",
    "set_queue",
    "add_to_queue",
    "transfer",
    "set_volume",
    "set_shuffle",
    "set_repeat",
    "jump",
];

pub fn type_name(action: &SyncAction) -> &'static str {
    match action {
        SyncAction::Play(_) => "play",
        SyncAction::Pause => "pause",
        SyncAction::Seek(_) => "seek",
        SyncAction::Next => "next",
        SyncAction::Previous => "previous",
        SyncAction::SetQueue(_) => "set_queue",
        SyncAction::AddToQueue(_) => "add_to_queue",
        SyncAction::Transfer(_) => "transfer",
        SyncAction::SetVolume(_) => "set_volume",
        SyncAction::SetShuffle(_) => "set_shuffle",
        SyncAction::SetRepeat(_) => "set_repeat",
        SyncAction::Jump(_) => "jump",
    }
}

fn song_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_graphic())
}

/// Reads a list of song ids of 1..=`max`.
fn song_ids(args: &mut Body, max: usize) -> Option<Vec<String>> {
    let ids: Vec<String> = args.required("songIds", "a list of song ids")?;
    if ids.is_empty() || ids.len() > max {
        args.error("songIds", format!("must hold 1 to {max} song ids"));
        return None;
    }
    if !ids.iter().all(|id| song_id_ok(id)) {
        args.error("songIds", "must hold song ids (1 to 64 visible characters)");
        return None;
    }
    Some(ids)
}

/// The action of `kind` from its arguments; field errors are named `arguments.FIELD`.
fn action(
    kind: &str,
    arguments: Map<String, Value>,
) -> Result<Option<SyncAction>, Vec<FieldError>> {
    let mut args = Body::of(arguments);
    let action = match kind {
        "play" => {
            let song: Option<String> = args.optional("songId", "a song id");
            if let Some(id) = &song
                && !song_id_ok(id)
            {
                args.error("songId", "must be a song id (1 to 64 visible characters)");
            }
            Some(SyncAction::Play(song))
        }
        "pause" => Some(SyncAction::Pause),
        "jump" => {
            let entry: Option<String> = args.required("entryId", "a queue entry id");
            match entry {
                Some(id) if song_id_ok(&id) => Some(SyncAction::Jump(id)),
                Some(_) => {
                    args.error(
                        "entryId",
                        "must be a queue entry id (1 to 64 visible characters)",
                    );
                    None
                }
                None => None,
            }
        }
        "next" => Some(SyncAction::Next),
        "previous" => Some(SyncAction::Previous),
        "seek" => args
            .required::<u64>("positionMs", "a whole number of milliseconds, 0 or more")
            .map(SyncAction::Seek),
        "set_queue" => {
            let ids = song_ids(&mut args, MAX_SET_QUEUE);
            let start: u32 = args
                .optional("startIndex", "a whole number, 0 or more")
                .unwrap_or(0);
            match ids {
                Some(ids) if (start as usize) < ids.len() => Some(SyncAction::SetQueue(SetQueue {
                    song_ids: ids,
                    start_index: start,
                })),
                Some(_) => {
                    args.error("startIndex", "must be the index of one of songIds");
                    None
                }
                None => None,
            }
        }
        "add_to_queue" => song_ids(&mut args, MAX_ADD_TO_QUEUE).map(SyncAction::AddToQueue),
        "transfer" => {
            let to: Option<String> = args.required("toDeviceId", "a device id");
            let keep: bool = args
                .optional("keepPlaying", "true or false")
                .unwrap_or(false);
            to.map(|to_device_id| {
                SyncAction::Transfer(Transfer {
                    to_device_id,
                    keep_playing: keep,
                })
            })
        }
        "set_volume" => {
            let volume: Option<u8> = args.required("volume", "a whole number from 0 to 100");
            match volume {
                Some(v) if v <= 100 => Some(SyncAction::SetVolume(v)),
                Some(_) => {
                    args.error("volume", "must be a whole number from 0 to 100");
                    None
                }
                None => None,
            }
        }
        "set_shuffle" => args
            .required::<bool>("shuffle", "true or false")
            .map(SyncAction::SetShuffle),
        "set_repeat" => {
            let mode: Option<String> = args.required("repeat", "off, all or one");
            match mode.as_deref() {
                Some("off") => Some(SyncAction::SetRepeat(RepeatMode::Off)),
                Some("all") => Some(SyncAction::SetRepeat(RepeatMode::All)),
                Some("one") => Some(SyncAction::SetRepeat(RepeatMode::One)),
                Some(_) => {
                    args.error("repeat", "must be off, all or one");
                    None
                }
                None => None,
            }
        }
        _ => None,
    };
    let errors: Vec<FieldError> = args
        .into_errors()
        .into_iter()
        .map(|e| FieldError {
            field: format!("arguments.{}", e.field),
            message: e.message,
        })
        .collect();
    if errors.is_empty() {
        Ok(action)
    } else {
        Err(errors)
    }
}

/// The command in a request body, for `device` of the caller.
fn read(req: &Request, device: &Device) -> Result<SyncCommand, Problem> {
    let mut body = Body::read(req, MAX_BODY)?;
    let command_id = body.client_id("commandId");
    let kind: Option<String> = body.required("type", "a string");
    if let Some(k) = &kind
        && !TYPES.contains(&k.as_str())
    {
        body.error("type", format!("must be one of {}", TYPES.join(", ")));
    }
    let arguments: Map<String, Value> = body.optional("arguments", "an object").unwrap_or_default();
    let expected_version: Option<u64> =
        body.optional("expectedVersion", "a whole number, 0 or more");
    let room_code: Option<String> = body.optional("roomCode", "a room code");
    if kind.as_deref() == Some("transfer") && room_code.is_some() {
        body.error(
            "type",
            "a transfer moves your own playback; it is not for a room",
        );
    }
    let mut action = None;
    if let Some(k) = kind.as_deref().filter(|k| TYPES.contains(k)) {
        match self::action(k, arguments) {
            Ok(a) => action = a,
            Err(errors) => {
                for e in errors {
                    body.error(e.field, e.message);
                }
            }
        }
    }
    body.finish()?;
    let (Some(command_id), Some(action)) = (command_id, action) else {
        return Err(Problem::invalid(vec![Problem::field(
            "type",
            "is required",
        )]));
    };
    Ok(SyncCommand {
        command_id,
        user_id: device.user_id.clone(),
        device_id: device.id.clone(),
        room_code: room_code.map(|c| rooms::normalise_code(&c)),
        expected_version,
        action,
    })
}

/// A command's record, as devices see it.
fn status_view(row: &[spin_sdk::sqlite::Value]) -> Value {
    let mut v = json!({
        "commandId": get_text(row, 0),
        "type": get_text(row, 1),
        "status": get_text(row, 2),
    });
    if let Some(version) = get_opt_int(row, 3) {
        v["version"] = json!(version);
    }
    if let Some(reason) = get_opt_text(row, 4) {
        v["reason"] = json!(reason);
        v["detail"] = json!(get_opt_text(row, 5));
    }
    v
}

const STATUS_COLUMNS: &str = "command_id, type, status, version, reason, detail";

/// `POST /api/sync/commands` (from a device): 202 with the command's status.
pub fn post(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let db = state::open()?;
        let device = devices::required(&db, &req, &claims)?;
        let now = now_ms();
        devices::expire_active(&db, &claims.user_id, now)?;
        devices::touch(&db, &device, now)?;
        let command = read(&req, &device)?;
        let scope = match &command.room_code {
            Some(code) => {
                let room = rooms::open_room(&db, code, now)?;
                rooms::may_command(&db, &room, &claims.user_id, now)?;
                room_scope(&room.id)
            }
            None => user_scope(&claims.user_id),
        };
        if let SyncAction::Transfer(t) = &command.action {
            let target = devices::find(&db, &t.to_device_id)?;
            if target.is_none_or(|d| d.user_id != claims.user_id) {
                return Err(Problem::invalid(vec![Problem::field(
                    "arguments.toDeviceId",
                    "must be one of your devices",
                )]));
            }
        }
        let stored = accept(&db, &command, &scope, &outbox::correlation_id(&req), now)?;
        outbox::flush(&db.conn, PRODUCER);
        let mut response = json(202, &stored);
        response.set_header(
            "location",
            format!("/api/sync/commands/{}", command.command_id),
        );
        Ok(response)
    })
}

/// Stores `command` as pending with its event, or finds it stored already (a retry).
fn accept(
    db: &Db,
    command: &SyncCommand,
    scope: &str,
    correlation: &str,
    now: u64,
) -> Result<Value, Problem> {
    let encoded = serde_json::to_string(command)
        .map_err(|e| Problem::internal(format!("encoding the command: {e}")))?;
    db.transaction(|| {
        let existing = db.rows(
            &format!("SELECT {STATUS_COLUMNS}, command FROM commands WHERE user_id = ? AND command_id = ?"),
            &[text(&command.user_id), text(&command.command_id)],
            |row| (status_view(row), get_text(row, 6)),
        )?;
        if let Some((view, stored)) = existing.into_iter().next() {
            if stored != encoded {
                return Err(Problem::conflict(
                    "this commandId was used for a different command; make a new id for a new command",
                ));
            }
            return Ok(view);
        }
        db.run(
            "INSERT INTO commands (user_id, command_id, scope, device_id, type, command, accepted_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            &[
                text(&command.user_id),
                text(&command.command_id),
                text(scope),
                text(&command.device_id),
                text(type_name(&command.action)),
                text(&encoded),
                int(now as i64),
            ],
        )?;
        outbox::record(&db.conn, PRODUCER, Event::SyncCommand(command.clone()), correlation)?;
        Ok(json!({
            "commandId": command.command_id,
            "type": type_name(&command.action),
            "status": "pending",
        }))
    })
}

/// `GET /api/sync/commands/:commandId`: one of the caller's commands and what became of it.
pub fn get(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let db = state::open()?;
        let found = db.rows(
            &format!("SELECT {STATUS_COLUMNS} FROM commands WHERE user_id = ? AND command_id = ?"),
            &[
                text(&claims.user_id),
                text(params.get("commandId").unwrap_or_default()),
            ],
            status_view,
        )?;
        match found.into_iter().next() {
            Some(view) => Ok(json(200, &view)),
            None => Err(Problem::not_found("no such command")),
        }
    })
}

/// The device's rejected commands it has not been told about yet; marks them told. Oldest first.
pub fn unreported_rejections(db: &Db, device_id: &str) -> Result<Vec<Value>, Problem> {
    let rows = db.rows(
        &format!(
            "SELECT {STATUS_COLUMNS}, seq FROM commands
             WHERE device_id = ? AND status = 'rejected' AND reported = 0 ORDER BY seq LIMIT 50"
        ),
        &[text(device_id)],
        |row| (status_view(row), get_int(row, 6)),
    )?;
    if let Some((_, last)) = rows.last() {
        db.run(
            "UPDATE commands SET reported = 1
             WHERE device_id = ? AND status = 'rejected' AND reported = 0 AND seq <= ?",
            &[text(device_id), int(*last)],
        )?;
    }
    Ok(rows.into_iter().map(|(v, _)| v).collect())
}

pub fn has_unreported_rejections(db: &Db, device_id: &str) -> Result<bool, Problem> {
    Ok(!db
        .run(
            "SELECT 1 FROM commands WHERE device_id = ? AND status = 'rejected' AND reported = 0 LIMIT 1",
            &[text(device_id)],
        )?
        .rows
        .is_empty())
}
