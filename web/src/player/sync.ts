// The connection to the shared playback state. The server's state is the truth: a long poll
// keeps `serverState` current, commands go to the server, and until the state they make comes
// back, `state` shows them applied locally so a click takes effect at once.

import { batch, computed, effect, signal } from "@preact/signals";
import { api, ApiError, describe, query, request } from "../api";
import { toast } from "../components/ui";
import { session, user } from "../session";
import { serverNow, syncClock } from "./clock";
import { deviceId, ensureDevice, forgetDevice, isDeviceProblem } from "./device";
import { resolve } from "./songs";
import { applyCommand, type Command, type CommandType, type SyncState } from "./state";

/** The latest state the server sent (null while connecting or signed out). */
export const serverState = signal<SyncState | null>(null);
const pending = signal<Command[]>([]);

/** What the player shows and follows: the server's state with the commands still on their way. */
export const state = computed(() => {
  const base = serverState.value;
  return base ? pending.value.reduce(applyCommand, base) : null;
});

/** The listening room this browser follows, by code; null for the listener's own playback. */
export const roomCode = signal<string | null>(null);

/** False while the poll fails (offline, server trouble). */
export const connected = signal(true);

/**
 * Tabs of one browser share its device id, so only one of them, the one holding this lock, plays;
 * when it closes the next tab takes over. Without Web Locks every tab plays.
 */
export const leadTab = signal(!("locks" in navigator));
(navigator as Navigator & { locks?: LockManager }).locks?.request("spindle.player", () => {
  leadTab.value = true;
  return new Promise<void>(() => {}); // held for the life of the tab
});

/** This tab plays the audio: it is the active device, or it listens along in a room. */
export const audible = computed(() => {
  const s = state.value;
  const me = deviceId.value;
  return leadTab.value && !!s && !!me && (s.scope === "room" || s.activeDeviceId === me);
});

const userId = computed(() => user.value?.id ?? null);
const quiet = new Set<string>();
let wake: () => void = () => {};

const roomKey = (id: string) => `spindle.room.${id}`;

/** Rooms this tab stopped following: their page does not follow them again on its own. */
export const declinedRooms = new Set<string>();

/** Follow a room's state (after joining it), or the listener's own again with null. */
export function followRoom(code: string | null): void {
  const id = userId.value;
  if (!id) return;
  const upper = code?.toUpperCase() ?? null;
  if (upper) declinedRooms.delete(upper);
  else if (roomCode.value) declinedRooms.add(roomCode.value);
  if (upper) sessionStorage.setItem(roomKey(id), upper);
  else sessionStorage.removeItem(roomKey(id));
  if (roomCode.value === upper) return;
  roomCode.value = upper;
  serverState.value = null;
  pending.value = [];
  wake();
}

export interface SendOptions {
  /** Apply only if the state is still at this version (for automatic `next`). */
  expectedVersion?: number;
  /** No toast when it is refused (automatic commands that may lose a race). */
  quiet?: boolean;
}

/** Sends a command; shows its effect at once. False when it was refused outright. */
export async function send(type: CommandType, args?: Record<string, unknown>, options: SendOptions = {}): Promise<boolean> {
  if (!deviceId.value || !serverState.value) await connectedWithin(10_000);
  const me = deviceId.value;
  if (!me || !serverState.value) {
    if (!options.quiet) toast("The player is still connecting. Try again in a moment.", "error");
    return false;
  }
  const command: Command = { commandId: newCommandId(), type, arguments: args, at: serverNow(), from: me };
  if (options.quiet) {
    quiet.add(command.commandId);
    // Refusals come within moments; an applied command's id need not be kept.
    setTimeout(() => quiet.delete(command.commandId), 60_000);
  }
  pending.value = [...pending.value, command];
  // A command whose state never shows up (lost, or overtaken by another device's) stops
  // being shown after a while: the server's state wins.
  setTimeout(() => settle([command.commandId]), 4000);
  const room = roomCode.value;
  const body = {
    commandId: command.commandId,
    type,
    arguments: args,
    expectedVersion: options.expectedVersion,
    roomCode: room && type !== "transfer" ? room : undefined,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await api("/api/sync/commands", { method: "POST", body, headers: { "X-Device-Id": me } });
      return true;
    } catch (error) {
      const transient = error instanceof ApiError && (error.status === 0 || error.status >= 500);
      if (transient && attempt < 2) {
        await sleep(800 * (attempt + 1)); // the same commandId: applied once however often it is sent
        continue;
      }
      settle([command.commandId]);
      if (isDeviceProblem(error) && userId.value) {
        forgetDevice(userId.value);
        wake();
      }
      if (!options.quiet) toast(describe(error), "error");
      return false;
    }
  }
}

/** Resolves once the device is registered and the first state came (or the time is up). */
function connectedWithin(ms: number): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    const stop = effect(() => {
      if (deviceId.value && serverState.value) queueMicrotask(finish);
    });
    function finish() {
      clearTimeout(timer);
      stop();
      done();
    }
  });
}

