//! Devices: a user's players (a browser, a phone, a speaker). Requests from a device carry its
//! id in `X-Device-Id`; each one refreshes the device's last-seen time. The active device is
//! the one that plays the user's state; one that stopped making requests loses that role.

use crate::settings::{MAX_BODY, MAX_DEVICES, device_timeout_ms, touch_every_ms};
use crate::state::{self, user_scope};
use serde_json::{Value, json};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::auth::Claims;
use spindle_shared::body::Body;
use spindle_shared::http::json;
use spindle_shared::sql::{Db, get_int, get_text, int, text};
use spindle_shared::time::{now_ms, rfc3339};

pub const HEADER: &str = "x-device-id";
const KINDS: &[&str] = &[
    "web", "phone", "tablet", "desktop", "speaker", "tv", "car", "other",
];

#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub kind: String,
    pub created_at: u64,
    pub last_seen_at: u64,
}

const COLUMNS: &str = "id, user_id, name, kind, created_at, last_seen_at";

fn device(row: &[spin_sdk::sqlite::Value]) -> Device {
    Device {
        id: get_text(row, 0),
        user_id: get_text(row, 1),
        name: get_text(row, 2),
        kind: get_text(row, 3),
        created_at: get_int(row, 4) as u64,
        last_seen_at: get_int(row, 5) as u64,
    }
}

pub fn find(db: &Db, id: &str) -> Result<Option<Device>, Problem> {
    Ok(db
        .rows(
            &format!("SELECT {COLUMNS} FROM devices WHERE id = ?"),
            &[text(id)],
            device,
        )?
        .into_iter()
        .next())
}

/// The caller's own device `id`: 404 when there is none, 403 when it is another user's.
pub fn own(db: &Db, id: &str, claims: &Claims) -> Result<Device, Problem> {
    match find(db, id)? {
        None => Err(Problem::not_found(
            "no such device; register this device again",
        )),
        Some(d) if d.user_id != claims.user_id => {
            Err(Problem::forbidden("this device belongs to another user"))
        }
        Some(d) => Ok(d),
    }
}

/// The device named by `X-Device-Id`, if the request has one.
pub fn calling(db: &Db, req: &Request, claims: &Claims) -> Result<Option<Device>, Problem> {
    match req.header(HEADER).and_then(|h| h.as_str()) {
        None => Ok(None),
        Some(id) => own(db, id.trim(), claims).map(Some),
    }
}

/// Like [`calling`] for routes only a device may use: 400 without the header.
pub fn required(db: &Db, req: &Request, claims: &Claims) -> Result<Device, Problem> {
    calling(db, req, claims)?.ok_or_else(|| {
        Problem::bad_request("this request must name the calling device in X-Device-Id")
    })
}

/// Notes that `device` made a request now. Call after [`expire_active`], so a device that was
/// away too long does not revive its own role.
pub fn touch(db: &Db, device: &Device, now: u64) -> Result<(), Problem> {
    if now.saturating_sub(device.last_seen_at) >= touch_every_ms() {
        db.run(
            "UPDATE devices SET last_seen_at = ? WHERE id = ?",
            &[int(now as i64), text(&device.id)],
        )?;
    }
    Ok(())
}

/// If the user's active device has gone quiet (or was deleted), the state loses it: nothing
/// plays, the position is kept, the version grows. Answers the active device id afterwards.
pub fn expire_active(db: &Db, user_id: &str, now: u64) -> Result<Option<String>, Problem> {
    let scope = user_scope(user_id);
    let gone = |db: &Db, active: &str| -> Result<bool, Problem> {
        Ok(match find(db, active)? {
            Some(d) => now.saturating_sub(d.last_seen_at) > device_timeout_ms(),
            None => true,
        })
    };
    let Some(active) = state::active_device(db, &scope)? else {
        return Ok(None);
    };
    if !gone(db, &active)? {
        return Ok(Some(active));
    }
    let changed = db.transaction(|| {
        let mut current = state::load(db, &scope, now)?;
        match current.player.active_device_id.clone() {
            Some(a) if gone(db, &a)? => {
                current.player.drop_active_device(now);
                Ok(Some(state::save_next(db, &scope, &current)?))
            }
            _ => Ok(None),
        }
    })?;
    if let Some(version) = changed {
        crate::notify::changed(&scope, version);
        return Ok(None);
    }
    state::active_device(db, &scope)
}

