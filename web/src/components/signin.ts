// Sending a signed-out visitor to sign in, and back to where they were afterwards.

import { location, navigate } from "../router";

/** The sign-in page, coming back to `here` (the current page and its query by default). */
export function signInPath(here: string = location.value.pathname + location.value.search): string {
  return `/signin?next=${encodeURIComponent(here)}`;
}

/** Sends a signed-out visitor to sign in, coming back here afterwards. */
export function signInFirst(): void {
  navigate(signInPath());
}
