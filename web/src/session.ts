// The signed-in user and their tokens, kept in localStorage so a reload or another tab stays
// signed in. Refresh tokens are single use (reusing one ends the session), so tabs refresh
// one at a time under a Web Lock and take each other's fresh tokens from storage.

import { computed, signal } from "@preact/signals";
import type { Me, TokenResponse } from "./types";

const KEY = "spindle.session";

export interface Session {
  user: Me;
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, in ms since the epoch (by this device's clock). */
  expiresAt: number;
}

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export const session = signal<Session | null>(load());
export const user = computed(() => session.value?.user ?? null);
export const role = computed(() => session.value?.user.role ?? null);

export function signedIn(tokens: TokenResponse): void {
  save({
    user: tokens.user,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: Date.now() + tokens.expiresIn * 1000,
  });
}

export function updateUser(me: Me): void {
  const current = session.value;
  if (current) save({ ...current, user: me });
}

export function signedOut(): void {
  localStorage.removeItem(KEY);
  session.value = null;
}

function save(next: Session): void {
  localStorage.setItem(KEY, JSON.stringify(next));
  session.value = next;
}

/** Another tab signed in, refreshed or signed out. */
window.addEventListener("storage", (event) => {
  if (event.key === KEY) session.value = load();
});

let refreshing: Promise<Session | null> | null = null;

/**
 * Fresh tokens for the current session, or null when it has ended. `stale` is the access token
 * the caller found wanting: when storage already holds another one, that is the answer.
 */
export function refresh(stale: string): Promise<Session | null> {
  refreshing ??= withLock(async () => {
    const current = load();
    if (!current) return null;
    if (current.accessToken !== stale && current.expiresAt - Date.now() > 60_000) {
      session.value = current;
      return current;
    }
    const answer = await fetch("/api/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: current.refreshToken }),
    }).catch(() => null);
    if (answer === null) return current; // offline: keep the session, the request fails
    if (answer.status === 401 || answer.status === 403) {
      signedOut();
      return null;
    }
    // Server trouble (5xx, 429): the session itself is fine; this request fails as offline does.
    if (!answer.ok) return current;
    signedIn((await answer.json()) as TokenResponse);
    return session.value;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function withLock<T>(run: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? (locks.request("spindle.refresh", run) as Promise<T>) : run();
}
