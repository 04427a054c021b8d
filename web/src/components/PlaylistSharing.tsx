// Who else has a playlist: its collaborators (editors, and viewers it was shared with) and
// its share links, which open it read-only to anyone holding one.

import { useState } from "preact/hooks";
import { api, ApiError, describe, fieldError } from "../api";
import { navigate } from "../router";
import { user } from "../session";
import type { Collection } from "../types";
import { useAction } from "./actions";
import { date, ErrorNote, toast, useLoad } from "./ui";
import { displayName } from "./users";
import "../browse.css";

interface Collaborator {
  userId: string;
  role: "editor" | "viewer";
  addedAt: string;
}

interface ShareLink {
  id: string;
  token: string;
  url: string;
  createdAt: string;
}

/** The address to hand out: this app's page for the link, not the API's. */
function shareUrl(token: string): string {
  return `${window.location.origin}/shared/${encodeURIComponent(token)}`;
}

export function Collaborators({ playlist }: { playlist: Collection }) {
  const owner = playlist.access === "owner";
  const list = useLoad(async (signal) => {
    const { items } = await api<{ items: Collaborator[] }>(`/api/playlists/${playlist.id}/collaborators`, { signal });
    const shown = await Promise.all(items.map(async (c) => ({ ...c, name: await displayName(c.userId) })));
    return shown;
  }, [playlist.id]);
  const [busy, setBusy] = useState<string | null>(null);

  async function remove(c: Collaborator & { name: string }) {
    setBusy(c.userId);
    try {
      await api(`/api/playlists/${playlist.id}/collaborators/${encodeURIComponent(c.userId)}`, { method: "DELETE" });
      list.set((list.data ?? []).filter((x) => x.userId !== c.userId));
      toast(`${c.name} no longer has access`);
    } catch (err) {
      toast(describe(err), "error");
    } finally {
      setBusy(null);
    }
  }

  return (
    <section class="card" aria-labelledby="collaborators">
      <h2 id="collaborators">Collaborators</h2>
      <p class="muted small">Editors add, remove and reorder songs. People you shared the playlist with can listen.</p>
      {list.error ? (
        <ErrorNote error={list.error} />
      ) : !list.data ? (
        <p class="muted" aria-busy="true">
          Loading…
        </p>
      ) : list.data.length === 0 ? (
        <p class="muted">Nobody else yet.</p>
      ) : (
        <ul class="member-list">
          {list.data.map((c) => (
            <li key={c.userId}>
              <span>
                {c.name} <span class="tag">{c.role === "editor" ? "editor" : "listener"}</span>
                <span class="muted small"> since {date(c.addedAt)}</span>
              </span>
              {owner && (
                <button type="button" class="ghost" disabled={busy !== null} onClick={() => remove(c)}>
                  Remove {c.name}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {owner && <AddCollaborator playlistId={playlist.id} onAdded={list.reload} />}
    </section>
  );
}

function AddCollaborator({ playlistId, onAdded }: { playlistId: string; onAdded: () => void }) {
  const [userId, setUserId] = useState("");
  const [error, setError] = useState<unknown>(null);
  const { busy, run } = useAction(setError);
  function submit(event: Event) {
    event.preventDefault();
    return run(async () => {
      await api(`/api/playlists/${playlistId}/collaborators`, { method: "POST", body: { userId: userId.trim() } });
      toast(`${await displayName(userId.trim())} can now edit this playlist`);
      setUserId("");
      onAdded();
    });
  }
  const userIdError = fieldError(error, "userId") ?? (error instanceof ApiError && error.status === 409 ? error.detail : undefined);
  return (
    <form class="stack" onSubmit={submit}>
      <label>
        User id
        <input value={userId} required aria-invalid={userIdError ? true : undefined} onInput={(e) => setUserId(e.currentTarget.value)} />
      </label>
      {userIdError && <p class="field-error">{userIdError}</p>}
      {error && !userIdError ? <ErrorNote error={error} /> : null}
      <p class="muted small">Ask them for their user id: it is on their account page.</p>
      <div>
        <button type="submit" class="ghost" disabled={busy || !userId.trim()}>
          {busy ? "Adding…" : "Add collaborator"}
        </button>
      </div>
    </form>
  );
}

export function ShareLinks({ playlistId }: { playlistId: string }) {
  const links = useLoad((signal) => api<{ items: ShareLink[] }>(`/api/playlists/${playlistId}/share`, { signal }).then((a) => a.items), [playlistId]);
  const [error, setError] = useState<unknown>(null);
  const { busy, run } = useAction(setError);

  function create() {
    return run(async () => {
      const link = await api<ShareLink>(`/api/playlists/${playlistId}/share`, { method: "POST", body: {} });
      links.set([...(links.data ?? []), link]);
      toast("Share link created");
    });
  }

  function revoke(link: ShareLink) {
    return run(async () => {
      await api(`/api/playlists/${playlistId}/share/${encodeURIComponent(link.id)}`, { method: "DELETE" });
      links.set((links.data ?? []).filter((l) => l.id !== link.id));
      toast("Link revoked: it no longer opens the playlist");
    });
  }

  return (
    <section class="card" aria-labelledby="share-links">
      <h2 id="share-links">Share links</h2>
      <p class="muted small">Anyone with a link can open this playlist read-only, even while it is private, until you revoke the link.</p>
      {links.error ? (
        <ErrorNote error={links.error} />
      ) : !links.data ? (
        <p class="muted" aria-busy="true">
          Loading…
        </p>
      ) : links.data.length === 0 ? (
        <p class="muted">No links yet.</p>
      ) : (
        <ul class="member-list">
          {links.data.map((l, i) => (
            <LinkRow key={l.id} link={l} label={links.data!.length > 1 ? `Share link ${i + 1}` : "Share link"} busy={busy} onRevoke={() => revoke(l)} />
          ))}
        </ul>
      )}
      <ErrorNote error={error} />
      <div>
        <button type="button" class="ghost" disabled={busy} onClick={create}>
          Create share link
        </button>
      </div>
    </section>
  );
}

function LinkRow({ link, label, busy, onRevoke }: { link: ShareLink; label: string; busy: boolean; onRevoke: () => void }) {
  const url = shareUrl(link.token);
  async function copy() {
    try {
      await navigator.clipboard.writeText(url);
      toast("Link copied");
    } catch {
      // Clipboard access needs a secure context; the field below is selectable instead.
      toast("Could not copy: select the link and copy it by hand", "error");
    }
  }
  return (
    <li>
      <label class="share-url">
        <span class="visually-hidden">{label}</span>
        <input readOnly value={url} onFocus={(e) => e.currentTarget.select()} style={{ width: "100%" }} />
      </label>
      <span class="row">
        <span class="muted small">{date(link.createdAt)}</span>
        <button type="button" class="ghost" onClick={copy}>
          Copy link
        </button>
        <button type="button" class="danger" disabled={busy} onClick={onRevoke}>
          Revoke link
        </button>
      </span>
    </li>
  );
}

/** For an editor or a viewer: give up their access. */
export function LeavePlaylist({ playlist }: { playlist: Collection }) {
  const [busy, setBusy] = useState(false);
  const me = user.value;
  if (!me || (playlist.access !== "editor" && playlist.access !== "viewer")) return null;
  async function leave() {
    if (!confirm(`Leave “${playlist.title}”? You will need to be invited again to see it.`)) return;
    setBusy(true);
    try {
      await api(`/api/playlists/${playlist.id}/collaborators/${encodeURIComponent(me!.id)}`, { method: "DELETE" });
      toast(`You left ${playlist.title}`);
      navigate("/playlists");
    } catch (err) {
      toast(describe(err), "error");
      setBusy(false);
    }
  }
  return (
    <button type="button" class="ghost" disabled={busy} onClick={leave}>
      Leave playlist
    </button>
  );
}
