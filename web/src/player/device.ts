// This browser as one of the listener's sync devices: registered once per user, its id kept in
// localStorage so reloads and later visits are the same device.

import { signal } from "@preact/signals";
import { api, ApiError } from "../api";

interface Registered {
  id: string;
}

/** This browser's device id for the signed-in user, once known. */
export const deviceId = signal<string | null>(null);

const key = (userId: string) => `spindle.device.${userId}`;

/** A name people recognise in a device list, like "Chrome on Linux". */
function deviceName(ua = navigator.userAgent): string {
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /OPR\//.test(ua)
      ? "Opera"
      : /Firefox\//.test(ua)
        ? "Firefox"
        : /Chrom(e|ium)\//.test(ua)
          ? "Chrome"
          : /Safari\//.test(ua)
            ? "Safari"
            : "Browser";
  const os = /iPhone/.test(ua)
    ? "iPhone"
    : /iPad/.test(ua)
      ? "iPad"
      : /Android/.test(ua)
        ? "Android"
        : /CrOS/.test(ua)
          ? "ChromeOS"
          : /Windows/.test(ua)
            ? "Windows"
            : /Mac OS X|Macintosh/.test(ua)
              ? "macOS"
              : /Linux/.test(ua)
                ? "Linux"
                : "the web";
  return `${browser} on ${os}`;
}

/** The stored id, or a new registration. */
export async function ensureDevice(userId: string, signal?: AbortSignal): Promise<string> {
  const stored = localStorage.getItem(key(userId));
  if (stored) return (deviceId.value = stored);
  // Two browsers of the same kind would share a name: number the newcomer so pickers tell them apart.
  const taken = await api<{ items: { name: string }[] }>("/api/sync/devices", { signal }).then(
    (list) => new Set(list.items.map((d) => d.name)),
    () => new Set<string>(),
  );
  const base = deviceName();
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base} (${n})`;
  const device = await api<Registered>("/api/sync/devices", {
    method: "POST",
    body: { name, kind: "web" },
    signal,
  });
  // Signed out (or told to start over) while registering: the poll that asked is gone.
  signal?.throwIfAborted();
  localStorage.setItem(key(userId), device.id);
  return (deviceId.value = device.id);
}

/** Forget the id (the server no longer knows it): the next `ensureDevice` registers anew. */
export function forgetDevice(userId: string): void {
  localStorage.removeItem(key(userId));
  deviceId.value = null;
}

/** The API refused the device id itself (deleted, or another user's), not something else. */
export function isDeviceProblem(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 403) && /device/i.test(error.detail);
}

/** Headers naming this device. */
export function deviceHeaders(): Record<string, string> {
  return deviceId.value ? { "X-Device-Id": deviceId.value } : {};
}
