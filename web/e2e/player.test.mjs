// The web player's user stories in headless Chromium, against the app at $SPINDLE_URL (run by
// tests/tests/web.rs, which starts the app with its own Redis and state). One story, in
// order: an artist uploads, a listener finds, plays, seeks and keeps the song in a playlist,
// and a second browser of the same listener pauses the first.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { admin, audio, base, launch, seconds, shot, signIn, signUp, until, wav } from "./browser.mjs";
import { cover, seed } from "./seed.mjs";

const run = Date.now().toString(36);
const password = "correct horse battery staple";
const artist = { email: `artist-${run}@example.com`, password, name: `Aurora Vale`, role: "Artist" };
const listener = { email: `listener-${run}@example.com`, password, name: `Lee Listener`, role: "Listener" };
const title = `Northern Lights ${run}`;

let browser;
before(async () => {
  browser = await launch();
  // Screenshots look like the app in use: a few more artists, songs, covers and albums.
  if (process.env.SPINDLE_SCREENSHOTS) await seed(run, password);
});
after(async () => {
  await browser?.close();
});

const desktop = { viewport: { width: 1280, height: 800 } };

test("an artist uploads, a listener plays on two devices", async (t) => {
  const artistContext = await browser.newContext(desktop);
  const studio = await artistContext.newPage();
  const listenerContext = await browser.newContext(desktop);
  const player = await listenerContext.newPage();
  const otherContext = await browser.newContext(desktop);
  const other = await otherContext.newPage();
  const failures = [];
  for (const page of [studio, player, other]) page.on("pageerror", (error) => failures.push(error.message));

  await t.test("an artist signs up and uploads a song with a cover, and sees its duration", async () => {
    await signUp(studio, artist);
    await studio.goto(`${base}/studio/upload`);
    await studio.getByLabel("Audio file").setInputFiles({ name: "northern-lights.wav", mimeType: "audio/wav", buffer: wav(120) });
    await studio.getByLabel("Cover image").setInputFiles({ name: "aurora.png", mimeType: "image/png", buffer: cover([40, 170, 150], 1) });
    await studio.getByLabel("Title").fill(title);
    await studio.getByLabel("Genre").fill("jazz");
    await studio.getByRole("button", { name: "Upload", exact: true }).click();
    const shown = await until("the uploaded song's duration", async () => {
      const el = studio.getByTestId("uploaded-duration");
      return (await el.count()) > 0 && (await el.textContent());
    });
    assert.equal(shown.trim(), "2:00");
    await shot(studio, "upload");
    await studio.goto(`${base}/studio`);
    const row = studio.getByRole("row").filter({ hasText: title });
    await until("the song in the studio", () => row.isVisible());
    assert.match(await row.textContent(), /2:00/);
    assert.equal(await row.locator("img.cover").count(), 1, "the uploaded cover shows in the studio");
    await shot(studio, "studio");
  });

  await t.test("a listener finds it by search as they type and plays it", async () => {
    await signUp(player, listener);
    await player.getByRole("searchbox", { name: "Search" }).pressSequentially(`northern lights ${run}`, { delay: 30 });
    const play = player.getByRole("button", { name: `Play ${title}` });
    await until("the song in the search results", () => play.first().isVisible());
    await shot(player, "search");
    await play.first().click();
    await until("the player bar to show the song", async () => (await player.getByTestId("player-title").textContent())?.includes(title));
    const start = seconds(await player.getByTestId("player-position").textContent());
    await until("the position to advance", async () => seconds(await player.getByTestId("player-position").textContent()) >= start + 2);
    const state = await audio(player);
    assert.equal(state.paused, false, "the audio element plays");
    assert.equal(seconds(await player.getByTestId("player-duration").textContent()), 120);
  });

  await t.test("seeking moves playback, which goes on from there", async () => {
    await player.getByRole("slider", { name: "Seek" }).fill("40000");
    await until("the audio to be at 0:40", async () => {
      const { time, paused } = await audio(player);
      return time >= 40 && time < 45 && !paused;
    });
    const at = seconds(await player.getByTestId("player-position").textContent());
    assert.ok(at >= 40 && at < 45, `position ${at} after seeking to 40`);
    await until("playback to go on after the seek", async () => (await audio(player)).time >= 41.5);
  });

  await t.test("the listener makes a playlist and adds the song", async () => {
    await player.getByRole("link", { name: "Playlists", exact: true }).click();
    await player.getByRole("button", { name: "New playlist" }).click();
    const dialog = player.getByRole("dialog");
    await dialog.getByLabel("Title").fill("Night drive");
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await until("the new playlist's page", () => /\/playlists\/[0-9A-Z]+$/.test(new URL(player.url()).pathname));
    const playlistPath = new URL(player.url()).pathname;

    await player.getByRole("searchbox", { name: "Search" }).fill(title);
    const add = player.getByRole("button", { name: `Add ${title} to a playlist` });
    await until("the song in the search results", () => add.first().isVisible());
    await add.first().click();
    await player.getByRole("dialog").getByRole("button", { name: "Night drive", exact: true }).click();
    await until("the confirmation", () => player.getByText("Added to Night drive").first().isVisible());

    await player.getByRole("link", { name: "Playlists", exact: true }).click();
    await player.getByRole("link", { name: "Night drive" }).first().click();
    await until("the playlist page", () => new URL(player.url()).pathname === playlistPath);
    await until("the song on the playlist", () => player.getByRole("button", { name: `Play ${title}` }).first().isVisible());
    assert.equal((await audio(player)).paused, false, "navigating in the app keeps the music playing");
    await shot(player, "playlist");
  });

  await t.test("another device of the listener pauses it, and the first follows within two seconds", async () => {
    await signIn(other, listener);
    const bar = other.getByRole("contentinfo", { name: "Player" });
    await until("the second device to see the song playing on the first", async () =>
      (await bar.textContent())?.includes(title) && (await bar.getByText(/Playing on/).count()) > 0,
    );
    await shot(other, "other-device");
    assert.equal((await audio(player)).paused, false);

    const clicked = Date.now();
    await bar.getByRole("button", { name: "Pause", exact: true }).click();
    await until("the first device to pause", async () => (await audio(player)).paused, 2_000);
    const took = Date.now() - clicked;
    console.log(`the first device paused ${took} ms after the click on the second`);
    await until("the first device's button to offer Play", () =>
      player.getByRole("contentinfo", { name: "Player" }).getByRole("button", { name: "Play", exact: true }).isVisible(),
    );
  });

  await t.test("the queue can hold a song twice and play either entry", async () => {
    await player.getByRole("searchbox", { name: "Search" }).fill(title);
    await player.getByRole("button", { name: `Add ${title} to queue` }).first().click();
    const bar = player.getByRole("contentinfo", { name: "Player" });
    await bar.getByRole("button", { name: "Queue" }).click();
    const entries = player.getByRole("dialog").getByRole("listitem");
    await until("two entries in the queue", async () => (await entries.count()) === 2);
    assert.equal(await entries.nth(0).getByRole("button").getAttribute("aria-current"), "true");
    await entries.nth(1).getByRole("button").click();
    await until("the first device to play again", async () => !(await audio(player)).paused);
    await bar.getByRole("button", { name: "Queue" }).click();
    await until("the second entry to be the current one", async () =>
      (await player.getByRole("dialog").getByRole("listitem").nth(1).getByRole("button").getAttribute("aria-current")) === "true",
    );
    await player.keyboard.press("Escape");
  });

  await t.test("the main screens render without errors", async () => {
    await player.getByRole("link", { name: "Home", exact: true }).click();
    await until("the home page", () => player.getByRole("heading", { level: 2 }).first().isVisible());
    await shot(player, "home");
    await player.getByRole("link", { name: "Devices", exact: true }).click();
    await until("the devices page", () => player.getByText("This browser").first().isVisible());
    await shot(player, "devices");
    await player.goto(`${base}/search?q=${encodeURIComponent(title)}`);
    await player.getByRole("link", { name: "Aurora Vale" }).first().click();
    await until("the artist page", () => player.getByRole("heading", { name: "Aurora Vale" }).isVisible());
    await shot(player, "artist");
    await player.getByRole("link", { name: title }).first().click();
    await until("the song page", () => player.getByRole("heading", { name: title }).isVisible());
    await shot(player, "song");

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const small = await phone.newPage();
    small.on("pageerror", (error) => failures.push(error.message));
    await signIn(small, listener);
    await small.goto(`${base}/search?q=${encodeURIComponent(title)}`);
    await until("search on a phone", () => small.getByRole("button", { name: `Play ${title}` }).first().isVisible());
    await shot(small, "phone");
    await phone.close();

    const adminContext = await browser.newContext(desktop);
    const page = await adminContext.newPage();
    page.on("pageerror", (error) => failures.push(error.message));
    await signIn(page, admin());
    await page.goto(`${base}/admin/users`);
    await until("the admin's user list", () => page.getByText(listener.email).first().isVisible());
    await shot(page, "admin");
    await adminContext.close();
    assert.deepEqual(failures, [], "no uncaught errors in the pages");
  });

  await Promise.all([artistContext.close(), listenerContext.close(), otherContext.close()]);
});
