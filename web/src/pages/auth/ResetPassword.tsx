// Choosing a new password with a code sent by email; also how accounts made by Google sign-in
// get a password at all.

import { useEffect, useState } from "preact/hooks";
import { api } from "../../api";
import { Link } from "../../router";
import { signedOut, user } from "../../session";
import { useTitle } from "../../components/ui";
import { checkCode, codeErrors, EmailStep, ResendButton, SentNote } from "./codes";
import { AuthCard, CodeField, FormError, passwordLengthError, PasswordField, SubmitButton, useForm, withNext, type FieldErrors } from "../../components/forms";

type Step = "email" | "code" | "done";

export function ResetPassword() {
  useTitle("Reset your password");
  const [email, setEmail] = useState(user.value?.email ?? "");
  const [step, setStep] = useState<Step>("email");
  if (step === "done") {
    return (
      <AuthCard title="Password changed">
        <p role="status">Password changed, sign in with your new password. Every device that was signed in has been signed out.</p>
        <Link class="button" href={withNext("/signin")}>
          Sign in
        </Link>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Reset your password" lead="We email you a code; with it you choose a new password.">
      {step === "email" ? (
        <EmailStep purpose="reset_password" email={email} setEmail={setEmail} onSent={() => setStep("code")} />
      ) : (
        <NewPasswordStep email={email} onChangeEmail={() => setStep("email")} onDone={() => setStep("done")} />
      )}
      <p class="auth-links">
        Remembered it? <Link href={withNext("/signin")}>Sign in</Link>
      </p>
    </AuthCard>
  );
}

function NewPasswordStep({ email, onChangeEmail, onDone }: { email: string; onChangeEmail: () => void; onDone: () => void }) {
  const [code, setCode] = useState("");
  const [newPassword, setNewPassword] = useState("");
  const form = useForm({ code: "Code", newPassword: "New password" }, codeErrors);
  useEffect(() => form.ref.current?.querySelector<HTMLInputElement>("input")?.focus(), []);

  const check = (): FieldErrors => {
    const errors = checkCode(code);
    const length = passwordLengthError(newPassword, "New password");
    if (length) errors.newPassword = length;
    return errors;
  };
  const send = async () => {
    const body = { email: email.trim(), purpose: "reset_password", code, newPassword };
    await api("/api/auth/otp/verify", { method: "POST", body, auth: false });
    // A reset ends every session of the account, this tab's too when it was the same one.
    if (user.value?.email === email.trim().toLowerCase()) signedOut();
    onDone();
  };
  return (
    <form class="stack" ref={form.ref} noValidate onSubmit={(e) => form.submit(e, send, check)}>
      <SentNote email={email} onChange={onChangeEmail} />
      <CodeField value={code} onValue={setCode} error={form.errors.code} />
      <PasswordField label="New password" name="newPassword" fresh value={newPassword} onValue={setNewPassword} error={form.errors.newPassword} required />
      <FormError error={form.error} />
      <div class="row">
        <SubmitButton form={form} label="Change password" busy="Changing…" />
        <ResendButton email={email} purpose="reset_password" />
      </div>
    </form>
  );
}
