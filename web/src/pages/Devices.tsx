// The listener's devices: which one plays, when each was last seen; rename, remove, play on one.

import { useEffect, useState } from "preact/hooks";
import { api, fieldError } from "../api";
import { Async, Dialog, ErrorNote, toast, useLoad, useTitle } from "../components/ui";
import { transferTo } from "../player/controls";
import { deviceId, forgetDevice } from "../player/device";
import { devices, loadDevices } from "../player/devices";
import { reconnect, state } from "../player/sync";
import "../player/player.css";
import type { Params } from "../router";
import { user } from "../session";
import type { Device } from "../types";

export function Devices(_: { params: Params }) {
  useTitle("Devices");
  const me = deviceId.value;
  const active = state.value?.activeDeviceId ?? null;
  const loaded = useLoad((signal) => loadDevices(signal), [me, active]);
  useEffect(() => {
    const timer = setInterval(loaded.reload, 20_000); // last seen and presence move on their own
    return () => clearInterval(timer);
  }, [loaded.reload]);
  const list = devices.value ?? loaded.data;
  return (
    <section class="page devices-page">
      <h1>Devices</h1>
      <p class="muted">
        Every browser and app you listen on. One plays at a time; the others show what plays and control it.
      </p>
      {state.value?.scope === "room" && (
        <p class="card small">You are listening along in a room, where every member's device plays: leave room mode to play on one device.</p>
      )}
      <Async state={{ ...loaded, data: loaded.data ? list : undefined }}>
        {(items) =>
          items && items.length ? (
            <ul>
              {items.map((d) => (
                <DeviceRow key={d.id} device={d} onChange={loaded.reload} />
              ))}
            </ul>
          ) : (
            <p class="muted">No devices yet. This browser registers itself once the player connects.</p>
          )
        }
      </Async>
    </section>
  );
}

function DeviceRow({ device, onChange }: { device: Device; onChange: () => void }) {
  const [renaming, setRenaming] = useState(false);
  const [removing, setRemoving] = useState(false);
  const isThis = device.id === deviceId.value;
  const inRoom = state.value?.scope === "room";
  return (
    <li class="spread">
      <div>
        <strong>{device.name}</strong>
        {isThis && <span class="tag">This browser</span>}
        {device.isActive && <span class="tag active">{state.value?.playing ? "Playing" : "Active, paused"}</span>}
        <div class="muted small">
          {device.kind} · last seen {ago(device.lastSeenAt)}
        </div>
        {renaming && <RenameForm device={device} onDone={() => (setRenaming(false), onChange())} />}
      </div>
      <div class="row">
        {!device.isActive && !inRoom && (
          <button type="button" onClick={() => transferTo(device.id, true)}>
            Play on {device.name}
          </button>
        )}
        {!renaming && (
          <button type="button" class="ghost" aria-label={`Rename ${device.name}`} onClick={() => setRenaming(true)}>
            Rename
          </button>
        )}
        <button type="button" class="danger" aria-label={`Remove ${device.name}`} onClick={() => setRemoving(true)}>
          Remove
        </button>
      </div>
      <Dialog open={removing} onClose={() => setRemoving(false)} title={`Remove ${device.name}?`}>
        <RemoveConfirm device={device} isThis={isThis} onDone={() => (setRemoving(false), onChange())} />
      </Dialog>
    </li>
  );
}

function RenameForm({ device, onDone }: { device: Device; onDone: () => void }) {
  const [name, setName] = useState(device.name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const nameError = fieldError(error, "name");
  return (
    <form
      class="row"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setError(null);
        try {
          await api(`/api/sync/devices/${encodeURIComponent(device.id)}`, { method: "PATCH", body: { name } });
          onDone();
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <label>
        Device name
        <input value={name} maxLength={64} required onInput={(e) => setName(e.currentTarget.value)} aria-invalid={!!nameError} />
        {nameError && <span class="field-error">{nameError}</span>}
      </label>
      <button type="submit" disabled={busy}>
        Save
      </button>
      <button type="button" class="ghost" onClick={onDone} disabled={busy}>
        Cancel
      </button>
      {!nameError && <ErrorNote error={error} />}
    </form>
  );
}

function RemoveConfirm({ device, isThis, onDone }: { device: Device; isThis: boolean; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/sync/devices/${encodeURIComponent(device.id)}`, { method: "DELETE" });
      if (isThis && user.value) {
        forgetDevice(user.value.id);
        reconnect(); // this browser registers again as a new device
      }
      toast(`Removed ${device.name}.`);
      onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <div class="stack">
      <p>
        {isThis
          ? "This browser will register again as a new device the next time the player connects."
          : "It stops being one of your devices. If it plays now, the music stops."}
      </p>
      <ErrorNote error={error} />
      <div class="row">
        <button type="button" class="danger" onClick={remove} disabled={busy}>
          Remove
        </button>
        <button type="button" class="ghost" onClick={onDone} disabled={busy}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** "just now", "5 min ago", "3 h ago", or the date. */
function ago(iso: string): string {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}
