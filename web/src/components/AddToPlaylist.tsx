// Putting a song on one of the listener's playlists: a dialog listing the playlists they may
// change (their own and those they edit), and a short form to make a new one on the way.

import { useState } from "preact/hooks";
import { api, ApiError, fieldError, query } from "../api";
import { user } from "../session";
import type { CollectionSummary, Song } from "../types";
import { useAction } from "./actions";
import { allPages } from "./paging";
import { signInFirst } from "./signin";
import { Dialog, ErrorNote, toast, useLoad } from "./ui";

/** Every playlist the caller may add songs to (a few pages at most, newest first). */
async function editablePlaylists(signal?: AbortSignal): Promise<CollectionSummary[]> {
  const mine = await allPages<CollectionSummary>((cursor) => `/api/playlists/mine${query({ limit: 100, cursor })}`, 5, signal);
  return mine.filter((p) => p.access === "owner" || p.access === "editor");
}

/** What went wrong adding a song, in the listener's terms. */
function addProblem(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.status === 412) return new Error("The playlist changed at the same moment. Try again.");
  if (error.status === 409) return new Error(`${error.detail || "That song is already there."}`);
  if (error.status === 422) return new Error(error.field("songId") ?? error.detail);
  return error;
}

/** The dialog for `song`; closed while `song` is null. */
export function AddToPlaylistDialog({ song, onClose }: { song: Song | null; onClose: () => void }) {
  return (
    <Dialog open={song !== null} onClose={onClose} title="Add to playlist">
      {song && <Chooser song={song} onDone={onClose} />}
    </Dialog>
  );
}

/** A button opening the dialog for one song (or sending a visitor to sign in). */
export function AddToPlaylistButton({ song, class: className = "ghost" }: { song: Song; class?: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class={className} onClick={() => (user.value ? setOpen(true) : signInFirst())}>
        Add to playlist
      </button>
      <AddToPlaylistDialog song={open ? song : null} onClose={() => setOpen(false)} />
    </>
  );
}

function Chooser({ song, onDone }: { song: Song; onDone: () => void }) {
  const mine = useLoad((signal) => editablePlaylists(signal), [user.value?.id]);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function add(playlist: { id: string; title: string }) {
    setBusy(playlist.id);
    setError(null);
    try {
      await api(`/api/playlists/${playlist.id}/songs`, { method: "POST", body: { songId: song.id } });
      toast(`Added to ${playlist.title}`);
      onDone();
    } catch (err) {
      setError(addProblem(err));
    } finally {
      setBusy(null);
    }
  }

  return (
    <div class="stack">
      <p class="muted small">Choose where “{song.title}” goes.</p>
      {mine.error ? (
        <ErrorNote error={mine.error} />
      ) : !mine.data ? (
        <p class="muted" aria-busy="true">
          Loading your playlists…
        </p>
      ) : mine.data.length === 0 ? (
        <p class="muted">You have no playlists yet. Make one below.</p>
      ) : (
        <ul class="choice-list">
          {mine.data.map((p) => (
            <li key={p.id}>
              <button type="button" class="ghost" disabled={busy !== null} onClick={() => add(p)}>
                {p.title}
              </button>
              <span class="muted small">
                {p.trackCount} {p.trackCount === 1 ? "song" : "songs"}
                {p.access === "editor" ? " · editor" : ""}
              </span>
            </li>
          ))}
        </ul>
      )}
      <ErrorNote error={error} />
      <NewPlaylistInline
        disabled={busy !== null}
        onCreated={async (created) => {
          mine.reload(); // it is one of theirs now, whatever happens to the add
          await add(created);
        }}
      />
    </div>
  );
}

function NewPlaylistInline({ disabled, onCreated }: { disabled: boolean; onCreated: (p: CollectionSummary) => Promise<void> }) {
  const [title, setTitle] = useState("");
  const [error, setError] = useState<unknown>(null);
  const { busy, run } = useAction(setError);
  function submit(event: Event) {
    event.preventDefault();
    return run(async () => {
      const created = await api<CollectionSummary>("/api/playlists", { method: "POST", body: { title } });
      await onCreated(created);
    });
  }
  const titleError = fieldError(error, "title");
  return (
    <form class="stack new-inline" onSubmit={submit}>
      <h3>New playlist</h3>
      <label>
        Title
        <input
          value={title}
          required
          maxLength={200}
          aria-invalid={titleError ? true : undefined}
          onInput={(e) => setTitle(e.currentTarget.value)}
        />
      </label>
      {titleError && <p class="field-error">{titleError}</p>}
      {error && !titleError ? <ErrorNote error={error} /> : null}
      <div>
        <button type="submit" disabled={busy || disabled || !title.trim()}>
          {busy ? "Creating…" : "Create and add"}
        </button>
      </div>
    </form>
  );
}
