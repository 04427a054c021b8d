// The listener's playlists (their own, those they edit, those shared with them), making a new
// one, and the public playlists of everyone else.

import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { CollectionTiles } from "../components/Collections";
import { Dialog, ErrorNote, useLoad, useTitle } from "../components/ui";
import { navigate, type Params } from "../router";
import { user } from "../session";
import type { Collection, CollectionSummary, Page } from "../types";
import "../browse.css";

const PAGE = 24;

export function Playlists(_: { params: Params }) {
  useTitle("Playlists");
  const [creating, setCreating] = useState(false);
  return (
    <div class="page">
      <div class="spread">
        <h1>Playlists</h1>
        <button type="button" onClick={() => setCreating(true)}>
          New playlist
        </button>
      </div>
      <PagedCollections title="Your playlists" path="/api/playlists/mine" showAccess empty="You have no playlists yet. Make one with New playlist." />
      <PagedCollections title="Public playlists" path="/api/playlists/public" empty="No public playlists yet." />
      <Dialog open={creating} onClose={() => setCreating(false)} title="New playlist">
        <NewPlaylistForm />
      </Dialog>
    </div>
  );
}

/** A list of collections read page by page with "Load more". */
function PagedCollections({ title, path, showAccess, empty }: { title: string; path: string; showAccess?: boolean; empty: string }) {
  const first = useLoad((signal) => api<Page<CollectionSummary>>(`${path}?limit=${PAGE}`, { signal }), [path, user.value?.id]);
  const [more, setMore] = useState<{ items: CollectionSummary[]; cursor: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const id = `list-${title.toLowerCase().replace(/\W+/g, "-")}`;
  const items = [...(first.data?.items ?? []), ...(more?.items ?? [])];
  const cursor = more ? more.cursor : (first.data?.nextCursor ?? null);

  async function loadMore() {
    if (!cursor) return;
    setBusy(true);
    setError(null);
    try {
      const page = await api<Page<CollectionSummary>>(`${path}?limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`);
      setMore({ items: [...(more?.items ?? []), ...page.items], cursor: page.nextCursor });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="shelf" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {first.error ? (
        <div class="row">
          <ErrorNote error={first.error} />
          <button type="button" class="ghost" onClick={first.reload}>
            Try again
          </button>
        </div>
      ) : !first.data ? (
        <p class="muted" aria-busy="true">
          Loading…
        </p>
      ) : items.length === 0 ? (
        <p class="muted">{empty}</p>
      ) : (
        <CollectionTiles items={items} showAccess={showAccess} />
      )}
      <ErrorNote error={error} />
      {cursor && (
        <p class="section-gap">
          <button type="button" class="ghost" disabled={busy} onClick={loadMore}>
            {busy ? "Loading…" : "Load more"}
          </button>
        </p>
      )}
    </section>
  );
}

function NewPlaylistForm() {
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [isPublic, setPublic] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fieldError = (name: string) => (error instanceof ApiError ? error.field(name) : undefined);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api<Collection>("/api/playlists", {
        method: "POST",
        body: { title, description: description.trim() || null, isPublic },
      });
      navigate(`/playlists/${created.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const titleError = fieldError("title");
  const descriptionError = fieldError("description");
  const other = error && !titleError && !descriptionError;
  return (
    <form class="stack" onSubmit={submit}>
      <label>
        Title
        <input value={title} required maxLength={200} aria-invalid={titleError ? true : undefined} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      {titleError && <p class="field-error">{titleError}</p>}
      <label>
        Description
        <textarea value={description} maxLength={2000} aria-invalid={descriptionError ? true : undefined} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      {descriptionError && <p class="field-error">{descriptionError}</p>}
      <label class="inline">
        <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.currentTarget.checked)} />
        Public
      </label>
      <p class="muted small">Public playlists are listed for everyone. Private ones are seen only by you and the people you share them with.</p>
      {other && <ErrorNote error={error} />}
      <div>
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create"}
        </button>
      </div>
    </form>
  );
}
