// Creating an account: listener or artist, then straight in (artists to their studio).

import { useState } from "preact/hooks";
import { api } from "../../api";
import { Link, navigate } from "../../router";
import { signedIn } from "../../session";
import type { TokenResponse } from "../../types";
import { useTitle } from "../../components/ui";
import { AlreadySignedIn, GoogleButton } from "./SignIn";
import {
  AuthCard,
  DisplayNameField,
  EmailField,
  FormError,
  looksLikeEmail,
  nextPath,
  passwordLengthError,
  PasswordField,
  SubmitButton,
  useForm,
  withNext,
  type FieldErrors,
} from "../../components/forms";

type Role = "listener" | "artist";

export function SignUp() {
  useTitle("Create an account");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [role, setRole] = useState<Role>("listener");
  const form = useForm({ email: "Email", password: "Password", displayName: "Display name", role: "Role" }, (err) =>
    err.status === 409
      ? {
          email: (
            <>
              An account with this email already exists. <Link href={withNext("/signin")}>Sign in</Link> instead?
            </>
          ),
        }
      : null,
  );

  const check = (): FieldErrors => {
    const errors: FieldErrors = {};
    if (!looksLikeEmail(email)) errors.email = "Enter an email address, like name@example.com.";
    const length = passwordLengthError(password, "Password");
    if (length) errors.password = length;
    else if (password.toLowerCase() === email.trim().toLowerCase()) errors.password = "Password must not be the email address.";
    if (!displayName.trim()) errors.displayName = "Enter the name others will see.";
    else if (displayName.trim().length > 64) errors.displayName = "Display name must be at most 64 characters.";
    return errors;
  };
  const send = async () => {
    const body = { email: email.trim(), password, displayName: displayName.trim(), role };
    const tokens = await api<TokenResponse>("/api/auth/register", { method: "POST", body, auth: false });
    signedIn(tokens);
    navigate(nextPath(tokens.user.role === "artist" ? "/studio" : "/"), { replace: true });
  };

  return (
    <AuthCard title="Create an account">
      <AlreadySignedIn />
      <form class="stack" ref={form.ref} noValidate onSubmit={(e) => form.submit(e, send, check)}>
        <EmailField value={email} onValue={setEmail} error={form.errors.email} required />
        <PasswordField fresh value={password} onValue={setPassword} error={form.errors.password} required />
        <DisplayNameField value={displayName} onValue={setDisplayName} error={form.errors.displayName} required />
        <fieldset class="choice">
          <legend>I am a</legend>
          <label class="inline">
            <input type="radio" name="role" value="listener" checked={role === "listener"} onChange={() => setRole("listener")} />
            Listener
          </label>
          <label class="inline">
            <input type="radio" name="role" value="artist" checked={role === "artist"} onChange={() => setRole("artist")} />
            Artist
          </label>
          <p class="muted small">Artists can also upload their own songs and albums.</p>
          {form.errors.role && <p class="field-error">{form.errors.role}</p>}
        </fieldset>
        <FormError error={form.error} />
        <SubmitButton form={form} label="Create account" busy="Creating account…" />
      </form>
      <GoogleButton />
      <p class="auth-links">
        Already have an account? <Link href={withNext("/signin")}>Sign in</Link>
      </p>
    </AuthCard>
  );
}
