// The activity component's answers (trending, similar, made for you, play counts), as
// docs/openapi.yaml describes them, and their reasons put into words.

import type { Song } from "../types";

export type TrendingReason = { kind: "trending" };
export type ForYouReason = TrendingReason | { kind: "similar"; becauseOf: string } | { kind: "new_release"; artistId: string };
export type SimilarReason = "listened_together" | "same_artist" | "same_genre" | "shared_tags";

export interface Trending {
  genre: string | null;
  items: { song: Song; score: number; reason: TrendingReason }[];
}

export interface ForYou {
  basis: "history" | "taste" | "trending";
  items: { song: Song; score: number; reason: ForYouReason }[];
}

export interface Similar {
  songId: string;
  items: { song: Song; score: number; reason: SimilarReason[] }[];
}

export function basisText(basis: ForYou["basis"]): string {
  if (basis === "history") return "Based on what you have been listening to.";
  if (basis === "taste") return "Based on the genres you chose. Listen to a few songs to make it yours.";
  return "Popular right now. Listen to a few songs and this becomes yours.";
}

/** One line on why a song was picked; `titles` names songs of the same list by id. */
export function forYouReason(reason: ForYouReason, titles: Map<string, string>): string | null {
  if (reason.kind === "new_release") return "New from an artist you follow";
  if (reason.kind === "similar") {
    const title = titles.get(reason.becauseOf);
    return title ? `Because you played ${title}` : "Like songs you played";
  }
  return null;
}

const similarWords: Record<SimilarReason, string> = {
  listened_together: "often played together",
  same_artist: "same artist",
  same_genre: "same genre",
  shared_tags: "shared tags",
};

export function similarReason(reasons: SimilarReason[]): string | null {
  const words = reasons.map((r) => similarWords[r]).filter(Boolean);
  return words.length ? words.join(", ").replace(/^./, (c) => c.toUpperCase()) : null;
}

export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
