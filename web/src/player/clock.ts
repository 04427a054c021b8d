// The server's clock as this device sees it. Every device computes the shared playback
// position from server times, so each needs its offset to the server's clock: several
// NTP-style samples of `GET /api/sync/time`, keeping the one that travelled fastest.

import { api } from "../api";

let offset = 0;

/** Server milliseconds since the epoch, now. */
export function serverNow(): number {
  return Date.now() + offset;
}

interface SyncTime {
  receivedAt: number;
  sentAt: number;
}

/** Measures the offset again; keeps the old one when every sample fails. */
export async function syncClock(samples = 5, signal?: AbortSignal): Promise<void> {
  let best: { offset: number; delay: number } | null = null;
  for (let i = 0; i < samples && !signal?.aborted; i++) {
    try {
      const t1 = Date.now();
      const time = await api<SyncTime>("/api/sync/time", { signal });
      const t4 = Date.now();
      const delay = t4 - t1 - (time.sentAt - time.receivedAt);
      const sample = (time.receivedAt - t1 + (time.sentAt - t4)) / 2;
      if (!best || delay < best.delay) best = { offset: sample, delay };
    } catch {
      // A lost sample only makes the estimate a little worse.
    }
  }
  if (best) offset = best.offset;
}
