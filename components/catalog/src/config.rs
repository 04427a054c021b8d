//! The component's settings, all Spin variables.

use spindle_shared::variable;

/// The largest audio file an upload may carry (`max_upload_bytes`, default 100 MiB).
pub fn max_audio_bytes() -> u64 {
    variable("max_upload_bytes")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(100 << 20)
}

/// The largest cover image (5 MiB).
pub const MAX_COVER_BYTES: u64 = 5 << 20;

/// How long a streaming URL stays valid (`stream_url_ttl_secs`, default 5 minutes).
pub fn stream_url_ttl_secs() -> u64 {
    variable("stream_url_ttl_secs")
        .and_then(|v| v.trim().parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(300)
}
