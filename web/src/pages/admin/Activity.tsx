// Admin › Activity: recompute play counts, trends and co-listening from the stored listens.

import { useEffect, useState } from "preact/hooks";
import { api } from "../../api";
import { ErrorNote, toast } from "../../components/ui";

interface Rebuild {
  listens: number;
  tookMs: number;
}

export function Activity() {
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const [result, setResult] = useState<(Rebuild & { at: Date }) | null>(null);
  const [error, setError] = useState<unknown>(null);
  const running = startedAt !== null;
  const rebuild = async () => {
    setStartedAt(Date.now());
    setError(null);
    try {
      const answer = await api<Rebuild>("/api/admin/activity/rebuild", { method: "POST" });
      setResult({ ...answer, at: new Date() });
      toast("Recommendations rebuilt");
    } catch (err) {
      setError(err);
    } finally {
      setStartedAt(null);
    }
  };
  return (
    <section aria-labelledby="admin-activity" class="stack">
      <h2 id="admin-activity">Activity</h2>
      <div class="card stack rebuild">
        <p>
          Recomputes every song's counts, the trend scores, per-user counts and co-listening pairs from the stored listens, and
          empties the cached lists. Needed after a bulk import of listens; on a large history it takes a while.
        </p>
        <div>
          <button type="button" onClick={rebuild} disabled={running} aria-busy={running}>
            {running ? "Rebuilding…" : "Rebuild recommendations"}
          </button>
        </div>
        {running && <Running since={startedAt} />}
        <ErrorNote error={error} />
        {result && !running && (
          <p role="status">
            Rebuilt from <strong>{result.listens.toLocaleString()}</strong> {result.listens === 1 ? "listen" : "listens"} in{" "}
            <strong>{result.tookMs.toLocaleString()} ms</strong>, at {result.at.toLocaleTimeString()}.
          </p>
        )}
      </div>
    </section>
  );
}

/** An indeterminate bar and the seconds spent, so a long rebuild does not look stuck. */
function Running({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return (
    <div class="stack" role="status">
      <progress aria-label="Rebuild progress" />
      <span class="muted small">Rebuilding… {Math.floor((now - since) / 1000)} s</span>
    </div>
  );
}
