// /studio: an artist's songs with their play counts and switches, the totals, and their albums.

import { useState } from "preact/hooks";
import { artistStats } from "../../components/stats";
import { ActionsCell, TableHead, type Column } from "../../components/table";
import { Async, Cover, duration, useLoad, useTitle, type Loaded } from "../../components/ui";
import { Link } from "../../router";
import type { Params } from "../../router";
import { user } from "../../session";
import type { ArtistStats, CollectionSummary, Song, SongStats } from "../../types";
import { AlbumsSection } from "./Albums";
import { myAlbums, mySongs } from "./catalog";
import { DeleteSong, PublishButton, VisibilityBadges } from "./controls";

export function Studio(_: { params: Params }) {
  useTitle("Studio");
  const me = user.value!;
  const songs = useLoad((signal) => mySongs(signal), []);
  // Counts come from another component: the page works without them.
  const stats = useLoad((signal) => artistStats(me.id, signal), [me.id]);
  const albums = useLoad((signal) => myAlbums(signal), []);
  return (
    <section class="page studio">
      <header class="spread page-head">
        <h1>Studio</h1>
        <Link class="button" href="/studio/upload">
          Upload
        </Link>
      </header>
      <Totals songs={songs.data} stats={stats} />
      <section class="shelf" aria-labelledby="studio-songs">
        <h2 id="studio-songs">Songs</h2>
        <Async state={songs}>
          {(list) =>
            list.length === 0 ? (
              <EmptySongs />
            ) : (
              <SongTable songs={songs} list={list} stats={stats.data} albums={albums.data ?? []} />
            )
          }
        </Async>
      </section>
      <AlbumsSection state={albums} />
    </section>
  );
}

function Totals({ songs, stats }: { songs: Song[] | undefined; stats: Loaded<ArtistStats> }) {
  const figure = (n: number | undefined) => (n === undefined ? "—" : n.toLocaleString());
  const listed = songs?.filter((s) => s.isPublic && s.isVisible).length;
  return (
    <section class="card totals" aria-label="Totals">
      <dl>
        <div>
          <dt>Plays</dt>
          <dd>{figure(stats.data?.plays)}</dd>
        </div>
        <div>
          <dt>Listeners</dt>
          <dd>{figure(stats.data?.listeners)}</dd>
        </div>
        <div>
          <dt>Songs</dt>
          <dd>{figure(songs?.length)}</dd>
        </div>
        <div>
          <dt>Listed</dt>
          <dd>{figure(listed)}</dd>
        </div>
      </dl>
      {stats.error ? <p class="muted small">Play counts are unavailable right now; they will come back on their own.</p> : null}
    </section>
  );
}

function EmptySongs() {
  return (
    <div class="card empty">
      <h3>No songs yet</h3>
      <p class="muted">
        Songs you upload show up here, private or public, with their plays and listeners. MP3, FLAC, Ogg, M4A and WAV files
        work.
      </p>
      <Link class="button ghost" href="/studio/upload">
        Add your first song
      </Link>
    </div>
  );
}

const COLUMNS: Column[] = [
  { label: "Cover", hidden: true },
  { label: "Title" },
  { label: "Duration" },
  { label: "Visibility" },
  { label: "Plays", num: true },
  { label: "Listeners", num: true },
  { label: "Actions", hidden: true },
];

function SongTable(props: { songs: Loaded<Song[]>; list: Song[]; stats: ArtistStats | undefined; albums: CollectionSummary[] }) {
  const { songs, list } = props;
  const [deleting, setDeleting] = useState<Song | null>(null);
  const bySong = new Map<string, SongStats>(props.stats?.songs.map((s) => [s.songId, s]) ?? []);
  const albumTitle = new Map(props.albums.map((a) => [a.id, a.title]));
  const replace = (next: Song) => songs.set(list.map((s) => (s.id === next.id ? next : s)));
  const figure = (n: number | undefined) => (props.stats ? (n ?? 0).toLocaleString() : "—");
  return (
    <>
      <div class="table-wrap">
        <table class="songs-table responsive">
          <TableHead columns={COLUMNS} />
          <tbody>
            {list.map((song) => {
              const s = bySong.get(song.id);
              return (
                <tr key={song.id}>
                  <td class="cover-cell">
                    <Cover song={song} size={44} />
                  </td>
                  <td class="title-cell">
                    <Link href={`/studio/songs/${song.id}`}>{song.title}</Link>
                    {song.albumId && albumTitle.has(song.albumId) && <div class="muted small">{albumTitle.get(song.albumId)}</div>}
                  </td>
                  <td data-label="Duration">{duration(song.durationMs)}</td>
                  <td data-label="Visibility">
                    <VisibilityBadges song={song} />
                  </td>
                  <td data-label="Plays" class="num">
                    {figure(s?.plays)}
                  </td>
                  <td data-label="Listeners" class="num">
                    {figure(s?.listeners)}
                  </td>
                  <ActionsCell>
                    <PublishButton song={song} onChange={replace} compact />
                    <Link class="button ghost small-button" href={`/studio/songs/${song.id}`}>
                      Edit
                    </Link>
                    <button type="button" class="danger small-button" aria-label={`Delete ${song.title}`} onClick={() => setDeleting(song)}>
                      Delete
                    </button>
                  </ActionsCell>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <DeleteSong
        song={deleting}
        onClose={() => setDeleting(null)}
        onDeleted={(gone) => songs.set(list.filter((s) => s.id !== gone.id))}
      />
    </>
  );
}
