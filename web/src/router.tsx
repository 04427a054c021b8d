// A small history router: `location` is a signal of the current URL, `navigate` moves to a
// page, `Link` is an <a> that does so without reloading, and `match` finds the page for a path
// in a table of patterns with `:param` segments.

import { signal } from "@preact/signals";
import type { ComponentChildren, JSX } from "preact";

export const location = signal(new URL(window.location.href));

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = new URL(to, window.location.origin);
  if (url.href === window.location.href) return;
  if (options.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  location.value = url;
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => {
  location.value = new URL(window.location.href);
});

type LinkProps = JSX.HTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

export function Link({ href, onClick, ...rest }: LinkProps) {
  return (
    <a
      href={href}
      onClick={(event) => {
        if (typeof onClick === "function") onClick(event);
        if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        navigate(href);
      }}
      {...rest}
    />
  );
}

export type Params = Record<string, string>;

/** A path segment decoded; a broken escape (`%E0`) stays as it is rather than throwing. */
function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The first pattern matching `path`, with its parameters, in table order. */
export function match<T>(table: [string, T][], path: string): { value: T; params: Params } | null {
  const parts = path.replace(/\/+$/, "").split("/");
  for (const [pattern, value] of table) {
    const want = pattern.replace(/\/+$/, "").split("/");
    if (want.length !== parts.length) continue;
    const params: Params = {};
    if (want.every((w, i) => (w.startsWith(":") ? ((params[w.slice(1)] = decode(parts[i])), parts[i] !== "") : w === parts[i]))) {
      return { value, params };
    }
  }
  return null;
}
