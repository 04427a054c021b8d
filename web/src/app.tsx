// The shell around every page: the top bar with search and the account, the navigation, the
// page for the current path, the player bar and the toasts.

import { useEffect, useRef, useState } from "preact/hooks";
import { accessToken, api } from "./api";
import { NotificationBell } from "./components/NotificationBell";
import { Toasts } from "./components/ui";
import { PlayerBar } from "./player/PlayerBar";
import { Link, location, match, navigate } from "./router";
import { routes, type Need } from "./routes";
import { role, session, signedOut, user } from "./session";
import type { Role } from "./types";

export function App() {
  const path = location.value.pathname;
  const found = match(routes, path);
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [path]);
  return (
    <div class="app">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <button type="button" class="icon menu-toggle" aria-label="Menu" aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)}>
          ☰
        </button>
        <Link href="/" class="brand" aria-label="Spindle home">
          <img src="/favicon.svg" alt="" width={28} height={28} /> <span>Spindle</span>
        </Link>
        <SearchBox />
        <div class="top-right">
          {user.value ? (
            <>
              <NotificationBell />
              <AccountMenu />
            </>
          ) : (
            <>
              <Link href="/signin" class="button ghost">
                Sign in
              </Link>
              <Link href="/signup" class="button">
                Sign up
              </Link>
            </>
          )}
        </div>
      </header>
      <nav class={menuOpen ? "side open" : "side"} aria-label="Main">
        <NavLinks path={path} />
      </nav>
      <main id="main" tabIndex={-1}>
        {found ? <Guard need={found.value.need} path={path}>{<found.value.page params={found.params} />}</Guard> : <NotFound />}
      </main>
      <PlayerBar />
      <Toasts />
    </div>
  );
}

function NavLinks({ path }: { path: string }) {
  const r = role.value;
  const links: [string, string, boolean][] = [
    ["/", "Home", true],
    ["/search", "Search", true],
    ["/playlists", "Playlists", !!r],
    ["/history", "History", !!r],
    ["/devices", "Devices", !!r],
    ["/rooms", "Listening rooms", !!r],
    ["/studio", "Studio", r === "artist" || r === "admin"],
    ["/admin", "Admin", r === "admin"],
  ];
  return (
    <ul>
      {links
        .filter(([, , shown]) => shown)
        .map(([href, label]) => {
          const here = href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`);
          return (
            <li key={href}>
              <Link href={href} aria-current={here ? "page" : undefined}>
                {label}
              </Link>
            </li>
          );
        })}
    </ul>
  );
}

/** Searching as you type: every keystroke updates `/search?q=` (replacing, not stacking history). */
function SearchBox() {
  const onSearch = location.value.pathname === "/search";
  const q = onSearch ? (location.value.searchParams.get("q") ?? "") : "";
  const [text, setText] = useState(q);
  useEffect(() => {
    if (onSearch) setText(q);
  }, [q, onSearch]);
  return (
    <form
      class="search-box"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        navigate(`/search?q=${encodeURIComponent(text)}`);
      }}
    >
      <input
        type="search"
        name="q"
        placeholder="Search songs, artists, albums"
        aria-label="Search"
        value={text}
        onInput={(event) => {
          const value = event.currentTarget.value;
          setText(value);
          navigate(`/search?q=${encodeURIComponent(value)}`, { replace: onSearch });
        }}
      />
    </form>
  );
}

function AccountMenu() {
  const me = user.value!;
  const ref = useRef<HTMLDetailsElement>(null);
  const path = location.value.pathname;
  useEffect(() => ref.current?.removeAttribute("open"), [path]);
  return (
    <details class="account-menu" ref={ref}>
      <summary aria-label={`Account: ${me.displayName}`}>
        <span class="avatar" aria-hidden="true">
          {me.displayName.slice(0, 1).toUpperCase()}
        </span>
        <span class="account-name">{me.displayName}</span>
      </summary>
      <div class="menu">
        <p class="muted small">
          {me.email} · {me.role}
        </p>
        <Link href="/account">Account</Link>
        <Link href="/notifications">Notifications</Link>
        <button type="button" class="link" onClick={signOut}>
          Sign out
        </button>
      </div>
    </details>
  );
}

export async function signOut(): Promise<void> {
  // A refresh due now happens first, so logout sends the refresh token that is still good.
  await accessToken();
  const refreshToken = session.value?.refreshToken;
  try {
    await api("/api/auth/logout", { method: "POST", body: { refreshToken } });
  } catch {
    // The session ends here whatever the server said.
  }
  signedOut();
  navigate("/");
}

function Guard({ need, path, children }: { need: Need; path: string; children: preact.ComponentChildren }) {
  const r = role.value;
  if (need === "anyone") return <>{children}</>;
  if (!r) {
    return (
      <section class="page narrow">
        <h1>Sign in to continue</h1>
        <p>This page needs an account.</p>
        <p class="row">
          <Link class="button" href={`/signin?next=${encodeURIComponent(path + location.value.search)}`}>
            Sign in
          </Link>
          <Link class="button ghost" href="/signup">
            Sign up
          </Link>
        </p>
      </section>
    );
  }
  if (need !== "signed-in" && !(need as Role[]).includes(r)) {
    return (
      <section class="page narrow">
        <h1>Not for this account</h1>
        <p>This page is for {(need as Role[]).join(" and ")} accounts.</p>
      </section>
    );
  }
  return <>{children}</>;
}

function NotFound() {
  return (
    <section class="page narrow">
      <h1>Nothing here</h1>
      <p>
        There is no page at this address. <Link href="/">Go home</Link>.
      </p>
    </section>
  );
}
