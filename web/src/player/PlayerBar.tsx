// The player bar at the bottom of every page: what plays and where, the controls, the seek
// and volume sliders, and the queue, devices and shortcuts dialogs.

import { useEffect, useRef, useState } from "preact/hooks";
import { Cover, Dialog, duration } from "../components/ui";
import { Link } from "../router";
import { user } from "../session";
import { audio, blocked, muted } from "./audio";
import { current, cycleRepeat, next, playHere, playing, position, previous, seek, setVolume, toggleShuffle, togglePlay } from "./controls";
import { deviceLabel } from "./devices";
import { DevicePicker } from "./DevicePicker";
import { Icon } from "./icons";
import { QueueDialog } from "./QueueDialog";
import { helpOpen, shortcutList } from "./shortcuts";
import { deviceId } from "./device";
import { audible, connected, followRoom, leadTab, state } from "./sync";
import "./index";
import "./player.css";

export function PlayerBar() {
  const s = state.value;
  const song = current.value;
  const [dialog, setDialog] = useState<"queue" | "devices" | null>(null);
  const idle = !s || !s.currentSongId;
  return (
    <footer class={idle ? "player idle" : "player"} aria-label="Player">
      {idle ? (
        <p class="player-nothing muted small">{user.value && !s && !connected.value ? "Player offline, reconnecting…" : "Nothing playing"}</p>
      ) : (
        <>
          <NowPlaying />
          <div class="player-center">
            <Buttons />
            <SeekBar durationMs={song?.durationMs ?? 0} />
          </div>
          <div class="player-side">
            <Where />
            <button type="button" class="icon" aria-label="Queue" title="Queue" onClick={() => setDialog("queue")}>
              <Icon name="queue" />
            </button>
            <button type="button" class="icon" aria-label="Devices" title="Devices" onClick={() => setDialog("devices")}>
              <Icon name="devices" />
            </button>
            <Volume />
          </div>
        </>
      )}
      <Dialog open={dialog === "queue"} onClose={() => setDialog(null)} title="Queue">
        <QueueDialog onDone={() => setDialog(null)} />
      </Dialog>
      <Dialog open={dialog === "devices"} onClose={() => setDialog(null)} title="Devices">
        <DevicePicker onDone={() => setDialog(null)} />
      </Dialog>
      <Dialog open={helpOpen.value} onClose={() => (helpOpen.value = false)} title="Keyboard shortcuts">
        <dl class="shortcut-list">
          {shortcutList.map(([keys, what]) => (
            <div key={keys}>
              <dt>
                <kbd>{keys}</kbd>
              </dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
      </Dialog>
    </footer>
  );
}

function NowPlaying() {
  const s = state.value!;
  const song = current.value;
  if (!song) {
    return (
      <div class="player-now">
        <span class="cover placeholder" style={{ width: 48, height: 48 }} aria-hidden="true" />
        <div class="player-text">
          <span class="player-title muted" data-testid="player-title">
            {s.currentSongId ? "Loading…" : "Nothing playing"}
          </span>
        </div>
      </div>
    );
  }
  return (
    <div class="player-now">
      <Cover song={song} size={48} />
      <div class="player-text">
        <Link class="player-title" data-testid="player-title" href={`/songs/${song.id}`}>
          {song.title}
        </Link>
        <Link class="player-artist muted small" href={`/artists/${song.artistId}`}>
          {song.artistName}
        </Link>
      </div>
    </div>
  );
}

/** In a room only its host commands, unless the host lets everyone. */
function canControl(): boolean {
  const s = state.value;
  if (!s || s.scope !== "room" || !s.room) return true;
  return s.room.controlMode === "everyone" || s.room.hostId === user.value?.id;
}

function Buttons() {
  const s = state.value!;
  const isPlaying = playing.value;
  const disabled = !canControl();
  const repeatText = { off: "off", all: "all songs", one: "this song" }[s.repeat];
  return (
    <div class="player-buttons" title={disabled ? "Only the room's host controls playback" : undefined}>
      <button type="button" class="icon" aria-label="Shuffle" title={s.shuffle ? "Shuffle: on" : "Shuffle: off"} aria-pressed={s.shuffle} disabled={disabled} onClick={toggleShuffle}>
        <Icon name="shuffle" />
      </button>
      <button type="button" class="icon" aria-label="Previous" title="Previous (Shift+P)" disabled={disabled} onClick={previous}>
        <Icon name="previous" />
      </button>
      <button type="button" class="icon play-toggle" aria-label={isPlaying ? "Pause" : "Play"} title={isPlaying ? "Pause (Space)" : "Play (Space)"} disabled={disabled} onClick={togglePlay}>
        <Icon name={isPlaying ? "pause" : "play"} size={22} />
      </button>
      <button type="button" class="icon" aria-label="Next" title="Next (Shift+N)" disabled={disabled} onClick={next}>
        <Icon name="next" />
      </button>
      <button
        type="button"
        class="icon repeat"
        aria-label="Repeat"
        aria-pressed={s.repeat !== "off"}
        aria-description={`Repeat: ${repeatText}`}
        title={`Repeat: ${repeatText}`}
        disabled={disabled}
        onClick={cycleRepeat}
      >
        <Icon name={s.repeat === "one" ? "repeatOne" : "repeat"} />
      </button>
    </div>
  );
}

/** Re-renders every half second while `on`, for the running position. */
function useTicking(on: boolean): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => setTick((t) => t + 1), 500);
    return () => clearInterval(timer);
  }, [on]);
}

