//! The component's SQLite database (label `playlists`): collections (playlists and albums),
//! their entries in order, members, share links and covers.

use spin_sdk::sqlite::Value;
use spindle_shared::Problem;
use spindle_shared::migrations::Migration;
use spindle_shared::sql::{Db, get_int, get_opt_text, get_text, int, opt_text, text};
use spindle_shared::time::now_ms;

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: include_str!("../../../migrations/playlists/0001_init.sql"),
}];

/// The component's database; [`Db`]'s `run` and `transaction` through `Deref`.
pub struct Store {
    db: Db,
}

impl std::ops::Deref for Store {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Playlist,
    Album,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Playlist => "playlist",
            Kind::Album => "album",
        }
    }

    /// Which kind a route is about, from its path.
    pub fn of_path(path: &str) -> Kind {
        if path.starts_with("/api/albums") || path.starts_with("/api/admin/albums") {
            Kind::Album
        } else {
            Kind::Playlist
        }
    }
}

/// A playlist or an album as stored.
#[derive(Debug, Clone)]
pub struct Collection {
    pub id: String,
    pub kind: Kind,
    pub owner_id: String,
    pub owner_name: String,
    pub title: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub is_visible: bool,
    pub revision: i64,
    pub track_count: i64,
    pub has_cover: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

const COLUMNS: &str = "c.id, c.kind, c.owner_id, c.owner_name, c.title, c.description, c.is_public,
    c.is_visible, c.revision, c.track_count,
    EXISTS (SELECT 1 FROM covers v WHERE v.collection_id = c.id), c.created_at, c.updated_at";

impl Collection {
    /// Listeners see it: public by its owner and not hidden by an admin.
    pub fn is_listed(&self) -> bool {
        self.is_public && self.is_visible
    }

    fn from_row(row: &[Value]) -> Self {
        Self {
            id: get_text(row, 0),
            kind: if get_text(row, 1) == "album" {
                Kind::Album
            } else {
                Kind::Playlist
            },
            owner_id: get_text(row, 2),
            owner_name: get_text(row, 3),
            title: get_text(row, 4),
            description: get_opt_text(row, 5),
            is_public: get_int(row, 6) != 0,
            is_visible: get_int(row, 7) != 0,
            revision: get_int(row, 8),
            track_count: get_int(row, 9),
            has_cover: get_int(row, 10) != 0,
            created_at: get_int(row, 11) as u64,
            updated_at: get_int(row, 12) as u64,
        }
    }
}

/// One track of a collection.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub song_id: String,
    pub position: i64,
    pub added_by: Option<String>,
    pub added_at: u64,
    /// The catalog announced the song deleted.
    pub song_deleted: bool,
}

impl Entry {
    fn from_row(row: &[Value]) -> Self {
        Self {
            id: get_text(row, 0),
            song_id: get_text(row, 1),
            position: get_int(row, 2),
            added_by: get_opt_text(row, 3),
            added_at: get_int(row, 4) as u64,
            song_deleted: get_int(row, 5) != 0,
        }
    }
}

const ENTRY_COLUMNS: &str = "id, song_id, position, added_by, added_at, song_deleted";

