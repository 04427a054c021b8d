// A playlist: listening for everyone who may see it; changing its songs and order for its
// owner and editors; its details, cover, collaborators and links for its owner. Every write
// names the revision it is based on (If-Match), so a change someone else made meanwhile is
// never overwritten: a 412 loads the latest version and says so.

import { useState } from "preact/hooks";
import { api, ApiError, fieldError, request } from "../api";
import { useAction } from "../components/actions";
import { CollectionHero, songsOf } from "../components/Collections";
import { PlaylistFields, playlistBody, type PlaylistValues } from "../components/PlaylistFields";
import { Collaborators, LeavePlaylist, ShareLinks } from "../components/PlaylistSharing";
import { Icon } from "../components/icons";
import { signInPath } from "../components/signin";
import { queue, SongList } from "../components/SongList";
import { Async, Dialog, ErrorNote, toast, useLoad, useTitle } from "../components/ui";
import { Link, navigate, type Params } from "../router";
import { user } from "../session";
import type { Collection, Track } from "../types";
import { NotFound } from "./Song";
import "../browse.css";

const ifMatch = (c: Collection) => ({ "If-Match": `"${c.revision}"` });

/** The playlist changed since it was read (the If-Match failed). */
const isStale = (err: unknown) => err instanceof ApiError && err.status === 412;

/** Someone else's change got there first: this is what the page says after reloading. */
const STALE = "Someone else changed this playlist meanwhile. The latest version is shown; try again.";

export function PlaylistPage({ params }: { params: Params }) {
  const id = params.id;
  const state = useLoad((signal) => api<Collection>(`/api/playlists/${encodeURIComponent(id)}`, { signal }), [id, user.value?.id]);
  const [notice, setNotice] = useState<string | null>(null);
  useTitle(state.data?.title ?? "Playlist");
  if (state.error instanceof ApiError && state.error.status === 404) return <NotFound what="playlist" />;
  const changed = (next: Collection) => {
    setNotice(null); // a write went through: the warning is old news
    state.set(next);
  };
  const stale = () => {
    setNotice(STALE);
    state.reload();
  };
  return (
    <div class="page">
      {notice && (
        <p class="error row" role="alert">
          {notice}
          <button type="button" class="link" onClick={() => setNotice(null)}>
            Dismiss
          </button>
        </p>
      )}
      <Async state={state}>{(p) => <PlaylistView playlist={p} onChange={changed} onStale={stale} />}</Async>
    </div>
  );
}

interface ViewProps {
  playlist: Collection;
  onChange: (next: Collection) => void;
  onStale: () => void;
}

function PlaylistView({ playlist, onChange, onStale }: ViewProps) {
  const owner = playlist.access === "owner";
  const editor = owner || playlist.access === "editor";
  const songs = songsOf(playlist);
  return (
    <>
      <CollectionHero collection={playlist}>
        <button type="button" class="ghost" disabled={songs.length === 0} onClick={() => queue(songs)}>
          Add all to queue
        </button>
        <LeavePlaylist playlist={playlist} />
        {(owner || playlist.access === "admin") && <DeletePlaylist playlist={playlist} onStale={onStale} />}
      </CollectionHero>
      {playlist.access === "editor" && <p class="muted small">You are an editor of this playlist: you can add, remove and reorder its songs.</p>}
      <section aria-labelledby="playlist-tracks">
        <h2 id="playlist-tracks" class="visually-hidden">
          Songs
        </h2>
        {editor ? (
          <EditableTracks playlist={playlist} onChange={onChange} onStale={onStale} />
        ) : (
          <SongList songs={playlist.tracks.map((t) => t.song)} keys={playlist.tracks.map((t) => t.entryId)} label={`Songs of ${playlist.title}`} numbered empty={<EmptyHint editor={false} />} />
        )}
      </section>
      {editor && (
        <div class="manage">
          {owner && <DetailsForm playlist={playlist} onChange={onChange} onStale={onStale} />}
          {owner && <CoverForm playlist={playlist} onChange={onChange} onStale={onStale} />}
          <Collaborators playlist={playlist} />
          {owner && <ShareLinks playlistId={playlist.id} />}
        </div>
      )}
    </>
  );
}

function EmptyHint({ editor }: { editor: boolean }) {
  if (!editor) return <>This playlist has no songs yet.</>;
  return (
    <>
      No songs yet. <Link href="/search">Find songs</Link> and use “Add to a playlist”.
    </>
  );
}

interface OrderAnswer {
  revision: number;
  entries: { entryId: string; songId: string; position: number }[];
}

/** `tracks` with the one at `from` put at `to`, positions renumbered. */
function reordered(tracks: Track[], from: number, to: number): Track[] {
  const next = [...tracks];
  const [moved] = next.splice(from, 1);
  next.splice(to, 0, moved);
  return next.map((t, i) => ({ ...t, position: i }));
}

