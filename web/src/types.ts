// The API's records, as docs/openapi.yaml describes them.

export type Role = "listener" | "artist" | "admin";

export interface Me {
  id: string;
  email: string;
  emailVerified: boolean;
  displayName: string;
  role: Role;
  hasPassword: boolean;
  googleLinked: boolean;
  createdAt: string;
}

export interface AdminUser extends Me {
  blocked: boolean;
}

export interface PublicProfile {
  id: string;
  displayName: string;
  role: Role;
  createdAt: string;
}

export interface TokenResponse {
  user: Me;
  accessToken: string;
  refreshToken: string;
  tokenType: "Bearer";
  expiresIn: number;
}

export interface Song {
  id: string;
  title: string;
  artistId: string;
  artistName: string;
  albumId: string | null;
  genre: string | null;
  tags: string[];
  isPublic: boolean;
  isVisible: boolean;
  durationMs: number;
  bitrateKbps: number | null;
  sampleRate: number | null;
  channels: number | null;
  codec: string;
  mimeType: string;
  sizeBytes: number;
  hasCover: boolean;
  playCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ArtistProfile {
  id: string;
  name: string;
  followers: number;
  following: boolean;
  songs: Song[];
}

export interface AlbumRef {
  id: string;
  title: string;
  artistId: string;
  artistName: string;
  description: string | null;
}

export interface SearchResults {
  songs: Song[];
  artists: { id: string; name: string }[];
  albums: AlbumRef[];
}

export type Access = "owner" | "editor" | "viewer" | "admin" | "public" | "link";

/** One place in a collection's order, with its song (null when the caller may not see it). */
export interface Track {
  entryId: string;
  position: number;
  songId: string;
  addedBy: string | null;
  addedAt: string;
  available: boolean;
  song: Song | null;
}

/** A playlist or an album (the playlists component), as lists show it. */
export interface CollectionSummary {
  id: string;
  kind: "playlist" | "album";
  title: string;
  description: string | null;
  ownerId: string;
  ownerName: string;
  isPublic: boolean;
  isVisible: boolean;
  revision: number;
  trackCount: number;
  hasCover: boolean;
  createdAt: string;
  updatedAt: string;
  access: Access;
}

export interface Collection extends CollectionSummary {
  tracks: Track[];
}

export interface Notification {
  id: string;
  kind: "new_release" | "playlist_shared" | string;
  title: string;
  body: string;
  link: string | null;
  createdAt: string;
  readAt: string | null;
}

export interface Device {
  id: string;
  name: string;
  kind: string;
  createdAt: string;
  lastSeenAt: string;
  isActive: boolean;
}

/** Play counts of one song, from the activity component (ActivitySongStats). */
export interface SongStats {
  songId: string;
  plays: number;
  completions: number;
  skips: number;
  listeners: number;
}

/** An artist's play counts and their sums (ActivityArtistStats). */
export interface ArtistStats extends Omit<SongStats, "songId"> {
  artistId: string;
  songs: SongStats[];
}
