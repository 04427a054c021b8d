// Playlists and albums as tiles, and their covers (or a placeholder made from the title).

import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { playSongs } from "../player";
import { Link } from "../router";
import { session } from "../session";
import type { Collection, CollectionSummary, Song } from "../types";
import { hue } from "./colour";
import { duration } from "./ui";
import "../browse.css";

/** The cover route of a playlist or album; `share` opens a private playlist's through its link. */
function coverUrl(c: Pick<CollectionSummary, "id" | "kind" | "updatedAt">, share?: string): string {
  const base = `/api/${c.kind === "album" ? "albums" : "playlists"}/${c.id}/cover`;
  // updatedAt changes with a new cover, so a fresh upload is not hidden by the browser's cache.
  const q = new URLSearchParams({ v: c.updatedAt });
  if (share) q.set("share", share);
  return `${base}?${q}`;
}

type CoverOf = Pick<CollectionSummary, "id" | "kind" | "title" | "hasCover" | "updatedAt" | "isPublic" | "isVisible">;

/**
 * Where the <img> loads the cover from. An <img> sends no token, so the cover of a collection
 * only its members may see is fetched with the token and shown from a blob URL.
 */
function useCoverSrc(collection: CoverOf, share?: string): string | null {
  const url = collection.hasCover ? coverUrl(collection, share) : null;
  const open = !!share || (collection.isPublic && collection.isVisible) || !session.value;
  const [blob, setBlob] = useState<string | null>(null);
  useEffect(() => {
    if (!url || open) return;
    const abort = new AbortController();
    let made: string | null = null;
    request(url, { signal: abort.signal, headers: { Accept: "image/*" } })
      .then((answer) => answer.blob())
      .then((data) => {
        made = URL.createObjectURL(data);
        setBlob(made);
      })
      .catch(() => setBlob(null));
    return () => {
      abort.abort();
      if (made) URL.revokeObjectURL(made);
    };
  }, [url, open]);
  return url && open ? url : blob;
}

export function CollectionCover({ collection, size = 160, share }: { collection: CoverOf; size?: number; share?: string }) {
  const [failed, setFailed] = useState(false);
  const src = useCoverSrc(collection, share);
  useEffect(() => setFailed(false), [src]); // a new cover deserves a new try
  if (src && !failed) {
    return <img class="cover" src={src} alt="" width={size} height={size} loading="lazy" onError={() => setFailed(true)} />;
  }
  const h = hue(collection.id);
  return (
    <span class="cover placeholder" style={{ width: size, height: size, background: `linear-gradient(135deg, hsl(${h} 50% 32%), hsl(${(h + 60) % 360} 45% 22%))` }} aria-hidden="true">
      {collection.kind === "album" ? "◉" : "♫"}
    </span>
  );
}

function accessLabel(access: CollectionSummary["access"]): string | null {
  if (access === "owner") return "owner";
  if (access === "editor") return "editor";
  if (access === "viewer") return "shared";
  return null;
}

/** Playlists or albums as tiles linking to their pages; `showAccess` labels the caller's part. */
export function CollectionTiles({ items, showAccess }: { items: CollectionSummary[]; showAccess?: boolean }) {
  return (
    <ul class="grid tiles">
      {items.map((c) => {
        const label = showAccess ? accessLabel(c.access) : null;
        return (
          <li key={c.id} class="tile">
            <CollectionCover collection={c} />
            <Link href={`/${c.kind === "album" ? "albums" : "playlists"}/${c.id}`} class="tile-title">
              {c.title}
            </Link>
            <span class="muted small tile-sub">
              {c.ownerName || "Unknown"} · {c.trackCount} {c.trackCount === 1 ? "song" : "songs"}
            </span>
            {(label || (showAccess && !c.isPublic)) && (
              <span class="row tile-tags">
                {label && <span class={`tag access-${label}`}>{label}</span>}
                {showAccess && !c.isPublic && <span class="tag">private</span>}
              </span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** The available songs of a collection's tracks, in order. */
export function songsOf(c: Collection): Song[] {
  return c.tracks.flatMap((t) => (t.song ? [t.song] : []));
}

/** A collection's header: cover, title, who made it, how long it is, and Play all. */
export function CollectionHero({ collection, share, children }: { collection: Collection; share?: string; children?: ComponentChildren }) {
  const songs = songsOf(collection);
  const total = songs.reduce((sum, s) => sum + s.durationMs, 0);
  const album = collection.kind === "album";
  return (
    <header class="hero">
      <CollectionCover collection={collection} size={200} share={share} />
      <div class="hero-text">
        <span class="hero-kind">
          {album ? "Album" : "Playlist"}
          {!album && !collection.isPublic && " · private"}
        </span>
        <h1>{collection.title}</h1>
        {collection.description && <p class="collection-description">{collection.description}</p>}
        <div class="hero-meta">
          <span>
            by{" "}
            {album ? <Link href={`/artists/${collection.ownerId}`}>{collection.ownerName || "Unknown artist"}</Link> : collection.ownerName || "Unknown"}
          </span>
          <span>
            {collection.trackCount} {collection.trackCount === 1 ? "song" : "songs"}
          </span>
          {total > 0 && <span>{duration(total)}</span>}
        </div>
        <div class="row">
          <button type="button" disabled={songs.length === 0} onClick={() => playSongs(songs, 0)}>
            Play all
          </button>
          {children}
        </div>
      </div>
    </header>
  );
}
