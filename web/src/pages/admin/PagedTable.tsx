// What the admin tables share: the states of a paged list and the "Load more" button.

import type { ComponentChildren } from "preact";
import { ErrorNote } from "../../components/ui";
import type { Paged } from "./paged";

/** Loading, error or empty states of the first page; else the table and its "Load more". */
export function PagedTable<T extends { id: string }>({ list, empty, children }: { list: Paged<T>; empty: string; children: ComponentChildren }) {
  if (list.items.length === 0) {
    if (list.loading) {
      return (
        <p class="muted" aria-busy="true">
          Loading…
        </p>
      );
    }
    if (list.error) {
      return (
        <div class="stack">
          <ErrorNote error={list.error} />
          <div>
            <button type="button" class="ghost" onClick={list.reload}>
              Try again
            </button>
          </div>
        </div>
      );
    }
    return <p class="muted">{empty}</p>;
  }
  return (
    <>
      <div class="table-wrap">{children}</div>
      {list.error ? <ErrorNote error={list.error} /> : null}
      {list.hasMore && (
        <div class="load-more">
          <button type="button" class="ghost" onClick={list.loadMore} disabled={list.loading} aria-busy={list.loading}>
            {list.loading ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </>
  );
}

/** A tidy time for an ISO date, or the text as it came when it is not one. */
export function when(value: string | undefined | null): string {
  if (!value) return "—";
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? value : time.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
