// Accessibility of the main screens, checked by axe-core (WCAG 2 A and AA rules, contrast
// among them, and axe's best practices) in the light and the dark theme, on a desktop and a
// phone-sized screen; and the player used with the keyboard alone.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { admin, audio, base, call, launch, signIn, until, wav } from "./browser.mjs";

const axeScript = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const run = `a11y${Date.now().toString(36)}`;
const password = "correct horse battery staple";
const listener = { email: `listener-${run}@example.com`, password };
const artist = { email: `artist-${run}@example.com`, password };
const title = `Quiet Harbour ${run}`;
let browser;
let song;
let playlist;

before(async () => {
  browser = await launch();
  const maker = await call("/api/auth/register", { body: { ...artist, displayName: "Harbour Lights", role: "artist" } });
  const form = new FormData();
  form.set("audio", new Blob([wav(30)], { type: "audio/wav" }), "harbour.wav");
  form.set("title", title);
  form.set("genre", "folk");
  song = await call("/api/songs", { token: maker.accessToken, form });
  const fan = await call("/api/auth/register", { body: { ...listener, displayName: "Robin Reader", role: "listener" } });
  playlist = await call("/api/playlists", { token: fan.accessToken, body: { title: "Evening" } });
  await call(`/api/playlists/${playlist.id}/songs`, { token: fan.accessToken, body: { songId: song.id } });
});

after(async () => {
  await browser?.close();
});

/** axe's violations on the page as it is now, one line each. */
async function violations(page) {
  await page.addScriptTag({ path: axeScript });
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "best-practice"] });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
}

async function scan(who, paths, options) {
  const found = [];
  for (const colorScheme of ["light", "dark"]) {
    // axe is injected as a script, which the app's CSP would refuse.
    const context = await browser.newContext({ ...options, colorScheme, bypassCSP: true });
    const page = await context.newPage();
    if (who) await signIn(page, who);
    for (const path of paths()) {
      await page.goto(`${base}${path}`);
      // Rendered (a page heading) and done loading: no `aria-busy` left. An empty shell
      // would pass axe trivially.
      await until(`${path} to finish loading`, async () =>
        (await page.locator("main h1").count()) > 0 && (await page.locator("[aria-busy=true]").count()) === 0,
      );
      for (const v of await violations(page)) found.push(`${colorScheme} ${options.viewport.width}px ${path}: ${v}`);
    }
    await context.close();
  }
  assert.deepEqual(found, [], "no accessibility violations");
}

const desktop = { viewport: { width: 1280, height: 800 } };
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

test("a listener's screens pass axe on a desktop", () =>
  scan(listener, () => ["/", `/search?q=${encodeURIComponent(title)}`, `/songs/${song.id}`, `/artists/${song.artistId}`, "/playlists", `/playlists/${playlist.id}`, "/history", "/devices", "/rooms", "/account", "/notifications"], desktop));

test("a listener's screens pass axe on a phone", () =>
  scan(listener, () => ["/", `/search?q=${encodeURIComponent(title)}`, `/playlists/${playlist.id}`], phone));

test("the artist's studio passes axe", () => scan(artist, () => ["/studio", "/studio/upload", `/studio/songs/${song.id}`], desktop));

test("the sign-in screens pass axe", () => scan(null, () => ["/signin", "/signup", "/signin/code", "/reset-password"], desktop));

test("the admin's screens pass axe", () =>
  scan(admin(), () => ["/admin/users", "/admin/songs", "/admin/playlists", "/admin/events", "/admin/activity"], desktop));

test("the player works from the keyboard alone", async () => {
  const context = await browser.newContext(desktop);
  const page = await context.newPage();
  await signIn(page, listener);
  await page.goto(`${base}/playlists/${playlist.id}`);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
  const playButton = page.getByRole("button", { name: `Play ${title}` }).first();
  await until("the playlist's song", () => playButton.isVisible());
  // Tab through the page to the song's play button, then Enter.
  await until("the song's play button to take the focus", async () => {
    await page.keyboard.press("Tab");
    return playButton.evaluate((el) => el === document.activeElement);
  }, 15_000);
  await page.keyboard.press("Enter");
  await until("the audio to play", async () => (await audio(page))?.paused === false);
  // Shortcuts act when the focus is on no control: Space pauses, → skips ahead 5 s.
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
  await page.keyboard.press("Space");
  await until("Space to pause", async () => (await audio(page)).paused);
  const before = (await audio(page)).time;
  await page.keyboard.press("ArrowRight");
  await until("→ to move 5 s ahead", async () => (await audio(page)).time >= before + 4.5);
  await page.keyboard.press("Shift+?");
  await until("the shortcuts dialog", () => page.getByRole("dialog").isVisible());
  await page.keyboard.press("Escape");
  await until("the dialog to close", async () => !(await page.getByRole("dialog").isVisible()));
  await context.close();
});
