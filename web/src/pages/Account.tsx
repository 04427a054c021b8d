// The signed-in user's own account: name, email, password, favourite genres, email
// preferences, and ending every session.

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, fieldError } from "../api";
import { Link, navigate } from "../router";
import { signedOut, updateUser, user } from "../session";
import type { Me } from "../types";
import { Async, date, ErrorNote, toast, useLoad, useTitle } from "../components/ui";
import { DisplayNameField, FormError, message, passwordLengthError, PasswordField, SubmitButton, useForm, type FieldErrors } from "../components/forms";
import { NewReleasesToggle } from "./Notifications";

export function Account() {
  useTitle("Account");
  const me = user.value!;
  // The stored copy may be stale (verified in another tab, renamed elsewhere): ask once.
  useEffect(() => {
    api<Me>("/api/auth/me").then(updateUser, () => undefined);
  }, []);
  return (
    <section class="page account-page">
      <h1>Account</h1>
      <p class="muted">
        {roleName(me.role)} account since {date(me.createdAt)}.
      </p>
      <div class="account-grid">
        <ProfileCard me={me} />
        <EmailCard me={me} />
        <PasswordCard me={me} />
        <div class="card stack">
          <TasteEditor />
        </div>
        <div class="card stack">
          <h2>Email notifications</h2>
          <NewReleasesToggle />
          <p class="muted small">Sign-in codes and other security mail are always sent.</p>
        </div>
        <SessionsCard />
      </div>
    </section>
  );
}

function roleName(role: Me["role"]): string {
  return { listener: "Listener", artist: "Artist", admin: "Admin" }[role] ?? role;
}

function ProfileCard({ me }: { me: Me }) {
  const [displayName, setDisplayName] = useState(me.displayName);
  const form = useForm({ displayName: "Display name" });
  const check = (): FieldErrors => (displayName.trim() ? {} : { displayName: "Enter the name others will see." });
  const send = async () => {
    updateUser(await api<Me>("/api/auth/me", { method: "PATCH", body: { displayName: displayName.trim() } }));
    toast("Display name saved.");
  };
  return (
    <form class="card stack" ref={form.ref} noValidate onSubmit={(e) => form.submit(e, send, check)}>
      <h2>Profile</h2>
      <DisplayNameField value={displayName} onValue={setDisplayName} error={form.errors.displayName} />
      <FormError error={form.error} />
      <div>
        <SubmitButton form={form} label="Save name" busy="Saving…" disabled={displayName.trim() === me.displayName} />
      </div>
    </form>
  );
}

function EmailCard({ me }: { me: Me }) {
  return (
    <div class="card stack">
      <h2>Email and sign-in</h2>
      <p class="row">
        <strong class="break">{me.email}</strong>
        {me.emailVerified ? <span class="tag ok">Verified</span> : <span class="tag warn">Not verified</span>}
      </p>
      {!me.emailVerified && (
        <p class="small">
          <Link href="/verify-email">Verify your email</Link> to sign in with a code and to recover the account.
        </p>
      )}
      <ul class="muted small plain">
        <li>Password: {me.hasPassword ? "set" : "none yet"}</li>
        <li>Google: {me.googleLinked ? "linked" : "not linked"}</li>
      </ul>
    </div>
  );
}

function PasswordCard({ me }: { me: Me }) {
  if (!me.hasPassword) {
    return (
      <div class="card stack">
        <h2>Password</h2>
        <p>
          Your account has no password: you sign in {me.googleLinked ? "with Google or " : ""}with a code sent to your email.
        </p>
        <p class="small">
          To add a password, <Link href="/reset-password">set one with an emailed code</Link>.
        </p>
      </div>
    );
  }
  return <PasswordForm email={me.email} />;
}

function PasswordForm({ email }: { email: string }) {
  const [currentPassword, setCurrent] = useState("");
  const [newPassword, setNew] = useState("");
  const form = useForm({ currentPassword: "Current password", newPassword: "New password" }, (err: ApiError) =>
    err.status === 403 && /current password/i.test(err.detail) ? { currentPassword: "The current password is wrong." } : null,
  );
  const check = (): FieldErrors => {
    const errors: FieldErrors = {};
    if (!currentPassword) errors.currentPassword = "Enter your current password.";
    const length = passwordLengthError(newPassword, "New password");
    if (length) errors.newPassword = length;
    return errors;
  };
  const send = async () => {
    updateUser(await api<Me>("/api/auth/me", { method: "PATCH", body: { currentPassword, newPassword } }));
    setCurrent("");
    setNew("");
    toast("Password changed. Your other devices were signed out.");
  };
  return (
    <form class="card stack" ref={form.ref} noValidate onSubmit={(e) => form.submit(e, send, check)}>
      <h2>Password</h2>
      {/* Lets password managers know whose password changes. */}
      <input type="email" autocomplete="username" value={email} readOnly hidden />
      <PasswordField label="Current password" name="currentPassword" value={currentPassword} onValue={setCurrent} error={form.errors.currentPassword} />
      <PasswordField label="New password" name="newPassword" fresh value={newPassword} onValue={setNew} error={form.errors.newPassword} />
      <FormError error={form.error} />
      <p class="muted small">Changing it signs out your other devices.</p>
      <div>
        <SubmitButton form={form} label="Change password" busy="Changing…" />
      </div>
    </form>
  );
}

