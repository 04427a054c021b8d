// "Continue with Google" in a real browser, against the test OpenID provider the runner
// starts ($SPINDLE_GOOGLE_NAME is who it signs in): the page offers the button because sign-in
// is configured, the provider sends the browser back to the app's callback, and the app's
// /auth/callback page trades the handoff code for the session.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { base, launch, signedIn, until } from "./browser.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("a listener signs in with Google and comes back to the page they wanted", async () => {
  const name = process.env.SPINDLE_GOOGLE_NAME;
  if (!name) throw new Error("set SPINDLE_GOOGLE_NAME (tests/tests/web.rs does)");
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/signin?next=${encodeURIComponent("/playlists")}`);
  const google = page.getByRole("link", { name: "Continue with Google" });
  await until("the Google button", () => google.isVisible());
  await google.click();
  await signedIn(page, name);
  assert.equal(new URL(page.url()).pathname, "/playlists", "back where the sign-in started");
  // A code that is not a live handoff (used up, forged) is an error on the callback page.
  await page.goto(`${base}/auth/callback?code=used-or-forged`);
  await until("the callback's error", () => page.getByRole("alert").first().isVisible());
  await context.close();
});
