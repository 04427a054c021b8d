// The bell in the top bar: how many notifications are unread, kept fresh by polling every
// 30 seconds and whenever the window comes back into focus.

import { signal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { api } from "../api";
import { Link, location } from "../router";
import { session } from "../session";
import "../accounts.css";

const POLL_MS = 30_000;

/** The unread count; null until it is known (or while signed out). */
export const unread = signal<number | null>(null);

let asking: Promise<void> | null = null;

/** Asks again now (the inbox calls this after marking things read). */
export function refreshUnread(): Promise<void> {
  if (!session.value) {
    unread.value = null;
    return Promise.resolve();
  }
  asking ??= api<{ count: number }>("/api/notifications/unread-count")
    .then(
      ({ count }) => void (unread.value = count),
      () => undefined, // keep the last count: a missed poll is not worth a message
    )
    .finally(() => (asking = null));
  return asking;
}

export function NotificationBell() {
  const userId = session.value?.user.id;
  useEffect(() => {
    void refreshUnread();
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void refreshUnread();
    }, POLL_MS);
    const onFocus = () => void refreshUnread();
    window.addEventListener("focus", onFocus);
    return () => {
      clearInterval(timer);
      window.removeEventListener("focus", onFocus);
      unread.value = null;
    };
  }, [userId]);

  const count = unread.value ?? 0;
  const here = location.value.pathname === "/notifications";
  return (
    <Link
      href="/notifications"
      class="bell"
      aria-label={count > 0 ? `Notifications, ${count} unread` : "Notifications"}
      aria-current={here ? "page" : undefined}
    >
      <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
        <path
          fill="currentColor"
          d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
        />
      </svg>
      {count > 0 && (
        <span class="badge" aria-hidden="true">
          {count > 99 ? "99+" : count}
        </span>
      )}
    </Link>
  );
}
