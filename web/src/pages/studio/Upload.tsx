// /studio/upload: the upload form, its progress while the file goes up, and the stored song.

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, fieldError, otherErrors } from "../../api";
import { Cover, ErrorNote, duration, toast, useLoad, useTitle } from "../../components/ui";
import { Link, location } from "../../router";
import type { Params } from "../../router";
import type { CollectionSummary, Song } from "../../types";
import { formatLine, myAlbums, size, titleFromFileName } from "./catalog";
import { AlbumSelect, Field, VisibilityBadges } from "./controls";
import { isCancelled, uploadSong, type UploadHandle } from "./upload-request";

const COVER_LIMIT = 5 * 1024 * 1024;
/** Fields whose errors show next to their control; the rest go in the note below the form. */
const FIELDS = ["audio", "cover", "title", "genre", "tags", "albumId"];

interface Draft {
  audio: File | null;
  cover: File | null;
  title: string;
  genre: string;
  tags: string;
  albumId: string;
  isPublic: boolean;
}

const blank = (): Draft => ({
  audio: null,
  cover: null,
  title: "",
  genre: "",
  tags: "",
  albumId: location.value.searchParams.get("album") ?? "",
  isPublic: true,
});

export function Upload(_: { params: Params }) {
  useTitle("Upload");
  const albums = useLoad((signal) => myAlbums(signal), []);
  const [draft, setDraft] = useState<Draft>(blank);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [song, setSong] = useState<Song | null>(null);
  const [formKey, setFormKey] = useState(0);
  const handle = useRef<UploadHandle | null>(null);
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  useLeaveWarning(progress !== null);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!draft.audio || progress !== null) return;
    setError(null);
    setProgress(0);
    const upload = uploadSong(formData(draft), (sent) => mounted.current && setProgress(sent));
    handle.current = upload;
    try {
      const stored = await upload.done;
      // Leaving the page does not stop an upload: it finishes and says so.
      if (!mounted.current) return toast(`Uploaded “${stored.title}”`);
      setSong(stored);
    } catch (err) {
      if (!mounted.current) return isCancelled(err) ? undefined : toast(`Upload failed: ${uploadMessage(err)}`, "error");
      setError(err);
    } finally {
      handle.current = null;
      if (mounted.current) setProgress(null);
    }
  };

  const again = () => {
    setDraft(blank());
    setSong(null);
    setError(null);
    setFormKey((k) => k + 1); // a new form element: file inputs cannot be cleared otherwise
  };

  return (
    <section class="page studio upload-page">
      <header class="spread page-head">
        <h1>Upload</h1>
        <Link class="button ghost" href="/studio">
          Back to studio
        </Link>
      </header>
      {song ? (
        <Uploaded song={song} onAgain={again} />
      ) : (
        <UploadForm
          key={formKey}
          draft={draft}
          setDraft={setDraft}
          albums={albums.data ?? (albums.error ? [] : undefined)}
          albumsError={albums.error}
          error={error}
          progress={progress}
          onSubmit={submit}
          onCancel={() => handle.current?.cancel()}
        />
      )}
    </section>
  );
}

function formData(draft: Draft): FormData {
  const form = new FormData();
  // Text parts first: the server checks them before it stores the (large) audio part.
  if (draft.title.trim()) form.append("title", draft.title.trim());
  if (draft.genre.trim()) form.append("genre", draft.genre.trim());
  if (draft.tags.trim()) form.append("tags", draft.tags.trim());
  if (draft.albumId) form.append("albumId", draft.albumId);
  form.append("isPublic", draft.isPublic ? "true" : "false");
  if (draft.cover) form.append("cover", draft.cover, draft.cover.name);
  form.append("audio", draft.audio!, draft.audio!.name);
  return form;
}

interface FormProps {
  draft: Draft;
  setDraft: (update: (d: Draft) => Draft) => void;
  albums: CollectionSummary[] | undefined;
  albumsError: unknown;
  error: unknown;
  progress: number | null;
  onSubmit: (event: Event) => void;
  onCancel: () => void;
}

