// Controls the studio and admin pages share: a confirm dialog and the song delete built on it,
// the publish switch of a song, the album picker and a form field that shows the API's message
// (fieldError and otherErrors in api.ts pick that message out).

import { cloneElement, isValidElement, type ComponentChildren } from "preact";
import { useId, useState } from "preact/hooks";
import { describe } from "../../api";
import { Dialog, ErrorNote, toast } from "../../components/ui";
import type { CollectionSummary, Song } from "../../types";
import { deleteSong, setPublic } from "./catalog";
import "../../studio.css";

/** A question with a confirm button that runs `action`; closes when it succeeds. */
export function Confirm(props: {
  open: boolean;
  title: string;
  confirm: string;
  onClose: () => void;
  action: () => Promise<void>;
  children?: ComponentChildren;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const close = () => {
    if (busy) return;
    setError(null);
    props.onClose();
  };
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.action();
      setBusy(false);
      props.onClose();
    } catch (err) {
      setBusy(false);
      setError(err);
    }
  };
  return (
    <Dialog open={props.open} onClose={close} title={props.title}>
      <div class="stack">
        {props.children}
        <ErrorNote error={error} />
        <div class="row dialog-actions">
          <button type="button" class="ghost" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="button" class="danger" onClick={run} disabled={busy} aria-busy={busy}>
            {busy ? "Working…" : props.confirm}
          </button>
        </div>
      </div>
    </Dialog>
  );
}

/** "Publish <title>" / "Unpublish <title>": the artist's public/private switch. */
export function PublishButton({ song, onChange, compact = false }: { song: Song; onChange: (song: Song) => void; compact?: boolean }) {
  const [busy, setBusy] = useState(false);
  const verb = song.isPublic ? "Unpublish" : "Publish";
  const toggle = async () => {
    setBusy(true);
    try {
      const next = await setPublic(song, !song.isPublic);
      onChange(next);
      toast(next.isPublic ? `“${next.title}” is public` : `“${next.title}” is private`);
    } catch (err) {
      toast(describe(err), "error");
    } finally {
      setBusy(false);
    }
  };
  return (
    <button
      type="button"
      class={[song.isPublic ? "ghost" : "", compact ? "small-button" : ""].join(" ").trim() || undefined}
      aria-label={`${verb} ${song.title}`}
      onClick={toggle}
      disabled={busy}
      aria-busy={busy}
    >
      {compact ? verb : `${verb} ${song.title}`}
    </button>
  );
}

/** "Public" / "Private", and whether an admin hid it. */
export function VisibilityBadges({ song }: { song: Pick<Song, "isPublic" | "isVisible"> }) {
  return (
    <span class="row badges">
      <span class={song.isPublic ? "pill public" : "pill"}>{song.isPublic ? "Public" : "Private"}</span>
      {!song.isVisible && (
        <span class="pill warn" title="Listeners cannot see it until an admin shows it again">
          Hidden by an admin
        </span>
      )}
    </span>
  );
}

export function AlbumSelect(props: {
  albums: CollectionSummary[] | undefined;
  value: string;
  onChange: (id: string) => void;
  error?: string;
  disabled?: boolean;
}) {
  const { albums } = props;
  return (
    <Field label="Album" error={props.error}>
      <select
        name="albumId"
        value={props.value}
        disabled={props.disabled || albums === undefined}
        onChange={(event) => props.onChange(event.currentTarget.value)}
      >
        <option value="">{albums === undefined ? "Loading albums…" : "No album"}</option>
        {albums?.map((album) => (
          <option key={album.id} value={album.id}>
            {album.title}
            {album.isPublic ? "" : " (private)"}
          </option>
        ))}
      </select>
    </Field>
  );
}

/**
 * A labelled control with its hint and error below, tied to it by aria-describedby. The label
 * is a sibling (for/id), not a wrapper, so the control's accessible name is the label alone.
 */
export function Field({ label, error, hint, children }: { label: string; error?: string; hint?: string; children: ComponentChildren }) {
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {isValidElement(children)
        ? cloneElement(children, { id, "aria-describedby": describedBy, "aria-invalid": error ? true : undefined } as Record<string, unknown>)
        : children}
      {hint && (
        <span id={`${id}-hint`} class="muted small hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} class="field-error">
          {error}
        </span>
      )}
    </div>
  );
}

export function DeleteSong({ song, onClose, onDeleted }: { song: Song | null; onClose: () => void; onDeleted: (song: Song) => void }) {
  return (
    <Confirm
      open={song !== null}
      title={song ? `Delete “${song.title}”?` : "Delete song"}
      confirm="Delete song"
      onClose={onClose}
      action={async () => {
        if (!song) return;
        await deleteSong(song);
        onDeleted(song);
        toast(`Deleted “${song.title}”`);
      }}
    >
      <p>The song and its audio and cover are removed for good. Playlists that hold it show it as unavailable.</p>
    </Confirm>
  );
}
