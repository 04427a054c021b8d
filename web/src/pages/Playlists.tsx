// The listener's playlists (their own, those they edit, those shared with them), making a new
// one, and the public playlists of everyone else.

import { useState } from "preact/hooks";
import { api, query } from "../api";
import { CollectionTiles } from "../components/Collections";
import { usePaged } from "../components/paging";
import { PlaylistFields, playlistBody, type PlaylistValues } from "../components/PlaylistFields";
import { Dialog, ErrorNote, useTitle } from "../components/ui";
import { navigate, type Params } from "../router";
import { user } from "../session";
import type { Collection, CollectionSummary } from "../types";
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
  const list = usePaged<CollectionSummary>((cursor) => `${path}${query({ limit: PAGE, cursor })}`, [path, user.value?.id]);
  const id = `list-${title.toLowerCase().replace(/\W+/g, "-")}`;
  // Its own states rather than PagedList's: tiles, not a list, and this page's spacing.
  return (
    <section class="shelf" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {list.error && list.items.length === 0 ? (
        <div class="row">
          <ErrorNote error={list.error} />
          <button type="button" class="ghost" onClick={list.reload}>
            Try again
          </button>
        </div>
      ) : list.loading ? (
        <p class="muted" aria-busy="true">
          Loading…
        </p>
      ) : list.items.length === 0 ? (
        <p class="muted">{empty}</p>
      ) : (
        <CollectionTiles items={list.items} showAccess={showAccess} />
      )}
      {list.items.length > 0 && <ErrorNote error={list.error} />}
      {list.hasMore && (
        <p class="section-gap">
          <button type="button" class="ghost" disabled={list.more} onClick={list.loadMore}>
            {list.more ? "Loading…" : "Load more"}
          </button>
        </p>
      )}
    </section>
  );
}

function NewPlaylistForm() {
  const [values, setValues] = useState<PlaylistValues>({ title: "", description: "", isPublic: false });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api<Collection>("/api/playlists", { method: "POST", body: playlistBody(values) });
      navigate(`/playlists/${created.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <form class="stack" onSubmit={submit}>
      <PlaylistFields values={values} onChange={setValues} error={error}>
        <p class="muted small">Public playlists are listed for everyone. Private ones are seen only by you and the people you share them with.</p>
      </PlaylistFields>
      <div>
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create"}
        </button>
      </div>
    </form>
  );
}
