// Cursor-paged lists (`{items, nextCursor}`): the hook that loads the first page and then more
// on demand, and the states around the list or table that shows them ("Loading…", the error
// with "Try again", the empty text, "Load more").

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api";
import type { Page } from "../types";
import { ErrorNote } from "./ui";

export interface Paged<T> {
  items: T[];
  /** Edits rows in place (a read mark, a changed row) without reloading. */
  setItems: (update: (items: T[]) => T[]) => void;
  /** The first page is on its way (the list starts empty). */
  loading: boolean;
  /** A further page is on its way. */
  more: boolean;
  hasMore: boolean;
  /** The first page's error (nothing to show), or the last "Load more"'s (rows stay). */
  error: unknown;
  loadMore: () => void;
  /** Starts over from the first page. */
  reload: () => void;
  replace: (item: T) => void;
  remove: (item: T) => void;
}

/** Items are told apart by `id` unless `key` says otherwise. */
const byId = (item: unknown) => (item as { id: string }).id;

/**
 * `url(cursor)` is the address of a page; a change in `deps` starts over from the first page.
 * A page's rows already listed (the list moved between two pages) are not added twice.
 */
export function usePaged<T>(url: (cursor: string | null) => string, deps: unknown[], key: (item: T) => string = byId): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  // Each request aborts the one before, so an older answer never lands after a newer one.
  const abort = useRef<AbortController | null>(null);

  const fetchPage = async (cursor: string | null) => {
    abort.current?.abort();
    const controller = (abort.current = new AbortController());
    setError(null);
    try {
      const page = await api<Page<T>>(url(cursor), { signal: controller.signal });
      if (controller.signal.aborted) return;
      setItems((old) => (cursor ? appendNew(old, page.items, key) : page.items));
      setNext(page.nextCursor);
    } catch (err) {
      if (!controller.signal.aborted) setError(err);
    } finally {
      if (!controller.signal.aborted) {
        setLoading(false);
        setMore(false);
      }
    }
  };

  useEffect(() => {
    setItems([]);
    setNext(null);
    setLoading(true);
    void fetchPage(null);
    return () => abort.current?.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  return {
    items,
    setItems,
    loading,
    more,
    hasMore: next !== null,
    error,
    loadMore: () => {
      if (!next || loading || more) return;
      setMore(true);
      void fetchPage(next);
    },
    reload: () => setTick((t) => t + 1),
    replace: (item) => setItems((old) => old.map((o) => (key(o) === key(item) ? item : o))),
    remove: (item) => setItems((old) => old.filter((o) => key(o) !== key(item))),
  };
}

/**
 * Every item of a cursor-paged route, reading at most `maxPages` pages: for pickers that need
 * the whole (short) list at once. `url(cursor)` is the address of a page.
 */
export async function allPages<T>(url: (cursor: string | null) => string, maxPages: number, signal?: AbortSignal): Promise<T[]> {
  const found: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const answer: Page<T> = await api<Page<T>>(url(cursor), { signal });
    found.push(...answer.items);
    cursor = answer.nextCursor;
    if (!cursor) break;
  }
  return found;
}

function appendNew<T>(old: T[], page: T[], key: (item: T) => string): T[] {
  const seen = new Set(old.map(key));
  return [...old, ...page.filter((item) => !seen.has(key(item)))];
}

/**
 * The first page's states (loading, error with "Try again", the `empty` note), else `children` (the
 * list or table of `paged.items`), the last "Load more" error and the "Load more" button.
 */
function PagedView<T>({ paged, empty, children }: { paged: Paged<T>; empty: ComponentChildren; children: ComponentChildren }) {
  if (paged.items.length === 0) {
    if (paged.loading) {
      return (
        <p class="muted" aria-busy="true">
          Loading…
        </p>
      );
    }
    if (paged.error) return <TryAgain paged={paged} />;
    return <>{empty}</>;
  }
  return (
    <>
      {children}
      <ErrorNote error={paged.error} />
      {paged.hasMore && (
        <div class="load-more">
          <button type="button" class="ghost" onClick={paged.loadMore} disabled={paged.more} aria-busy={paged.more}>
            {paged.more ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </>
  );
}

function TryAgain<T>({ paged }: { paged: Paged<T> }) {
  return (
    <div class="stack">
      <ErrorNote error={paged.error} />
      <div>
        <button type="button" class="ghost" onClick={paged.reload}>
          Try again
        </button>
      </div>
    </div>
  );
}

/** A paged list of `<li>`s, one per item from `children`. */
export function PagedList<T>({ paged, empty, label, children }: { paged: Paged<T>; empty: string; label: string; children: (item: T) => ComponentChildren }) {
  return (
    <PagedView paged={paged} empty={<p class="muted empty">{empty}</p>}>
      <ul class="paged-list" aria-label={label}>
        {paged.items.map(children)}
      </ul>
    </PagedView>
  );
}

/** A paged table: `children` is the `<table>` of `paged.items`, scrolled sideways on its own. */
export function PagedTable<T>({ paged, empty, children }: { paged: Paged<T>; empty: string; children: ComponentChildren }) {
  return (
    // Not "empty": studio.css centres that class, and the admin tables' note stays left.
    <PagedView paged={paged} empty={<p class="muted">{empty}</p>}>
      <div class="table-wrap">{children}</div>
    </PagedView>
  );
}
