// Admin › Songs: every song, private and hidden ones too, with the admins' hide switch.

import { useState } from "preact/hooks";
import { api, query } from "../../api";
import { Cover, ErrorNote, date, duration, toast } from "../../components/ui";
import { Link } from "../../router";
import type { Song } from "../../types";
import { deleteSong } from "../studio/catalog";
import { Confirm, Field, VisibilityBadges } from "../studio/controls";
import { usePaged, useDebounced } from "./paged";
import { PagedTable } from "./PagedTable";

export function Songs() {
  const [sort, setSort] = useState("newest");
  const [genre, setGenre] = useState("");
  const genreFilter = useDebounced(genre.trim());
  const list = usePaged<Song>((cursor) => `/api/admin/songs${query({ limit: 50, cursor, sort, genre: genreFilter })}`, [sort, genreFilter]);
  const [failure, setFailure] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<Song | null>(null);
  return (
    <section aria-labelledby="admin-songs">
      <h2 id="admin-songs">Songs</h2>
      <form class="filters" role="search" aria-label="Filter songs" onSubmit={(e) => e.preventDefault()}>
        <Field label="Sort">
          <select value={sort} onChange={(e) => setSort(e.currentTarget.value)}>
            <option value="newest">Newest</option>
            <option value="title">Title</option>
            <option value="popular">Most streamed</option>
          </select>
        </Field>
        <Field label="Genre">
          <input type="search" value={genre} onInput={(e) => setGenre(e.currentTarget.value)} autocomplete="off" />
        </Field>
      </form>
      <ErrorNote error={failure} />
      <PagedTable list={list} empty={genreFilter ? "No song of this genre." : "No songs uploaded yet."}>
        <table class="responsive">
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Cover</span>
              </th>
              <th scope="col">Song</th>
              <th scope="col">Duration</th>
              <th scope="col">Visibility</th>
              <th scope="col" class="num">
                Streams
              </th>
              <th scope="col">Uploaded</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((song) => (
              <SongRow key={song.id} song={song} onChange={list.replace} onFailure={setFailure} onDelete={() => setDeleting(song)} />
            ))}
          </tbody>
        </table>
      </PagedTable>
      <Confirm
        open={deleting !== null}
        title={deleting ? `Delete “${deleting.title}”?` : "Delete song"}
        confirm="Delete song"
        onClose={() => setDeleting(null)}
        action={async () => {
          if (!deleting) return;
          await deleteSong(deleting);
          list.remove(deleting);
          toast(`Deleted “${deleting.title}”`);
        }}
      >
        <p>The song, its audio and its cover are removed for good. Hiding it instead keeps it for its artist.</p>
      </Confirm>
    </section>
  );
}

function SongRow(props: { song: Song; onChange: (s: Song) => void; onFailure: (e: unknown) => void; onDelete: () => void }) {
  const { song } = props;
  const [busy, setBusy] = useState(false);
  const nameId = `song-${song.id}`;
  const toggle = async () => {
    setBusy(true);
    props.onFailure(null);
    try {
      const next = await api<Song>(`/api/admin/songs/${encodeURIComponent(song.id)}/visible`, {
        method: "PATCH",
        body: { isVisible: !song.isVisible },
      });
      props.onChange(next);
      toast(next.isVisible ? `“${next.title}” is shown again` : `“${next.title}” is hidden`);
    } catch (err) {
      props.onFailure(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr>
      <td class="cover-cell">
        <Cover song={song} size={40} />
      </td>
      <td class="title-cell">
        <Link id={nameId} href={`/songs/${song.id}`}>
          {song.title}
        </Link>
        <div class="muted small">
          <Link href={`/artists/${song.artistId}`}>{song.artistName}</Link>
          {song.genre ? ` · ${song.genre}` : ""}
        </div>
      </td>
      <td data-label="Duration">{duration(song.durationMs)}</td>
      <td data-label="Visibility">
        <VisibilityBadges song={song} />
      </td>
      <td data-label="Streams" class="num">
        {song.playCount.toLocaleString()}
      </td>
      <td data-label="Uploaded">{date(song.createdAt)}</td>
      <td class="actions">
        <div class="row">
          <button type="button" class="ghost small-button" disabled={busy} aria-busy={busy} aria-describedby={nameId} onClick={toggle}>
            {song.isVisible ? "Hide" : "Show"}
          </button>
          <button type="button" class="danger small-button" disabled={busy} aria-describedby={nameId} onClick={props.onDelete}>
            Delete
          </button>
        </div>
      </td>
    </tr>
  );
}