function UploadForm({ draft, setDraft, albums, albumsError, error, progress, onSubmit, onCancel }: FormProps) {
  const sending = progress !== null;
  const autoTitle = useRef("");
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const coverTooBig = !!draft.cover && draft.cover.size > COVER_LIMIT;

  const pickAudio = (file: File | null) => {
    const suggested = file ? titleFromFileName(file.name) : "";
    // The title follows the file until someone types their own.
    setDraft((d) => ({ ...d, audio: file, title: d.title === "" || d.title === autoTitle.current ? suggested : d.title }));
    autoTitle.current = suggested;
  };

  return (
    <form class="card stack upload-form" onSubmit={onSubmit} aria-busy={sending}>
      <fieldset class="stack" disabled={sending}>
        <legend class="visually-hidden">Song</legend>
        <Field label="Audio file" error={fieldError(error, "audio")} hint="MP3, FLAC, Ogg Vorbis or Opus, M4A/AAC or WAV.">
          <input type="file" name="audio" accept="audio/*" required onChange={(e) => pickAudio(e.currentTarget.files?.[0] ?? null)} />
        </Field>
        <Field
          label="Cover image"
          error={fieldError(error, "cover") ?? (coverTooBig ? "The cover is over 5 MiB; pick a smaller image." : undefined)}
          hint="Optional: JPEG, PNG or WebP, at most 5 MiB."
        >
          <input type="file" name="cover" accept="image/*" onChange={(e) => set("cover", e.currentTarget.files?.[0] ?? null)} />
        </Field>
        <Field label="Title" error={fieldError(error, "title")}>
          <input name="title" maxLength={200} value={draft.title} onInput={(e) => set("title", e.currentTarget.value)} />
        </Field>
        <div class="two-columns">
          <Field label="Genre" error={fieldError(error, "genre")}>
            <input name="genre" maxLength={64} value={draft.genre} onInput={(e) => set("genre", e.currentTarget.value)} />
          </Field>
          <Field label="Tags" error={fieldError(error, "tags")} hint="Comma separated, e.g. live, acoustic">
            <input name="tags" value={draft.tags} onInput={(e) => set("tags", e.currentTarget.value)} />
          </Field>
        </div>
        <AlbumSelect albums={albums} value={draft.albumId} onChange={(id) => set("albumId", id)} error={fieldError(error, "albumId")} />
        {albumsError ? <p class="muted small">Your albums could not be loaded; you can add the song to one later.</p> : null}
        <label class="inline">
          <input type="checkbox" name="isPublic" checked={draft.isPublic} onChange={(e) => set("isPublic", e.currentTarget.checked)} /> Public
        </label>
      </fieldset>
      <UploadError error={error} />
      {sending ? (
        <Progress sent={progress} total={(draft.audio?.size ?? 0) + (draft.cover?.size ?? 0)} onCancel={onCancel} />
      ) : (
        <div class="row">
          <button type="submit" disabled={!draft.audio || coverTooBig}>
            Upload
          </button>
        </div>
      )}
    </form>
  );
}

function Progress({ sent, total, onCancel }: { sent: number; total: number; onCancel: () => void }) {
  const percent = Math.round(sent * 100);
  const processing = sent >= 1;
  return (
    <div class="upload-progress" role="group" aria-label="Upload">
      <progress aria-label="Upload progress" max={100} value={percent} />
      <div class="spread">
        <span class="muted small" aria-live="polite">
          {processing ? "Sent. Reading the file…" : `${percent}%`}
          {!processing && total > 0 && ` · ${size(Math.round(total * sent))} of ${size(total)}`}
        </span>
        {/* Once the body is sent the server is storing the song: aborting then would only hide the outcome. */}
        <button type="button" class="ghost" onClick={onCancel} disabled={processing}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** The reasons an upload fails, in words that say what to do about it. */
function UploadError({ error }: { error: unknown }) {
  if (!error) return null;
  if (isCancelled(error)) return <p class="muted" role="status">Upload cancelled. The form is as you left it.</p>;
  if (!(error instanceof ApiError)) return <ErrorNote error={error} />;
  if (error.status === 409) {
    const existing = /song (\w+)/.exec(error.detail)?.[1];
    return (
      <p class="error" role="alert">
        You already uploaded this audio.{" "}
        {existing && (
          <Link href={`/studio/songs/${existing}`}>Open the song you have</Link>
        )}
      </p>
    );
  }
  if (error.status === 413) return <Alert lead="The file is too large.">{`${error.detail} A cover may be up to 5 MiB; audio up to this server's limit (100 MiB unless configured otherwise).`}</Alert>;
  if (error.status === 415) return <Alert lead="That format is not supported.">{error.detail}</Alert>;
  if (error.status === 422) {
    const rest = otherErrors(error, FIELDS);
    return rest ? <Alert lead="Some fields need a look.">{(rest as ApiError).detail}</Alert> : null;
  }
  return <ErrorNote error={error} />;
}

function Alert({ lead, children }: { lead: string; children: string }) {
  return (
    <p class="error" role="alert">
      <strong>{lead}</strong> {children}
    </p>
  );
}

function uploadMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function Uploaded({ song, onAgain }: { song: Song; onAgain: () => void }) {
  return (
    <section class="card uploaded stack" aria-labelledby="uploaded-heading">
      <h2 id="uploaded-heading">Uploaded</h2>
      <div class="row uploaded-song">
        <Cover song={song} size={72} />
        <div>
          <p class="uploaded-title">
            <strong>{song.title}</strong>
          </p>
          <p class="muted">
            <span data-testid="uploaded-duration">{duration(song.durationMs)}</span> · {formatLine(song)} · {size(song.sizeBytes)}
          </p>
          <VisibilityBadges song={song} />
        </div>
      </div>
      <div class="row">
        <a
          class="button"
          href="/studio/upload"
          onClick={(event) => {
            event.preventDefault();
            onAgain();
          }}
        >
          Upload another
        </a>
        <Link class="button ghost" href="/studio">
          Go to studio
        </Link>
        <Link class="button ghost" href={`/studio/songs/${song.id}`}>
          Edit details
        </Link>
      </div>
    </section>
  );
}

/** Asks before the tab closes or reloads while a file is still going up. */
function useLeaveWarning(active: boolean) {
  useEffect(() => {
    if (!active) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [active]);
}
