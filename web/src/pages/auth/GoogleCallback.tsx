// Where a Google sign-in lands: the handoff code in the address becomes this tab's session.

import { useEffect, useState } from "preact/hooks";
import { api } from "../../api";
import { Link, location, navigate } from "../../router";
import { signedIn } from "../../session";
import type { TokenResponse } from "../../types";
import { useTitle } from "../../components/ui";
import { takeRememberedNext } from "./SignIn";
import { AuthCard, message } from "../../components/forms";

export function GoogleCallback() {
  useTitle("Signing in");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const code = location.value.searchParams.get("code");
    if (!code) {
      setError("This address has no sign-in code. Start the Google sign-in again.");
      return;
    }
    // The code works once: take it out of the address so a reload does not spend it twice.
    history.replaceState(null, "", "/auth/callback");
    api<TokenResponse>("/api/auth/handoff", { method: "POST", body: { code }, auth: false }).then(
      (tokens) => {
        signedIn(tokens);
        navigate(takeRememberedNext(), { replace: true });
      },
      (err) => setError(message(err)),
    );
  }, []);
  if (!error) {
    return (
      <AuthCard title="Signing in">
        <p aria-busy="true">Finishing your Google sign-in…</p>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Google sign-in did not finish">
      <p class="error" role="alert">
        {error}
      </p>
      <p>Sign-in codes from Google work once, within a minute.</p>
      <Link class="button" href="/signin">
        Back to sign in
      </Link>
    </AuthCard>
  );
}
