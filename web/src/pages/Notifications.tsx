// The inbox: new releases from followed artists and playlists shared with the user, newest
// first, with read marks; and whether new releases also come by email.

import { useState } from "preact/hooks";
import { api, query } from "../api";
import { refreshUnread } from "../components/NotificationBell";
import { navigate } from "../router";
import type { Notification } from "../types";
import { PagedList, usePaged, type Paged } from "../components/paging";
import { ago, Async, ErrorNote, toast, useLoad, useTitle } from "../components/ui";
import { message } from "../components/forms";
import "../accounts.css";

export function Notifications() {
  useTitle("Notifications");
  const inbox = usePaged<Notification>((cursor) => `/api/notifications${query({ limit: 20, cursor })}`, []);
  return (
    <section class="page notifications-page">
      <div class="spread">
        <h1>Notifications</h1>
        <MarkAllButton inbox={inbox} />
      </div>
      <PagedList paged={inbox} empty="No notifications yet. Follow artists to hear about their new songs." label="Notifications">
        {(note) => <NotificationItem key={note.id} note={note} inbox={inbox} />}
      </PagedList>
      <div class="card prefs-card">
        <h2>Email</h2>
        <NewReleasesToggle />
      </div>
    </section>
  );
}

function MarkAllButton({ inbox }: { inbox: Paged<Notification> }) {
  const [sending, setSending] = useState(false);
  const anyUnread = inbox.items.some((n) => !n.readAt);
  const markAll = async () => {
    setSending(true);
    try {
      const { updated } = await api<{ updated: number }>("/api/notifications/read-all", { method: "POST" });
      const now = new Date().toISOString();
      inbox.setItems((items) => items.map((n) => (n.readAt ? n : { ...n, readAt: now })));
      refreshUnread();
      toast(updated === 1 ? "1 notification marked as read." : `${updated} notifications marked as read.`);
    } catch (err) {
      toast(message(err), "error");
    } finally {
      setSending(false);
    }
  };
  return (
    <button type="button" class="ghost" onClick={markAll} disabled={sending || !anyUnread}>
      {sending ? "Marking…" : "Mark all as read"}
    </button>
  );
}

function NotificationItem({ note, inbox }: { note: Notification; inbox: Paged<Notification> }) {
  const [sending, setSending] = useState(false);
  const unread = !note.readAt;
  const markRead = async () => {
    setSending(true);
    try {
      await api(`/api/notifications/${encodeURIComponent(note.id)}/read`, { method: "POST" });
      const now = new Date().toISOString();
      inbox.setItems((items) => items.map((n) => (n.id === note.id ? { ...n, readAt: n.readAt ?? now } : n)));
      refreshUnread();
    } catch (err) {
      toast(message(err), "error");
    } finally {
      setSending(false);
    }
  };
  const target = note.link ? inAppPath(note.link) : null;
  const open = (event: MouseEvent) => {
    if (unread) void markRead();
    if (!target || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(target);
  };
  return (
    <li class={unread ? "note unread" : "note"}>
      <span class="note-dot" aria-hidden="true" />
      <div class="note-main">
        <p class="note-title">
          {unread && <span class="visually-hidden">Unread: </span>}
          {note.link ? (
            <a href={target ?? note.link} onClick={open}>
              {note.title}
            </a>
          ) : (
            note.title
          )}
        </p>
        {note.body && <p class="note-body">{note.body}</p>}
        <time class="muted small" dateTime={note.createdAt} title={new Date(note.createdAt).toLocaleString()}>
          {ago(note.createdAt)}
        </time>
      </div>
      {unread && (
        <button type="button" class="ghost small-button" onClick={markRead} disabled={sending} aria-label={`Mark as read: ${note.title}`}>
          Mark as read
        </button>
      )}
    </li>
  );
}

/**
 * The path to open here for a notification's link: the API writes absolute URLs on the site's
 * public address, which may differ from the address this tab uses (a dev server, a proxy), so
 * a link to one of the app's own pages opens in place. Anything else opens as a normal link.
 */
function inAppPath(link: string): string | null {
  let url: URL;
  try {
    url = new URL(link, window.location.origin);
  } catch {
    return null;
  }
  const path = `${url.pathname}${url.search}${url.hash}`;
  if (url.origin === window.location.origin) return path;
  if (!/^https?:$/.test(url.protocol)) return null;
  return /^\/(songs|playlists|albums|artists|shared|rooms)\//.test(url.pathname) ? path : null;
}

interface Preferences {
  newReleasesEmail: boolean;
}

/** Saved as soon as it is switched; goes back if the API says no. */
export function NewReleasesToggle() {
  const prefs = useLoad((signal) => api<Preferences>("/api/notifications/preferences", { signal }), []);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const change = async (on: boolean) => {
    setSending(true);
    setError(null);
    const before = prefs.data;
    prefs.set({ ...before, newReleasesEmail: on });
    try {
      prefs.set(await api<Preferences>("/api/notifications/preferences", { method: "PATCH", body: { newReleasesEmail: on } }));
      toast(on ? "You will get an email about new releases." : "No more emails about new releases.");
    } catch (err) {
      if (before) prefs.set(before);
      setError(err);
    } finally {
      setSending(false);
    }
  };
  return (
    <Async state={prefs}>
      {(p) => (
        <div class="stack">
          <label class="inline">
            <input type="checkbox" checked={!!p.newReleasesEmail} disabled={sending} onChange={(e) => change(e.currentTarget.checked)} />
            Email me when artists I follow release a song
          </label>
          <ErrorNote error={error} />
        </div>
      )}
    </Async>
  );
}
