// Admin › Songs: every song, private and hidden ones too, with the admins' hide switch.

import { useState } from "preact/hooks";
import { query } from "../../api";
import { useAction } from "../../components/actions";
import { Cover, ErrorNote, date, duration, toast, useDebounced } from "../../components/ui";
import { Link } from "../../router";
import type { Song } from "../../types";
import { deleteSong } from "../studio/catalog";
import { Confirm, Field, VisibilityBadges } from "../studio/controls";
import { PagedTable, usePaged } from "../../components/paging";
import { ActionsCell, TableHead, type Column } from "../../components/table";
import { flipVisible, HideButton } from "./visibility";

const COLUMNS: Column[] = [
  { label: "Cover", hidden: true },
  { label: "Song" },
  { label: "Duration" },
  { label: "Visibility" },
  { label: "Streams", num: true },
  { label: "Uploaded" },
  { label: "Actions", hidden: true },
];

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
      <PagedTable paged={list} empty={genreFilter ? "No song of this genre." : "No songs uploaded yet."}>
        <table class="responsive">
          <TableHead columns={COLUMNS} />
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
  const { busy, run } = useAction(props.onFailure);
  const nameId = `song-${song.id}`;
  const toggle = () => run(async () => props.onChange(await flipVisible<Song>(`/api/admin/songs/${encodeURIComponent(song.id)}/visible`, song)));
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
      <ActionsCell>
        <HideButton visible={song.isVisible} busy={busy} nameId={nameId} onClick={toggle} />
        <button type="button" class="danger small-button" disabled={busy} aria-describedby={nameId} onClick={props.onDelete}>
          Delete
        </button>
      </ActionsCell>
    </tr>
  );
}
