//! What listening feeds: per-song counts and trend scores, per-user counts, and co-listening
//! pairs. Each tracking call updates them in its transaction (incrementally, never a
//! recomputation); [`rebuild`] recomputes them all from the listens by the same rules.

use spindle_shared::Problem;
use spindle_shared::sql::{Db, get_int, get_opt_int, get_text, int, real, text};
use std::collections::HashMap;

/// Trend scores halve every two days.
pub const HALF_LIFE_MS: u64 = 2 * 24 * 60 * 60 * 1000;
/// Only songs with an event this recent trend.
pub const TREND_WINDOW_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// A play pairs with the listener's previous plays (at most this many) ...
pub const PAIR_PREVIOUS: i64 = 5;
/// ... made within this long before it.
pub const PAIR_WITHIN_MS: u64 = 30 * 60 * 1000;

/// What one tracking call adds to a listen.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Delta {
    pub played: bool,
    pub completed: bool,
    pub skipped: bool,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        !(self.played || self.completed || self.skipped)
    }
    fn weight(&self) -> f64 {
        f64::from(u8::from(self.played)) + f64::from(u8::from(self.completed))
            - f64::from(u8::from(self.skipped))
    }
}

/// The reference time of stored trend scores; moved forward (and the scores rescaled) before
/// the factors grow too large for a float.
fn trend_epoch(db: &Db, now: u64) -> Result<u64, Problem> {
    let stored = db.rows(
        "SELECT value FROM meta WHERE key = 'trend_epoch'",
        &[],
        |row| get_int(row, 0) as u64,
    )?;
    match stored.first() {
        Some(&epoch) if now.saturating_sub(epoch) < 400 * HALF_LIFE_MS => Ok(epoch),
        Some(&epoch) => {
            let factor = decay(now - epoch);
            db.run("UPDATE song_stats SET trend = trend * ?", &[real(factor)])?;
            set_epoch(db, now)?;
            Ok(now)
        }
        None => {
            set_epoch(db, now)?;
            Ok(now)
        }
    }
}

fn set_epoch(db: &Db, epoch: u64) -> Result<(), Problem> {
    db.run(
        "INSERT INTO meta (key, value) VALUES ('trend_epoch', ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[int(epoch as i64)],
    )?;
    Ok(())
}

/// 2^(-elapsed / half-life).
pub fn decay(elapsed_ms: u64) -> f64 {
    (-(elapsed_ms as f64) / HALF_LIFE_MS as f64).exp2()
}

fn growth(t: u64, epoch: u64) -> f64 {
    ((t as f64 - epoch as f64) / HALF_LIFE_MS as f64).exp2()
}

/// What stored trend scores are multiplied by to be scores as of `now`.
pub fn trend_factor(db: &Db, now: u64) -> Result<f64, Problem> {
    Ok(decay(now.saturating_sub(trend_epoch(db, now)?)))
}

/// Adds `delta` of a listen of `song_id` by `user_id` (started at `started_at`, row `listen_row`)
/// to every signal. Call inside the tracking transaction.
pub fn record(
    db: &Db,
    user_id: &str,
    song_id: &str,
    started_at: u64,
    listen_row: i64,
    delta: Delta,
    now: u64,
) -> Result<(), Problem> {
    if delta.is_empty() {
        return Ok(());
    }
    let (p, c, s) = (
        i64::from(delta.played),
        i64::from(delta.completed),
        i64::from(delta.skipped),
    );
    let first_play = delta.played
        && db
            .rows(
                "SELECT plays FROM user_songs WHERE user_id = ? AND song_id = ?",
                &[text(user_id), text(song_id)],
                |row| get_opt_int(row, 0).unwrap_or(0),
            )?
            .first()
            .is_none_or(|plays| *plays == 0);
    let epoch = trend_epoch(db, now)?;
    db.run(
        "INSERT INTO song_stats (song_id, plays, completions, skips, listeners, trend, trend_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (song_id) DO UPDATE SET plays = plays + ?2, completions = completions + ?3,
           skips = skips + ?4, listeners = listeners + ?5, trend = trend + ?6,
           trend_at = MAX(trend_at, ?7)",
        &[
            text(song_id),
            int(p),
            int(c),
            int(s),
            int(i64::from(first_play)),
            real(delta.weight() * growth(started_at, epoch)),
            int(started_at as i64),
        ],
    )?;
    db.run(
        "INSERT INTO user_songs (user_id, song_id, plays, completions, skips, last_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id, song_id) DO UPDATE SET plays = plays + ?3,
           completions = completions + ?4, skips = skips + ?5, last_at = MAX(last_at, ?6)",
        &[
            text(user_id),
            text(song_id),
            int(p),
            int(c),
            int(s),
            int(started_at as i64),
        ],
    )?;
    if delta.played {
        pair_with_previous(db, user_id, song_id, started_at, listen_row)?;
    }
    Ok(())
}

