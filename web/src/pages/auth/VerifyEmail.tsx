// Proving the signed-in account's email address with a code sent to it.

import { useEffect, useState } from "preact/hooks";
import { api } from "../../api";
import { Link } from "../../router";
import { refresh, session, updateUser, user } from "../../session";
import type { Me } from "../../types";
import { useTitle } from "../../components/ui";
import { checkCode, codeErrors, requestCode, ResendButton } from "./codes";
import { AuthCard, CodeField, FormError, SubmitButton, useForm } from "../../components/forms";

export function VerifyEmail() {
  useTitle("Verify your email");
  const me = user.value!;
  const [sent, setSent] = useState(false);
  const [done, setDone] = useState(false);
  if (me.emailVerified) {
    return (
      <AuthCard title="Verify your email">
        <p role="status">{done ? "Your email is verified." : `${me.email} is already verified.`}</p>
        <Link class="button" href="/account">
          Back to your account
        </Link>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Verify your email" lead="Verifying lets you sign in with a code and proves the address is yours.">
      {sent ? <VerifyStep email={me.email} onDone={() => setDone(true)} /> : <SendStep email={me.email} onSent={() => setSent(true)} />}
    </AuthCard>
  );
}

function SendStep({ email, onSent }: { email: string; onSent: () => void }) {
  const form = useForm({});
  return (
    <form class="stack" ref={form.ref} onSubmit={(e) => form.submit(e, () => requestCode(email, "verify_email").then(onSent))}>
      <p>
        We will send a six-digit code to <strong>{email}</strong>.
      </p>
      <FormError error={form.error} />
      <SubmitButton form={form} label="Send code" busy="Sending…" />
    </form>
  );
}

function VerifyStep({ email, onDone }: { email: string; onDone: () => void }) {
  const [code, setCode] = useState("");
  const form = useForm({ code: "Code" }, codeErrors);
  useEffect(() => form.ref.current?.querySelector<HTMLInputElement>("input")?.focus(), []);
  const send = async () => {
    const before = user.value?.role;
    const me = await api<Me>("/api/auth/otp/verify", { method: "POST", body: { email, purpose: "verify_email", code }, auth: false });
    onDone();
    updateUser(me);
    // Verifying can make an account admin; the access token carries the role, so renew it.
    const token = session.value?.accessToken;
    if (me.role !== before && token) await refresh(token);
  };
  return (
    <form class="stack" ref={form.ref} noValidate onSubmit={(e) => form.submit(e, send, () => checkCode(code))}>
      <p class="notice" role="status">
        We sent a code to <strong>{email}</strong>. It works for 10 minutes.
      </p>
      <CodeField value={code} onValue={setCode} error={form.errors.code} />
      <FormError error={form.error} />
      <div class="row">
        <SubmitButton form={form} label="Verify email" busy="Verifying…" />
        <ResendButton email={email} purpose="verify_email" />
      </div>
    </form>
  );
}
