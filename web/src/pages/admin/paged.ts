// A cursor-paginated list for the admin tables: the first page when the filters change,
// "Load more" appending the next, and edits of single rows in place.

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../api";
import type { Page } from "../../types";

export interface Paged<T> {
  items: T[];
  /** True until the first page answers, and while another page is on its way. */
  loading: boolean;
  /** The first page's error (nothing to show), or the last "Load more"'s (rows stay). */
  error: unknown;
  hasMore: boolean;
  loadMore: () => void;
  reload: () => void;
  replace: (next: T) => void;
  remove: (item: T) => void;
}

/** `path(cursor)` is the URL of a page; a change in `deps` starts over from the first. */
export function usePaged<T extends { id: string }>(path: (cursor: string | null) => string, deps: unknown[]): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  // Each start-over gets a new generation; answers for an older one are dropped.
  const generation = useRef(0);
  const pathRef = useRef(path);
  pathRef.current = path;

  const fetchPage = useCallback(async (cursor: string | null, gen: number, signal?: AbortSignal) => {
    setLoading(true);
    try {
      const page = await api<Page<T>>(pathRef.current(cursor), { signal });
      if (gen !== generation.current) return;
      setItems((old) => (cursor ? [...old, ...page.items.filter((item) => !old.some((o) => o.id === item.id))] : page.items));
      setNext(page.nextCursor);
      setError(null);
    } catch (err) {
      if (gen === generation.current && !signal?.aborted) setError(err);
    } finally {
      if (gen === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    const gen = ++generation.current;
    const abort = new AbortController();
    setItems([]);
    setNext(null);
    void fetchPage(null, gen, abort.signal);
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  return {
    items,
    loading,
    error,
    hasMore: next !== null,
    loadMore: () => {
      if (next && !loading) void fetchPage(next, generation.current);
    },
    reload: () => setTick((t) => t + 1),
    replace: (item) => setItems((old) => old.map((o) => (o.id === item.id ? item : o))),
    remove: (item) => setItems((old) => old.filter((o) => o.id !== item.id)),
  };
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
