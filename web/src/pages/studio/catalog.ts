// The studio's calls to the catalog and playlists components (play counts are in
// components/stats.ts), and the small conversions between what the forms hold and what the
// API takes.

import { api, query } from "../../api";
import { allPages } from "../../components/paging";
import type { CollectionSummary, Song } from "../../types";

export function mySongs(signal?: AbortSignal): Promise<Song[]> {
  return api<{ items: Song[] }>("/api/songs/artist/my-songs", { signal }).then((page) => page.items);
}

/**
 * Every album of the caller's. The route pages by 100 at most; an artist with more than a few
 * hundred albums is not a case worth more requests, so this stops after ten pages.
 */
export function myAlbums(signal?: AbortSignal): Promise<CollectionSummary[]> {
  return allPages<CollectionSummary>((cursor) => `/api/albums/user/my-albums${query({ limit: 100, cursor })}`, 10, signal);
}

export function setPublic(song: Song, isPublic: boolean): Promise<Song> {
  return api<Song>(`/api/songs/${encodeURIComponent(song.id)}/visibility`, { method: "PATCH", body: { isPublic } });
}

export function deleteSong(song: Song): Promise<void> {
  return api<void>(`/api/songs/${encodeURIComponent(song.id)}`, { method: "DELETE" });
}

/** "rock, Live ,, jazz" → ["rock", "live", "jazz"], as the API would store them. */
export function parseTags(text: string): string[] {
  const seen = new Set<string>();
  for (const part of text.split(",")) {
    const tag = part.trim().toLowerCase();
    if (tag) seen.add(tag);
  }
  return [...seen];
}

/** "My_song-final.wav" → "My song-final": a title to start from. */
export function titleFromFileName(name: string): string {
  return name
    .replace(/\.[^.]+$/, "")
    .replace(/_+/g, " ")
    .trim();
}

/** "PCM · 706 kbps · 44.1 kHz · mono" */
export function formatLine(song: Song): string {
  const parts = [song.codec.toUpperCase()];
  if (song.bitrateKbps) parts.push(`${song.bitrateKbps} kbps`);
  if (song.sampleRate) parts.push(`${(song.sampleRate / 1000).toLocaleString(undefined, { maximumFractionDigits: 1 })} kHz`);
  if (song.channels) parts.push(song.channels === 1 ? "mono" : song.channels === 2 ? "stereo" : `${song.channels} channels`);
  return parts.join(" · ");
}

/** "5.4 MB" */
export function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB"];
  let value = bytes;
  let unit = "B";
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })} ${unit}`;
}

