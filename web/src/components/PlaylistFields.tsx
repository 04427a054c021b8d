// A playlist's title, description and public switch, as the new-playlist dialog and the
// playlist's details form both ask for them, with the API's complaints next to each.

import type { ComponentChildren } from "preact";
import { fieldError } from "../api";
import { ErrorNote } from "./ui";

export interface PlaylistValues {
  title: string;
  description: string;
  isPublic: boolean;
}

/**
 * The three fields, then `children` (a note), then `error` when it is about neither the title
 * nor the description (those show under their field).
 */
export function PlaylistFields({
  values,
  onChange,
  error,
  children,
}: {
  values: PlaylistValues;
  onChange: (values: PlaylistValues) => void;
  error: unknown;
  children?: ComponentChildren;
}) {
  const titleError = fieldError(error, "title");
  const descriptionError = fieldError(error, "description");
  const set = (change: Partial<PlaylistValues>) => onChange({ ...values, ...change });
  return (
    <>
      <label>
        Title
        <input value={values.title} required maxLength={200} aria-invalid={titleError ? true : undefined} onInput={(e) => set({ title: e.currentTarget.value })} />
      </label>
      {titleError && <p class="field-error">{titleError}</p>}
      <label>
        Description
        <textarea
          value={values.description}
          maxLength={2000}
          aria-invalid={descriptionError ? true : undefined}
          onInput={(e) => set({ description: e.currentTarget.value })}
        />
      </label>
      {descriptionError && <p class="field-error">{descriptionError}</p>}
      <label class="inline">
        <input type="checkbox" checked={values.isPublic} onChange={(e) => set({ isPublic: e.currentTarget.checked })} />
        Public
      </label>
      {children}
      {error && !titleError && !descriptionError ? <ErrorNote error={error} /> : null}
    </>
  );
}

/** What the API takes for them: an empty description is none. */
export function playlistBody({ title, description, isPublic }: PlaylistValues) {
  return { title, description: description.trim() || null, isPublic };
}