/** Moving and removing entries: optimistic, undone when the API refuses. */
function useTrackEdits({ playlist, onChange, onStale }: ViewProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function write(run: () => Promise<void>, undo?: () => void) {
    setBusy(true);
    setError(null);
    try {
      await run();
    } catch (err) {
      undo?.();
      if (isStale(err)) onStale();
      else setError(err);
    } finally {
      setBusy(false);
    }
  }

  function move(from: number, to: number, refocus?: "up" | "down") {
    const before = playlist;
    const tracks = before.tracks;
    if (busy || to < 0 || to >= tracks.length || from === to) return;
    const moved = tracks[from];
    onChange({ ...before, tracks: reordered(tracks, from, to) });
    if (refocus) focusMove(moved.entryId, refocus, to, tracks.length);
    return write(async () => {
      const answer = await api<OrderAnswer>(`/api/playlists/${before.id}/songs/move`, {
        method: "POST",
        body: { entryId: moved.entryId, toPosition: tracks[to].position },
        headers: ifMatch(before),
      });
      const byId = new Map(tracks.map((t) => [t.entryId, t]));
      const ordered = answer.entries.flatMap((e) => {
        const t = byId.get(e.entryId);
        return t ? [{ ...t, position: e.position }] : [];
      });
      onChange({ ...before, revision: answer.revision, tracks: ordered });
    }, () => onChange(before));
  }

  function remove(entry: Track, title: string) {
    return write(async () => {
      const answer = await request(`/api/playlists/${playlist.id}/songs/${encodeURIComponent(entry.entryId)}`, { method: "DELETE", headers: ifMatch(playlist) });
      const revision = Number(answer.headers.get("ETag")?.replace(/\D/g, "")) || playlist.revision + 1;
      const rest = playlist.tracks.filter((t) => t.entryId !== entry.entryId).map((t, n) => ({ ...t, position: n }));
      onChange({ ...playlist, revision, tracks: rest, trackCount: Math.max(0, playlist.trackCount - 1) });
      toast(`Removed ${title}`);
    });
  }

  return { busy, error, move, remove };
}

/** The tracks with drag and drop, move buttons and remove, for the owner and editors. */
function EditableTracks(props: ViewProps) {
  const { playlist } = props;
  const { busy, error, move, remove } = useTrackEdits(props);
  const tracks = playlist.tracks;
  const titleOf = (i: number) => tracks[i].song?.title ?? "unavailable song";
  return (
    <>
      <ErrorNote error={error} />
      {tracks.length > 1 && <p class="muted small">Drag songs to reorder them, or use the arrow buttons.</p>}
      <SongList
        songs={tracks.map((t) => t.song)}
        keys={tracks.map((t) => t.entryId)}
        label={`Songs of ${playlist.title}`}
        numbered
        empty={<EmptyHint editor />}
        onMove={busy ? undefined : (from, to) => void move(from, to)}
        actions={(_, i) => (
          <span class="row" style={{ gap: "2px" }} data-entry={tracks[i].entryId}>
            <button type="button" class="icon" data-move="up" aria-label={`Move ${titleOf(i)} up`} disabled={i === 0} onClick={() => move(i, i - 1, "up")}>
              <Icon name="up" />
            </button>
            <button type="button" class="icon" data-move="down" aria-label={`Move ${titleOf(i)} down`} disabled={i === tracks.length - 1} onClick={() => move(i, i + 1, "down")}>
              <Icon name="down" />
            </button>
            <button type="button" class="icon" aria-label={`Remove ${titleOf(i)} from playlist`} disabled={busy} onClick={() => remove(tracks[i], titleOf(i))}>
              <Icon name="close" />
            </button>
          </span>
        )}
      />
    </>
  );
}

/** Keeps keyboard focus on the moved row's button (or its other one at either end). */
function focusMove(entryId: string, dir: "up" | "down", to: number, length: number) {
  const atEnd = (dir === "up" && to === 0) || (dir === "down" && to === length - 1);
  const want = atEnd ? (dir === "up" ? "down" : "up") : dir;
  requestAnimationFrame(() => {
    document.querySelector<HTMLButtonElement>(`[data-entry="${CSS.escape(entryId)}"] [data-move="${want}"]`)?.focus();
  });
}

