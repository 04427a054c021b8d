// What the player's buttons, keys and the rest of the app ask of the shared playback. Every
// control is a command: it works the same on the device that plays and on any other.

import { computed } from "@preact/signals";
import { toast } from "../components/ui";
import { location, navigate } from "../router";
import { session } from "../session";
import type { Song } from "../types";
import { serverNow } from "./clock";
import { deviceId } from "./device";
import { deviceLabel, loadDevices } from "./devices";
import { remember, songs } from "./songs";
import { positionAt, type Repeat } from "./state";
import { send, serverState, state } from "./sync";

/** The song playing or paused now, on this device or another of the listener's. */
export const current = computed<Song | null>(() => {
  const id = state.value?.currentSongId;
  return id ? (songs.value.get(id) ?? null) : null;
});

/** Whether the shared playback is playing (wherever it plays). */
export const playing = computed(() => !!state.value?.playing && !!state.value.currentSongId);

/** The shared position now, in ms (callers re-read it on a timer). */
export function position(): number {
  const s = state.peek();
  return s ? positionAt(s, serverNow(), current.peek()?.durationMs || undefined) : 0;
}

function signInFirst(): boolean {
  if (session.value) return false;
  toast("Sign in to listen: streaming needs an account.");
  navigate(`/signin?next=${encodeURIComponent(location.value.pathname + location.value.search)}`);
  return true;
}

/**
 * Whether this device should take over: another device is the active one, and it no longer
 * answers. A closed tab stays active until the server times it out (a minute): one not seen
 * for longer than its polls take is gone.
 */
async function takeOver(): Promise<boolean> {
  const s = serverState.peek();
  const me = deviceId.peek();
  if (!s || s.scope !== "user" || !me || !s.activeDeviceId || s.activeDeviceId === me) return false;
  try {
    const active = (await loadDevices()).find((d) => d.id === s.activeDeviceId);
    return !active || serverNow() - Date.parse(active.lastSeenAt) >= 40_000;
  } catch {
    return false;
  }
}

/** Replaces the queue with `songs` and plays from `start` (here, unless another device plays). */
export async function playSongs(list: Song[], start = 0): Promise<void> {
  if (signInFirst() || !list.length) return;
  remember(list);
  const here = await takeOver();
  // A queue holds at most 1000 songs per command: keep a window around the chosen one.
  const from = Math.max(0, Math.min(start - 500, list.length - 1000));
  const ids = list.slice(from, from + 1000).map((s) => s.id);
  void send("set_queue", { songIds: ids, startIndex: Math.min(Math.max(0, start - from), ids.length - 1) });
  if (here) return playHere();
  const s = serverState.peek();
  if (s?.scope === "user" && s.activeDeviceId && s.activeDeviceId !== deviceId.peek()) {
    toast(`Playing on ${deviceLabel(s.activeDeviceId)}. Use “Play here” to listen in this browser.`);
  }
}

/** Adds `songs` to the end of the queue. */
export function addToQueue(list: Song[]): void {
  if (signInFirst() || !list.length) return;
  remember(list);
  for (let i = 0; i < list.length; i += 100) {
    void send("add_to_queue", { songIds: list.slice(i, i + 100).map((s) => s.id) });
  }
  toast(list.length === 1 ? `Added “${list[0].title}” to the queue.` : `Added ${list.length} songs to the queue.`);
}

export function togglePlay(): void {
  if (playing.peek()) void send("pause");
  else play();
}

/** Resumes; on this device when the one that played has gone away. */
export async function play(): Promise<void> {
  if (await takeOver()) playHere();
  else void send("play");
}
export const pause = () => void send("pause");
export const next = () => void send("next");
export const previous = () => void send("previous");

export function seek(ms: number): void {
  const duration = current.peek()?.durationMs;
  const target = Math.max(0, Math.round(duration ? Math.min(ms, duration) : ms));
  void send("seek", { positionMs: target });
}

export const seekBy = (deltaMs: number) => seek(position() + deltaMs);

export function setVolume(volume: number): void {
  void send("set_volume", { volume: Math.max(0, Math.min(100, Math.round(volume))) });
}

export function toggleShuffle(): void {
  void send("set_shuffle", { shuffle: !state.peek()?.shuffle });
}

const nextRepeat: Record<Repeat, Repeat> = { off: "all", all: "one", one: "off" };
export function cycleRepeat(): void {
  void send("set_repeat", { repeat: nextRepeat[state.peek()?.repeat ?? "off"] });
}

/** Plays on another of the listener's devices (or this one), carrying on where it is. */
export function transferTo(toDeviceId: string, keepPlaying = true): void {
  void send("transfer", { toDeviceId, keepPlaying });
}

export function playHere(): void {
  if (deviceId.peek()) transferTo(deviceId.peek()!, true);
}

/** Plays one entry of the queue; the queue and the shuffled order stay as they are. */
export function jumpTo(entryId: string): void {
  void send("jump", { entryId });
}
