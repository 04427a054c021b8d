-- Songs by tag, so that similar songs can be found by shared tags (a new song with no listens
-- still gets neighbours).
CREATE TABLE song_tags (
    tag     TEXT NOT NULL,
    song_id TEXT NOT NULL,
    PRIMARY KEY (tag, song_id)
) WITHOUT ROWID;
CREATE INDEX song_tags_by_song ON song_tags (song_id);

INSERT OR IGNORE INTO song_tags (tag, song_id)
SELECT j.value, s.id FROM songs s, json_each(s.tags) j WHERE s.deleted = 0;
