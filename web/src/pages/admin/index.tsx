// /admin and /admin/:section: the admins' pages, one tab each.

import type { FunctionComponent } from "preact";
import { useTitle } from "../../components/ui";
import { Link } from "../../router";
import type { Params } from "../../router";
import "../../studio.css";
import { Activity } from "./Activity";
import { Collections } from "./Collections";
import { Events } from "./Events";
import { Songs } from "./Songs";
import { Users } from "./Users";

const SECTIONS: [slug: string, label: string, page: FunctionComponent][] = [
  ["users", "Users", Users],
  ["songs", "Songs", Songs],
  ["playlists", "Playlists", () => <Collections kind="playlist" />],
  ["albums", "Albums", () => <Collections kind="album" />],
  ["events", "Events", Events],
  ["activity", "Activity", Activity],
];

export function Admin({ params }: { params: Params }) {
  const slug = params.section ?? "users";
  const found = SECTIONS.find(([s]) => s === slug);
  useTitle(found ? `Admin · ${found[1]}` : "Admin");
  const Section = found?.[2];
  return (
    <section class="page admin">
      <h1>Admin</h1>
      <nav class="admin-tabs" aria-label="Admin sections">
        {SECTIONS.map(([s, label]) => (
          <Link key={s} href={`/admin/${s}`} aria-current={s === slug ? "page" : undefined}>
            {label}
          </Link>
        ))}
      </nav>
      {Section ? (
        <Section key={slug} />
      ) : (
        <p>
          There is no admin section “{slug}”. <Link href="/admin">Go to Users</Link>.
        </p>
      )}
    </section>
  );
}
