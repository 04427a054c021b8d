//! Listening rooms: several listeners share one playback state. A room has a short join code, a
//! host, and a control mode (`host`: only the host commands; `everyone`). Members' joins and
//! leaves are part of the room's state (its version grows). A room is empty when no member is
//! online (left, or silent for the device timeout); it closes after being empty for
//! `room_idle_secs`, and its code may then be given to a new room.

use crate::player::{Rejection, reject};
use crate::settings::{
    JOIN_WINDOW_MS, MAX_BODY, MAX_JOIN_FAILURES, device_timeout_ms, room_idle_ms, touch_every_ms,
};
use crate::state::{self, room_scope};
use serde_json::{Value, json};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::body::Body;
use spindle_shared::http::json;
use spindle_shared::sql::{Db, get_int, get_opt_int, get_opt_text, get_text, int, opt_text, text};
use spindle_shared::time::{now_ms, rfc3339};

/// Join codes: no 0/O, 1/I/L, so they read out loud.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 6;
const DEFAULT_NAME: &str = "Listening room";
const MODES: &[&str] = &["host", "everyone"];

pub struct Room {
    pub id: String,
    pub code: String,
    pub name: String,
    pub host_id: String,
    pub control_mode: String,
    pub created_at: u64,
}

struct Member {
    user_id: String,
    display_name: Option<String>,
    joined_at: u64,
    last_seen_at: u64,
    left_at: Option<u64>,
}

impl Member {
    fn online(&self, now: u64) -> bool {
        self.left_at.is_none() && now.saturating_sub(self.last_seen_at) <= device_timeout_ms()
    }
}

pub fn normalise_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

fn room_of(row: &[spin_sdk::sqlite::Value]) -> Room {
    Room {
        id: get_text(row, 0),
        code: get_text(row, 1),
        name: get_text(row, 2),
        host_id: get_text(row, 3),
        control_mode: get_text(row, 4),
        created_at: get_int(row, 5) as u64,
    }
}

const ROOM_COLUMNS: &str = "id, code, name, host_id, control_mode, created_at";

fn find(db: &Db, column: &str, value: &str) -> Result<Option<Room>, Problem> {
    Ok(db
        .rows(
            &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE {column} = ?"),
            &[text(value)],
            room_of,
        )?
        .into_iter()
        .next())
}

fn members(db: &Db, room_id: &str) -> Result<Vec<Member>, Problem> {
    db.rows(
        "SELECT user_id, display_name, joined_at, last_seen_at, left_at FROM room_members
         WHERE room_id = ? ORDER BY joined_at, user_id",
        &[text(room_id)],
        |row| Member {
            user_id: get_text(row, 0),
            display_name: get_opt_text(row, 1),
            joined_at: get_int(row, 2) as u64,
            last_seen_at: get_int(row, 3) as u64,
            left_at: get_opt_int(row, 4).map(|t| t as u64),
        },
    )
}

/// When the room became empty (no member online), if it is.
fn empty_since(room: &Room, members: &[Member], now: u64) -> Option<u64> {
    if members.iter().any(|m| m.online(now)) {
        return None;
    }
    let timeout = device_timeout_ms();
    Some(
        members
            .iter()
            .map(|m| m.left_at.unwrap_or(m.last_seen_at + timeout))
            .max()
            .unwrap_or(room.created_at)
            .min(now),
    )
}

fn closes_at(room: &Room, members: &[Member], now: u64) -> Option<u64> {
    empty_since(room, members, now).map(|t| t + room_idle_ms())
}

/// Whether the room has been empty long enough to be closed.
fn is_closed(db: &Db, room: &Room, now: u64) -> Result<bool, Problem> {
    Ok(closes_at(room, &members(db, &room.id)?, now).is_some_and(|t| now >= t))
}

/// Removes a closed room with its state.
fn close(db: &Db, room: &Room) -> Result<(), Problem> {
    db.transaction(|| {
        db.run(
            "DELETE FROM room_members WHERE room_id = ?",
            &[text(&room.id)],
        )?;
        db.run("DELETE FROM rooms WHERE id = ?", &[text(&room.id)])?;
        state::delete(db, &room_scope(&room.id))
    })?;
    crate::notify::forget(&room_scope(&room.id));
    Ok(())
}