fn view(d: &Device, active: Option<&str>) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "kind": d.kind,
        "createdAt": rfc3339(d.created_at),
        "lastSeenAt": rfc3339(d.last_seen_at),
        "isActive": active == Some(d.id.as_str()),
    })
}

/// A trimmed name of 1 to 64 characters (a device's, a room's); None and a field error else.
pub fn name_of(body: &mut Body, required: bool) -> Option<String> {
    let name: Option<String> = if required {
        body.required("name", "a string")
    } else {
        body.optional("name", "a string")
    };
    let name = name?.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 {
        body.error("name", "must be 1 to 64 characters");
        return None;
    }
    Some(name)
}

/// `POST /api/sync/devices {name, kind}`
pub fn create(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let mut body = Body::read(&req, MAX_BODY)?;
        let name = name_of(&mut body, true);
        let kind: Option<String> = body.required("kind", "a string");
        if let Some(k) = &kind
            && !KINDS.contains(&k.as_str())
        {
            body.error("kind", format!("must be one of {}", KINDS.join(", ")));
        }
        body.finish()?;
        let (name, kind) = (name.unwrap_or_default(), kind.unwrap_or_default());
        let db = state::open()?;
        let now = now_ms();
        let d = Device {
            id: spindle_shared::events::new_ulid(now).to_ascii_lowercase(),
            user_id: claims.user_id.clone(),
            name,
            kind,
            created_at: now,
            last_seen_at: now,
        };
        db.transaction(|| {
            let count = db.rows(
                "SELECT COUNT(*) FROM devices WHERE user_id = ?",
                &[text(&claims.user_id)],
                |row| get_int(row, 0),
            )?;
            if count.first().copied().unwrap_or(0) >= MAX_DEVICES {
                return Err(Problem::conflict(format!(
                    "a user may register at most {MAX_DEVICES} devices; delete one first"
                )));
            }
            db.run(
                &format!("INSERT INTO devices ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"),
                &[
                    text(&d.id),
                    text(&d.user_id),
                    text(&d.name),
                    text(&d.kind),
                    int(now as i64),
                    int(now as i64),
                ],
            )?;
            Ok(())
        })?;
        let mut response = json(201, &view(&d, None));
        response.set_header("location", format!("/api/sync/devices/{}", d.id));
        Ok(response)
    })
}

/// `GET /api/sync/devices`: the caller's devices, oldest first.
pub fn list(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let db = state::open()?;
        let now = now_ms();
        let active = expire_active(&db, &claims.user_id, now)?;
        if let Some(d) = calling(&db, &req, &claims)? {
            touch(&db, &d, now)?;
        }
        let items: Vec<Value> = db
            .rows(
                &format!("SELECT {COLUMNS} FROM devices WHERE user_id = ? ORDER BY created_at, id"),
                &[text(&claims.user_id)],
                device,
            )?
            .iter()
            .map(|d| view(d, active.as_deref()))
            .collect();
        Ok(json(200, &json!({ "items": items })))
    })
}

/// `PATCH /api/sync/devices/:id {name}`
pub fn rename(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let mut body = Body::read(&req, MAX_BODY)?;
        let name = name_of(&mut body, true);
        body.finish()?;
        let db = state::open()?;
        let mut d = own(&db, params.get("id").unwrap_or_default(), &claims)?;
        d.name = name.unwrap_or_default();
        db.run(
            "UPDATE devices SET name = ? WHERE id = ?",
            &[text(&d.name), text(&d.id)],
        )?;
        let active = expire_active(&db, &claims.user_id, now_ms())?;
        Ok(json(200, &view(&d, active.as_deref())))
    })
}

/// `DELETE /api/sync/devices/:id`: if it was the active device, nothing plays any more.
pub fn delete(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let db = state::open()?;
        let d = own(&db, params.get("id").unwrap_or_default(), &claims)?;
        db.run("DELETE FROM devices WHERE id = ?", &[text(&d.id)])?;
        expire_active(&db, &claims.user_id, now_ms())?;
        Ok(Response::new(204, ()))
    })
}
