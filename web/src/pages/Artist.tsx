// An artist: who follows them, what they released, how much it is played.

import { useState } from "preact/hooks";
import { api, ApiError, describe } from "../api";
import { CollectionTiles } from "../components/Collections";
import { hueOf } from "../components/colour";
import { PlayCounts } from "../components/PlayCounts";
import { count } from "../components/recommendations";
import { Shelf } from "../components/Shelf";
import { signInFirst } from "../components/signin";
import { queue, SongList } from "../components/SongList";
import { artistStats } from "../components/stats";
import { Async, toast, useLoad, useTitle } from "../components/ui";
import { playSongs } from "../player";
import type { Params } from "../router";
import { user } from "../session";
import type { ArtistProfile, CollectionSummary, Page } from "../types";
import { NotFound } from "./Song";
import "../browse.css";

export function ArtistPage({ params }: { params: Params }) {
  const id = params.id;
  const artist = useLoad((signal) => api<ArtistProfile>(`/api/artists/${encodeURIComponent(id)}`, { signal }), [id, user.value?.id]);
  useTitle(artist.data?.name ?? "Artist");
  if (artist.error instanceof ApiError && artist.error.status === 404) return <NotFound what="artist" />;
  return (
    <div class="page">
      <Async state={artist}>
        {(a) => (
          <>
            <ArtistHeader artist={a} onChange={artist.set} />
            <section class="shelf" aria-labelledby="artist-songs">
              <h2 id="artist-songs">Songs</h2>
              <SongList songs={a.songs} label={`Songs by ${a.name}`} empty="No songs released yet." />
            </section>
            <AlbumsShelf artistId={a.id} />
            <StatsShelf artistId={a.id} />
          </>
        )}
      </Async>
    </div>
  );
}

function ArtistHeader({ artist, onChange }: { artist: ArtistProfile; onChange: (a: ArtistProfile) => void }) {
  return (
    <header class="hero">
      <span class="artist-avatar" style={{ background: hueOf(artist.id) }} aria-hidden="true">
        {artist.name.slice(0, 1).toUpperCase()}
      </span>
      <div class="hero-text">
        <span class="hero-kind">Artist</span>
        <h1>{artist.name}</h1>
        <div class="hero-meta">
          <span>{count(artist.followers, "follower")}</span>
          <span>{count(artist.songs.length, "song")}</span>
        </div>
        <div class="row">
          <button type="button" disabled={artist.songs.length === 0} onClick={() => playSongs(artist.songs, 0)}>
            Play all
          </button>
          <button type="button" class="ghost" disabled={artist.songs.length === 0} onClick={() => queue(artist.songs)}>
            Add all to queue
          </button>
          <FollowButton artist={artist} onChange={onChange} />
        </div>
      </div>
    </header>
  );
}

function FollowButton({ artist, onChange }: { artist: ArtistProfile; onChange: (a: ArtistProfile) => void }) {
  const [busy, setBusy] = useState(false);
  if (user.value?.id === artist.id) return null; // following oneself means nothing
  async function toggle() {
    if (!user.value) return signInFirst();
    const follow = !artist.following;
    setBusy(true);
    try {
      await api(`/api/artists/${encodeURIComponent(artist.id)}/follow`, { method: follow ? "POST" : "DELETE" });
      onChange({ ...artist, following: follow, followers: Math.max(0, artist.followers + (follow ? 1 : -1)) });
      toast(follow ? `You follow ${artist.name}. Their new songs will reach you.` : `You no longer follow ${artist.name}.`);
    } catch (err) {
      toast(describe(err), "error");
    } finally {
      setBusy(false);
    }
  }
  return (
    <button type="button" class={artist.following ? "" : "ghost"} aria-pressed={artist.following} disabled={busy} onClick={toggle}>
      {artist.following ? "Following" : "Follow"}
    </button>
  );
}

function AlbumsShelf({ artistId }: { artistId: string }) {
  const albums = useLoad((signal) => api<Page<CollectionSummary>>(`/api/albums?artist=${encodeURIComponent(artistId)}&limit=24`, { signal }), [artistId]);
  return (
    <Shelf title="Albums" state={albums} isEmpty={(d) => d.items.length === 0} empty="No albums yet.">
      {(d) => <CollectionTiles items={d.items} />}
    </Shelf>
  );
}

function StatsShelf({ artistId }: { artistId: string }) {
  const stats = useLoad((signal) => artistStats(artistId, signal), [artistId]);
  return (
    <Shelf title="Listening" state={stats} isEmpty={() => false} empty="">
      {(s) => <PlayCounts stats={s} />}
    </Shelf>
  );
}
