//! One listen as stored and as shown, shared by tracking (which writes listens) and history
//! (which reads them), so both read the same columns and answer the same JSON.

use serde_json::{Value, json};
use spindle_shared::sql::{get_int, get_opt_text, get_text};
use spindle_shared::time::rfc3339;

/// The columns [`Listen::from_row`] reads, in its order: `SELECT {COLUMNS} FROM listens ...`.
pub const COLUMNS: &str =
    "id, listen_id, song_id, device_id, started_at, position_ms, played, completed, skipped";

pub struct Listen {
    pub row: i64,
    pub listen_id: String,
    pub song_id: String,
    pub device_id: Option<String>,
    pub started_at: u64,
    pub position_ms: u64,
    pub played: bool,
    pub completed: bool,
    pub skipped: bool,
}

impl Listen {
    /// A row of [`COLUMNS`].
    pub fn from_row(row: &[spin_sdk::sqlite::Value]) -> Self {
        Self {
            row: get_int(row, 0),
            listen_id: get_text(row, 1),
            song_id: get_text(row, 2),
            device_id: get_opt_text(row, 3),
            started_at: get_int(row, 4) as u64,
            position_ms: get_int(row, 5) as u64,
            played: get_int(row, 6) != 0,
            completed: get_int(row, 7) != 0,
            skipped: get_int(row, 8) != 0,
        }
    }

    /// The listen as the API shows it (without its row id, which is internal).
    pub fn view(&self) -> Value {
        json!({
            "listenId": self.listen_id,
            "songId": self.song_id,
            "deviceId": self.device_id,
            "startedAt": rfc3339(self.started_at),
            "positionMs": self.position_ms,
            "played": self.played,
            "completed": self.completed,
            "skipped": self.skipped,
        })
    }
}
