// Placeholder: the player engine (replaced by its implementation).
import { signal } from "@preact/signals";
import type { Song } from "../types";

/** The song playing or paused now, on this device or another of the listener's. */
export const current = signal<Song | null>(null);

/** Replaces the queue with `songs` and plays from `start`. */
export function playSongs(_songs: Song[], _start = 0): void {}

/** Adds `songs` to the end of the queue. */
export function addToQueue(_songs: Song[]): void {}