/// The open room with `code`: 404 when there is none (a closed one is removed now).
pub fn open_room(db: &Db, code: &str, now: u64) -> Result<Room, Problem> {
    let not_found = || Problem::not_found("no open listening room has this code");
    let room = find(db, "code", &normalise_code(code))?.ok_or_else(not_found)?;
    if is_closed(db, &room, now)? {
        close(db, &room)?;
        return Err(not_found());
    }
    Ok(room)
}

fn is_member(db: &Db, room_id: &str, user_id: &str) -> Result<bool, Problem> {
    Ok(!db
        .run(
            "SELECT 1 FROM room_members WHERE room_id = ? AND user_id = ? AND left_at IS NULL",
            &[text(room_id), text(user_id)],
        )?
        .rows
        .is_empty())
}

/// 403 unless `user_id` is in the room; notes that they are there.
pub fn require_member(db: &Db, room: &Room, user_id: &str, now: u64) -> Result<(), Problem> {
    if !is_member(db, &room.id, user_id)? {
        return Err(Problem::forbidden("join this listening room first"));
    }
    db.run(
        "UPDATE room_members SET last_seen_at = ?
         WHERE room_id = ? AND user_id = ? AND last_seen_at < ?",
        &[
            int(now as i64),
            text(&room.id),
            text(user_id),
            int(now.saturating_sub(touch_every_ms()) as i64),
        ],
    )?;
    Ok(())
}

/// 403 unless `user_id` may command the room's playback.
pub fn may_command(db: &Db, room: &Room, user_id: &str, now: u64) -> Result<(), Problem> {
    require_member(db, room, user_id, now)?;
    if room.control_mode == "host" && room.host_id != user_id {
        return Err(Problem::forbidden(
            "only the host controls this room's playback",
        ));
    }
    Ok(())
}

/// The same rules when the command is applied (the room may have changed since it was sent).
pub fn check_command(
    db: &Db,
    room_id: &str,
    user_id: &str,
    now: u64,
) -> Result<Result<(), Rejection>, Problem> {
    let closed = || Ok(Err(reject("room_closed", "the listening room has closed")));
    let Some(room) = find(db, "id", room_id)? else {
        return closed();
    };
    if is_closed(db, &room, now)? {
        return closed();
    }
    if !is_member(db, room_id, user_id)? {
        return Ok(Err(reject(
            "not_a_member",
            "you are not in this listening room",
        )));
    }
    if room.control_mode == "host" && room.host_id != user_id {
        return Ok(Err(reject(
            "not_allowed",
            "only the host controls this room's playback",
        )));
    }
    Ok(Ok(()))
}

/// The room as part of its playback state: who is in it.
pub fn block(db: &Db, room_id: &str) -> Result<Option<Value>, Problem> {
    let Some(room) = find(db, "id", room_id)? else {
        return Ok(None);
    };
    let members: Vec<Value> = members(db, room_id)?
        .iter()
        .filter(|m| m.left_at.is_none())
        .map(|m| {
            json!({
                "userId": m.user_id,
                "displayName": m.display_name,
                "isHost": m.user_id == room.host_id,
                "joinedAt": rfc3339(m.joined_at),
            })
        })
        .collect();
    Ok(Some(json!({
        "code": room.code,
        "name": room.name,
        "hostId": room.host_id,
        "controlMode": room.control_mode,
        "members": members,
    })))
}

/// The room with its members' presence.
fn view(db: &Db, room: &Room, now: u64) -> Result<Value, Problem> {
    let members = members(db, &room.id)?;
    let present: Vec<Value> = members
        .iter()
        .filter(|m| m.left_at.is_none())
        .map(|m| {
            json!({
                "userId": m.user_id,
                "displayName": m.display_name,
                "isHost": m.user_id == room.host_id,
                "joinedAt": rfc3339(m.joined_at),
                "lastSeenAt": rfc3339(m.last_seen_at),
                "online": m.online(now),
            })
        })
        .collect();
    Ok(json!({
        "code": room.code,
        "name": room.name,
        "hostId": room.host_id,
        "controlMode": room.control_mode,
        "createdAt": rfc3339(room.created_at),
        "members": present,
        "closesAt": closes_at(room, &members, now).map(rfc3339),
    }))
}

/// Bumps the room state's version after a change of members or settings (inside the
/// transaction); answers the new version.
fn bump(db: &Db, room: &Room, now: u64) -> Result<i64, Problem> {
    let scope = room_scope(&room.id);
    let mut current = state::load(db, &scope, now)?;
    current.player.changed_by_device_id = None;
    current.player.changed_at = now;
    state::save_next(db, &scope, &current)
}