function settle(ids: string[]): void {
  if (ids.some((id) => pending.value.some((c) => c.commandId === id))) {
    pending.value = pending.value.filter((c) => !ids.includes(c.commandId));
  }
}

/** A new state from the server: report refusals, drop the commands it already holds. */
function receive(next: SyncState): void {
  const refused = next.rejections ?? [];
  for (const r of refused) {
    if (!quiet.delete(r.commandId)) toast(r.detail ?? `The player could not do that (${r.reason ?? "refused"}).`, "error");
  }
  const done = new Set(refused.map((r) => r.commandId));
  const applied = pending.value.findIndex((c) => c.commandId === next.lastCommandId);
  const rest = pending.value.filter((c, i) => i > applied && !done.has(c.commandId));
  // Both at once: in between, the player would follow a state that is neither old nor new.
  batch(() => {
    if (rest.length !== pending.value.length) pending.value = rest;
    serverState.value = next;
  });
  // Songs around the current one (a queue may hold thousands); the queue view asks for more.
  const order = next.playOrder;
  const at = Math.max(0, next.currentEntryId ? order.indexOf(next.currentEntryId) : 0);
  const near = new Set(order.slice(Math.max(0, at - 50), at + 200));
  void resolve(next.queue.filter((e) => near.has(e.entryId)).map((e) => e.songId));
}

/** The poll loop for one signed-in user; returns its stop. */
function start(id: string): () => void {
  const stopped = new AbortController();
  roomCode.value = sessionStorage.getItem(roomKey(id));
  void syncClock(5, stopped.signal);
  const clockTimer = setInterval(() => void syncClock(3, stopped.signal), 10 * 60_000);
  void poll(id, stopped.signal);
  return () => {
    stopped.abort();
    clearInterval(clockTimer);
  };
}

async function poll(id: string, stopped: AbortSignal): Promise<void> {
  let since: number | null = null;
  let scope: string | null | undefined;
  let failures = 0;
  while (!stopped.aborted) {
    const woken = new AbortController();
    wake = () => woken.abort();
    const onStop = () => woken.abort();
    stopped.addEventListener("abort", onStop);
    try {
      const device = await ensureDevice(id, woken.signal);
      const room = roomCode.value;
      if (room !== scope) [scope, since] = [room, null];
      const path = `/api/sync/state${query({ since, wait: since === null ? undefined : 25, room })}`;
      const answer = await request(path, { headers: { "X-Device-Id": device }, signal: woken.signal });
      failures = 0;
      connected.value = true;
      if (answer.status === 304 || roomCode.value !== scope) continue;
      const next = (await answer.json()) as SyncState;
      // Told to stop, or to follow another scope, while the body was read: not this state.
      if (woken.signal.aborted || roomCode.value !== scope) continue;
      since = next.version;
      receive(next);
    } catch (error) {
      if (stopped.aborted) return;
      if (woken.signal.aborted) continue;
      failures++;
      if (isDeviceProblem(error) && failures < 4) {
        forgetDevice(id);
        continue;
      }
      if (scope && error instanceof ApiError && (error.status === 404 || error.status === 403)) {
        toast(error.status === 404 ? "The listening room has closed." : "You are no longer in that listening room.", "error");
        followRoom(null);
        continue;
      }
      connected.value = false;
      // Registering fails only when the account has all the devices it may have.
      if (error instanceof ApiError && error.status === 409 && failures === 1) toast(describe(error), "error");
      const retryAfter = error instanceof ApiError && error.retryAfter ? error.retryAfter * 1000 : 0;
      // `woken`, not `stopped`: a wake-up (reconnect, another room) cuts the back-off short too.
      await sleep(Math.max(retryAfter, Math.min(30_000, 1000 * 2 ** Math.min(failures, 5)) * (0.75 + Math.random() / 2)), woken.signal);
    } finally {
      stopped.removeEventListener("abort", onStop);
    }
  }
}

effect(() => {
  const id = userId.value;
  let stop: (() => void) | null = null;
  if (id) stop = start(id);
  return () => {
    stop?.();
    serverState.value = null;
    pending.value = [];
    roomCode.value = null;
    deviceId.value = null;
    wake = () => {};
  };
});

/** Closing or reloading the tab that plays pauses the playback instead of leaving it running nowhere. */
window.addEventListener("pagehide", () => {
  const s = state.value;
  const me = deviceId.value;
  const token = session.value?.accessToken;
  if (!s || !me || !token || !s.playing || !audible.value || s.scope !== "user") return;
  void fetch("/api/sync/commands", {
    method: "POST",
    keepalive: true,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}`, "X-Device-Id": me },
    body: JSON.stringify({ commandId: newCommandId(), type: "pause" }),
  }).catch(() => {});
});

function newCommandId(): string {
  return randomId("web", 16);
}

/** `prefix-` and `bytes` random bytes in hex: ids the client makes (commands, listens). */
export function randomId(prefix: string, bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return `${prefix}-${Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(done, ms);
    abort?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        done();
      },
      { once: true },
    );
  });
}

/** Starts the poll over at once (after this device was removed and must register again). */
export function reconnect(): void {
  wake();
}
