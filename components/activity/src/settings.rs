//! Rules and limits of listening and recommendations.

/// A play counts after this much listening ...
pub const PLAY_AFTER_MS: u64 = 3_000;
/// ... a completion from this share of the song ...
pub const COMPLETE_FROM: f64 = 0.8;
/// ... and a skip below this share.
pub const SKIP_BELOW: f64 = 0.5;
/// A position may pass the song's duration by this much (clocks, rounding).
pub const POSITION_SLACK_MS: u64 = 10_000;
/// New listens a user may start per minute, and the least time between two counted plays of one
/// song by one user (so a script cannot inflate counts).
pub const MAX_LISTENS_PER_MINUTE: i64 = 30;
pub const SAME_SONG_EVERY_MS: u64 = 30_000;

/// How long ranked lists are cached.
pub const FOR_YOU_TTL_MS: u64 = 10 * 60 * 1000;
pub const TRENDING_TTL_MS: u64 = 5 * 60 * 1000;
pub const SIMILAR_TTL_MS: u64 = 10 * 60 * 1000;
/// How many candidates a cached list keeps (visibility is applied per caller afterwards).
pub const CANDIDATES: usize = 60;

/// Page sizes.
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 50;
pub const MAX_HISTORY_PAGE: usize = 100;
/// Genres a user may choose.
pub const MAX_TASTE_GENRES: usize = 10;
