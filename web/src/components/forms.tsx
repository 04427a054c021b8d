// What every account form shares (sign-in, sign-up, reset, the account page): labelled fields
// with their hint and error, the email, password and name fields they repeat, a hook that sends
// a form once at a time and puts the API's complaints next to the fields they are about, and
// where to go after signing in (the `next` parameter, kept only when it is a path of this app).

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { ApiError, describe } from "../api";
import { location } from "../router";
import "../accounts.css";

export type FieldErrors = Record<string, ComponentChildren>;

/** "is required" from the API, or a whole sentence, as a sentence that names the field. */
function sentence(text: string, label?: string): string {
  const trimmed = text.trim();
  const starts = /^(is|must|are|has|was)\b/.test(trimmed);
  const whole = starts && label ? `${label} ${trimmed}` : trimmed;
  const capital = whole.charAt(0).toUpperCase() + whole.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** The message for an error that belongs to no field, readable as a sentence. */
export function message(error: unknown): string {
  if (error instanceof ApiError && error.status === 429) return tooMany(error.retryAfter);
  return sentence(describe(error));
}

export function tooMany(seconds: number | null): string {
  if (!seconds) return "Too many attempts. Wait a little and try again.";
  const wait = seconds >= 90 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
  return `Too many attempts. Try again in ${wait}.`;
}

/** A form-wide error, focusable so the form can move there when no field is to blame. */
export function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error form-error" role="alert" tabIndex={-1}>
      {typeof error === "string" ? error : message(error)}
    </p>
  );
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "label" | "value" | "onInput"> & {
  label: string;
  value: string;
  onValue: (value: string) => void;
  error?: ComponentChildren;
  hint?: ComponentChildren;
};

