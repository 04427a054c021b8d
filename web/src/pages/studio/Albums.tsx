// The studio's albums shelf and the "New album" dialog.

import { useState } from "preact/hooks";
import { api, fieldError, otherErrors } from "../../api";
import { useAction } from "../../components/actions";
import { CollectionCover } from "../../components/Collections";
import { Async, Dialog, ErrorNote, toast, type Loaded } from "../../components/ui";
import { Link } from "../../router";
import type { Collection, CollectionSummary } from "../../types";
import { Field } from "./controls";

export function AlbumsSection({ state }: { state: Loaded<CollectionSummary[]> }) {
  const [creating, setCreating] = useState(false);
  return (
    <section class="shelf" aria-labelledby="studio-albums">
      <div class="spread">
        <h2 id="studio-albums">Albums</h2>
        <button type="button" class="ghost" onClick={() => setCreating(true)}>
          New album
        </button>
      </div>
      <Async state={state}>
        {(albums) =>
          albums.length === 0 ? (
            <p class="muted">No albums yet. Make one, then pick it when you upload or edit a song.</p>
          ) : (
            <div class="grid">
              {albums.map((album) => (
                <AlbumTile key={album.id} album={album} />
              ))}
            </div>
          )
        }
      </Async>
      <NewAlbumDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(album) => state.set([album, ...(state.data ?? [])])}
      />
    </section>
  );
}

function AlbumTile({ album }: { album: CollectionSummary }) {
  return (
    <Link class="tile" href={`/albums/${album.id}`}>
      <CollectionCover collection={album} />
      <strong class="tile-title">{album.title}</strong>
      <span class="muted small">
        {album.trackCount} {album.trackCount === 1 ? "song" : "songs"} · {album.isPublic ? "Public" : "Private"}
      </span>
      {!album.isVisible && <span class="pill warn">Hidden by an admin</span>}
    </Link>
  );
}

function NewAlbumDialog(props: { open: boolean; onClose: () => void; onCreated: (album: CollectionSummary) => void }) {
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [isPublic, setIsPublic] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const { busy, run } = useAction(setError);
  const close = () => {
    if (!busy) props.onClose();
  };
  const submit = (event: Event) => {
    event.preventDefault();
    return run(async () => {
      const { tracks: _, ...album } = await api<Collection>("/api/albums", {
        method: "POST",
        body: { title: title.trim(), description: description.trim() || null, isPublic },
      });
      props.onCreated(album);
      toast(`Album “${album.title}” made`);
      setTitle("");
      setDescription("");
      setIsPublic(true);
      props.onClose();
    });
  };
  return (
    <Dialog open={props.open} onClose={close} title="New album">
      <form class="stack" onSubmit={submit}>
        <Field label="Title" error={fieldError(error, "title")}>
          <input name="title" required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </Field>
        <Field label="Description" error={fieldError(error, "description")}>
          <textarea name="description" maxLength={2000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        <label class="inline">
          <input type="checkbox" checked={isPublic} onChange={(e) => setIsPublic(e.currentTarget.checked)} /> Public
        </label>
        <ErrorNote error={otherErrors(error, ["title", "description"])} />
        <div class="row dialog-actions">
          <button type="button" class="ghost" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy || !title.trim()} aria-busy={busy}>
            {busy ? "Creating…" : "Create album"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
