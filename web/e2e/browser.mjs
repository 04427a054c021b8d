// What the end-to-end tests share: launching Debian's Chromium through playwright-core with
// the flags that keep it off the network, a generated audio file, waiting for conditions,
// and screenshots into $SPINDLE_SCREENSHOTS when it is set.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const base = (process.env.SPINDLE_URL ?? "http://127.0.0.1:3000").replace(/\/$/, "");
const shotsDir = process.env.SPINDLE_SCREENSHOTS;

/** Chromium as root in a container, headless, making no connection of its own. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.SPINDLE_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--disable-domain-reliability",
      "--disable-breakpad",
      "--metrics-recording-only",
      "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
      // Nothing but the app under test resolves.
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
      // Audio starts when the test clicks Play as well as when a remote command asks for it.
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

/** A WAV file: `seconds` of a 440 Hz tone, 8 kHz mono 16-bit PCM. */
export function wav(seconds) {
  const rate = 8000;
  const samples = rate * seconds;
  const out = Buffer.alloc(44 + samples * 2);
  out.write("RIFF", 0);
  out.writeUInt32LE(36 + samples * 2, 4);
  out.write("WAVEfmt ", 8);
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write("data", 36);
  out.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    out.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 8000), 44 + i * 2);
  }
  return out;
}

/** Polls `check` until it returns a truthy value; fails naming `what` after `ms`. */
export async function until(what, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Seconds in an `m:ss` or `h:mm:ss` text. */
export function seconds(text) {
  return text
    .trim()
    .split(":")
    .map(Number)
    .reduce((total, part) => total * 60 + part, 0);
}

/** A screenshot of `page` as `name`.png, when screenshots were asked for. */
export async function shot(page, name) {
  if (!shotsDir) return;
  mkdirSync(shotsDir, { recursive: true });
  // Not "networkidle": the player's long poll keeps a request open all the time. Toasts of
  // earlier steps would cover the screen.
  const hide = await page.addStyleTag({ content: ".toasts { display: none !important; }" });
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(shotsDir, `${name}.png`) });
  await hide.evaluate((style) => style.remove());
}

/** The admin account the runner made (an admin needs a verified email named in `admin_emails`). */
export function admin() {
  const email = process.env.SPINDLE_ADMIN_EMAIL;
  const password = process.env.SPINDLE_ADMIN_PASSWORD;
  if (!email || !password) throw new Error("set SPINDLE_ADMIN_EMAIL and SPINDLE_ADMIN_PASSWORD (tests/tests/web.rs does)");
  return { email, password };
}

/** Signs up through the page; `role` is "Listener" or "Artist". */
export async function signUp(page, { email, password, name, role }) {
  await page.goto(`${base}/signup`);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Display name", { exact: true }).fill(name);
  await page.getByLabel(role, { exact: true }).check();
  await page.getByRole("button", { name: "Create account" }).click();
  await until("the signed-in account menu", () => page.getByText(name).first().isVisible());
}

export async function signIn(page, { email, password }) {
  await page.goto(`${base}/signin`);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await signedIn(page);
}

/** Waits for the top bar's account menu (of `name`, when given): the page has a session. */
export async function signedIn(page, name) {
  const menu = name ? `summary[aria-label='Account: ${name}']` : "summary[aria-label^='Account:']";
  await until(`the account menu${name ? ` of ${name}` : ""}`, async () => (await page.locator(menu).count()) > 0);
}

/** An API call as a client makes it: JSON or form data in, JSON out; fails on an error status. */
export async function call(path, { token, body, form, method = "POST" } = {}) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  if (body) headers["Content-Type"] = "application/json";
  const answer = await fetch(`${base}${path}`, { method, headers, body: form ?? (body && JSON.stringify(body)) });
  if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${await answer.text()}`);
  return answer.status === 204 ? null : answer.json();
}

/** Page state of the player: the audio element's and the bar's. */
export function audio(page) {
  return page.evaluate(() => {
    const a = document.querySelector("[data-testid=player-audio]");
    return a ? { paused: a.paused, time: a.currentTime, src: a.currentSrc } : null;
  });
}
