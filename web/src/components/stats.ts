// Play counts from the activity component, as the song and artist pages and the studio show them.

import { api } from "../api";
import type { ArtistStats, SongStats } from "../types";

export function artistStats(artistId: string, signal?: AbortSignal): Promise<ArtistStats> {
  return api<ArtistStats>(`/api/artists/${encodeURIComponent(artistId)}/stats`, { signal });
}

export function songStats(songId: string, signal?: AbortSignal): Promise<SongStats> {
  return api<SongStats>(`/api/songs/${encodeURIComponent(songId)}/stats`, { signal });
}
