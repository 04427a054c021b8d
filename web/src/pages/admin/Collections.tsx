// Admin › Playlists and Admin › Albums: every one, with the hide switch. Writes carry the
// revision the row was read at (If-Match), so a change made meanwhile is not overwritten blind.

import { useState } from "preact/hooks";
import { ApiError, query } from "../../api";
import { useAction } from "../../components/actions";
import { ErrorNote, date, toast } from "../../components/ui";
import { Link } from "../../router";
import type { Collection, CollectionSummary } from "../../types";
import { PagedTable, usePaged } from "../../components/paging";
import { ActionsCell, TableHead } from "../../components/table";
import { flipVisible, HideButton } from "./visibility";

type Kind = "playlist" | "album";

export function Collections({ kind }: { kind: Kind }) {
  const plural = kind === "playlist" ? "Playlists" : "Albums";
  const list = usePaged<CollectionSummary>((cursor) => `/api/admin/${kind}s${query({ limit: 50, cursor })}`, [kind]);
  const [failure, setFailure] = useState<unknown>(null);
  return (
    <section aria-labelledby="admin-collections">
      <h2 id="admin-collections">{plural}</h2>
      <ErrorNote error={failure} />
      <PagedTable paged={list} empty={`No ${kind}s yet.`}>
        <table class="responsive">
          <TableHead
            columns={[
              { label: kind === "playlist" ? "Playlist" : "Album" },
              { label: "Songs", num: true },
              { label: "Visibility" },
              { label: "Updated" },
              { label: "Actions", hidden: true },
            ]}
          />
          <tbody>
            {list.items.map((item) => (
              <CollectionRow key={item.id} kind={kind} item={item} onChange={list.replace} onStale={list.reload} onFailure={setFailure} />
            ))}
          </tbody>
        </table>
      </PagedTable>
    </section>
  );
}

function CollectionRow(props: {
  kind: Kind;
  item: CollectionSummary;
  onChange: (c: CollectionSummary) => void;
  onStale: () => void;
  onFailure: (e: unknown) => void;
}) {
  const { kind, item } = props;
  const nameId = `${kind}-${item.id}`;
  const { busy, run } = useAction((err) => {
    if (err instanceof ApiError && err.status === 412) {
      toast(`“${item.title}” changed since this list was loaded: the list is reloaded, try again.`, "error");
      props.onStale();
    } else props.onFailure(err);
  });
  const toggle = () =>
    run(async () => {
      const url = `/api/admin/${kind}s/${encodeURIComponent(item.id)}/visible`;
      const { tracks: _, ...next } = await flipVisible<Collection>(url, item, { "If-Match": `"${item.revision}"` });
      props.onChange(next);
    });
  return (
    <tr>
      <td class="title-cell">
        <Link id={nameId} href={`/${kind}s/${item.id}`}>
          {item.title}
        </Link>
        <div class="muted small">
          {kind === "album" ? <Link href={`/artists/${item.ownerId}`}>{item.ownerName || "Unknown artist"}</Link> : item.ownerName || "Unknown owner"}
        </div>
      </td>
      <td data-label="Songs" class="num">
        {item.trackCount}
      </td>
      <td data-label="Visibility">
        <span class="row badges">
          <span class={item.isPublic ? "pill public" : "pill"}>{item.isPublic ? "Public" : "Private"}</span>
          {!item.isVisible && <span class="pill warn">Hidden</span>}
        </span>
      </td>
      <td data-label="Updated">{date(item.updatedAt)}</td>
      <ActionsCell>
        <HideButton visible={item.isVisible} busy={busy} nameId={nameId} onClick={toggle} />
      </ActionsCell>
    </tr>
  );
}
