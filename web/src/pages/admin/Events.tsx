// Admin › Events: for each event consumer with operator routes, the events that kept failing
// (to replay once the cause is fixed) and a drain that handles everything pending now.

import { useState } from "preact/hooks";
import { ApiError, api, describe } from "../../api";
import { useAction } from "../../components/actions";
import { ActionsCell, TableHead, type Column } from "../../components/table";
import { Async, ErrorNote, toast, useLoad, when } from "../../components/ui";

/**
 * The consumers spin.toml gives `/api/admin/events/<consumer>/...` routes. Only notification
 * does today; the catalog, playlists, sync and activity consumers have none to call.
 */
const CONSUMERS = ["notification"];

interface DeadLetter {
  id: string;
  topic: string;
  error: string;
  attempts: number;
  failedAt: string;
  event: unknown;
}

interface DrainReport {
  handled: number;
  failed: number;
  duplicates: number;
  deadLettered: number;
  pending: number;
}

export function Events() {
  return (
    <section aria-labelledby="admin-events">
      <h2 id="admin-events">Events</h2>
      <p class="muted">
        Consumers retry a failing event with backoff, then set it aside as a dead letter. Replay one once its cause is fixed;
        drain to handle what is pending without waiting for the next wake-up.
      </p>
      {CONSUMERS.map((consumer) => (
        <Consumer key={consumer} name={consumer} />
      ))}
    </section>
  );
}

function Consumer({ name }: { name: string }) {
  const base = `/api/admin/events/${name}`;
  const letters = useLoad((signal) => api<DeadLetter[]>(`${base}/dead-letters`, { signal }), [base]);
  const headingId = `consumer-${name}`;
  return (
    <section class="card consumer stack" aria-labelledby={headingId}>
      <div class="spread">
        <h3 id={headingId}>{name}</h3>
        <button type="button" class="ghost small-button" onClick={letters.reload} disabled={letters.loading} aria-label={`Refresh ${name} dead letters`}>
          Refresh
        </button>
      </div>
      <Drain base={base} onDrained={letters.reload} />
      <h4>Dead letters</h4>
      <Async state={letters}>
        {(items) =>
          items.length === 0 ? (
            <p class="muted">No dead letters: every event was handled.</p>
          ) : (
            <DeadLetters base={base} items={items} onReplayed={(id) => letters.set(items.filter((i) => i.id !== id))} />
          )
        }
      </Async>
    </section>
  );
}

function Drain({ base, onDrained }: { base: string; onDrained: () => void }) {
  const [report, setReport] = useState<DrainReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const { busy, run } = useAction(setError);
  const drain = () =>
    run(async () => {
      setReport(await api<DrainReport>(`${base}/drain`, { method: "POST" }));
      onDrained();
    });
  const figures: [string, keyof DrainReport][] = [
    ["Handled", "handled"],
    ["Failed", "failed"],
    ["Duplicates", "duplicates"],
    ["Dead-lettered", "deadLettered"],
    ["Still pending", "pending"],
  ];
  return (
    <div>
      <button type="button" onClick={drain} disabled={busy} aria-busy={busy}>
        {busy ? "Draining…" : "Drain now"}
      </button>
      <ErrorNote error={error} />
      {report && (
        <dl class="report" aria-label="Drain report">
          {figures.map(([label, key]) => (
            <div key={key}>
              <dt>{label}</dt>
              <dd>{report[key] ?? 0}</dd>
            </div>
          ))}
        </dl>
      )}
    </div>
  );
}

const COLUMNS: Column[] = [{ label: "Event" }, { label: "Error" }, { label: "Attempts", num: true }, { label: "Failed" }, { label: "Actions", hidden: true }];

function DeadLetters({ base, items, onReplayed }: { base: string; items: DeadLetter[]; onReplayed: (id: string) => void }) {
  return (
    <div class="table-wrap">
      <table class="responsive">
        <TableHead columns={COLUMNS} />
        <tbody>
          {items.map((item) => (
            <DeadLetterRow key={item.id} base={base} item={item} onReplayed={onReplayed} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeadLetterRow({ base, item, onReplayed }: { base: string; item: DeadLetter; onReplayed: (id: string) => void }) {
  const [failure, setFailure] = useState<unknown>(null);
  const { busy, run } = useAction(setFailure);
  const nameId = `dead-${item.id}`;
  const replay = () =>
    run(async () => {
      await api(`${base}/dead-letters/${encodeURIComponent(item.id)}/replay`, { method: "POST" });
      toast(`Replayed ${item.topic} ${item.id}`);
      onReplayed(item.id);
    });
  return (
    <tr>
      <td>
        <strong id={nameId}>{item.topic}</strong>
        <div class="muted small">{item.id}</div>
        <details class="event-body">
          <summary class="small">Envelope</summary>
          <pre>{JSON.stringify(item.event, null, 2)}</pre>
        </details>
      </td>
      <td class="error-cell" data-label="Error">
        {item.error}
      </td>
      <td class="num" data-label="Attempts">
        {item.attempts}
      </td>
      <td data-label="Failed">{when(item.failedAt)}</td>
      <ActionsCell
        note={
          failure ? (
            <p class="field-error" role="alert">
              {failureText(failure)}
            </p>
          ) : null
        }
      >
        <button type="button" class="small-button" disabled={busy} aria-busy={busy} aria-describedby={nameId} onClick={replay}>
          {busy ? "Replaying…" : "Replay"}
        </button>
      </ActionsCell>
    </tr>
  );
}

/** A replay that failed again (409) says so; anything else as any error reads. */
function failureText(error: unknown): string {
  return error instanceof ApiError && error.status === 409 ? `Still failing: ${error.detail}` : describe(error);
}
