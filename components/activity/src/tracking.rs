//! Tracking listens: `POST /api/songs/:id/track/{play,complete,skip}`. A listen is one
//! playthrough of a song, named by the client's `listenId`, so a retried call counts nothing
//! twice. Each call that counts something updates every signal in the same transaction.

use crate::listen::{self, Listen};
use crate::settings::{
    COMPLETE_FROM, MAX_LISTENS_PER_MINUTE, PLAY_AFTER_MS, POSITION_SLACK_MS, SAME_SONG_EVERY_MS,
    SKIP_BELOW,
};
use crate::signals::{self, Delta};
use crate::store;
use serde_json::{Value, json};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::body::Body;
use spindle_shared::http::{MAX_JSON_BODY, json};
use spindle_shared::sql::{Db, get_int, get_opt_int, int, opt_text, text};
use spindle_shared::time::now_ms;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Play,
    Complete,
    Skip,
}

/// The listen as tracking answers it: whether this call counted anything too.
fn tracked_view(listen: &Listen, counted: bool) -> Value {
    let mut view = listen.view();
    view["counted"] = json!(counted);
    view
}

/// `POST /api/songs/:id/track/:kind`
pub fn track(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let kind = match params.get("kind") {
            Some("play") => Kind::Play,
            Some("complete") => Kind::Complete,
            Some("skip") => Kind::Skip,
            _ => return Err(Problem::not_found("track play, complete or skip")),
        };
        let claims = crate::authenticate(&req)?;
        let song_id = params.get("id").unwrap_or_default().to_string();
        let mut body = Body::read(&req, MAX_JSON_BODY)?;
        let listen_id = body.client_id("listenId");
        let position: Option<u64> =
            body.required("positionMs", "a whole number of milliseconds, 0 or more");
        let device: Option<String> = body.optional("deviceId", "a string");
        if device
            .as_ref()
            .is_some_and(|d| d.is_empty() || d.len() > 64)
        {
            body.error("deviceId", "must be 1 to 64 characters");
        }
        body.finish()?;
        let (listen_id, position) = (listen_id.unwrap_or_default(), position.unwrap_or(0));

        // Only songs the caller may see count: the catalog decides, with the caller's token.
        let song = crate::catalog::visible_song(&song_id, &req)?
            .ok_or_else(|| Problem::not_found("no such song"))?;
        let duration = song["durationMs"].as_u64().unwrap_or(0);
        check_position(kind, position, duration)?;

        let db = store::open()?;
        let now = now_ms();
        signals::check_not_rebuilding(&db, now)?;
        store::remember_catalog_song(&db, &song, now)?;
        let (status, view) = db.transaction(|| {
            // The time under the write lock: listens start in the order they commit, so the
            // rate limits' waits never exceed their windows.
            record(
                &db,
                &claims.user_id,
                &song_id,
                &listen_id,
                device.as_deref(),
                kind,
                position,
                now_ms(),
            )
        })?;
        Ok(json(status, &view))
    })
}

fn check_position(kind: Kind, position: u64, duration: u64) -> Result<(), Problem> {
    let invalid = |m: String| Err(Problem::invalid(vec![Problem::field("positionMs", m)]));
    if duration > 0 && position > duration + POSITION_SLACK_MS {
        return invalid(format!("is past the end of the song ({duration} ms)"));
    }
    let share = |f: f64| (duration as f64 * f) as u64;
    match kind {
        Kind::Play if position < PLAY_AFTER_MS => invalid(format!(
            "a play counts after {PLAY_AFTER_MS} ms of listening"
        )),
        Kind::Complete if position < share(COMPLETE_FROM) => invalid(format!(
            "a listen completes at {}% of the song ({} ms)",
            (COMPLETE_FROM * 100.0) as u32,
            share(COMPLETE_FROM)
        )),
        Kind::Skip if duration > 0 && position >= share(SKIP_BELOW) => invalid(format!(
            "a skip is a change before {}% of the song ({} ms)",
            (SKIP_BELOW * 100.0) as u32,
            share(SKIP_BELOW)
        )),
        _ => Ok(()),
    }
}

fn find(db: &Db, user_id: &str, listen_id: &str) -> Result<Option<Listen>, Problem> {
    Ok(db
        .rows(
            &format!(
                "SELECT {} FROM listens WHERE user_id = ? AND listen_id = ?",
                listen::COLUMNS
            ),
            &[text(user_id), text(listen_id)],
            Listen::from_row,
        )?
        .into_iter()
        .next())
}