/// `user_id` is in the room from now (again, if they had left).
fn add_member(
    db: &Db,
    room: &Room,
    user_id: &str,
    name: Option<&str>,
    now: u64,
) -> Result<(), Problem> {
    db.run(
        "INSERT INTO room_members (room_id, user_id, display_name, joined_at, last_seen_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (room_id, user_id) DO UPDATE SET display_name = excluded.display_name,
           joined_at = excluded.joined_at, last_seen_at = excluded.last_seen_at, left_at = NULL",
        &[
            text(&room.id),
            text(user_id),
            opt_text(name),
            int(now as i64),
            int(now as i64),
        ],
    )?;
    Ok(())
}

/// The user's display name from auth (service chaining); `None` when auth cannot say.
fn display_name(user_id: &str) -> Option<String> {
    spindle_shared::services::user_name(user_id).ok().flatten()
}

fn new_code() -> String {
    let mut bytes = [0u8; CODE_LEN];
    getrandom::fill(&mut bytes).expect("the host provides randomness");
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn settings(body: &mut Body) -> (Option<String>, Option<String>) {
    let name = crate::devices::name_of(body, false);
    let mode: Option<String> = body.optional("controlMode", "host or everyone");
    if mode.as_ref().is_some_and(|m| !MODES.contains(&m.as_str())) {
        body.error("controlMode", "must be host or everyone");
    }
    (name, mode)
}

/// `POST /api/sync/rooms {name?, controlMode?}`: the caller hosts a new room.
pub fn create(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let mut body = Body::read(&req, MAX_BODY)?;
        let (name, mode) = settings(&mut body);
        body.finish()?;
        let db = state::open()?;
        let now = now_ms();
        let name_shown = display_name(&claims.user_id);
        let mut room = Room {
            id: spindle_shared::events::new_ulid(now).to_ascii_lowercase(),
            code: String::new(),
            name: name.unwrap_or_else(|| DEFAULT_NAME.to_string()),
            host_id: claims.user_id.clone(),
            control_mode: mode.unwrap_or_else(|| "host".to_string()),
            created_at: now,
        };
        // A code still held by an open room is drawn again; a closed room gives its code up.
        for _ in 0..20 {
            let code = new_code();
            match open_room(&db, &code, now) {
                Ok(_) => continue,
                Err(_) => {
                    room.code = code;
                    break;
                }
            }
        }
        if room.code.is_empty() {
            return Err(Problem::new(503, "no free room code was found; try again"));
        }
        db.transaction(|| {
            db.run(
                &format!("INSERT INTO rooms ({ROOM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"),
                &[
                    text(&room.id),
                    text(&room.code),
                    text(&room.name),
                    text(&room.host_id),
                    text(&room.control_mode),
                    int(now as i64),
                ],
            )?;
            add_member(&db, &room, &claims.user_id, name_shown.as_deref(), now)?;
            bump(&db, &room, now)
        })?;
        let mut response = json(201, &view(&db, &room, now)?);
        response.set_header("location", format!("/api/sync/rooms/{}", room.code));
        Ok(response)
    })
}

/// `GET /api/sync/rooms/:code` (members): the room and who is online.
pub fn get(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let db = state::open()?;
        let now = now_ms();
        let room = open_room(&db, params.get("code").unwrap_or_default(), now)?;
        require_member(&db, &room, &claims.user_id, now)?;
        Ok(json(200, &view(&db, &room, now)?))
    })
}

/// `PATCH /api/sync/rooms/:code {name?, controlMode?}` (the host).
pub fn update(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let mut body = Body::read(&req, MAX_BODY)?;
        let (name, mode) = settings(&mut body);
        body.finish()?;
        let db = state::open()?;
        let now = now_ms();
        let mut room = open_room(&db, params.get("code").unwrap_or_default(), now)?;
        require_member(&db, &room, &claims.user_id, now)?;
        if room.host_id != claims.user_id {
            return Err(Problem::forbidden("only the host changes the room"));
        }
        room.name = name.unwrap_or(room.name);
        room.control_mode = mode.unwrap_or(room.control_mode);
        let version = db.transaction(|| {
            db.run(
                "UPDATE rooms SET name = ?, control_mode = ? WHERE id = ?",
                &[text(&room.name), text(&room.control_mode), text(&room.id)],
            )?;
            bump(&db, &room, now)
        })?;
        crate::notify::changed(&room_scope(&room.id), version);
        Ok(json(200, &view(&db, &room, now)?))
    })
}