function DetailsForm({ playlist, onChange, onStale }: ViewProps) {
  const [values, setValues] = useState<PlaylistValues>({ title: playlist.title, description: playlist.description ?? "", isPublic: playlist.isPublic });
  const [error, setError] = useState<unknown>(null);
  // What was typed stays in the form, to save again over the latest version.
  const { busy, run } = useAction((err) => (isStale(err) ? onStale() : setError(err)));

  function submit(event: Event) {
    event.preventDefault();
    return run(async () => {
      const saved = await api<Collection>(`/api/playlists/${playlist.id}`, {
        method: "PATCH",
        body: playlistBody(values),
        headers: ifMatch(playlist),
      });
      onChange(saved);
      toast("Playlist saved");
    });
  }

  return (
    <section class="card" aria-labelledby="details">
      <h2 id="details">Details</h2>
      <form class="stack" onSubmit={submit}>
        <PlaylistFields values={values} onChange={setValues} error={error} />
        <div>
          <button type="submit" disabled={busy}>
            {busy ? "Saving…" : "Save changes"}
          </button>
        </div>
      </form>
    </section>
  );
}

function CoverForm({ playlist, onChange, onStale }: ViewProps) {
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<unknown>(null);
  const { busy, run } = useAction((err) => (isStale(err) ? onStale() : setError(err)));
  const [inputKey, setInputKey] = useState(0);

  function send(body: FormData | { removeCover: true }, done: string) {
    return run(async () => {
      onChange(await api<Collection>(`/api/playlists/${playlist.id}`, { method: "PATCH", body, headers: ifMatch(playlist) }));
      setFile(null);
      setInputKey((k) => k + 1);
      toast(done);
    });
  }

  function upload(event: Event) {
    event.preventDefault();
    if (!file) return;
    const form = new FormData();
    form.append("cover", file);
    send(form, "Cover updated");
  }

  const coverError = fieldError(error, "cover");
  return (
    <section class="card" aria-labelledby="cover">
      <h2 id="cover">Cover</h2>
      <form class="stack" onSubmit={upload}>
        <label>
          Cover image
          <input key={inputKey} type="file" accept="image/jpeg,image/png,image/webp" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </label>
        <p class="muted small">JPEG, PNG or WebP, at most 2 MB.</p>
        {coverError && <p class="field-error">{coverError}</p>}
        {error && !coverError ? <ErrorNote error={error} /> : null}
        <div class="row">
          <button type="submit" disabled={busy || !file}>
            {busy ? "Uploading…" : "Upload cover"}
          </button>
          {playlist.hasCover && (
            <button type="button" class="ghost" disabled={busy} onClick={() => send({ removeCover: true }, "Cover removed")}>
              Remove cover
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

function DeletePlaylist({ playlist, onStale }: { playlist: Collection; onStale: () => void }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/playlists/${playlist.id}`, { method: "DELETE", headers: ifMatch(playlist) });
      toast(`Deleted ${playlist.title}`);
      navigate("/playlists");
    } catch (err) {
      setBusy(false);
      if (isStale(err)) {
        setOpen(false);
        onStale();
      } else setError(err);
    }
  }
  return (
    <>
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Delete playlist
      </button>
      <Dialog open={open} onClose={() => setOpen(false)} title="Delete playlist?">
        <div class="stack">
          <p>
            “{playlist.title}” and its share links go for good. Collaborators lose it too. The songs stay in the catalog.
          </p>
          <ErrorNote error={error} />
          <div class="row">
            <button type="button" class="danger" disabled={busy} onClick={remove}>
              {busy ? "Deleting…" : "Delete"}
            </button>
            <button type="button" class="ghost" disabled={busy} onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </div>
      </Dialog>
    </>
  );
}

export function SharedPlaylistPage({ params }: { params: Params }) {
  const token = params.token;
  // The link is the key: no account token goes with it (the API ignores one anyway).
  const state = useLoad((signal) => api<Collection>(`/api/playlists/shared/${encodeURIComponent(token)}`, { signal, auth: false }), [token]);
  useTitle(state.data?.title ?? "Shared playlist");
  if (state.error instanceof ApiError && state.error.status === 404) {
    return (
      <section class="page narrow">
        <h1>This link does not work</h1>
        <p>The playlist's owner may have revoked it, or it was mistyped. Ask them for a new one.</p>
        <p>
          <Link href="/">Go home</Link>
        </p>
      </section>
    );
  }
  return (
    <div class="page">
      <Async state={state}>
        {(p) => (
          <>
            <p class="muted small">Shared with you through a link: you can listen, not change it.</p>
            <CollectionHero collection={p} share={token}>
              {user.value ? (
                <button type="button" class="ghost" disabled={songsOf(p).length === 0} onClick={() => queue(songsOf(p))}>
                  Add all to queue
                </button>
              ) : (
                <Link class="button ghost" href={signInPath(`/shared/${token}`)}>
                  Sign in to listen
                </Link>
              )}
            </CollectionHero>
            <SongList songs={p.tracks.map((t) => t.song)} keys={p.tracks.map((t) => t.entryId)} label={`Songs of ${p.title}`} numbered empty="This playlist has no songs yet." />
          </>
        )}
      </Async>
    </div>
  );
}
