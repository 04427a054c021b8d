// One song: what it is, how much it is played, and songs like it.

import { api, ApiError } from "../api";
import { AddToPlaylistButton } from "../components/AddToPlaylist";
import { PlayCounts } from "../components/PlayCounts";
import { similarReason, type Similar } from "../components/recommendations";
import { Shelf, SongTiles } from "../components/Shelf";
import { signInPath } from "../components/signin";
import { queue } from "../components/SongList";
import { songStats } from "../components/stats";
import { Async, Cover, duration, date, useLoad, useTitle } from "../components/ui";
import { playSongs } from "../player";
import { Link, type Params } from "../router";
import { user } from "../session";
import type { Collection, Song } from "../types";
import "../browse.css";

export function SongPage({ params }: { params: Params }) {
  const song = useLoad((signal) => api<Song>(`/api/songs/${encodeURIComponent(params.id)}`, { signal }), [params.id]);
  useTitle(song.data?.title ?? "Song");
  if (song.error instanceof ApiError && song.error.status === 404) return <NotFound what="song" />;
  return (
    <div class="page">
      <Async state={song}>{(s) => <SongDetails song={s} />}</Async>
    </div>
  );
}

/** A 404: the API answers the same for what does not exist and what the caller may not see. */
export function NotFound({ what }: { what: string }) {
  return (
    <section class="page narrow">
      <h1>No such {what}</h1>
      <p>This {what} does not exist, or it is not shared with you.</p>
      {!user.value && (
        <p>
          If someone sent you the link, sign in first.{" "}
          <Link class="button" href={signInPath()}>
            Sign in
          </Link>
        </p>
      )}
      <p>
        <Link href="/">Go home</Link> or <Link href="/search">search</Link>.
      </p>
    </section>
  );
}

function SongDetails({ song }: { song: Song }) {
  return (
    <>
      <header class="hero">
        <Cover song={song} size={200} />
        <div class="hero-text">
          <span class="hero-kind">Song</span>
          <h1>{song.title}</h1>
          <div class="hero-meta">
            <Link href={`/artists/${song.artistId}`}>{song.artistName}</Link>
            {song.albumId && <AlbumLink id={song.albumId} />}
            {song.genre && <span>{song.genre}</span>}
            <span>{duration(song.durationMs)}</span>
            <span>{date(song.createdAt)}</span>
          </div>
          {song.tags.length > 0 && (
            <ul class="row" aria-label="Tags" style={{ listStyle: "none", padding: 0, margin: 0, gap: "6px" }}>
              {song.tags.map((t) => (
                <li key={t}>
                  <Link class="tag" href={`/search?q=${encodeURIComponent(t)}`}>
                    {t}
                  </Link>
                </li>
              ))}
            </ul>
          )}
          <div class="row">
            <button type="button" onClick={() => playSongs([song], 0)}>
              Play
            </button>
            <button type="button" class="ghost" onClick={() => queue(song)}>
              Add to queue
            </button>
            <AddToPlaylistButton song={song} />
          </div>
        </div>
      </header>
      <Stats songId={song.id} />
      <SimilarShelf songId={song.id} />
    </>
  );
}

/** The album's title when it can be read; a plain link otherwise. */
function AlbumLink({ id }: { id: string }) {
  const album = useLoad((signal) => api<Collection>(`/api/albums/${encodeURIComponent(id)}`, { signal }), [id]);
  if (album.error) return null; // a private album: the song stays, the link would lead nowhere
  return <Link href={`/albums/${id}`}>{album.data ? album.data.title : "Album"}</Link>;
}

function Stats({ songId }: { songId: string }) {
  const stats = useLoad((signal) => songStats(songId, signal), [songId]);
  if (stats.error) return <p class="muted small">Play counts are not available right now.</p>;
  if (!stats.data) return <p class="muted small" aria-busy="true">Loading play counts…</p>;
  return <PlayCounts stats={stats.data} skips={false} />;
}

function SimilarShelf({ songId }: { songId: string }) {
  const similar = useLoad((signal) => api<Similar>(`/api/songs/${encodeURIComponent(songId)}/similar?limit=12`, { signal }), [songId]);
  return (
    <Shelf title="Similar songs" state={similar} isEmpty={(d) => d.items.length === 0} empty="No similar songs yet.">
      {(d) => <SongTiles songs={d.items.map((i) => i.song)} notes={(_, i) => similarReason(d.items[i].reason)} />}
    </Shelf>
  );
}

