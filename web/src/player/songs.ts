// The songs the queue names, fetched in batches and kept: the sync state only holds ids.

import { signal } from "@preact/signals";
import { api } from "../api";
import type { Song } from "../types";

/** Song by id; null when the catalog does not show it to this listener. */
export const songs = signal<ReadonlyMap<string, Song | null>>(new Map());
const asking = new Set<string>();

export function remember(list: Song[]): void {
  if (list.every((s) => songs.value.get(s.id) === s)) return;
  const next = new Map(songs.value);
  for (const s of list) next.set(s.id, s);
  songs.value = next;
}

/** Fetches the ids not known yet (100 per request); unseen ones become null. */
export async function resolve(ids: string[]): Promise<void> {
  const wanted = [...new Set(ids)].filter((id) => !songs.value.has(id) && !asking.has(id));
  for (let i = 0; i < wanted.length; i += 100) {
    const chunk = wanted.slice(i, i + 100);
    chunk.forEach((id) => asking.add(id));
    try {
      const found = await api<{ items: Song[] }>("/api/songs/batch", { method: "POST", body: { ids: chunk } });
      const next = new Map(songs.value);
      for (const id of chunk) next.set(id, null);
      for (const s of found.items) next.set(s.id, s);
      songs.value = next;
    } catch {
      // Left unknown: the next state asks again.
    } finally {
      chunk.forEach((id) => asking.delete(id));
    }
  }
}