/// Counts what this call adds to the listen (creating it if new); answers 201 for a new
/// listen, else 200.
#[allow(clippy::too_many_arguments)]
fn record(
    db: &Db,
    user_id: &str,
    song_id: &str,
    listen_id: &str,
    device: Option<&str>,
    kind: Kind,
    position: u64,
    now: u64,
) -> Result<(u16, Value), Problem> {
    let existing = find(db, user_id, listen_id)?;
    if let Some(l) = &existing {
        if l.song_id != song_id {
            return Err(Problem::conflict(
                "this listenId belongs to a listen of another song; make a new id per listen",
            ));
        }
        if (kind == Kind::Complete && l.skipped) || (kind == Kind::Skip && l.completed) {
            return Err(Problem::conflict(
                "a listen is either completed or skipped, not both",
            ));
        }
    } else {
        new_listen_limit(db, user_id, now)?;
    }
    let (played, completed, skipped) = existing.as_ref().map_or((false, false, false), |l| {
        (l.played, l.completed, l.skipped)
    });
    if !played && position >= PLAY_AFTER_MS {
        play_limit(db, user_id, song_id, listen_id, now)?;
    }
    let plays_now = position >= PLAY_AFTER_MS;
    let delta = Delta {
        played: !played && plays_now,
        completed: !completed && kind == Kind::Complete,
        skipped: !skipped && kind == Kind::Skip,
    };
    let status = if existing.is_some() { 200 } else { 201 };
    let listen = match existing {
        Some(l) => add(db, l, delta, position)?,
        None => insert(
            db,
            user_id,
            &Listen {
                row: 0, // numbered by the database
                listen_id: listen_id.to_string(),
                song_id: song_id.to_string(),
                device_id: device.map(String::from),
                started_at: now,
                position_ms: position,
                played: delta.played,
                completed: delta.completed,
                skipped: delta.skipped,
            },
        )?,
    };
    signals::record(
        db,
        user_id,
        song_id,
        listen.started_at,
        listen.row,
        delta,
        now,
    )?;
    if !delta.is_empty() {
        store::uncache(db, &crate::for_you::cache_key(user_id))?;
    }
    Ok((status, tracked_view(&listen, !delta.is_empty())))
}

/// Adds what `delta` counts to a stored listen (nothing to write when it counts nothing).
fn add(db: &Db, mut l: Listen, delta: Delta, position: u64) -> Result<Listen, Problem> {
    if delta.is_empty() {
        return Ok(l);
    }
    l.played |= delta.played;
    l.completed |= delta.completed;
    l.skipped |= delta.skipped;
    l.position_ms = l.position_ms.max(position);
    db.run(
        "UPDATE listens SET played = ?, completed = ?, skipped = ?, position_ms = ? WHERE id = ?",
        &[
            int(i64::from(l.played)),
            int(i64::from(l.completed)),
            int(i64::from(l.skipped)),
            int(l.position_ms as i64),
            int(l.row),
        ],
    )?;
    Ok(l)
}

/// Stores a new listen (`new.row` aside) and answers it as stored, with its row id.
fn insert(db: &Db, user_id: &str, new: &Listen) -> Result<Listen, Problem> {
    db.rows(
        &format!(
            "INSERT INTO listens (user_id, listen_id, song_id, device_id, started_at,
               position_ms, played, completed, skipped)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             RETURNING {}",
            listen::COLUMNS
        ),
        &[
            text(user_id),
            text(&new.listen_id),
            text(&new.song_id),
            opt_text(new.device_id.as_deref()),
            int(new.started_at as i64),
            int(new.position_ms as i64),
            int(i64::from(new.played)),
            int(i64::from(new.completed)),
            int(i64::from(new.skipped)),
        ],
        Listen::from_row,
    )?
    .into_iter()
    .next()
    .ok_or_else(|| Problem::internal("the listen just stored is not there"))
}

/// Against inflated counts: new listens per user per minute ...
fn new_listen_limit(db: &Db, user_id: &str, now: u64) -> Result<(), Problem> {
    let minute_ago = now.saturating_sub(60_000) as i64;
    let recent = db.rows(
        "SELECT COUNT(*), MIN(started_at) FROM listens WHERE user_id = ? AND started_at > ?",
        &[text(user_id), int(minute_ago)],
        |row| (get_int(row, 0), get_int(row, 1) as u64),
    )?;
    if let Some((count, oldest)) = recent.first()
        && *count >= MAX_LISTENS_PER_MINUTE
    {
        let wait = (oldest + 60_000).saturating_sub(now);
        return Err(Problem::too_many_requests(wait.div_ceil(1_000).max(1)));
    }
    Ok(())
}

/// ... and a counted play of one song by one user at most every [`SAME_SONG_EVERY_MS`], by
/// whichever listen it comes (a listen begun with an early skip is no way around it).
fn play_limit(
    db: &Db,
    user_id: &str,
    song_id: &str,
    listen_id: &str,
    now: u64,
) -> Result<(), Problem> {
    let last = db.rows(
        "SELECT MAX(started_at) FROM listens
         WHERE user_id = ? AND song_id = ? AND played = 1 AND listen_id <> ? AND started_at > ?",
        &[
            text(user_id),
            text(song_id),
            text(listen_id),
            int(now.saturating_sub(SAME_SONG_EVERY_MS) as i64),
        ],
        |row| get_opt_int(row, 0),
    )?;
    if let Some(Some(at)) = last.first() {
        let wait = (*at as u64 + SAME_SONG_EVERY_MS).saturating_sub(now);
        return Err(Problem::too_many_requests(wait.div_ceil(1_000).max(1)));
    }
    Ok(())
}
