//! The component's settings, all Spin variables.

use spindle_shared::{Problem, variable};

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

/// Where the S3-compatible backend is, from the `s3_*` variables; `None` (the SQLite backend)
/// while `s3_endpoint` is empty.
pub struct S3Settings {
    /// Where the component sends its requests (`s3_endpoint`, e.g. `https://s3.eu-west-1.amazonaws.com`).
    pub endpoint: String,
    /// Where listeners reach the bucket, for presigned URLs (`s3_public_endpoint`; empty: the
    /// endpoint).
    pub public_endpoint: Option<String>,
    /// `s3_region` (default `us-east-1`).
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

pub fn s3() -> Result<Option<S3Settings>, Problem> {
    let Some(endpoint) = variable("s3_endpoint") else {
        return Ok(None);
    };
    let required = |name: &str| {
        variable(name)
            .map(|v| v.trim().to_string())
            .ok_or_else(|| Problem::internal(format!("s3_endpoint is set, but {name} is empty")))
    };
    Ok(Some(S3Settings {
        endpoint: endpoint.trim().to_string(),
        public_endpoint: variable("s3_public_endpoint").map(|v| v.trim().to_string()),
        region: variable("s3_region").unwrap_or_else(|| "us-east-1".to_string()),
        bucket: required("s3_bucket")?,
        access_key_id: required("s3_access_key_id")?,
        secret_access_key: required("s3_secret_access_key")?,
    }))
}