/// Which collections a list shows, newest first.
pub enum Filter<'a> {
    /// Public and visible; of one owner when given.
    Listed(Option<&'a str>),
    /// Every one of this owner.
    OwnedBy(&'a str),
    /// This user's own and those they are a member of.
    OfUser(&'a str),
    /// Every one (admins).
    All,
}

/// A share link.
pub struct Link {
    pub id: String,
    pub token: String,
    pub created_at: u64,
}

/// A collaborator or a user a playlist was shared with.
pub struct Member {
    pub user_id: String,
    pub role: String,
    pub added_at: u64,
}

impl Store {
    pub fn open() -> Result<Self, Problem> {
        Ok(Self {
            db: Db::open("playlists", MIGRATIONS)?,
        })
    }

    /// The collection `id` when it is of `kind`.
    pub fn collection(&self, id: &str, kind: Kind) -> Result<Option<Collection>, Problem> {
        let sql = format!("SELECT {COLUMNS} FROM collections c WHERE c.id = ? AND c.kind = ?");
        let result = self.run(&sql, &[text(id), text(kind.as_str())])?;
        Ok(result.rows.first().map(|r| Collection::from_row(&r.values)))
    }

    /// The playlist an unrevoked share link opens.
    pub fn collection_by_token(&self, token: &str) -> Result<Option<Collection>, Problem> {
        let sql = format!(
            "SELECT {COLUMNS} FROM collections c JOIN share_links l ON l.collection_id = c.id
             WHERE l.token = ? AND l.revoked_at IS NULL"
        );
        let result = self.run(&sql, &[text(token)])?;
        Ok(result.rows.first().map(|r| Collection::from_row(&r.values)))
    }

    pub fn insert(&self, c: &Collection) -> Result<(), Problem> {
        self.run(
            "INSERT INTO collections (id, kind, owner_id, owner_name, title, description,
               is_public, is_visible, revision, track_count, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 1, 1, 0, ?, ?)",
            &[
                text(&c.id),
                text(c.kind.as_str()),
                text(&c.owner_id),
                text(&c.owner_name),
                text(&c.title),
                opt_text(c.description.as_deref()),
                int(c.is_public),
                int(c.created_at as i64),
                int(c.updated_at as i64),
            ],
        )?;
        Ok(())
    }

    /// Writes the owner-set fields of `c`.
    pub fn save_settings(&self, c: &Collection) -> Result<(), Problem> {
        self.run(
            "UPDATE collections SET title = ?, description = ?, is_public = ?, owner_name = ?
             WHERE id = ?",
            &[
                text(&c.title),
                opt_text(c.description.as_deref()),
                int(c.is_public),
                text(&c.owner_name),
                text(&c.id),
            ],
        )?;
        Ok(())
    }

    pub fn set_visible(&self, id: &str, visible: bool) -> Result<(), Problem> {
        self.run(
            "UPDATE collections SET is_visible = ? WHERE id = ?",
            &[int(visible), text(id)],
        )?;
        Ok(())
    }

    /// Marks a write: the revision grows by one, the track count is recounted. Answers the
    /// collection as it now is.
    pub fn bump(&self, id: &str, kind: Kind) -> Result<Collection, Problem> {
        self.run(
            "UPDATE collections SET revision = revision + 1, updated_at = ?1,
               track_count = (SELECT COUNT(*) FROM entries WHERE collection_id = ?2)
             WHERE id = ?2",
            &[int(now_ms() as i64), text(id)],
        )?;
        self.collection(id, kind)?
            .ok_or_else(|| Problem::not_found("no such collection"))
    }

    pub fn delete(&self, id: &str) -> Result<(), Problem> {
        for table in ["entries", "members", "share_links", "covers"] {
            let sql = format!("DELETE FROM {table} WHERE collection_id = ?");
            self.run(&sql, &[text(id)])?;
        }
        self.run("DELETE FROM collections WHERE id = ?", &[text(id)])?;
        Ok(())
    }

    /// A page of collections of `kind`, newest first, after the cursor `(created_at, id)`.
    pub fn list(
        &self,
        kind: Kind,
        filter: Filter<'_>,
        after: Option<&(i64, String)>,
        limit: u32,
    ) -> Result<Vec<Collection>, Problem> {
        let (condition, who) = match filter {
            Filter::Listed(owner) => (
                "c.is_public = 1 AND c.is_visible = 1 AND (?2 IS NULL OR c.owner_id = ?2)",
                owner,
            ),
            Filter::OwnedBy(owner) => ("c.owner_id = ?2", Some(owner)),
            Filter::OfUser(user) => (
                "(c.owner_id = ?2 OR EXISTS (SELECT 1 FROM members m
                   WHERE m.collection_id = c.id AND m.user_id = ?2))",
                Some(user),
            ),
            Filter::All => ("?2 IS NULL", None),
        };
        let (after_at, after_id) = after.cloned().unwrap_or((i64::MAX, String::new()));
        let keyset = if after.is_some() {
            "(c.created_at < ?3 OR (c.created_at = ?3 AND c.id < ?4))"
        } else {
            "?3 = ?3 AND ?4 = ?4"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM collections c WHERE c.kind = ?1 AND {condition} AND {keyset}
             ORDER BY c.created_at DESC, c.id DESC LIMIT ?5"
        );
        self.rows(
            &sql,
            &[
                text(kind.as_str()),
                opt_text(who),
                int(after_at),
                text(after_id),
                int(limit),
            ],
            Collection::from_row,
        )
    }

    // --- entries -------------------------------------------------------------------------

    /// The entries of a collection, in order.
    pub fn entries(&self, id: &str) -> Result<Vec<Entry>, Problem> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM entries WHERE collection_id = ? ORDER BY position"
        );
        self.rows(&sql, &[text(id)], Entry::from_row)
    }

    pub fn entry(&self, id: &str, entry_id: &str) -> Result<Option<Entry>, Problem> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE collection_id = ? AND id = ?");
        let result = self.run(&sql, &[text(id), text(entry_id)])?;
        Ok(result.rows.first().map(|r| Entry::from_row(&r.values)))
    }

    pub fn count_entries(&self, id: &str) -> Result<i64, Problem> {
        let result = self.run(
            "SELECT COUNT(*) FROM entries WHERE collection_id = ?",
            &[text(id)],
        )?;
        Ok(result.rows.first().map_or(0, |r| get_int(&r.values, 0)))
    }

    /// Whether the collection holds `song_id` (albums hold each song once).
    pub fn holds_song(&self, id: &str, song_id: &str) -> Result<bool, Problem> {
        let result = self.run(
            "SELECT 1 FROM entries WHERE collection_id = ? AND song_id = ? LIMIT 1",
            &[text(id), text(song_id)],
        )?;
        Ok(!result.rows.is_empty())
    }

    /// Inserts `entries` (their ids, songs and adder set) from `position` on, moving the
    /// entries from there down.
    pub fn insert_entries(
        &self,
        id: &str,
        position: i64,
        entries: &[Entry],
    ) -> Result<(), Problem> {
        self.run(
            "UPDATE entries SET position = position + ?1 WHERE collection_id = ?2 AND position >= ?3",
            &[int(entries.len() as i64), text(id), int(position)],
        )?;
        for entry in entries {
            self.run(
                "INSERT INTO entries (id, collection_id, song_id, position, added_by, added_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                &[
                    text(&entry.id),
                    text(id),
                    text(&entry.song_id),
                    int(entry.position),
                    opt_text(entry.added_by.as_deref()),
                    int(entry.added_at as i64),
                ],
            )?;
        }
        Ok(())
    }

    /// Removes an entry and closes the gap it leaves.
    pub fn remove_entry(&self, id: &str, entry: &Entry) -> Result<(), Problem> {
        self.run("DELETE FROM entries WHERE id = ?", &[text(&entry.id)])?;
        self.run(
            "UPDATE entries SET position = position - 1 WHERE collection_id = ? AND position > ?",
            &[text(id), int(entry.position)],
        )?;
        Ok(())
    }

    /// Moves an entry to `to`, shifting those between by one.
    pub fn move_entry(&self, id: &str, entry: &Entry, to: i64) -> Result<(), Problem> {
        let from = entry.position;
        if to > from {
            self.run(
                "UPDATE entries SET position = position - 1
                 WHERE collection_id = ? AND position > ? AND position <= ?",
                &[text(id), int(from), int(to)],
            )?;
        } else if to < from {
            self.run(
                "UPDATE entries SET position = position + 1
                 WHERE collection_id = ? AND position >= ? AND position < ?",
                &[text(id), int(to), int(from)],
            )?;
        }
        self.run(
            "UPDATE entries SET position = ? WHERE id = ?",
            &[int(to), text(&entry.id)],
        )?;
        Ok(())
    }

    /// Gives every entry the position of its id in `order` (a permutation of the entries).
    pub fn reorder(&self, id: &str, order: &[String]) -> Result<(), Problem> {
        let order = serde_json::to_string(order).unwrap_or_else(|_| "[]".into());
        self.run(
            "UPDATE entries SET position = o.key
             FROM (SELECT key, value FROM json_each(?1)) AS o
             WHERE entries.id = o.value AND entries.collection_id = ?2",
            &[text(order), text(id)],
        )?;
        Ok(())
    }

    // --- members and links ---------------------------------------------------------------

    pub fn member_role(&self, id: &str, user_id: &str) -> Result<Option<String>, Problem> {
        let result = self.run(
            "SELECT role FROM members WHERE collection_id = ? AND user_id = ?",
            &[text(id), text(user_id)],
        )?;
        Ok(result.rows.first().map(|r| get_text(&r.values, 0)))
    }

    pub fn members(&self, id: &str) -> Result<Vec<Member>, Problem> {
        self.rows(
            "SELECT user_id, role, added_at FROM members WHERE collection_id = ?
             ORDER BY added_at, user_id",
            &[text(id)],
            |r| Member {
                user_id: get_text(r, 0),
                role: get_text(r, 1),
                added_at: get_int(r, 2) as u64,
            },
        )
    }

    /// Makes `user_id` a member with `role` (an editor stays an editor when shared with).
    pub fn set_member(&self, id: &str, user_id: &str, role: &str) -> Result<(), Problem> {
        self.run(
            "INSERT INTO members (collection_id, user_id, role, added_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (collection_id, user_id) DO UPDATE SET role = 'editor'
               WHERE excluded.role = 'editor'",
            &[text(id), text(user_id), text(role), int(now_ms() as i64)],
        )?;
        Ok(())
    }

    /// Ends a membership; false when there was none.
    pub fn remove_member(&self, id: &str, user_id: &str) -> Result<bool, Problem> {
        let result = self.run(
            "DELETE FROM members WHERE collection_id = ? AND user_id = ? RETURNING user_id",
            &[text(id), text(user_id)],
        )?;
        Ok(!result.rows.is_empty())
    }

    pub fn add_link(&self, id: &str, link: &Link) -> Result<(), Problem> {
        self.run(
            "INSERT INTO share_links (id, collection_id, token, created_at) VALUES (?, ?, ?, ?)",
            &[
                text(&link.id),
                text(id),
                text(&link.token),
                int(link.created_at as i64),
            ],
        )?;
        Ok(())
    }

    pub fn links(&self, id: &str) -> Result<Vec<Link>, Problem> {
        self.rows(
            "SELECT id, token, created_at FROM share_links
             WHERE collection_id = ? AND revoked_at IS NULL ORDER BY id",
            &[text(id)],
            |r| Link {
                id: get_text(r, 0),
                token: get_text(r, 1),
                created_at: get_int(r, 2) as u64,
            },
        )
    }

    /// Revokes a link; false when there is no such live link.
    pub fn revoke_link(&self, id: &str, link_id: &str) -> Result<bool, Problem> {
        let result = self.run(
            "UPDATE share_links SET revoked_at = ? WHERE collection_id = ? AND id = ?
               AND revoked_at IS NULL RETURNING id",
            &[int(now_ms() as i64), text(id), text(link_id)],
        )?;
        Ok(!result.rows.is_empty())
    }

    // --- covers --------------------------------------------------------------------------

    pub fn set_cover(&self, id: &str, mime: &str, bytes: &[u8], etag: &str) -> Result<(), Problem> {
        self.run(
            "INSERT INTO covers (collection_id, mime, bytes, etag) VALUES (?, ?, ?, ?)
             ON CONFLICT (collection_id) DO UPDATE
               SET mime = excluded.mime, bytes = excluded.bytes, etag = excluded.etag",
            &[
                text(id),
                text(mime),
                Value::Blob(bytes.to_vec()),
                text(etag),
            ],
        )?;
        Ok(())
    }

    pub fn remove_cover(&self, id: &str) -> Result<(), Problem> {
        self.run("DELETE FROM covers WHERE collection_id = ?", &[text(id)])?;
        Ok(())
    }

    /// The cover: its media type, bytes and ETag.
    pub fn cover(&self, id: &str) -> Result<Option<(String, Vec<u8>, String)>, Problem> {
        let result = self.run(
            "SELECT mime, bytes, etag FROM covers WHERE collection_id = ?",
            &[text(id)],
        )?;
        Ok(result.rows.first().map(|r| {
            let bytes = match r.values.get(1) {
                Some(Value::Blob(b)) => b.clone(),
                _ => Vec::new(),
            };
            (get_text(&r.values, 0), bytes, get_text(&r.values, 2))
        }))
    }
}
