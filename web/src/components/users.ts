// Other people's display names, for pages that only know a user id.

import { api } from "../api";
import type { PublicProfile } from "../types";

/** Each id's name, or null when auth does not know it: asked once per page load. */
const names = new Map<string, Promise<string | null>>();

/**
 * A user's display name, or `fallback` when auth does not know them (or could not be asked).
 * The answer is kept for every later caller, so the request takes no AbortSignal.
 */
export function displayName(id: string): Promise<string>;
export function displayName<F>(id: string, fallback: F): Promise<string | F>;
export function displayName(id: string, fallback: unknown = id): Promise<unknown> {
  let name = names.get(id);
  if (!name) {
    name = api<PublicProfile>(`/api/users/${encodeURIComponent(id)}`, { auth: false }).then(
      (p) => p.displayName,
      () => null,
    );
    names.set(id, name);
  }
  return name.then((n) => n ?? fallback);
}