/// The co-listening rule: this play pairs with the user's previous plays (at most
/// [`PAIR_PREVIOUS`], within [`PAIR_WITHIN_MS`]) of other songs.
fn pair_with_previous(
    db: &Db,
    user_id: &str,
    song_id: &str,
    started_at: u64,
    listen_row: i64,
) -> Result<(), Problem> {
    let previous = db.rows(
        "SELECT song_id FROM (
           SELECT song_id, started_at FROM listens
           WHERE user_id = ?1 AND played = 1 AND id <> ?2
             AND (started_at < ?3 OR (started_at = ?3 AND id < ?2))
           ORDER BY started_at DESC, id DESC LIMIT ?4)
         WHERE started_at >= ?5",
        &[
            text(user_id),
            int(listen_row),
            int(started_at as i64),
            int(PAIR_PREVIOUS),
            int(started_at.saturating_sub(PAIR_WITHIN_MS) as i64),
        ],
        |row| get_text(row, 0),
    )?;
    for other in previous.iter().filter(|o| o.as_str() != song_id) {
        let (a, b) = if other.as_str() < song_id {
            (other.as_str(), song_id)
        } else {
            (song_id, other.as_str())
        };
        db.run(
            "INSERT INTO pairs (a, b, n) VALUES (?, ?, 1)
             ON CONFLICT (a, b) DO UPDATE SET n = n + 1",
            &[text(a), text(b)],
        )?;
    }
    Ok(())
}

/// How long a rebuild may take before tracking stops waiting for it (a rebuild that died
/// leaves its mark; this lets tracking resume).
const REBUILD_MARK_MS: u64 = 15 * 60 * 1000;

/// 503 while a rebuild runs: tracking would otherwise wait on its write lock.
pub fn check_not_rebuilding(db: &Db, now: u64) -> Result<(), Problem> {
    let until = db.rows(
        "SELECT value FROM meta WHERE key = 'rebuilding_until' AND value > ?",
        &[int(now as i64)],
        |row| get_int(row, 0),
    )?;
    if until.is_empty() {
        return Ok(());
    }
    Err(Problem {
        retry_after: Some(10),
        ..Problem::new(
            503,
            "listening statistics are being rebuilt; try again shortly",
        )
    })
}

/// Recomputes every derived table from the listens, by the rules above (after a bulk import, or
/// a change of the rules), in one transaction: reads keep answering from the tables as they
/// were, tracking answers 503 meanwhile. Answers how many listens it read.
pub fn rebuild(db: &Db, now: u64) -> Result<i64, Problem> {
    db.run(
        "INSERT INTO meta (key, value) VALUES ('rebuilding_until', ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[int((now + REBUILD_MARK_MS) as i64)],
    )?;
    let result = rebuild_all(db, now);
    db.run("DELETE FROM meta WHERE key = 'rebuilding_until'", &[])?;
    result
}

fn rebuild_all(db: &Db, now: u64) -> Result<i64, Problem> {
    db.transaction(|| {
        for table in ["song_stats", "user_songs", "pairs", "caches"] {
            db.run(&format!("DELETE FROM {table}"), &[])?;
        }
        set_epoch(db, now)?;
        // Songs written straight into the mirror (a bulk import) get their tags indexed too.
        db.run("DELETE FROM song_tags", &[])?;
        db.run(
            "INSERT OR IGNORE INTO song_tags (tag, song_id)
             SELECT j.value, s.id FROM songs s, json_each(s.tags) j WHERE s.deleted = 0",
            &[],
        )?;
        db.run(
            "INSERT INTO song_stats (song_id, plays, completions, skips, listeners, trend, trend_at)
             SELECT song_id, SUM(played), SUM(completed), SUM(skipped),
                    COUNT(DISTINCT CASE WHEN played = 1 THEN user_id END), 0, MAX(started_at)
             FROM listens GROUP BY song_id",
            &[],
        )?;
        db.run(
            "INSERT INTO user_songs (user_id, song_id, plays, completions, skips, last_at)
             SELECT user_id, song_id, SUM(played), SUM(completed), SUM(skipped), MAX(started_at)
             FROM listens GROUP BY user_id, song_id",
            &[],
        )?;
        db.run(
            "WITH p AS (
               SELECT user_id, song_id, started_at,
                      ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY started_at, id) AS rn
               FROM listens WHERE played = 1)
             INSERT INTO pairs (a, b, n)
             SELECT MIN(x.song_id, y.song_id), MAX(x.song_id, y.song_id), COUNT(*)
             FROM p x JOIN p y ON y.user_id = x.user_id
               AND y.rn BETWEEN x.rn - ?1 AND x.rn - 1 AND y.started_at >= x.started_at - ?2
             WHERE x.song_id <> y.song_id
             GROUP BY 1, 2",
            &[int(PAIR_PREVIOUS), int(PAIR_WITHIN_MS as i64)],
        )?;
        // Trend scores need powers SQLite cannot compute here: summed per song in the
        // component, a page of listens at a time. Events older than 64 half-lives add less
        // than 2^-64 of their weight: left out.
        let mut trends: HashMap<String, f64> = HashMap::new();
        let oldest = now.saturating_sub(64 * HALF_LIFE_MS) as i64;
        let mut after = 0;
        loop {
            let page = db.rows(
                "SELECT id, song_id, started_at, played + completed - skipped FROM listens
                 WHERE id > ? AND started_at > ? AND played + completed + skipped > 0
                 ORDER BY id LIMIT 50000",
                &[int(after), int(oldest)],
                |row| {
                    (
                        get_int(row, 0),
                        get_text(row, 1),
                        get_int(row, 2) as u64,
                        get_int(row, 3),
                    )
                },
            )?;
            let Some(last) = page.last() else { break };
            after = last.0;
            for (_, song, at, weight) in page {
                *trends.entry(song).or_default() += weight as f64 * growth(at, now);
            }
        }
        for (song, trend) in trends {
            db.run(
                "UPDATE song_stats SET trend = ? WHERE song_id = ?",
                &[real(trend), text(song)],
            )?;
        }
        let listens = db.rows("SELECT COUNT(*) FROM listens", &[], |row| get_int(row, 0))?;
        Ok(listens.first().copied().unwrap_or(0))
    })
}