/// `POST /api/sync/rooms/:code/join`: 404 for a code of no open room, counted against the
/// caller (429 past the limit, so codes cannot be guessed).
pub fn join(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let db = state::open()?;
        let now = now_ms();
        let since = now.saturating_sub(JOIN_WINDOW_MS) as i64;
        let failures = db.rows(
            "SELECT COUNT(*), MIN(at) FROM join_failures WHERE user_id = ? AND at > ?",
            &[text(&claims.user_id), int(since)],
            |row| (get_int(row, 0), get_opt_int(row, 1)),
        )?;
        if let Some((count, Some(oldest))) = failures.first()
            && *count >= MAX_JOIN_FAILURES
        {
            let retry_ms = (*oldest as u64 + JOIN_WINDOW_MS).saturating_sub(now);
            return Err(Problem::too_many_requests(retry_ms.div_ceil(1_000).max(1)));
        }
        let room = match open_room(&db, params.get("code").unwrap_or_default(), now) {
            Ok(room) => room,
            Err(problem) => {
                db.transaction(|| {
                    db.run(
                        "DELETE FROM join_failures WHERE user_id = ? AND at <= ?",
                        &[text(&claims.user_id), int(since)],
                    )?;
                    db.run(
                        "INSERT INTO join_failures (user_id, at) VALUES (?, ?)",
                        &[text(&claims.user_id), int(now as i64)],
                    )
                })?;
                return Err(problem);
            }
        };
        if is_member(&db, &room.id, &claims.user_id)? {
            require_member(&db, &room, &claims.user_id, now)?;
            return Ok(json(200, &view(&db, &room, now)?));
        }
        let name_shown = display_name(&claims.user_id);
        let version = db.transaction(|| {
            add_member(&db, &room, &claims.user_id, name_shown.as_deref(), now)?;
            bump(&db, &room, now)
        })?;
        crate::notify::changed(&room_scope(&room.id), version);
        Ok(json(200, &view(&db, &room, now)?))
    })
}

/// `POST /api/sync/rooms/:code/leave`: the host's role passes to the longest-present member.
pub fn leave(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let db = state::open()?;
        let now = now_ms();
        let room = open_room(&db, params.get("code").unwrap_or_default(), now)?;
        require_member(&db, &room, &claims.user_id, now)?;
        let version = db.transaction(|| {
            db.run(
                "UPDATE room_members SET left_at = ? WHERE room_id = ? AND user_id = ?",
                &[int(now as i64), text(&room.id), text(&claims.user_id)],
            )?;
            if room.host_id == claims.user_id {
                pass_host(&db, &room.id)?;
            }
            bump(&db, &room, now)
        })?;
        crate::notify::changed(&room_scope(&room.id), version);
        Ok(Response::new(204, ()))
    })
}

/// The host's role passes to the member present longest; it stays when nobody is left.
fn pass_host(db: &Db, room_id: &str) -> Result<(), Problem> {
    db.run(
        "UPDATE rooms SET host_id = COALESCE((SELECT user_id FROM room_members
           WHERE room_id = ?1 AND left_at IS NULL ORDER BY joined_at, user_id LIMIT 1), host_id)
         WHERE id = ?1",
        &[text(room_id)],
    )?;
    Ok(())
}

/// A deleted user leaves every room (hosting passes on as when leaving).
pub fn forget_user(db: &Db, user_id: &str, now: u64) -> Result<(), Problem> {
    let rooms = db.rows(
        "SELECT room_id FROM room_members WHERE user_id = ?",
        &[text(user_id)],
        |row| get_text(row, 0),
    )?;
    for room_id in rooms {
        let Some(room) = find(db, "id", &room_id)? else {
            continue;
        };
        let version = db.transaction(|| {
            db.run(
                "DELETE FROM room_members WHERE room_id = ? AND user_id = ?",
                &[text(&room.id), text(user_id)],
            )?;
            if room.host_id == user_id {
                pass_host(db, &room.id)?;
            }
            bump(db, &room, now)
        })?;
        crate::notify::changed(&room_scope(&room.id), version);
    }
    Ok(())
}