function SeekBar({ durationMs }: { durationMs: number }) {
  useTicking(playing.value);
  const [dragging, setDragging] = useState<number | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  void state.value; // re-render on every state change (seeks, pauses)
  const shown = Math.min(dragging ?? position(), durationMs || Infinity);
  const commit = (ms: number) => {
    clearTimeout(timer.current);
    setDragging(null);
    seek(ms);
  };
  return (
    <div class="player-seek">
      <span class="small muted" data-testid="player-position">
        {duration(shown)}
      </span>
      <input
        type="range"
        aria-label="Seek"
        min={0}
        max={Math.max(durationMs, 1000)}
        step={1000}
        value={Math.floor(shown)}
        disabled={!canControl()}
        aria-valuetext={`${duration(shown)} of ${duration(durationMs)}`}
        onInput={(event) => {
          const ms = Number(event.currentTarget.value);
          setDragging(ms);
          clearTimeout(timer.current);
          timer.current = setTimeout(() => commit(ms), 300);
        }}
        onChange={(event) => commit(Number(event.currentTarget.value))}
      />
      <span class="small muted" data-testid="player-duration">
        {duration(durationMs)}
      </span>
    </div>
  );
}

function Volume() {
  const volume = state.value?.volume ?? 100;
  const [dragging, setDragging] = useState<number | null>(null);
  const last = useRef(0);
  const isMuted = muted.value;
  return (
    <div class="player-volume">
      <button type="button" class="icon" aria-label="Mute" title="Mute (M)" aria-pressed={isMuted} onClick={() => (muted.value = !isMuted)}>
        <Icon name={isMuted || volume === 0 ? "muted" : "volume"} />
      </button>
      <input
        type="range"
        aria-label="Volume"
        min={0}
        max={100}
        step={1}
        value={dragging ?? volume}
        onInput={(event) => {
          const value = Number(event.currentTarget.value);
          setDragging(value);
          // While dragging, a few commands a second are plenty.
          if (Date.now() - last.current > 250) {
            last.current = Date.now();
            setVolume(value);
          }
        }}
        onChange={(event) => {
          setDragging(null);
          setVolume(Number(event.currentTarget.value));
          if (muted.value) muted.value = false;
        }}
      />
    </div>
  );
}

/** Where the music plays: a room, another device (with "Play here"), or a browser that needs a click. */
function Where() {
  const s = state.value!;
  if (s.scope === "room") {
    return (
      <span class="player-where small">
        <Link href={`/rooms/${s.roomCode ?? s.room?.code ?? ""}`}>Room {s.room?.name ?? s.roomCode}</Link>
        <button type="button" class="ghost small-button" aria-label="Leave room mode" title="Leave room mode" onClick={() => followRoom(null)}>
          Leave
        </button>
      </span>
    );
  }
  if (s.activeDeviceId && s.activeDeviceId === deviceId.value && !leadTab.value) {
    return <span class="player-where small where-text">Playing in another tab of this browser</span>;
  }
  if (!audible.value && s.activeDeviceId) {
    return (
      <span class="player-where small">
        <span class="where-text">Playing on {deviceLabel(s.activeDeviceId)}</span>
        <button type="button" class="ghost small-button" onClick={playHere}>
          Play here
        </button>
      </span>
    );
  }
  if (audible.value && blocked.value && s.playing) {
    return (
      <span class="player-where small">
        <button type="button" class="small-button" onClick={() => void audio.play().then(() => (blocked.value = false), () => {})}>
          Start audio
        </button>
      </span>
    );
  }
  return null;
}
