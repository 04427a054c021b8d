// The operating system's media controls (lock screen, keyboard media keys, notifications):
// what plays, and the actions they may ask for.

import { effect } from "@preact/signals";
import { current, next, pause, play, playing, position, previous, seek, seekBy } from "./controls";
import { audible, state } from "./sync";

const session = "mediaSession" in navigator ? navigator.mediaSession : null;

if (session) {
  const handlers: [MediaSessionAction, MediaSessionActionHandler][] = [
    ["play", () => play()],
    ["pause", () => pause()],
    ["previoustrack", () => previous()],
    ["nexttrack", () => next()],
    ["seekto", (d) => d.seekTime !== undefined && seek(d.seekTime * 1000)],
    ["seekbackward", (d) => seekBy(-(d.seekOffset ?? 10) * 1000)],
    ["seekforward", (d) => seekBy((d.seekOffset ?? 10) * 1000)],
  ];
  for (const [action, handler] of handlers) {
    try {
      session.setActionHandler(action, handler);
    } catch {
      // Browsers without this action.
    }
  }

  effect(() => {
    const song = current.value;
    session.metadata = song
      ? new MediaMetadata({
          title: song.title,
          artist: song.artistName,
          artwork: song.hasCover ? [{ src: `/api/songs/${song.id}/cover`, sizes: "512x512" }] : [],
        })
      : null;
  });

  effect(() => {
    void state.value;
    const song = current.value;
    session.playbackState = !song ? "none" : playing.value ? "playing" : "paused";
    if (!song?.durationMs || !audible.value) return;
    try {
      const duration = song.durationMs / 1000;
      session.setPositionState({ duration, position: Math.min(duration, position() / 1000), playbackRate: 1 });
    } catch {
      // A position the browser finds out of range: left as it was.
    }
  });
}
