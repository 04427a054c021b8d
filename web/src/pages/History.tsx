// The signed-in listener's history: every listen, newest first, and their counts and favourites.

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, query } from "../api";
import { playSongs } from "../player";
import { Link } from "../router";
import type { Page, Song } from "../types";
import { Async, Cover, date, duration, ErrorNote, useLoad, useTitle } from "../components/ui";
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
  const listens = usePaged<Listen>((cursor) => `/api/me/history${query({ limit: 30, cursor })}`, []);
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
          ▶
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
                {song && <span class="muted small"> · {song.artistName}</span>} <span class="muted small">({plural(plays, "play")})</span>
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
              <span class="muted small">({plural(plays, "play")})</span>
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
  const profiles = await Promise.all(
    missing.map((id) => api<{ displayName: string }>(`/api/users/${id}`, { signal, auth: false }).then((p) => p.displayName, () => null)),
  );
  missing.forEach((id, i) => profiles[i] && artists.set(id, profiles[i]));
  return { songs, artists };
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
}

/** "3 minutes ago", "yesterday", or the date once it is more than a week old. */
export function ago(iso: string): string {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return "just now";
  if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return format.format(Math.round(seconds / 3600), "hour");
  if (abs < 7 * 86400) return format.format(Math.round(seconds / 86400), "day");
  return date(iso);
}

export interface Paged<T> {
  items: T[];
  setItems: (update: (items: T[]) => T[]) => void;
  next: string | null;
  /** The first page is on its way. */
  loading: boolean;
  /** A further page is on its way. */
  more: boolean;
  error: unknown;
  loadMore: () => void;
  reload: () => void;
}

/** A cursor-paged list (`{items, nextCursor}`): the first page, then more on demand. */
export function usePaged<T>(url: (cursor: string | null) => string, deps: unknown[]): Paged<T> {
  const [items, setAll] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const abort = useRef<AbortController | null>(null);

  const fetchPage = async (cursor: string | null) => {
    abort.current?.abort();
    const controller = (abort.current = new AbortController());
    setError(null);
    try {
      const page = await api<Page<T>>(url(cursor), { signal: controller.signal });
      if (controller.signal.aborted) return;
      setAll((old) => (cursor ? [...old, ...page.items] : page.items));
      setNext(page.nextCursor);
    } catch (err) {
      if (!controller.signal.aborted) setError(err);
    } finally {
      if (!controller.signal.aborted) {
        setLoading(false);
        setMore(false);
      }
    }
  };

  useEffect(() => {
    setLoading(true);
    fetchPage(null);
    return () => abort.current?.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  return {
    items,
    setItems: (update) => setAll(update),
    next,
    loading,
    more,
    error,
    loadMore: () => {
      if (!next || more) return;
      setMore(true);
      fetchPage(next);
    },
    reload: () => setTick((t) => t + 1),
  };
}

/** A paged list with its loading, empty and error states and its "Load more" button. */
export function PagedList<T>({
  paged,
  empty,
  label,
  children,
}: {
  paged: Paged<T>;
  empty: string;
  label: string;
  children: (item: T) => ComponentChildren;
}) {
  if (paged.loading && paged.items.length === 0) {
    return (
      <p class="muted" aria-busy="true">
        Loading…
      </p>
    );
  }
  if (paged.error && paged.items.length === 0) {
    return (
      <div class="stack">
        <ErrorNote error={paged.error} />
        <div>
          <button type="button" class="ghost" onClick={paged.reload}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  if (paged.items.length === 0) return <p class="muted empty">{empty}</p>;
  return (
    <>
      <ul class="paged-list" aria-label={label}>
        {paged.items.map(children)}
      </ul>
      <ErrorNote error={paged.error} />
      {paged.next && (
        <div class="load-more">
          <button type="button" class="ghost" onClick={paged.loadMore} disabled={paged.more}>
            {paged.more ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </>
  );
}
