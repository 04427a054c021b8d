// The admins' hide switch, shared by the songs, playlists and albums tables.

import { api } from "../../api";
import { toast } from "../../components/ui";

interface Hideable {
  title: string;
  isVisible: boolean;
}

/** Flips `item`'s visibility at `url` (its `/visible` route) and says so; the changed item. */
export async function flipVisible<T extends Hideable>(url: string, item: Hideable, headers?: Record<string, string>): Promise<T> {
  const next = await api<T>(url, { method: "PATCH", body: { isVisible: !item.isVisible }, headers });
  toast(next.isVisible ? `“${next.title}” is shown again` : `“${next.title}” is hidden`);
  return next;
}

/** "Hide" or "Show", described by the row's name. */
export function HideButton({ visible, busy, nameId, onClick }: { visible: boolean; busy: boolean; nameId: string; onClick: () => void }) {
  return (
    <button type="button" class="ghost small-button" disabled={busy} aria-busy={busy} aria-describedby={nameId} onClick={onClick}>
      {visible ? "Hide" : "Show"}
    </button>
  );
}
