// Signing in with an email and a password, with the ways round it (a code, a reset, Google).

import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../../api";
import { Link, navigate } from "../../router";
import { signedIn, user } from "../../session";
import type { TokenResponse } from "../../types";
import { useTitle } from "../../components/ui";
import { AuthCard, EmailField, FormError, looksLikeEmail, nextPath, PasswordField, SubmitButton, useForm, withNext, type FieldErrors } from "../../components/forms";

export function SignIn() {
  useTitle("Sign in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const form = useForm({ email: "Email", password: "Password" });

  const check = (): FieldErrors => {
    const errors: FieldErrors = {};
    if (!looksLikeEmail(email)) errors.email = "Enter your email address.";
    if (!password) errors.password = "Enter your password.";
    return errors;
  };
  const send = async () => {
    try {
      const tokens = await api<TokenResponse>("/api/auth/login", { method: "POST", body: { email: email.trim(), password }, auth: false });
      signedIn(tokens);
      navigate(nextPath("/"), { replace: true });
    } catch (err) {
      // The API will not say which of the two was wrong, and neither should we.
      if (err instanceof ApiError && err.status === 401) throw new Error("The email or password is wrong.");
      if (err instanceof ApiError && err.status === 403) throw new Error("This account is blocked. Contact the site's administrators.");
      throw err;
    }
  };

  return (
    <AuthCard title="Sign in">
      <AlreadySignedIn />
      <form class="stack" ref={form.ref} noValidate onSubmit={(e) => form.submit(e, send, check)}>
        <EmailField value={email} onValue={setEmail} error={form.errors.email} required />
        <PasswordField value={password} onValue={setPassword} error={form.errors.password} required />
        <FormError error={form.error} />
        <SubmitButton form={form} label="Sign in" busy="Signing in…" />
      </form>
      <GoogleButton />
      <ul class="auth-links">
        <li>
          <Link href={withNext("/signin/code")}>Sign in with a code instead</Link>
        </li>
        <li>
          <Link href={withNext("/reset-password")}>Forgot password?</Link>
        </li>
        <SignUpLink />
      </ul>
    </AuthCard>
  );
}

/** Said on the sign-in pages when someone already is: signing in again switches accounts. */
export function AlreadySignedIn() {
  const me = user.value;
  if (!me) return null;
  return (
    <p class="notice small">
      You are signed in as {me.displayName} ({me.email}). Signing in here switches accounts. <Link href={nextPath("/")}>Continue</Link>
    </p>
  );
}

/** The way to sign-up from the sign-in pages, keeping where they were going. */
export function SignUpLink() {
  return (
    <li>
      New here? <Link href={withNext("/signup")}>Create an account</Link>
    </li>
  );
}

const NEXT_KEY = "spindle.google-next";

/** Google sends people back to a fixed address, so where they were going waits in this tab. */
function rememberNext() {
  sessionStorage.setItem(NEXT_KEY, nextPath("/"));
}

/** Where a Google sign-in started from wanted to go (once). */
export function takeRememberedNext(): string {
  const next = sessionStorage.getItem(NEXT_KEY);
  sessionStorage.removeItem(NEXT_KEY);
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

let googleProbe: Promise<boolean> | null = null;

/**
 * Whether Google sign-in is configured, asked once per page load: the start route redirects
 * (seen by fetch as an opaque redirect) when it is, and answers 404 when it is not.
 */
function googleConfigured(): Promise<boolean> {
  googleProbe ??= fetch("/api/auth/google", { redirect: "manual" }).then(
    (answer) => answer.type === "opaqueredirect",
    () => false,
  );
  return googleProbe;
}

/** A plain link, since the sign-in must be a top-level navigation to carry its cookie. */
export function GoogleButton() {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    let live = true;
    googleConfigured().then((yes) => live && setShown(yes));
    return () => void (live = false);
  }, []);
  if (!shown) return null;
  return (
    <div class="google">
      <p class="or muted small">or</p>
      <a class="button ghost google-button" href="/api/auth/google" onClick={rememberNext}>
        Continue with Google
      </a>
    </div>
  );
}
