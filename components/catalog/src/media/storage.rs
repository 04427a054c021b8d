//! Where media bytes live: one interface over two backends, chosen by configuration.
//!
//! - [`SqliteMedia`] (the default, zero configuration, on every Spin host): chunks of at most
//!   1 MiB in the SQLite database labelled `media`, apart from the catalog's metadata.
//! - [`S3Media`] when the variable `s3_endpoint` is set: objects in an S3-compatible bucket,
//!   which listeners stream from directly through presigned URLs.
//!
//! Either way an upload stores everything or nothing: a file is written ([`Writer`]), read
//! back for its metadata ([`Media::reader`]), marked complete once its song can be saved
//! ([`Media::complete`]), and [`Media::discard`]ed when anything fails before the song row
//! commits.

use super::s3::{S3Media, S3Writer};
use super::sqlite::{SqliteMedia, Writer as SqliteWriter};
use spindle_shared::Problem;
use std::io::{Read, Seek};

/// One stored file.
#[derive(Debug, Clone)]
pub struct MediaInfo {
    pub id: String,
    pub mime: String,
    pub size: u64,
    pub sha256: Option<String>,
    /// The size of the pieces [`Media::chunk`] answers.
    pub chunk_size: u64,
}

pub enum Media {
    Sqlite(SqliteMedia),
    S3(Box<S3Media>),
}

/// What probing reads a stored file through.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

impl Media {
    /// The backend the variables choose: S3 when `s3_endpoint` is set, else SQLite.
    pub fn open() -> Result<Self, Problem> {
        match crate::config::s3()? {
            Some(settings) => Ok(Self::S3(Box::new(S3Media::new(&settings)?))),
            None => Ok(Self::Sqlite(SqliteMedia::open()?)),
        }
    }

    /// Starts a new file; its bytes go in with [`Writer::write`].
    pub fn create(&self, mime: &str) -> Result<Writer<'_>, Problem> {
        Ok(match self {
            Self::Sqlite(media) => Writer::Sqlite(media.create(mime)?),
            Self::S3(media) => Writer::S3(media.create(mime)),
        })
    }

    /// A complete file's description.
    pub fn info(&self, id: &str) -> Result<Option<MediaInfo>, Problem> {
        match self {
            Self::Sqlite(media) => media.info(id),
            Self::S3(media) => media.info(id),
        }
    }

    /// Marks a written file complete, with its digest (S3: nothing to do, the object is
    /// complete once written, and only the song row refers to it).
    pub fn complete(&self, id: &str, sha256: &str) -> Result<(), Problem> {
        match self {
            Self::Sqlite(media) => media.complete(id, sha256),
            Self::S3(_) => Ok(()),
        }
    }

    /// Removes a file.
    pub fn discard(&self, id: &str) -> Result<(), Problem> {
        match self {
            Self::Sqlite(media) => media.discard(id),
            Self::S3(media) => media.discard(id),
        }
    }

    /// Piece `seq` of a file, of [`MediaInfo::chunk_size`] bytes (the last may be shorter).
    pub fn chunk(&self, id: &str, seq: u64) -> Result<Vec<u8>, Problem> {
        match self {
            Self::Sqlite(media) => media.chunk(id, seq),
            Self::S3(media) => media.chunk(id, seq),
        }
    }

    /// `Read + Seek` over a written file (for reading its metadata).
    pub fn reader(&self, id: &str, size: u64) -> Box<dyn ReadSeek + '_> {
        match self {
            Self::Sqlite(media) => Box::new(media.reader(id, size)),
            Self::S3(media) => Box::new(media.reader(id, size)),
        }
    }
}

/// Writes a file as it streams in.
pub enum Writer<'a> {
    Sqlite(SqliteWriter<'a>),
    S3(S3Writer<'a>),
}

impl Writer<'_> {
    pub fn id(&self) -> &str {
        match self {
            Self::Sqlite(writer) => &writer.id,
            Self::S3(writer) => &writer.id,
        }
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Problem> {
        match self {
            Self::Sqlite(writer) => writer.write(bytes),
            Self::S3(writer) => writer.write(bytes),
        }
    }

    /// Writes what is buffered; answers (id, size). Still to be [`Media::complete`]d.
    pub fn finish(self) -> Result<(String, u64), Problem> {
        match self {
            Self::Sqlite(writer) => writer.finish(),
            Self::S3(writer) => writer.finish(),
        }
    }
}

/// Where a `Seek` to `to` lands in a file of `size` bytes read at `position`.
pub fn seek_target(position: u64, size: u64, to: std::io::SeekFrom) -> std::io::Result<u64> {
    let target = match to {
        std::io::SeekFrom::Start(n) => Some(n),
        std::io::SeekFrom::End(d) => size.checked_add_signed(d),
        std::io::SeekFrom::Current(d) => position.checked_add_signed(d),
    };
    target.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before 0"))
}
