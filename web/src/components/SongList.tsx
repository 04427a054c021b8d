// A list of songs with the actions every listing offers: play from here, queue, add to a
// playlist. Pages that own the order (a playlist) add their own row actions and drag and drop.
//
// Usage:
//   <SongList songs={songs} />                                    search results, an artist's songs
//   <SongList songs={tracks.map((t) => t.song)} keys={tracks.map((t) => t.entryId)}
//             numbered actions={(song, i) => <button …/>} onMove={(from, to) => …} />
//
// Props:
//   songs    the rows, in order; `null` is an entry the caller may no longer see (a private,
//            hidden or deleted song on a playlist): shown greyed, never played.
//   keys     a stable key per row when a song may appear twice (playlist entry ids).
//   label    the list's accessible name (default "Songs").
//   numbered show the row's place (1-based).
//   actions  extra controls at the end of a row, given the song (or null) and its index.
//   onMove   makes rows draggable (HTML5 drag and drop); called with the dragged row's index
//            and the index it was dropped on. Callers should also offer keyboard buttons.
//   empty    what to show when there are no rows (default "No songs.").
//
// "Play <title>" plays the whole list (its available songs) from that row; signed-out users
// are sent to sign in by the player for play, and by this list for queueing and playlists.

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { addToQueue, current, playSongs } from "../player";
import { Link } from "../router";
import { user } from "../session";
import type { Song } from "../types";
import { AddToPlaylistDialog } from "./AddToPlaylist";
import { Icon } from "./icons";
import { signInFirst } from "./signin";
import { Cover, duration } from "./ui";
import "../browse.css";

export interface SongListProps {
  songs: (Song | null)[];
  keys?: string[];
  label?: string;
  numbered?: boolean;
  actions?: (song: Song | null, index: number) => ComponentChildren;
  onMove?: (from: number, to: number) => void;
  empty?: ComponentChildren;
}

export function SongList({ songs, keys, label = "Songs", numbered, actions, onMove, empty }: SongListProps) {
  const [adding, setAdding] = useState<Song | null>(null);
  const drag = useDragOrder(onMove);
  if (songs.length === 0) return <p class="muted">{empty ?? "No songs."}</p>;
  const playable = songs.filter((s): s is Song => s !== null);
  const play = (song: Song) => playSongs(playable, Math.max(0, playable.indexOf(song)));
  return (
    <>
      <ol class={numbered ? "song-list numbered" : "song-list"} aria-label={label}>
        {songs.map((song, i) => (
          <li
            key={keys?.[i] ?? `${song?.id ?? "gone"}-${i}`}
            class={rowClass(song, drag.over === i, drag.from === i)}
            aria-current={song && current.value?.id === song.id ? "true" : undefined}
            {...drag.rowProps(i)}
          >
            {onMove && (
              <span class="drag-handle" aria-hidden="true" title="Drag to reorder">
                <Icon name="grip" size={18} />
              </span>
            )}
            {numbered && <span class="song-num muted small">{i + 1}</span>}
            {song ? <SongRow song={song} onPlay={() => play(song)} onAdd={() => setAdding(song)} /> : <GoneRow />}
            {actions && <span class="song-extra">{actions(song, i)}</span>}
          </li>
        ))}
      </ol>
      <AddToPlaylistDialog song={adding} onClose={() => setAdding(null)} />
    </>
  );
}

function rowClass(song: Song | null, over: boolean, dragging: boolean): string {
  return ["song-row", song ? "" : "unavailable", over ? "drop-target" : "", dragging ? "dragging" : ""].filter(Boolean).join(" ");
}

function SongRow({ song, onPlay, onAdd }: { song: Song; onPlay: () => void; onAdd: () => void }) {
  return (
    <>
      <button type="button" class="icon play-button" aria-label={`Play ${song.title}`} onClick={onPlay}>
        <Icon name="play" />
      </button>
      <Cover song={song} size={40} />
      <span class="song-main">
        <Link href={`/songs/${song.id}`} class="song-title">
          {song.title}
        </Link>
        <Link href={`/artists/${song.artistId}`} class="song-artist muted small">
          {song.artistName}
        </Link>
      </span>
      <span class="song-duration muted small">{duration(song.durationMs)}</span>
      <span class="song-actions">
        <button type="button" class="icon" aria-label={`Add ${song.title} to queue`} title="Add to queue" onClick={() => queue(song)}>
          <Icon name="plus" />
        </button>
        <button
          type="button"
          class="icon"
          aria-label={`Add ${song.title} to a playlist`}
          title="Add to a playlist"
          onClick={() => (user.value ? onAdd() : signInFirst())}
        >
          <Icon name="playlistAdd" />
        </button>
      </span>
    </>
  );
}

function GoneRow() {
  return (
    <span class="song-main">
      <span class="song-title">Unavailable song</span>
      <span class="muted small">No longer available to you</span>
    </span>
  );
}

/** Queues songs (the player sends a signed-out visitor to sign in, and confirms with a toast). */
export function queue(song: Song | Song[]): void {
  addToQueue(Array.isArray(song) ? song : [song]);
}

/** HTML5 drag and drop over rows: which row is dragged, which one it hovers. */
function useDragOrder(onMove?: (from: number, to: number) => void) {
  const [from, setFrom] = useState<number | null>(null);
  const [over, setOver] = useState<number | null>(null);
  const end = () => {
    setFrom(null);
    setOver(null);
  };
  const rowProps = (i: number) =>
    onMove
      ? {
          draggable: true,
          onDragStart: (event: DragEvent) => {
            setFrom(i);
            event.dataTransfer?.setData("text/plain", String(i));
            if (event.dataTransfer) event.dataTransfer.effectAllowed = "move";
          },
          onDragOver: (event: DragEvent) => {
            event.preventDefault();
            if (event.dataTransfer) event.dataTransfer.dropEffect = "move";
            if (over !== i) setOver(i);
          },
          onDrop: (event: DragEvent) => {
            event.preventDefault();
            const dragged = from ?? Number(event.dataTransfer?.getData("text/plain"));
            end();
            if (Number.isInteger(dragged) && dragged !== i) onMove(dragged, i);
          },
          onDragEnd: end,
        }
      : {};
  return { from, over, rowProps };
}
