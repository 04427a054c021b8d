// An album: its artist, its description and its tracks in order.

import { api, ApiError } from "../api";
import { CollectionHero, songsOf } from "../components/Collections";
import { queue, SongList } from "../components/SongList";
import { Async, useLoad, useTitle } from "../components/ui";
import type { Params } from "../router";
import { user } from "../session";
import type { Collection } from "../types";
import { NotFound } from "./Song";

export function AlbumPage({ params }: { params: Params }) {
  const album = useLoad((signal) => api<Collection>(`/api/albums/${encodeURIComponent(params.id)}`, { signal }), [params.id, user.value?.id]);
  useTitle(album.data?.title ?? "Album");
  if (album.error instanceof ApiError && album.error.status === 404) return <NotFound what="album" />;
  return (
    <div class="page">
      <Async state={album}>
        {(a) => (
          <>
            <CollectionHero collection={a}>
              <button type="button" class="ghost" disabled={songsOf(a).length === 0} onClick={() => queue(songsOf(a))}>
                Add all to queue
              </button>
            </CollectionHero>
            <section aria-labelledby="album-tracks">
              <h2 id="album-tracks" class="visually-hidden">
                Tracks
              </h2>
              <SongList
                songs={a.tracks.map((t) => t.song)}
                keys={a.tracks.map((t) => t.entryId)}
                label={`Tracks of ${a.title}`}
                numbered
                empty="This album has no songs yet."
              />
            </section>
          </>
        )}
      </Async>
    </div>
  );
}
