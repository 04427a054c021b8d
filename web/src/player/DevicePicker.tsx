// The listener's devices, to move the playback to one of them.

import { useState } from "preact/hooks";
import { Async, useLoad } from "../components/ui";
import { Link } from "../router";
import { transferTo } from "./controls";
import { deviceId } from "./device";
import { devices, loadDevices } from "./devices";
import { state } from "./sync";

export function DevicePicker({ onDone }: { onDone: () => void }) {
  const loaded = useLoad((signal) => loadDevices(signal), []);
  const [busy, setBusy] = useState(false);
  const s = state.value;
  if (s?.scope === "room") {
    return <p class="muted">In a listening room every member's device plays along; leave room mode to choose a device.</p>;
  }
  return (
    <Async state={{ ...loaded, data: loaded.data && devices.value ? devices.value : loaded.data }}>
      {(list) => (
        <div class="stack">
          <ul class="device-list">
            {list.map((d) => {
              const active = s?.activeDeviceId === d.id;
              return (
                <li key={d.id} class="spread">
                  <span>
                    <strong>{d.name}</strong>
                    {d.id === deviceId.value && <span class="tag">This browser</span>}
                    {active && <span class="tag active">Playing</span>}
                  </span>
                  {!active && (
                    <button
                      type="button"
                      class="ghost"
                      disabled={busy}
                      onClick={() => {
                        setBusy(true);
                        transferTo(d.id, true);
                        onDone();
                      }}
                    >
                      Play on {d.name}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
          <Link href="/devices" onClick={onDone}>
            Manage devices
          </Link>
        </div>
      )}
    </Async>
  );
}
