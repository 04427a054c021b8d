// The listener's devices, for names in the player ("Playing on …") and the device picker.

import { effect, signal } from "@preact/signals";
import { api } from "../api";
import type { Device } from "../types";
import { deviceHeaders, deviceId } from "./device";
import { state } from "./sync";

export const devices = signal<Device[] | null>(null);

export async function loadDevices(signal?: AbortSignal): Promise<Device[]> {
  const list = await api<{ items: Device[] }>("/api/sync/devices", { headers: deviceHeaders(), signal });
  devices.value = list.items;
  return list.items;
}

/** A device's name, when the list knows it. */
export function deviceLabel(id: string | null | undefined): string {
  if (!id) return "another device";
  if (id === deviceId.value) return "this browser";
  return devices.value?.find((d) => d.id === id)?.name ?? "another device";
}

// A device we have not heard of became active: learn its name.
effect(() => {
  const active = state.value?.activeDeviceId;
  if (active && active !== deviceId.peek() && !devices.peek()?.some((d) => d.id === active)) {
    loadDevices().catch(() => {});
  }
});
