// The queue in the order it plays, the current entry marked; choosing an entry plays it.

import { useEffect, useState } from "preact/hooks";
import { duration } from "../components/ui";
import { jumpTo } from "./controls";
import { resolve, songs } from "./songs";
import { state } from "./sync";

const PAGE = 100;

export function QueueDialog({ onDone }: { onDone: () => void }) {
  const s = state.value;
  const [shown, setShown] = useState(PAGE);
  const order = s ? s.playOrder : [];
  const at = s?.currentEntryId ? Math.max(0, order.indexOf(s.currentEntryId)) : 0;
  const start = Math.max(0, at - 5);
  const visible = order.slice(start, start + shown);
  const byEntry = new Map(s?.queue.map((e, i) => [e.entryId, { ...e, index: i }]) ?? []);
  const ids = visible.map((id) => byEntry.get(id)?.songId).filter((id): id is string => !!id);
  useEffect(() => void resolve(ids), [ids.join()]);
  if (!s || !s.queue.length) return <p class="muted">The queue is empty. Play a song or add some to the queue.</p>;
  return (
    <div class="queue">
      <p class="muted small">
        {s.queue.length === 1 ? "1 song" : `${s.queue.length} songs`}
        {s.shuffle ? " · shuffled" : ""}
      </p>
      <ol class="queue-list">
        {visible.map((entryId) => {
          const entry = byEntry.get(entryId);
          if (!entry) return null;
          const song = songs.value.get(entry.songId);
          const isCurrent = entryId === s.currentEntryId;
          return (
            <li key={entryId}>
              <button
                type="button"
                class={isCurrent ? "queue-entry current" : "queue-entry"}
                aria-current={isCurrent ? "true" : undefined}
                disabled={song === null}
                onClick={() => {
                  jumpTo(entryId);
                  onDone();
                }}
              >
                <span class="queue-title">
                  {song ? song.title : song === null ? "Unavailable song" : "Loading…"}
                  {isCurrent && <span class="tag">Now playing</span>}
                </span>
                <span class="muted small">
                  {song ? `${song.artistName} · ${duration(song.durationMs)}` : ""}
                </span>
              </button>
            </li>
          );
        })}
      </ol>
      {start + shown < order.length && (
        <button type="button" class="ghost" onClick={() => setShown(shown + PAGE)}>
          Show more
        </button>
      )}
    </div>
  );
}
