// The signed-in listener's history: every listen, newest first, and their counts and favourites.

import { api, query } from "../api";
import { playSongs } from "../player";
import { Link } from "../router";
import type { Song } from "../types";
import { Icon } from "../components/icons";
import { PagedList, usePaged } from "../components/paging";
import { count } from "../components/recommendations";
import { ago, Async, Cover, duration, ErrorNote, useLoad, useTitle } from "../components/ui";
import { displayName } from "../components/users";
import "../accounts.css";

interface Listen {
  listenId: string;
  songId: string;
  deviceId: string | null;
  startedAt: string;
  positionMs: number;
  played: boolean;
  completed: boolean;
  skipped: boolean;
  song: Song | null;
}

interface MyStats {
  plays: number;
  completions: number;
  skips: number;
  songs: number;
  topSongs: { songId: string; plays: number }[];
  topArtists: { artistId: string; plays: number }[];
}

export function History() {
  useTitle("History");
  const listens = usePaged<Listen>((cursor) => `/api/me/history${query({ limit: 30, cursor })}`, [], (listen) => listen.listenId);
  return (
    <section class="page history-page">
      <h1>History</h1>
      <StatsCard />
      <h2>Recently played</h2>
      <PagedList paged={listens} empty="Nothing yet: songs you play show up here." label="Listening history">
        {(item) => <ListenRow key={item.listenId} listen={item} />}
      </PagedList>
    </section>
  );
}

function ListenRow({ listen }: { listen: Listen }) {
  const song = listen.song;
  return (
    <li class="listen">
      {song ? <Cover song={song} size={48} /> : <span class="cover placeholder gone" style={{ width: 48, height: 48 }} aria-hidden="true" />}
      <div class="listen-main">
        {song ? (
          <>
            <Link href={`/songs/${song.id}`} class="listen-title">
              {song.title}
            </Link>
            <Link href={`/artists/${song.artistId}`} class="muted small">
              {song.artistName}
            </Link>
          </>
        ) : (
          <span class="muted">This song is no longer available</span>
        )}
      </div>
      <div class="listen-meta small">
        <time dateTime={listen.startedAt} title={new Date(listen.startedAt).toLocaleString()}>
          {ago(listen.startedAt)}
        </time>
        <span class={`tag ${outcome(listen).kind}`}>{outcome(listen).text}</span>
      </div>
      {song ? (
        <button type="button" class="icon play" aria-label={`Play ${song.title}`} onClick={() => playSongs([song])}>
          <Icon name="play" />
        </button>
      ) : (
        <span class="play-spacer" />
      )}
    </li>
  );
}

function outcome(listen: Listen): { text: string; kind: string } {
  if (listen.completed) return { text: "Completed", kind: "ok" };
  if (listen.skipped) return { text: `Skipped at ${duration(listen.positionMs)}`, kind: "warn" };
  if (listen.played) return { text: `Played to ${duration(listen.positionMs)}`, kind: "" };
  return { text: "Started", kind: "" };
}

function StatsCard() {
  const stats = useLoad((signal) => api<MyStats>("/api/me/stats", { signal }), []);
  return (
    <div class="card stats-card">
      <h2>Your numbers</h2>
      <Async state={stats}>
        {(s) =>
          s.plays === 0 && s.skips === 0 ? (
            <p class="muted">Your listening numbers appear here once you have played a few songs.</p>
          ) : (
            <>
              <dl class="stat-numbers">
                <Stat label="Plays" value={s.plays} />
                <Stat label="Completions" value={s.completions} />
                <Stat label="Skips" value={s.skips} />
                <Stat label="Different songs" value={s.songs} />
              </dl>
              <TopLists stats={s} />
            </>
          )
        }
      </Async>
    </div>
  );
}

function Stat({ label, value }: { label: string; value: number }) {
  return (
    <div>
      <dt class="muted small">{label}</dt>
      <dd>{value.toLocaleString()}</dd>
    </div>
  );
}

/** The stats name songs and artists by id only: fetch what they are called. */
function TopLists({ stats }: { stats: MyStats }) {
  const names = useLoad((signal) => topNames(stats, signal), [stats]);
  const songs = names.data?.songs ?? new Map<string, Song>();
  const artists = names.data?.artists ?? new Map<string, string>();
  return (
    <div class="top-lists">
      <div>
        <h3>Top songs</h3>
        <ol>
          {stats.topSongs.map(({ songId, plays }) => {
            const song = songs.get(songId);
            return (
              <li key={songId}>
                {song ? <Link href={`/songs/${songId}`}>{song.title}</Link> : <span class="muted">{names.loading ? "…" : "No longer available"}</span>}
                {song && <span class="muted small"> · {song.artistName}</span>} <span class="muted small">({count(plays, "play")})</span>
              </li>
            );
          })}
        </ol>
      </div>
      <div>
        <h3>Top artists</h3>
        <ol>
          {stats.topArtists.map(({ artistId, plays }) => (
            <li key={artistId}>
              <Link href={`/artists/${artistId}`}>{artists.get(artistId) ?? (names.loading ? "…" : "Unknown artist")}</Link>{" "}
              <span class="muted small">({count(plays, "play")})</span>
            </li>
          ))}
        </ol>
      </div>
      <ErrorNote error={names.error} />
    </div>
  );
}

async function topNames(stats: MyStats, signal: AbortSignal) {
  const ids = stats.topSongs.map((t) => t.songId);
  const found = ids.length
    ? (await api<{ items: Song[] }>("/api/songs/batch", { method: "POST", body: { ids }, signal })).items
    : [];
  const songs = new Map(found.map((s) => [s.id, s]));
  const artists = new Map(found.map((s) => [s.artistId, s.artistName]));
  const missing = stats.topArtists.map((a) => a.artistId).filter((id) => !artists.has(id));
  const profiles = await Promise.all(missing.map((id) => displayName(id, null)));
  missing.forEach((id, i) => profiles[i] && artists.set(id, profiles[i]));
  return { songs, artists };
}
