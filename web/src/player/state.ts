// The shared playback state as the API sends it, and the same rules the server applies to
// commands, so the UI can show a command's effect before the server confirms it.

export type Repeat = "off" | "all" | "one";

export interface QueueEntry {
  entryId: string;
  songId: string;
}

export interface Rejection {
  commandId: string;
  type: string;
  status: "rejected";
  reason?: string;
  detail?: string;
}

export interface RoomInState {
  code: string;
  name: string;
  hostId: string;
  controlMode: "host" | "everyone";
  members: { userId: string; displayName: string | null; isHost: boolean; joinedAt: string }[];
}

export interface SyncState {
  version: number;
  scope: "user" | "room";
  roomCode: string | null;
  queue: QueueEntry[];
  currentEntryId: string | null;
  currentIndex: number | null;
  currentSongId: string | null;
  positionMs: number;
  positionAt: number;
  playing: boolean;
  playbackRate: number;
  shuffle: boolean;
  playOrder: string[];
  repeat: Repeat;
  volume: number;
  activeDeviceId: string | null;
  changedByDeviceId: string | null;
  changedAt: number;
  lastCommandId: string | null;
  serverTime: number;
  rejections?: Rejection[];
  room: RoomInState | null;
}

export type CommandType =
  | "play"
  | "pause"
  | "seek"
  | "next"
  | "previous"
  | "set_queue"
  | "add_to_queue"
  | "transfer"
  | "set_volume"
  | "set_shuffle"
  | "set_repeat"
  | "jump";

export interface Command {
  commandId: string;
  type: CommandType;
  arguments?: Record<string, unknown>;
  /** Server time when it was sent: the optimistic change happens then. */
  at: number;
  /** The sending device, which `play`, `set_queue` and `jump` make active when none is. */
  from: string;
}

/** Where playback is at server time `now`, never past the song's end when it is known. */
export function positionAt(state: SyncState, now: number, durationMs?: number): number {
  const moved = state.playing ? Math.max(0, now - state.positionAt) * state.playbackRate : 0;
  const position = state.positionMs + moved;
  return durationMs ? Math.min(position, durationMs) : position;
}

/** The state as it will be once `command` is applied (the server's rules, simplified). */
export function applyCommand(state: SyncState, command: Command): SyncState {
  const args = command.arguments ?? {};
  const at = command.at;
  const here = { positionMs: positionAt(state, at), positionAt: at };
  const claim = state.scope === "user" && !state.activeDeviceId ? { activeDeviceId: command.from } : {};
  switch (command.type) {
    case "play": {
      const songId = args.songId as string | undefined;
      if (songId) {
        const entry = { entryId: `local-${command.commandId}`, songId };
        const index = state.currentIndex === null ? state.queue.length : state.currentIndex + 1;
        const queue = [...state.queue.slice(0, index), entry, ...state.queue.slice(index)];
        const orderAt = state.currentEntryId ? state.playOrder.indexOf(state.currentEntryId) + 1 : state.playOrder.length;
        const playOrder = [...state.playOrder.slice(0, orderAt), entry.entryId, ...state.playOrder.slice(orderAt)];
        return current({ ...state, ...claim, queue, playOrder, playing: true, positionMs: 0, positionAt: at }, entry.entryId);
      }
      if (!state.queue.length) return state;
      if (!state.currentEntryId) return current({ ...state, ...claim, playing: true, positionMs: 0, positionAt: at }, state.playOrder[0]);
      return { ...state, ...claim, ...here, playing: true };
    }
    case "pause":
      return { ...state, ...here, playing: false };
    case "seek":
      return { ...state, positionMs: Number(args.positionMs), positionAt: at };
    case "next":
      return step(state, at, 1);
    case "previous":
      return here.positionMs > 3000 ? { ...state, positionMs: 0, positionAt: at } : step(state, at, -1);
    case "set_queue": {
      const ids = args.songIds as string[];
      const queue = ids.map((songId, i) => ({ entryId: `local-${command.commandId}-${i}`, songId }));
      const start = queue[Number(args.startIndex ?? 0)]?.entryId ?? null;
      const order = queue.map((e) => e.entryId);
      const playOrder = state.shuffle && start ? [start, ...order.filter((e) => e !== start)] : order;
      return current({ ...state, ...claim, queue, playOrder, playing: true, positionMs: 0, positionAt: at }, start);
    }
    case "add_to_queue": {
      const added = (args.songIds as string[]).map((songId, i) => ({ entryId: `local-${command.commandId}-${i}`, songId }));
      return { ...state, queue: [...state.queue, ...added], playOrder: [...state.playOrder, ...added.map((e) => e.entryId)] };
    }
    case "transfer":
      return { ...state, ...here, activeDeviceId: args.toDeviceId as string, playing: !!args.keepPlaying && !!state.currentEntryId };
    case "set_volume":
      return { ...state, volume: Number(args.volume) };
    case "set_shuffle":
      return { ...state, shuffle: !!args.shuffle };
    case "set_repeat":
      return { ...state, repeat: args.repeat as Repeat };
    case "jump": {
      const entryId = args.entryId as string;
      if (!state.queue.some((e) => e.entryId === entryId)) return state;
      return current({ ...state, ...claim, playing: true, positionMs: 0, positionAt: at }, entryId);
    }
  }
}

/** Moves to the next (1) or previous (-1) entry of the play order, at 0 ms. */
function step(state: SyncState, at: number, by: 1 | -1): SyncState {
  const order = state.playOrder;
  if (!order.length) return state;
  const index = state.currentEntryId ? order.indexOf(state.currentEntryId) : -1;
  const target = index + by;
  const base = { ...state, positionMs: 0, positionAt: at };
  if (target >= 0 && target < order.length) return current(base, order[target]);
  if (by === 1) return state.repeat === "off" ? { ...base, playing: false } : current(base, order[0]);
  return state.repeat === "all" ? current(base, order[order.length - 1]) : base;
}

function current(state: SyncState, entryId: string | null): SyncState {
  const index = entryId ? state.queue.findIndex((e) => e.entryId === entryId) : -1;
  return {
    ...state,
    currentEntryId: index >= 0 ? entryId : null,
    currentIndex: index >= 0 ? index : null,
    currentSongId: index >= 0 ? state.queue[index].songId : null,
  };
}
