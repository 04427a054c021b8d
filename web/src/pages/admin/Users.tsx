// Admin › Users: accounts filtered by role, blocked state and email, with block, role and delete.

import { useState } from "preact/hooks";
import { api, query } from "../../api";
import { ErrorNote, date, toast, useDebounced } from "../../components/ui";
import { user as me } from "../../session";
import type { AdminUser, Role } from "../../types";
import { Confirm, Field } from "../studio/controls";
import { useAction } from "../../components/actions";
import { PagedTable, usePaged } from "../../components/paging";
import { ActionsCell, TableHead, type Column } from "../../components/table";

const ROLES: Role[] = ["listener", "artist", "admin"];

const COLUMNS: Column[] = [{ label: "Account" }, { label: "Role" }, { label: "State" }, { label: "Joined" }, { label: "Actions", hidden: true }];

export function Users() {
  const [role, setRole] = useState("");
  const [blocked, setBlocked] = useState("");
  const [email, setEmail] = useState("");
  const emailPrefix = useDebounced(email.trim());
  const list = usePaged<AdminUser>(
    (cursor) => `/api/admin/users${query({ limit: 50, cursor, role, blocked, emailPrefix })}`,
    [role, blocked, emailPrefix],
  );
  // The last failed action (such as the 409 for the last admin), shown above the table.
  const [failure, setFailure] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<AdminUser | null>(null);
  const filtered = role || blocked || emailPrefix;
  return (
    <section aria-labelledby="admin-users">
      <h2 id="admin-users">Users</h2>
      <form class="filters" role="search" aria-label="Filter users" onSubmit={(e) => e.preventDefault()}>
        <Field label="Role">
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="">Any role</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {capital(r)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Blocked">
          <select value={blocked} onChange={(e) => setBlocked(e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="true">Blocked</option>
            <option value="false">Not blocked</option>
          </select>
        </Field>
        <Field label="Email starts with">
          <input type="search" value={email} onInput={(e) => setEmail(e.currentTarget.value)} autocomplete="off" />
        </Field>
      </form>
      <ErrorNote error={failure} />
      <PagedTable paged={list} empty={filtered ? "No account matches these filters." : "No accounts yet."}>
        <table class="responsive">
          <TableHead columns={COLUMNS} />
          <tbody>
            {list.items.map((account) => (
              <UserRow key={account.id} account={account} onChange={list.replace} onFailure={setFailure} onDelete={() => setDeleting(account)} />
            ))}
          </tbody>
        </table>
      </PagedTable>
      <Confirm
        open={deleting !== null}
        title={deleting ? `Delete ${deleting.email}?` : "Delete user"}
        confirm="Delete user"
        onClose={() => setDeleting(null)}
        action={async () => {
          if (!deleting) return;
          await api(`/api/admin/users/${encodeURIComponent(deleting.id)}`, { method: "DELETE" });
          list.remove(deleting);
          toast(`Deleted ${deleting.email}`);
        }}
      >
        <p>
          The account goes, and with it everything Spindle keeps about it: songs, albums, playlists, devices and listening
          history. This cannot be undone.
        </p>
      </Confirm>
    </section>
  );
}

function UserRow(props: { account: AdminUser; onChange: (u: AdminUser) => void; onFailure: (e: unknown) => void; onDelete: () => void }) {
  const { account } = props;
  const { busy, run } = useAction(props.onFailure);
  const self = account.id === me.value?.id;
  const nameId = `user-${account.id}`;

  const patch = (what: "block" | "role", body: object, done: (u: AdminUser) => string) =>
    run(async () => {
      const next = await api<AdminUser>(`/api/admin/users/${encodeURIComponent(account.id)}/${what}`, { method: "PATCH", body });
      props.onChange(next);
      toast(done(next));
    });

  return (
    <tr>
      <td>
        <div id={nameId}>
          <strong>{account.email}</strong> {self && <span class="pill admin">You</span>}
        </div>
        <div class="muted small">{account.displayName}</div>
      </td>
      <td data-label="Role">
        <select
          aria-label={`Role of ${account.email}`}
          value={account.role}
          disabled={busy}
          onChange={(e) => patch("role", { role: e.currentTarget.value }, (u) => `${u.email} is now ${u.role === "admin" ? "an" : "a"} ${u.role}`)}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {capital(r)}
            </option>
          ))}
        </select>
      </td>
      <td data-label="State">
        <span class="row badges">
          {account.blocked ? <span class="pill warn">Blocked</span> : <span class="pill">Active</span>}
          {!account.emailVerified && <span class="pill">Unverified</span>}
        </span>
      </td>
      <td data-label="Joined">{date(account.createdAt)}</td>
      <ActionsCell>
        <button
          type="button"
          class="ghost small-button"
          disabled={busy}
          aria-describedby={nameId}
          onClick={() => patch("block", { blocked: !account.blocked }, (u) => `${u.email} is ${u.blocked ? "blocked" : "unblocked"}`)}
        >
          {account.blocked ? "Unblock" : "Block"}
        </button>
        <button type="button" class="danger small-button" disabled={busy} aria-describedby={nameId} onClick={props.onDelete}>
          Delete
        </button>
      </ActionsCell>
    </tr>
  );
}

function capital(text: string): string {
  return text.slice(0, 1).toUpperCase() + text.slice(1);
}