function SessionsCard() {
  const [sending, setSending] = useState(false);
  const signOutEverywhere = async () => {
    setSending(true);
    try {
      await api("/api/auth/logout-all", { method: "POST" });
      signedOut();
      navigate("/");
      toast("Signed out on every device.");
    } catch (err) {
      toast(message(err), "error");
      setSending(false);
    }
  };
  return (
    <div class="card stack">
      <h2>Sessions</h2>
      <p class="small">Lost a phone or signed in somewhere public? End every session, this one included.</p>
      <div>
        <button type="button" class="danger" onClick={signOutEverywhere} disabled={sending}>
          {sending ? "Signing out…" : "Sign out everywhere"}
        </button>
      </div>
    </div>
  );
}

const MAX_GENRES = 10;
const SUGGESTED = ["pop", "rock", "hip-hop", "electronic", "jazz", "classical", "folk", "r&b", "metal", "ambient", "indie", "soul"];

interface Taste {
  genres: string[];
}

/** The genres made-for-you starts from before there is any listening to go on. */
function TasteEditor() {
  const taste = useLoad((signal) => api<Taste>("/api/me/taste", { signal }), []);
  return (
    <>
      <h2>Favourite genres</h2>
      <p class="muted small">Recommendations start from these until you have listened to a few songs. Up to {MAX_GENRES}.</p>
      <Async state={taste}>{(data) => <GenreChips saved={data.genres} onSaved={(genres) => taste.set({ genres })} />}</Async>
    </>
  );
}

function GenreChips({ saved, onSaved }: { saved: string[]; onSaved: (genres: string[]) => void }) {
  const [genres, setGenres] = useState(saved);
  const [draft, setDraft] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const full = genres.length >= MAX_GENRES;
  const changed = genres.join("\n") !== saved.join("\n");

  const add = (raw: string) => {
    const genre = raw.trim().toLowerCase();
    if (!genre || full || genres.includes(genre)) return;
    if (genre.length > 64) return setError(new Error("A genre is at most 64 characters."));
    setGenres([...genres, genre]);
    setError(null);
  };
  const save = async () => {
    setSending(true);
    setError(null);
    try {
      const answer = await api<Taste>("/api/me/taste", { method: "PUT", body: { genres } });
      setGenres(answer.genres);
      onSaved(answer.genres);
      toast("Favourite genres saved.");
    } catch (err) {
      const genresError = fieldError(err, "genres");
      setError(genresError ? new Error(`Genres ${genresError}.`) : err);
    } finally {
      setSending(false);
    }
  };

  return (
    <div class="stack">
      {genres.length === 0 ? (
        <p class="small">No genres chosen yet.</p>
      ) : (
        <ul class="chips" aria-label="Chosen genres">
          {genres.map((g) => (
            <li key={g} class="chip">
              {g}
              <button type="button" class="chip-remove" aria-label={`Remove ${g}`} onClick={() => setGenres(genres.filter((x) => x !== g))}>
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        class="row"
        onSubmit={(event) => {
          event.preventDefault();
          add(draft);
          setDraft("");
        }}
      >
        <label class="grow">
          <span class="visually-hidden">Genre to add</span>
          <input
            value={draft}
            maxLength={64}
            placeholder={full ? `${MAX_GENRES} chosen: remove one to add another` : "Add a genre, e.g. jazz"}
            disabled={full}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="ghost" disabled={full || !draft.trim()}>
          Add genre
        </button>
      </form>
      <Suggestions chosen={genres} disabled={full} onPick={add} />
      <ErrorNote error={error} />
      <div class="row">
        <button type="button" onClick={save} disabled={sending || !changed}>
          {sending ? "Saving…" : "Save genres"}
        </button>
        {changed && !sending && <span class="muted small">Unsaved changes</span>}
      </div>
    </div>
  );
}

function Suggestions({ chosen, disabled, onPick }: { chosen: string[]; disabled: boolean; onPick: (genre: string) => void }) {
  const left = SUGGESTED.filter((g) => !chosen.includes(g));
  if (left.length === 0 || disabled) return null;
  return (
    <div class="suggestions small">
      <span class="muted">Suggestions:</span>
      {left.map((g) => (
        <button key={g} type="button" class="chip-add" aria-label={`Add ${g}`} onClick={() => onPick(g)}>
          + {g}
        </button>
      ))}
    </div>
  );
}
