// Search as you type: the top bar rewrites `?q=`; this page waits for a pause in typing,
// drops answers to older queries, and shows songs, artists and albums.

import { useEffect, useState } from "preact/hooks";
import { api, query } from "../api";
import { hueOf } from "../components/colour";
import { recentGenres } from "../components/genres";
import { SongList } from "../components/SongList";
import { ErrorNote, useLoad, useTitle } from "../components/ui";
import { Link, location, type Params } from "../router";
import type { Page, SearchResults, Song } from "../types";

const PAUSE_MS = 200;

interface Found {
  q: string;
  results: SearchResults;
}

/** The answer for `q`, asked once typing pauses; a newer `q` aborts the older request. */
function useSearch(q: string) {
  const [found, setFound] = useState<Found | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!q) {
      setFound(null);
      setError(null);
      setBusy(false);
      return;
    }
    const abort = new AbortController();
    setBusy(true);
    const timer = setTimeout(() => {
      api<SearchResults>(`/api/search${query({ q, limit: 20 })}`, { signal: abort.signal }).then(
        (results) => {
          setFound({ q, results });
          setError(null);
          setBusy(false);
        },
        (err) => {
          if (abort.signal.aborted) return;
          setError(err);
          setBusy(false);
        },
      );
    }, PAUSE_MS);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [q]);
  return { found, error, busy };
}

export function Search(_: { params: Params }) {
  const q = (location.value.searchParams.get("q") ?? "").trim().slice(0, 200);
  useTitle(q ? `Search: ${q}` : "Search");
  const { found, error, busy } = useSearch(q);
  return (
    <div class="page">
      <h1>{q ? <>Results for “{q}”</> : "Search"}</h1>
      {!q ? (
        <Discover />
      ) : error ? (
        <ErrorNote error={error} />
      ) : !found ? (
        <p class="muted" aria-busy="true">
          Searching…
        </p>
      ) : (
        <div aria-busy={busy ? "true" : undefined}>
          <Results found={found} />
        </div>
      )}
    </div>
  );
}

function Results({ found: { q, results } }: { found: Found }) {
  const { songs, artists, albums } = results;
  if (songs.length + artists.length + albums.length === 0) {
    return (
      <p role="status">
        Nothing matches “{q}”. Try fewer words, or the start of a title or name.
      </p>
    );
  }
  return (
    <>
      <section class="shelf" aria-labelledby="found-songs">
        <h2 id="found-songs">Songs</h2>
        <SongList songs={songs} label="Songs found" empty="No songs match." />
      </section>
      <section class="shelf" aria-labelledby="found-artists">
        <h2 id="found-artists">Artists</h2>
        {artists.length === 0 ? (
          <p class="muted">No artists match.</p>
        ) : (
          <ul class="link-list">
            {artists.map((a) => (
              <li key={a.id}>
                <Link href={`/artists/${a.id}`}>
                  <span class="artist-dot" style={{ background: hueOf(a.id) }} aria-hidden="true">
                    {a.name.slice(0, 1).toUpperCase()}
                  </span>
                  {a.name}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="shelf" aria-labelledby="found-albums">
        <h2 id="found-albums">Albums</h2>
        {albums.length === 0 ? (
          <p class="muted">No albums match.</p>
        ) : (
          <ul class="link-list">
            {albums.map((a) => (
              <li key={a.id}>
                <Link href={`/albums/${a.id}`}>
                  <span>
                    <strong>{a.title}</strong>
                    {a.artistName && <span class="muted small"> · {a.artistName}</span>}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

/** What to show before anything is typed: genres to try and the newest songs. */
function Discover() {
  const newest = useLoad((signal) => api<Page<Song>>("/api/songs?sort=newest&limit=12", { signal }), []);
  const genres = recentGenres(newest.data?.items ?? []);
  return (
    <>
      <p class="muted">Type in the search box above: song titles, artists, albums, genres and tags all count, and the start of a word is enough.</p>
      {genres.length > 0 && (
        <section class="shelf" aria-labelledby="try-genres">
          <h2 id="try-genres">Genres</h2>
          <div class="chips">
            {genres.map((g) => (
              <Link key={g} class="chip" href={`/search?q=${encodeURIComponent(g)}`}>
                {g}
              </Link>
            ))}
          </div>
        </section>
      )}
      <section class="shelf" aria-labelledby="try-new">
        <h2 id="try-new">New releases</h2>
        {newest.error ? (
          <ErrorNote error={newest.error} />
        ) : !newest.data ? (
          <p class="muted" aria-busy="true">
            Loading…
          </p>
        ) : (
          <SongList songs={newest.data.items} label="New releases" empty="No songs yet." />
        )}
      </section>
    </>
  );
}
