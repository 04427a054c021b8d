// Signing in with a one-time code sent by email instead of a password.

import { useEffect, useState } from "preact/hooks";
import { api } from "../../api";
import { Link, navigate } from "../../router";
import { signedIn } from "../../session";
import type { TokenResponse } from "../../types";
import { useTitle } from "../../components/ui";
import { AlreadySignedIn, SignUpLink } from "./SignIn";
import { checkCode, codeErrors, EmailStep, ResendButton, SentNote } from "./codes";
import { AuthCard, CodeField, FormError, nextPath, SubmitButton, useForm, withNext } from "../../components/forms";

export function CodeSignIn() {
  useTitle("Sign in with a code");
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  return (
    <AuthCard title="Sign in with a code" lead="We email you a six-digit code; no password needed.">
      <AlreadySignedIn />
      {sent ? (
        <CodeStep email={email} onChangeEmail={() => setSent(false)} />
      ) : (
        <EmailStep purpose="login" email={email} setEmail={setEmail} onSent={() => setSent(true)} submitLabel="Send me a code" />
      )}
      <ul class="auth-links">
        <li>
          <Link href={withNext("/signin")}>Sign in with a password</Link>
        </li>
        <SignUpLink />
      </ul>
    </AuthCard>
  );
}

function CodeStep({ email, onChangeEmail }: { email: string; onChangeEmail: () => void }) {
  const [code, setCode] = useState("");
  const form = useForm({ code: "Code" }, codeErrors);
  useEffect(() => form.ref.current?.querySelector<HTMLInputElement>("input")?.focus(), []);
  const send = async () => {
    const body = { email: email.trim(), purpose: "login", code };
    const tokens = await api<TokenResponse>("/api/auth/otp/verify", { method: "POST", body, auth: false });
    signedIn(tokens);
    navigate(nextPath("/"), { replace: true });
  };
  return (
    <form class="stack" ref={form.ref} noValidate onSubmit={(e) => form.submit(e, send, () => checkCode(code))}>
      <SentNote email={email} onChange={onChangeEmail} />
      <CodeField value={code} onValue={setCode} error={form.errors.code} />
      <FormError error={form.error} />
      <div class="row">
        <SubmitButton form={form} label="Sign in" busy="Signing in…" />
        <ResendButton email={email} purpose="login" />
      </div>
    </form>
  );
}
