// The front page: shelves of music to start from. Each shelf loads and fails on its own.

import { useState } from "preact/hooks";
import { api, query } from "../api";
import { CollectionTiles } from "../components/Collections";
import { recentGenres } from "../components/genres";
import { basisText, forYouReason, type ForYou, type Trending } from "../components/recommendations";
import { Shelf, SongTiles } from "../components/Shelf";
import { useLoad, useTitle } from "../components/ui";
import type { Params } from "../router";
import { Link } from "../router";
import { user } from "../session";
import type { CollectionSummary, Page, Song } from "../types";

export function Home(_: { params: Params }) {
  useTitle("");
  const me = user.value;
  return (
    <div class="page">
      {me ? <h1>Welcome back, {me.displayName}</h1> : <Welcome />}
      {me && <ForYouShelf userId={me.id} />}
      <TrendingShelf />
      <NewReleasesShelf />
      <CollectionShelf title="Playlists" path="/api/playlists/public" empty="No public playlists yet." />
      <CollectionShelf title="Albums" path="/api/albums" empty="No albums yet." />
    </div>
  );
}

function Welcome() {
  return (
    <section class="card welcome">
      <h1>Your music, on your own server</h1>
      <p>Listen to what artists here share, make playlists with friends, and pick up on any device where you left off.</p>
      <p class="row">
        <Link href="/signup" class="button">
          Sign up
        </Link>
        <Link href="/signin" class="button ghost">
          Sign in
        </Link>
      </p>
    </section>
  );
}

function ForYouShelf({ userId }: { userId: string }) {
  const state = useLoad((signal) => api<ForYou>("/api/songs/recommendations/for-you?limit=12", { signal }), [userId]);
  const titles = new Map((state.data?.items ?? []).map((i) => [i.song.id, i.song.title]));
  return (
    <Shelf
      title="Made for you"
      state={state}
      note={state.data && basisText(state.data.basis)}
      isEmpty={(d) => d.items.length === 0}
      empty="Nothing to suggest yet. Play a few songs and come back."
    >
      {(d) => <SongTiles songs={d.items.map((i) => i.song)} notes={(_, i) => forYouReason(d.items[i].reason, titles)} />}
    </Shelf>
  );
}

function TrendingShelf() {
  const [genre, setGenre] = useState<string | null>(null);
  const all = useLoad((signal) => api<Trending>("/api/songs/trending?limit=20", { signal }), []);
  const picked = useLoad(
    (signal) => (genre ? api<Trending>(`/api/songs/trending${query({ genre, limit: 20 })}`, { signal }) : Promise.resolve(undefined)),
    [genre],
  );
  // The chips come from the unfiltered list, so picking one does not make the others vanish.
  const genres = recentGenres((all.data?.items ?? []).map((i) => i.song));
  const state = genre ? picked : all;
  return (
    <Shelf
      title="Trending"
      state={state as typeof all}
      note="What people here played most this week."
      tools={genres.length > 1 && <GenreChips genres={genres} picked={genre} onPick={setGenre} />}
      isEmpty={(d) => d.items.length === 0}
      empty={genre ? `Nothing trending in ${genre} this week.` : "Nothing trending yet this week."}
    >
      {(d) => <SongTiles songs={d.items.map((i) => i.song)} />}
    </Shelf>
  );
}

function GenreChips({ genres, picked, onPick }: { genres: string[]; picked: string | null; onPick: (g: string | null) => void }) {
  return (
    <div class="chips" role="group" aria-label="Filter trending by genre">
      <button type="button" class="chip" aria-pressed={picked === null} onClick={() => onPick(null)}>
        All
      </button>
      {genres.map((g) => (
        <button key={g} type="button" class="chip" aria-pressed={picked === g} onClick={() => onPick(picked === g ? null : g)}>
          {g}
        </button>
      ))}
    </div>
  );
}

function NewReleasesShelf() {
  const state = useLoad((signal) => api<Page<Song>>("/api/songs?sort=newest&limit=12", { signal }), []);
  return (
    <Shelf title="New releases" state={state} isEmpty={(d) => d.items.length === 0} empty="No songs yet.">
      {(d) => <SongTiles songs={d.items} />}
    </Shelf>
  );
}

function CollectionShelf({ title, path, empty }: { title: string; path: string; empty: string }) {
  const state = useLoad((signal) => api<Page<CollectionSummary>>(`${path}?limit=12`, { signal }), [path, user.value?.id]);
  return (
    <Shelf title={title} state={state} isEmpty={(d) => d.items.length === 0} empty={empty}>
      {(d) => <CollectionTiles items={d.items} />}
    </Shelf>
  );
}
