// A titled row of things on a browse page (songs, playlists, albums) that loads on its own:
// its loading, empty and error states stay inside it, so one failing shelf never takes the
// page down with it.

import type { ComponentChildren } from "preact";
import { playSongs } from "../player";
import { Link } from "../router";
import type { Song } from "../types";
import { Icon } from "./icons";
import { Cover, ErrorNote, duration, type Loaded } from "./ui";
import "../browse.css";

interface ShelfProps<T> {
  title: string;
  state: Loaded<T>;
  /** Whether the loaded data has nothing to show. */
  isEmpty: (data: T) => boolean;
  empty: ComponentChildren;
  /** A line under the heading (what the shelf is based on). */
  note?: ComponentChildren;
  /** Controls beside the heading (filters, "See all"). */
  tools?: ComponentChildren;
  children: (data: T) => ComponentChildren;
}

export function Shelf<T>({ title, state, isEmpty, empty, note, tools, children }: ShelfProps<T>) {
  const id = `shelf-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return (
    <section class="shelf" aria-labelledby={id}>
      <div class="spread shelf-head">
        <h2 id={id}>{title}</h2>
        {tools}
      </div>
      {note && <p class="muted small shelf-note">{note}</p>}
      <ShelfBody state={state} isEmpty={isEmpty} empty={empty}>
        {children}
      </ShelfBody>
    </section>
  );
}

function ShelfBody<T>({ state, isEmpty, empty, children }: Pick<ShelfProps<T>, "state" | "isEmpty" | "empty" | "children">) {
  if (state.error && state.data === undefined) {
    return (
      <div class="row">
        <ErrorNote error={state.error} />
        <button type="button" class="ghost" onClick={state.reload}>
          Try again
        </button>
      </div>
    );
  }
  if (state.data === undefined) return <TilesLoading />;
  if (isEmpty(state.data)) return <p class="muted">{empty}</p>;
  return (
    <div class="shelf-body" aria-busy={state.loading ? "true" : undefined}>
      {children(state.data)}
    </div>
  );
}

function TilesLoading() {
  return (
    <div class="grid tiles-loading" aria-busy="true">
      <span class="visually-hidden">Loading…</span>
      {[0, 1, 2, 3].map((i) => (
        <div key={i} class="tile skeleton" aria-hidden="true" />
      ))}
    </div>
  );
}

/** Songs as tiles; "Play <title>" plays the shelf from that song. `notes` adds a line per song. */
export function SongTiles({ songs, notes }: { songs: Song[]; notes?: (song: Song, index: number) => string | null }) {
  return (
    <ul class="grid tiles">
      {songs.map((song, i) => (
        <li key={song.id} class="tile song-tile">
          <div class="tile-art">
            <Cover song={song} size={160} />
            <button type="button" class="tile-play" aria-label={`Play ${song.title}`} onClick={() => playSongs(songs, i)}>
              <Icon name="play" size={24} />
            </button>
          </div>
          <Link href={`/songs/${song.id}`} class="tile-title">
            {song.title}
          </Link>
          <span class="muted small tile-sub">
            <Link href={`/artists/${song.artistId}`}>{song.artistName}</Link> · {duration(song.durationMs)}
          </span>
          {notes?.(song, i) && <span class="muted small">{notes(song, i)}</span>}
        </li>
      ))}
    </ul>
  );
}
