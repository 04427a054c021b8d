// Uploads go through XMLHttpRequest rather than `api()`: fetch cannot report how much of a
// request body has been sent, and a song can be a hundred megabytes. Errors come back as the
// same `ApiError`s `api()` throws, so the form shows them the same way.

import { ApiError, accessToken, problemFrom } from "../../api";
import { refresh } from "../../session";
import type { Song } from "../../types";

export interface UploadHandle {
  /** The stored song, or an ApiError (status 0 and title "Cancelled" after `cancel`). */
  done: Promise<Song>;
  cancel: () => void;
}

/** Sends `form` to `POST /api/songs`, reporting the share of the body sent (0 to 1). */
export function uploadSong(form: FormData, onProgress: (sent: number) => void): UploadHandle {
  let current: XMLHttpRequest | null = null;
  let cancelled = false;
  const done = (async () => {
    let token = await accessToken();
    for (let attempt = 0; ; attempt++) {
      if (cancelled) throw cancelledError();
      const answer = await send(form, token, onProgress, (xhr) => (current = xhr));
      // A token refused mid-way (it expired, or the session was refreshed in another tab):
      // the body has to go again, but only once.
      if (answer.status === 401 && token && attempt === 0) {
        token = (await refresh(token))?.accessToken ?? null;
        if (token) {
          onProgress(0);
          continue;
        }
      }
      if (answer.status === 201 || answer.status === 200) return JSON.parse(answer.responseText) as Song;
      throw problemFrom(answer.status, answer.statusText, answer.getResponseHeader("Retry-After"), answer.responseText);
    }
  })();
  return {
    done,
    cancel: () => {
      cancelled = true;
      current?.abort();
    },
  };
}

function send(
  form: FormData,
  token: string | null,
  onProgress: (sent: number) => void,
  started: (xhr: XMLHttpRequest) => void,
): Promise<XMLHttpRequest> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/songs");
    xhr.setRequestHeader("Accept", "application/json");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () =>
      reject(new ApiError(0, "Offline", "The upload stopped: Spindle could not be reached. Check the connection and try again."));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => reject(cancelledError());
    started(xhr);
    xhr.send(form);
  });
}

function cancelledError(): ApiError {
  return new ApiError(0, "Cancelled", "Upload cancelled.");
}

export function isCancelled(error: unknown): boolean {
  return error instanceof ApiError && error.status === 0 && error.title === "Cancelled";
}
