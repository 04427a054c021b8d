// Keyboard shortcuts for the player, off while typing or with a modifier held.

import { signal } from "@preact/signals";
import { muted } from "./audio";
import { current, next, previous, seekBy, setVolume, togglePlay } from "./controls";
import { state } from "./sync";

/** The shortcuts help dialog is open. */
export const helpOpen = signal(false);

export const shortcutList: [string, string][] = [
  ["Space", "Play or pause"],
  ["← / →", "Back or forward 5 seconds"],
  ["Shift + N", "Next song"],
  ["Shift + P", "Previous song"],
  ["M", "Mute or unmute"],
  ["Shift + ↑ / ↓", "Volume up or down"],
  ["?", "Show these shortcuts"],
];

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  // Ranges count too: their arrow keys move the slider.
  if (target instanceof HTMLInputElement) return !["checkbox", "radio", "button", "submit", "reset"].includes(target.type);
  return target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

window.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  if (document.querySelector("dialog[open]") && event.key !== "?") return;
  const playable = !!current.peek();
  const volume = state.peek()?.volume ?? 100;
  const actions: Record<string, () => void> = {
    "?": () => (helpOpen.value = true),
    " ": () => playable && togglePlay(),
    ArrowLeft: () => playable && seekBy(-5000),
    ArrowRight: () => playable && seekBy(5000),
    ArrowUp: () => setVolume(volume + 10),
    ArrowDown: () => setVolume(volume - 10),
    m: () => (muted.value = !muted.value),
    M: () => (muted.value = !muted.value),
    N: () => playable && next(),
    P: () => playable && previous(),
  };
  // Shift for ?, N, P and the volume (plain ↑/↓ keep scrolling the page); Space on a
  // focused button is the button's own click.
  const key = event.key;
  const shifted = ["?", "N", "P", "M", "ArrowUp", "ArrowDown"];
  if (event.shiftKey && !shifted.includes(key)) return;
  if (!event.shiftKey && ["N", "P", "ArrowUp", "ArrowDown"].includes(key)) return;
  if (key === " " && event.target instanceof HTMLButtonElement) return;
  const action = actions[key];
  if (!action) return;
  event.preventDefault();
  action();
});
