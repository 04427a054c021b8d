//! The default media backend, on every Spin host with zero configuration: chunks of at most
//! 1 MiB in the SQLite database labelled `media`, apart from the catalog's metadata. A file is
//! written as incomplete and only marked complete once the upload has everything;
//! [`SqliteMedia::discard`] removes a half-written one, and incomplete files older than an hour
//! are swept, so a failure half-way leaves no orphan chunks.

use super::storage::MediaInfo;
use spin_sdk::sqlite::{Connection, Value};
use spindle_shared::Problem;
use spindle_shared::migrations::Migration;
use spindle_shared::sql::{get_int, get_opt_text, get_text, int, text};
use spindle_shared::time::now_ms;
use std::io::{Read, Seek, SeekFrom};

pub const CHUNK_BYTES: usize = 1 << 20;

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: include_str!("../../../../migrations/media/0001_init.sql"),
}];

pub struct SqliteMedia {
    conn: Connection,
}

fn db(e: impl std::fmt::Display) -> Problem {
    Problem::internal(format!("media database: {e}"))
}

impl SqliteMedia {
    pub fn open() -> Result<Self, Problem> {
        Ok(Self {
            conn: spindle_shared::sql::open("media", MIGRATIONS)?,
        })
    }

    fn run(&self, sql: &str, params: &[Value]) -> Result<spin_sdk::sqlite::QueryResult, Problem> {
        self.conn.execute(sql, params).map_err(db)
    }

    /// Starts a new file; its bytes go in with [`Writer::write`].
    pub fn create(&self, mime: &str) -> Result<Writer<'_>, Problem> {
        self.sweep()?;
        let id = spindle_shared::events::new_ulid(now_ms());
        self.run(
            "INSERT INTO media (id, mime, chunk_size, created_at) VALUES (?, ?, ?, ?)",
            &[
                text(&id),
                text(mime),
                int(CHUNK_BYTES as i64),
                int(now_ms() as i64),
            ],
        )?;
        Ok(Writer {
            media: self,
            id,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            seq: 0,
            size: 0,
        })
    }

    /// A complete file's description.
    pub fn info(&self, id: &str) -> Result<Option<MediaInfo>, Problem> {
        let result = self.run(
            "SELECT id, mime, size_bytes, sha256, chunk_size FROM media WHERE id = ? AND complete = 1",
            &[text(id)],
        )?;
        Ok(result.rows.first().map(|row| MediaInfo {
            id: get_text(&row.values, 0),
            mime: get_text(&row.values, 1),
            size: get_int(&row.values, 2) as u64,
            sha256: get_opt_text(&row.values, 3),
            chunk_size: get_int(&row.values, 4) as u64,
        }))
    }

    /// Marks a written file complete, with its digest.
    pub fn complete(&self, id: &str, sha256: &str) -> Result<(), Problem> {
        self.run(
            "UPDATE media SET complete = 1, sha256 = ? WHERE id = ?",
            &[text(sha256), text(id)],
        )?;
        Ok(())
    }

    /// Removes a file and its chunks.
    pub fn discard(&self, id: &str) -> Result<(), Problem> {
        self.run("DELETE FROM chunks WHERE media_id = ?", &[text(id)])?;
        self.run("DELETE FROM media WHERE id = ?", &[text(id)])?;
        Ok(())
    }

    /// Removes uploads that never completed (their request died) after an hour.
    fn sweep(&self) -> Result<(), Problem> {
        let hour_ago = int(now_ms() as i64 - 60 * 60 * 1000);
        self.run(
            "DELETE FROM chunks WHERE media_id IN (SELECT id FROM media WHERE complete = 0 AND created_at < ?)",
            std::slice::from_ref(&hour_ago),
        )?;
        self.run(
            "DELETE FROM media WHERE complete = 0 AND created_at < ?",
            &[hour_ago],
        )?;
        Ok(())
    }

    /// Chunk `seq` of a file.
    pub fn chunk(&self, id: &str, seq: u64) -> Result<Vec<u8>, Problem> {
        let result = self.run(
            "SELECT data FROM chunks WHERE media_id = ? AND seq = ?",
            &[text(id), int(seq as i64)],
        )?;
        // Moved out of the result, not copied: streaming copies each byte often enough.
        match result
            .rows
            .into_iter()
            .next()
            .and_then(|r| r.values.into_iter().next())
        {
            Some(Value::Blob(data)) => Ok(data),
            _ => Err(Problem::internal(format!("media {id} lacks chunk {seq}"))),
        }
    }

    /// `Read + Seek` over a file being or already written (for reading its metadata).
    pub fn reader(&self, id: &str, size: u64) -> ChunkReader<'_> {
        ChunkReader {
            media: self,
            id: id.to_string(),
            size,
            position: 0,
            cached: None,
        }
    }
}

/// Writes a file chunk by chunk.
pub struct Writer<'a> {
    media: &'a SqliteMedia,
    pub id: String,
    buffer: Vec<u8>,
    seq: u64,
    size: u64,
}

impl Writer<'_> {
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<(), Problem> {
        while !bytes.is_empty() {
            let room = CHUNK_BYTES - self.buffer.len();
            let take = room.min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            self.size += take as u64;
            if self.buffer.len() == CHUNK_BYTES {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Problem> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.media.run(
            "INSERT INTO chunks (media_id, seq, data) VALUES (?, ?, ?)",
            &[
                text(&self.id),
                int(self.seq as i64),
                Value::Blob(std::mem::take(&mut self.buffer)),
            ],
        )?;
        self.buffer = Vec::with_capacity(CHUNK_BYTES);
        self.seq += 1;
        Ok(())
    }

    /// Writes what is buffered and records the size; answers (id, size). The file is still
    /// incomplete until [`SqliteMedia::complete`].
    pub fn finish(mut self) -> Result<(String, u64), Problem> {
        self.flush()?;
        self.media.run(
            "UPDATE media SET size_bytes = ? WHERE id = ?",
            &[int(self.size as i64), text(&self.id)],
        )?;
        Ok((self.id.clone(), self.size))
    }
}

/// Reads a stored file through `Read + Seek`, one chunk in memory at a time.
pub struct ChunkReader<'a> {
    media: &'a SqliteMedia,
    id: String,
    size: u64,
    position: u64,
    cached: Option<(u64, Vec<u8>)>,
}

impl Read for ChunkReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.position >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let chunk = CHUNK_BYTES as u64;
        let seq = self.position / chunk;
        if self.cached.as_ref().is_none_or(|(s, _)| *s != seq) {
            let data = self
                .media
                .chunk(&self.id, seq)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            self.cached = Some((seq, data));
        }
        let data = &self.cached.as_ref().expect("cached above").1;
        let offset = (self.position - seq * chunk) as usize;
        let n = buf.len().min(data.len().saturating_sub(offset));
        buf[..n].copy_from_slice(&data[offset..offset + n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for ChunkReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.position = super::storage::seek_target(self.position, self.size, to)?;
        Ok(self.position)
    }
}
