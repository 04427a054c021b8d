// Signing in without a password: a code sent by email, and a password reset, through the
// pages. The codes are read from the notification component's dev outbox (the runner starts
// the app without a mail relay and gives the operator token in $SPINDLE_OPS_TOKEN).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { base, launch, signedIn, signIn, until } from "./browser.mjs";

const run = `acct${Date.now().toString(36)}`;
let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function register(email, password) {
  const answer = await fetch(`${base}/api/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password, displayName: "Casey Code", role: "listener" }),
  });
  if (answer.status !== 201) throw new Error(`register: ${answer.status} ${await answer.text()}`);
}

/** The six-digit code of the newest one-time-code email to `email` sent after `since`. */
async function codeFor(email, since) {
  const token = process.env.SPINDLE_OPS_TOKEN;
  if (!token) throw new Error("set SPINDLE_OPS_TOKEN (tests/tests/web.rs does)");
  return until(`the code emailed to ${email}`, async () => {
    const answer = await fetch(`${base}/api/admin/notifications/outbox`, { headers: { Authorization: `Bearer ${token}` } });
    const { items } = await answer.json();
    const mail = items
      .filter((m) => m.recipient === email && m.template === "one_time_code" && Date.parse(m.createdAt) >= since)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
    return mail?.textBody.match(/\b(\d{6})\b/)?.[1];
  });
}

test("a listener signs in with a code sent by email", async () => {
  const email = `code-${run}@example.com`;
  await register(email, "a first long passphrase");
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/signin`);
  await page.getByRole("link", { name: "Sign in with a code instead" }).click();
  const asked = Date.now() - 1000;
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Send me a code" }).click();
  const code = page.getByLabel("Code", { exact: true });
  await code.fill("000000");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await until("a wrong code to be refused", async () => (await code.getAttribute("aria-invalid")) === "true");
  await code.fill(await codeFor(email, asked));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await signedIn(page, "Casey Code");
  await context.close();
});

test("a listener resets a forgotten password and signs in with the new one", async () => {
  const email = `reset-${run}@example.com`;
  await register(email, "the password I forgot");
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/signin`);
  await page.getByRole("link", { name: "Forgot password?" }).click();
  const asked = Date.now() - 1000;
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByRole("button", { name: /code/i }).first().click();
  await page.getByLabel("Code", { exact: true }).fill(await codeFor(email, asked));
  await page.getByLabel("New password", { exact: true }).fill("a brand new passphrase");
  await page.getByRole("button", { name: "Change password" }).click();
  await until("the confirmation", () => page.getByText(/Password changed/).first().isVisible());
  await signIn(page, { email, password: "a brand new passphrase" });
  assert.equal(new URL(page.url()).pathname === "/signin", false, "signed in, away from the form");
  await context.close();
});
