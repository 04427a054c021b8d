// The one <audio> element, played only where the state says: on the active device, or on
// every member's device in a room. It follows the state: the song, playing or paused, and the
// position (seeking when it drifts more than a second from the shared one).

import { computed, effect, signal } from "@preact/signals";
import { api, describe } from "../api";
import { toast } from "../components/ui";
import { user } from "../session";
import { serverNow } from "./clock";
import { songs } from "./songs";
import { positionAt } from "./state";
import { audible, send, serverState, state } from "./sync";

export const audio = document.createElement("audio");
audio.dataset.testid = "player-audio";
audio.preload = "auto";
audio.hidden = true;
document.body.append(audio);

/** The song the element holds (loaded or loading). */
export const loadedSong = signal<string | null>(null);
/** The browser refused to start audio without a click here. */
export const blocked = signal(false);
/** This device's own mute, which the shared volume does not know about. */
export const muted = signal(localStorage.getItem("spindle.muted") === "1");

interface StreamUrl {
  url: string;
  expiresAt: string;
}

let url: { songId: string; expiresAt: number } | null = null;
let loadToken = 0;
let lastCorrection = 0;
let failures: number[] = [];

const urls = new Map<string, StreamUrl>();
// The signed URLs were made for one user: another (or none) starts without them.
const userId = computed(() => user.value?.id ?? null);
effect(() => {
  void userId.value;
  urls.clear();
});

/**
 * A signed URL with at least half a minute left: each new one counts a play in the catalog, so
 * going back to a song (or handing playback back and forth) reuses the one it had.
 */
async function streamUrl(songId: string, fresh: boolean): Promise<StreamUrl> {
  const known = urls.get(songId);
  if (!fresh && known && Date.parse(known.expiresAt) - Date.now() > 30_000) return known;
  const stream = await api<StreamUrl>(`/api/songs/${encodeURIComponent(songId)}/stream`);
  urls.set(songId, stream);
  if (urls.size > 50) urls.delete(urls.keys().next().value!);
  return stream;
}

/** Points the element at a signed URL of `songId`; the next reconcile seeks and plays. */
async function load(songId: string, fresh = false): Promise<void> {
  const token = ++loadToken;
  loadedSong.value = songId;
  url = null;
  audio.pause();
  try {
    const stream = await streamUrl(songId, fresh);
    if (token !== loadToken) return;
    url = { songId, expiresAt: Date.parse(stream.expiresAt) };
    audio.src = stream.url;
    audio.load();
  } catch (error) {
    if (token !== loadToken) return;
    toast(`This song cannot be played: ${describe(error)}`, "error");
  }
}

function unload(): void {
  loadToken++;
  loadedSong.value = null;
  url = null;
  if (audio.getAttribute("src")) {
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
  }
}

function play(): void {
  audio.play().then(
    () => (blocked.value = false),
    (error: DOMException) => {
      if (error.name === "NotAllowedError") blocked.value = true;
    },
  );
}

/** Brings the element in line with the state; `strict` after a change of state, not on a tick. */
function reconcile(strict: boolean): void {
  const s = state.peek();
  if (!s || !s.currentSongId) return unload();
  if (!audible.peek()) {
    if (!audio.paused) audio.pause();
    return;
  }
  audio.volume = s.volume / 100;
  audio.muted = muted.peek();
  if (loadedSong.peek() !== s.currentSongId) return void load(s.currentSongId);
  if (audio.readyState < HTMLMediaElement.HAVE_METADATA) return;
  const durationMs = songs.peek().get(s.currentSongId)?.durationMs || audio.duration * 1000 || undefined;
  const expected = positionAt(s, serverNow(), durationMs);
  const atEnd = !!durationMs && expected >= durationMs - 300;
  const drift = Math.abs(audio.currentTime * 1000 - expected);
  const settled = !audio.seeking && audio.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA && Date.now() - lastCorrection > 3000;
  if (drift > 1000 && !(atEnd && audio.ended) && (strict || settled)) {
    if (url && Date.now() > url.expiresAt - 5000) return void load(s.currentSongId, true); // a seek needs a valid URL
    lastCorrection = Date.now();
    audio.currentTime = expected / 1000;
  }
  if (s.playing && audio.paused && !atEnd) play();
  if (!s.playing && !audio.paused) audio.pause();
}

effect(() => {
  void state.value;
  void audible.value;
  void muted.value;
  reconcile(true);
});

effect(() => {
  localStorage.setItem("spindle.muted", muted.value ? "1" : "0");
});

audio.addEventListener("loadedmetadata", () => reconcile(true));
setInterval(() => {
  if (state.peek()?.playing && audible.peek()) reconcile(false);
}, 1000);

/** The song ended here: move the shared state on (once, however many devices ended it). */
audio.addEventListener("ended", () => {
  const s = serverState.peek();
  if (!s || !audible.peek()) return;
  const once = { expectedVersion: s.version, quiet: true };
  if (s.repeat === "one") void send("seek", { positionMs: 0 }, once);
  else void send("next", undefined, once);
});

/** An expired URL or a network failure: a fresh URL, resuming where the state is (3 tries a minute). */
audio.addEventListener("error", () => {
  const songId = loadedSong.peek();
  if (!songId || !audible.peek() || !audio.getAttribute("src")) return;
  failures = [...failures.filter((t) => Date.now() - t < 60_000), Date.now()];
  if (failures.length <= 3) void load(songId, true);
  else toast("The song keeps failing to play. Check the connection and try again.", "error");
});
