// Small pieces every page uses: loading data, showing errors, formatting, covers, toasts.

import { signal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describe, request } from "../api";
import { session } from "../session";
import { hue } from "./colour";
import type { Song } from "../types";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** Replace the data in place (after a write answered the new value). */
  set: (data: T) => void;
}

/** Runs `load` when a dependency changes; a later run wins over an earlier one still going. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    load(abort.signal).then(
      (value) => {
        if (abort.signal.aborted) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err) => {
        if (abort.signal.aborted) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, set: setData };
}

/** `value`, once it has stopped changing for `ms` (for filters typed into). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Shows an error as people can read it, with `role="alert"` so screen readers hear it. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {describe(error)}
    </p>
  );
}

/** The loading and error states of a `useLoad`, or `children` with the data. */
export function Async<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (state.data !== undefined) return <>{children(state.data)}</>;
  if (state.error) return <ErrorNote error={state.error} />;
  return (
    <p class="muted" aria-busy="true">
      Loading…
    </p>
  );
}

/** `m:ss` (or `h:mm:ss`) for a time in milliseconds. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function date(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** "3 minutes ago", "yesterday", or the date once it is more than a week old. */
export function ago(iso: string): string {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return "just now";
  if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return format.format(Math.round(seconds / 3600), "hour");
  if (abs < 7 * 86400) return format.format(Math.round(seconds / 86400), "day");
  return date(iso);
}

/** A tidy time for an ISO date, or the text as it came when it is not one. */
export function when(value: string | undefined | null): string {
  if (!value) return "—";
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? value : time.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * A song's cover, or a placeholder made from its title. An `<img>` sends no token, so the cover
 * of a song only its artist may see (private, hidden) fails at first: then it is fetched with
 * the token and shown from a blob URL.
 */
export function Cover({ song, size = 48 }: { song: CoverSong; size?: number }) {
  // Keyed by song: a new song starts from its own URL, never shows the last one's blob.
  return song.hasCover ? <CoverImage key={song.id} song={song} size={size} /> : <CoverPlaceholder song={song} size={size} />;
}

type CoverSong = Pick<Song, "id" | "title" | "hasCover">;

function CoverImage({ song, size }: { song: CoverSong; size: number }) {
  const [src, setSrc] = useState<string | null>(`/api/songs/${song.id}/cover`);
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  useEffect(() => () => {
    if (src?.startsWith("blob:")) URL.revokeObjectURL(src);
  }, [src]);
  const withToken = async () => {
    if (src?.startsWith("blob:") || !session.value) return setSrc(null);
    try {
      const answer = await request(`/api/songs/${song.id}/cover`, { headers: { Accept: "image/*" } });
      const url = URL.createObjectURL(await answer.blob());
      if (mounted.current) setSrc(url);
      else URL.revokeObjectURL(url);
    } catch {
      if (mounted.current) setSrc(null);
    }
  };
  if (!src) return <CoverPlaceholder song={song} size={size} />;
  return <img class="cover" src={src} alt="" width={size} height={size} loading="lazy" onError={withToken} />;
}

function CoverPlaceholder({ song, size }: { song: CoverSong; size: number }) {
  return (
    <span class="cover placeholder" style={{ width: size, height: size, background: `hsl(${hue(song.id)} 45% 30%)` }} aria-hidden="true">
      {song.title.slice(0, 1).toUpperCase()}
    </span>
  );
}

export interface Toast {
  id: number;
  text: string;
  kind: "info" | "error";
}

export const toasts = signal<Toast[]>([]);
let toastId = 0;

/** A short message at the bottom of the screen for a few seconds. */
export function toast(text: string, kind: Toast["kind"] = "info"): void {
  const id = ++toastId;
  toasts.value = [...toasts.value, { id, text, kind }];
  setTimeout(() => (toasts.value = toasts.value.filter((t) => t.id !== id)), kind === "error" ? 7000 : 4000);
}

export function Toasts() {
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.value.map((t) => (
        <div key={t.id} class={`toast ${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

/** Sets the document title while a page is shown. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Spindle` : "Spindle";
  }, [title]);
}

/** A modal dialog on the native <dialog>, which traps focus and closes on Escape. */
export function Dialog({ open, onClose, title, children }: { open: boolean; onClose: () => void; title: string; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} onClose={onClose} aria-label={title}>
      <header class="dialog-head">
        <h2>{title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick={onClose}>
          ✕
        </button>
      </header>
      {open && children}
    </dialog>
  );
}
