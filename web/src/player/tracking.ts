// Listening activity from the device that plays: each playback is a listen with its own id,
// reported as a play at 3 s, a completion at 80 % and a skip when the listener moves on
// before half of the song.

import { effect } from "@preact/signals";
import { api, ApiError } from "../api";
import { audio, loadedSong } from "./audio";
import { deviceId } from "./device";
import { songs } from "./songs";
import { audible, randomId } from "./sync";

interface Listen {
  id: string;
  songId: string;
  played: boolean;
  completed: boolean;
  lastMs: number;
}

let listen: Listen | null = null;

function report(kind: "play" | "complete" | "skip", l: Listen, positionMs: number): void {
  const body: Record<string, unknown> = { listenId: l.id, positionMs: Math.max(0, Math.floor(positionMs)) };
  if (deviceId.value) body.deviceId = deviceId.value;
  api(`/api/songs/${encodeURIComponent(l.songId)}/track/${kind}`, { method: "POST", body }).catch((error) => {
    // 422 (below a threshold after a seek) and 429 (rate limits) are expected: nothing counted.
    if (!(error instanceof ApiError) || ![422, 429, 409].includes(error.status)) console.warn("listen not tracked", error);
  });
}

function durationOf(songId: string): number {
  return songs.peek().get(songId)?.durationMs || audio.duration * 1000 || 0;
}

/** The listener moved on from `l`: a skip when it ended before half of the song. */
function moveOn(l: Listen): void {
  const duration = durationOf(l.songId);
  if (!l.completed && duration && l.lastMs < duration * 0.5) report("skip", l, l.lastMs);
}

function begin(songId: string): Listen {
  return (listen = { id: randomId("l", 12), songId, played: false, completed: false, lastMs: 0 });
}

audio.addEventListener("timeupdate", () => {
  const songId = loadedSong.peek();
  if (!songId || !audible.peek() || audio.seeking) return;
  const ms = audio.currentTime * 1000;
  let l = listen && listen.songId === songId ? listen : null;
  // Back at the start after listening a while (repeat, previous, the same song again): a new listen.
  if (l && ms < 1500 && l.lastMs > 5000) {
    moveOn(l);
    l = null;
  }
  if (!l) {
    if (audio.paused) return;
    l = begin(songId);
  }
  l.lastMs = ms;
  const duration = durationOf(songId);
  if (!l.played && ms >= 3000) {
    l.played = true;
    report("play", l, ms);
  }
  if (!l.completed && duration && ms >= duration * 0.8) {
    l.completed = true;
    report("complete", l, ms);
  }
});

// Another song: the last listen ends here (a skip if it was short). Handing playback to
// another device is not moving on, so it ends silently.
effect(() => {
  const songId = loadedSong.value;
  const here = audible.value;
  if (listen && (!here || listen.songId !== songId)) {
    if (here) moveOn(listen);
    listen = null;
  }
});
