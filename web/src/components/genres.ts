// Genres worth offering as filters, from the songs at hand (the API has no list of genres).

import type { Song } from "../types";

export function recentGenres(songs: Song[]): string[] {
  const seen = new Set<string>();
  for (const s of songs) if (s.genre) seen.add(s.genre.toLowerCase());
  return [...seen].sort();
}
