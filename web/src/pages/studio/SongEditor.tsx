// /studio/songs/:id: one of the artist's songs: its details, visibility, play counts, deletion.

import { useState } from "preact/hooks";
import { api, fieldError, otherErrors } from "../../api";
import { useAction } from "../../components/actions";
import { Async, Cover, ErrorNote, date, duration, toast, useLoad, useTitle, type Loaded } from "../../components/ui";
import { Link, navigate } from "../../router";
import type { Params } from "../../router";
import { user } from "../../session";
import type { CollectionSummary, Song, SongStats } from "../../types";
import { songStats } from "../../components/stats";
import { formatLine, myAlbums, parseTags, size } from "./catalog";
import { AlbumSelect, DeleteSong, Field, PublishButton, VisibilityBadges } from "./controls";

export function StudioSong({ params }: { params: Params }) {
  const id = params.id;
  const song = useLoad((signal) => api<Song>(`/api/songs/${encodeURIComponent(id)}`, { signal }), [id]);
  const stats = useLoad((signal) => songStats(id, signal), [id]);
  const albums = useLoad((signal) => myAlbums(signal), []);
  useTitle(song.data ? `Edit ${song.data.title}` : "Edit song");
  return (
    <section class="page studio song-editor">
      <p>
        <Link href="/studio">← Studio</Link>
      </p>
      <Async state={song}>
        {(current) => (
          <>
            <SongHeader song={current} onChange={song.set} />
            <div class="editor-columns">
              <Details key={current.id} song={current} albums={albums} onSaved={song.set} />
              <div class="stack">
                <Stats song={current} stats={stats} />
                <Danger song={current} />
              </div>
            </div>
          </>
        )}
      </Async>
    </section>
  );
}

function SongHeader({ song, onChange }: { song: Song; onChange: (song: Song) => void }) {
  const mine = song.artistId === user.value?.id;
  return (
    <header class="song-head">
      <Cover song={song} size={120} />
      <div class="stack">
        <h1>{song.title}</h1>
        <p class="muted">
          {duration(song.durationMs)} · {formatLine(song)} · {size(song.sizeBytes)} · uploaded {date(song.createdAt)}
        </p>
        <VisibilityBadges song={song} />
        <div class="row">
          {mine && <PublishButton song={song} onChange={onChange} />}
          <Link class="button ghost" href={`/songs/${song.id}`}>
            Open song page
          </Link>
        </div>
        {!song.isVisible && (
          <p class="muted small">An admin hid this song: listeners cannot see it, whatever its visibility, until an admin shows it again.</p>
        )}
      </div>
    </header>
  );
}

function Details({ song, albums, onSaved }: { song: Song; albums: Loaded<CollectionSummary[]>; onSaved: (song: Song) => void }) {
  const mine = song.artistId === user.value?.id;
  const [title, setTitle] = useState(song.title);
  const [genre, setGenre] = useState(song.genre ?? "");
  const [tags, setTags] = useState(song.tags.join(", "));
  const [albumId, setAlbumId] = useState(song.albumId ?? "");
  const [error, setError] = useState<unknown>(null);
  const { busy, run } = useAction(setError);
  const patch = changes(song, { title, genre, tags, albumId });
  const dirty = Object.keys(patch).length > 0;

  const save = (event: Event) => {
    event.preventDefault();
    if (!dirty) return;
    return run(async () => {
      const saved = await api<Song>(`/api/songs/${encodeURIComponent(song.id)}`, { method: "PATCH", body: patch });
      // Show what the server stored (tags come back trimmed and lower-cased).
      setTitle(saved.title);
      setGenre(saved.genre ?? "");
      setTags(saved.tags.join(", "));
      setAlbumId(saved.albumId ?? "");
      onSaved(saved);
      toast("Saved");
    });
  };

  return (
    <form class="card stack" onSubmit={save} aria-labelledby="details-heading">
      <h2 id="details-heading">Details</h2>
      {!mine && <p class="muted small">This is {song.artistName}’s song: only its artist can change its details.</p>}
      <fieldset class="stack" disabled={!mine || busy}>
        <legend class="visually-hidden">Details</legend>
        <Field label="Title" error={fieldError(error, "title")}>
          <input name="title" required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </Field>
        <Field label="Genre" error={fieldError(error, "genre")}>
          <input name="genre" maxLength={64} value={genre} onInput={(e) => setGenre(e.currentTarget.value)} />
        </Field>
        <Field label="Tags" error={fieldError(error, "tags")} hint="Comma separated">
          <input name="tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
        </Field>
        <AlbumSelect albums={albums.data ?? (albums.error ? [] : undefined)} value={albumId} onChange={setAlbumId} error={fieldError(error, "albumId")} />
      </fieldset>
      <ErrorNote error={otherErrors(error, ["title", "genre", "tags", "albumId"])} />
      {mine && (
        <div class="row">
          <button type="submit" disabled={!dirty || busy || !title.trim()} aria-busy={busy}>
            {busy ? "Saving…" : "Save changes"}
          </button>
          {dirty && !busy && <span class="muted small">Unsaved changes</span>}
        </div>
      )}
    </form>
  );
}

/** Only what differs from the song: an unchanged album is not sent, so it is not asked again. */
function changes(song: Song, form: { title: string; genre: string; tags: string; albumId: string }): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (form.title.trim() !== song.title) patch.title = form.title.trim();
  const genre = form.genre.trim() || null;
  if (genre !== song.genre) patch.genre = genre;
  const tags = parseTags(form.tags);
  if (tags.join("\n") !== song.tags.join("\n")) patch.tags = tags;
  const albumId = form.albumId || null;
  if (albumId !== song.albumId) patch.albumId = albumId;
  return patch;
}

function Stats({ song, stats }: { song: Song; stats: Loaded<SongStats> }) {
  const rows: [string, keyof SongStats][] = [
    ["Plays", "plays"],
    ["Listeners", "listeners"],
    ["Completions", "completions"],
    ["Skips", "skips"],
  ];
  return (
    <section class="card" aria-labelledby="stats-heading">
      <h2 id="stats-heading">Stats</h2>
      <Async state={stats}>
        {(s) => (
          <dl class="stat-list">
            {rows.map(([label, key]) => (
              <div key={key}>
                <dt>{label}</dt>
                <dd>{(s[key] as number).toLocaleString()}</dd>
              </div>
            ))}
            <div>
              <dt>Streams started</dt>
              <dd>{song.playCount.toLocaleString()}</dd>
            </div>
          </dl>
        )}
      </Async>
    </section>
  );
}

function Danger({ song }: { song: Song }) {
  const [open, setOpen] = useState(false);
  return (
    <section class="card" aria-labelledby="danger-heading">
      <h2 id="danger-heading">Delete</h2>
      <p class="muted small">Deleting removes the song, its audio and its cover for good.</p>
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Delete {song.title}
      </button>
      <DeleteSong song={open ? song : null} onClose={() => setOpen(false)} onDeleted={() => navigate("/studio")} />
    </section>
  );
}