/** A labelled input; its hint and error are outside the label so its name stays the label. */
export function Field({ label, value, onValue, error, hint, ...input }: InputProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        {...input}
        value={value}
        onInput={(event) => onValue(event.currentTarget.value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
      {hint && (
        <p id={`${id}-hint`} class="muted small field-hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} class="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

function PasswordHint() {
  return <>8 to 128 characters, not a common password and not your email address.</>;
}

type ValueProps = { value: string; onValue: (value: string) => void; error?: ComponentChildren; required?: boolean };

export function EmailField(props: ValueProps) {
  return <Field label="Email" name="email" type="email" autocomplete="email" {...props} />;
}

/**
 * A password input; `fresh` for one being chosen (the password manager offers a new one, and
 * the rules show as its hint), else one being typed in.
 */
export function PasswordField({ label = "Password", name = "password", fresh, ...props }: ValueProps & { label?: string; name?: string; fresh?: boolean }) {
  return (
    <Field
      label={label}
      name={name}
      type="password"
      autocomplete={fresh ? "new-password" : "current-password"}
      hint={fresh ? <PasswordHint /> : undefined}
      {...props}
    />
  );
}

export function DisplayNameField(props: ValueProps) {
  return (
    <Field
      label="Display name"
      name="displayName"
      autocomplete="nickname"
      maxLength={64}
      hint="The name others see on your playlists and songs."
      {...props}
    />
  );
}

/** The API's length rule for a new password, checked before sending; `label` names the field. */
export function passwordLengthError(password: string, label: string): string | undefined {
  if (password.length < 8) return `${label} must be at least 8 characters.`;
  if (password.length > 128) return `${label} must be at most 128 characters.`;
  return undefined;
}

/** The form's submit button, saying `busy` and disabled while the form is sent. */
export function SubmitButton({ form, label, busy, disabled }: { form: Pick<Form, "sending">; label: string; busy: string; disabled?: boolean }) {
  return (
    <button type="submit" disabled={form.sending || disabled}>
      {form.sending ? busy : label}
    </button>
  );
}

/** The six digits of a one-time code, with the keyboard and autofill phones offer for them. */
export function CodeField({ value, onValue, error }: { value: string; onValue: (v: string) => void; error?: ComponentChildren }) {
  return (
    <Field
      label="Code"
      name="code"
      value={value}
      onValue={(v) => onValue(v.replace(/\D/g, "").slice(0, 6))}
      error={error}
      hint="The six digits from the email."
      inputMode="numeric"
      autocomplete="one-time-code"
      pattern="[0-9]{6}"
      maxLength={6}
      class="code-input"
    />
  );
}

export interface Form {
  sending: boolean;
  errors: FieldErrors;
  error: unknown;
  /** Sends once: checks first, then `send`; its failure lands on the fields or the form. */
  submit: (event: Event, send: () => Promise<void>, check?: () => FieldErrors) => Promise<void>;
  setErrors: (errors: FieldErrors) => void;
  ref: { current: HTMLFormElement | null };
}

/**
 * `labels` maps the API's field names to the labels shown, so "password: must be at least 8
 * characters" reads "Password must be at least 8 characters." next to the Password field.
 * `special` turns a particular failure (a 409, say) into field errors of its own.
 */
export function useForm(labels: Record<string, string>, special?: (error: ApiError) => FieldErrors | null): Form {
  const [sending, setSending] = useState(false);
  const [errors, setErrorsState] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [focusTick, setFocusTick] = useState(0);
  const ref = useRef<HTMLFormElement>(null);
  const alive = useRef(true);
  useEffect(() => () => void (alive.current = false), []);

  useEffect(() => {
    if (focusTick === 0) return;
    const form = ref.current;
    const target = form?.querySelector<HTMLElement>('[aria-invalid="true"]') ?? form?.querySelector<HTMLElement>(".form-error");
    target?.focus();
  }, [focusTick]);

  function fail(fields: FieldErrors, general: unknown) {
    setErrorsState(fields);
    setError(general);
    setFocusTick((t) => t + 1);
  }

  async function submit(event: Event, send: () => Promise<void>, check?: () => FieldErrors) {
    event.preventDefault();
    if (sending) return;
    const local = check?.() ?? {};
    if (Object.keys(local).length > 0) return fail(local, null);
    setSending(true);
    setError(null);
    setErrorsState({});
    try {
      await send();
    } catch (err) {
      if (!alive.current) return;
      const [fields, general] = explain(err, labels, special);
      fail(fields, general);
    } finally {
      if (alive.current) setSending(false);
    }
  }

  const setErrors = (next: FieldErrors) => fail(next, null);
  return { sending, errors, error, submit, setErrors, ref };
}

function explain(err: unknown, labels: Record<string, string>, special?: (error: ApiError) => FieldErrors | null): [FieldErrors, unknown] {
  if (!(err instanceof ApiError)) return [{}, err];
  const own = special?.(err);
  if (own) return [own, null];
  const fields: FieldErrors = {};
  const others: string[] = [];
  for (const e of err.errors) {
    if (e.field in labels) fields[e.field] ??= sentence(e.message, labels[e.field]);
    else others.push(sentence(e.message, e.field));
  }
  const general = others.length ? others.join(" ") : null;
  if (Object.keys(fields).length === 0) return [{}, general ?? err];
  return [fields, general];
}

/** Where to go after signing in: `next` when it is a path here (never another site). */
export function nextPath(fallback = "/"): string {
  const next = location.value.searchParams.get("next");
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : fallback;
}

/** `path` with the current `next` parameter carried along. */
export function withNext(path: string): string {
  const next = location.value.searchParams.get("next");
  return next ? `${path}?next=${encodeURIComponent(next)}` : path;
}

/** A quick check before bothering the API; the API has the last word. */
export function looksLikeEmail(email: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim());
}

/** Counts down the seconds until a code may be asked for again (or a rate limit ends). */
export function useCooldown(initial = 0): [number, (seconds: number) => void] {
  const [left, setLeft] = useState(initial);
  useEffect(() => {
    if (left <= 0) return;
    const timer = setTimeout(() => setLeft((s) => s - 1), 1000);
    return () => clearTimeout(timer);
  }, [left]);
  return [left, setLeft];
}

export function AuthCard({ title, children, lead }: { title: string; children: ComponentChildren; lead?: ComponentChildren }) {
  return (
    <section class="page narrow auth-page">
      <h1>{title}</h1>
      {lead && <p class="muted">{lead}</p>}
      <div class="card">{children}</div>
    </section>
  );
}
