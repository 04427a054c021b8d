// Asking for a one-time code by email: the first step of code sign-in, password reset and
// email verification, and the "send it again" button of the second.

import { useState } from "preact/hooks";
import { api, ApiError } from "../../api";
import { toast } from "../../components/ui";
import { EmailField, FormError, looksLikeEmail, message, SubmitButton, tooMany, useCooldown, useForm, type FieldErrors } from "../../components/forms";

export type Purpose = "login" | "reset_password" | "verify_email";

/** Seconds before another code may be asked for: codes take a moment to arrive. */
const RESEND_AFTER = 60;

export function requestCode(email: string, purpose: Purpose): Promise<void> {
  return api("/api/auth/otp/request", { method: "POST", body: { email: email.trim(), purpose }, auth: false });
}

/** The email step: on success `onSent` moves on to the code. */
export function EmailStep({
  purpose,
  email,
  setEmail,
  onSent,
  submitLabel = "Send code",
}: {
  purpose: Purpose;
  email: string;
  setEmail: (email: string) => void;
  onSent: () => void;
  submitLabel?: string;
}) {
  const form = useForm({ email: "Email" });
  const check = (): FieldErrors => (looksLikeEmail(email) ? {} : { email: "Enter an email address, like name@example.com." });
  const send = async () => {
    await requestCode(email, purpose);
    onSent();
  };
  return (
    <form class="stack" ref={form.ref} noValidate onSubmit={(e) => form.submit(e, send, check)}>
      <EmailField value={email} onValue={setEmail} error={form.errors.email} required />
      <FormError error={form.error} />
      <SubmitButton form={form} label={submitLabel} busy="Sending…" />
    </form>
  );
}

/** Sends the code again, at most once a minute (longer when the API asks to wait). */
export function ResendButton({ email, purpose }: { email: string; purpose: Purpose }) {
  // The first code has just been sent when this appears.
  const [left, setLeft] = useCooldown(RESEND_AFTER);
  const [sending, setSending] = useState(false);
  const resend = async () => {
    setSending(true);
    try {
      await requestCode(email, purpose);
      toast("We sent a new code. The previous one no longer works.");
      setLeft(RESEND_AFTER);
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        toast(tooMany(err.retryAfter), "error");
        setLeft(err.retryAfter ?? RESEND_AFTER);
      } else toast(message(err), "error");
    } finally {
      setSending(false);
    }
  };
  return (
    <button type="button" class="ghost" onClick={resend} disabled={sending || left > 0}>
      {left > 0 ? `Resend code (${left} s)` : sending ? "Sending…" : "Resend code"}
    </button>
  );
}

/** What the code step says about the email it went to, without telling whether it exists. */
export function SentNote({ email, onChange }: { email: string; onChange: () => void }) {
  return (
    <p class="notice" role="status">
      If an account exists for <strong>{email.trim()}</strong>, we sent a code to it. It works for 10 minutes.{" "}
      <button type="button" class="link" onClick={onChange}>
        Use a different email
      </button>
    </p>
  );
}

/** The verify endpoint's one answer for every bad code, said on the code field. */
export function codeErrors(err: ApiError): FieldErrors | null {
  if (err.status === 400) return { code: "The code is wrong or has expired. Check the digits, or ask for a new code." };
  return null;
}

export function checkCode(code: string): FieldErrors {
  return /^\d{6}$/.test(code) ? {} : { code: "Enter the six digits from the email." };
}
