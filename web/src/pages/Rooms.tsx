// Listening rooms: open one or join one by its code; a room's page shares the code, shows who
// is in and online, lets the host choose who controls playback, and leaves.

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, fieldError } from "../api";
import { Async, ErrorNote, toast, useLoad, useTitle } from "../components/ui";
import { declinedRooms, followRoom, roomCode, state } from "../player/sync";
import "../player/player.css";
import { Link, navigate, type Params } from "../router";
import { user } from "../session";

type ControlMode = "host" | "everyone";

interface Room {
  code: string;
  name: string;
  hostId: string;
  controlMode: ControlMode;
  createdAt: string;
  closesAt: string | null;
  members: { userId: string; displayName: string | null; isHost: boolean; joinedAt: string; lastSeenAt: string; online: boolean }[];
}

const roomPath = (code: string) => `/api/sync/rooms/${encodeURIComponent(code.trim().toUpperCase())}`;

export function Rooms(_: { params: Params }) {
  useTitle("Listening rooms");
  const following = roomCode.value;
  return (
    <section class="page">
      <h1>Listening rooms</h1>
      <p class="muted">Listen together: everyone in a room hears the same song at the same moment, on their own device.</p>
      {following && (
        <p class="card">
          You are listening along in room <Link href={`/rooms/${following}`}>{state.value?.room?.name ?? following}</Link>.
        </p>
      )}
      <div class="grid rooms-forms">
        <CreateRoom />
        <JoinRoom />
      </div>
    </section>
  );
}

function CreateRoom() {
  const [name, setName] = useState("");
  const [controlMode, setControlMode] = useState<ControlMode>("host");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const nameError = fieldError(error, "name");
  const modeError = fieldError(error, "controlMode");
  return (
    <form
      class="card stack"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setError(null);
        try {
          const body = name.trim() ? { name: name.trim(), controlMode } : { controlMode };
          const room = await api<Room>("/api/sync/rooms", { method: "POST", body });
          followRoom(room.code);
          navigate(`/rooms/${room.code}`);
        } catch (e) {
          setError(e);
          setBusy(false);
        }
      }}
    >
      <h2>Open a room</h2>
      <label>
        Room name
        <input value={name} maxLength={64} placeholder="Listening room" onInput={(e) => setName(e.currentTarget.value)} aria-invalid={!!nameError} />
        {nameError && <span class="field-error">{nameError}</span>}
      </label>
      <label>
        Who controls playback
        <select value={controlMode} onChange={(e) => setControlMode(e.currentTarget.value as ControlMode)}>
          <option value="host">Only me (the host)</option>
          <option value="everyone">Everyone in the room</option>
        </select>
        {modeError && <span class="field-error">{modeError}</span>}
      </label>
      {!nameError && !modeError && <ErrorNote error={error} />}
      <button type="submit" disabled={busy}>
        {busy ? "Opening…" : "Create room"}
      </button>
    </form>
  );
}

function JoinRoom() {
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <form
      class="card stack"
      onSubmit={async (event) => {
        event.preventDefault();
        const wanted = code.trim().toUpperCase();
        setBusy(true);
        setError(null);
        try {
          const room = await api<Room>(`${roomPath(wanted)}/join`, { method: "POST" });
          followRoom(room.code);
          navigate(`/rooms/${room.code}`);
        } catch (e) {
          setError(e);
          setBusy(false);
        }
      }}
    >
      <h2>Join a room</h2>
      <label>
        Room code
        <input
          class="code-input"
          value={code}
          required
          maxLength={6}
          minLength={6}
          autoComplete="off"
          spellcheck={false}
          placeholder="K7QM2X"
          aria-invalid={notFound}
          onInput={(e) => setCode(e.currentTarget.value.replace(/\s/g, ""))}
        />
        {notFound && <span class="field-error">No open room has this code. Check it with the host.</span>}
      </label>
      {!notFound && <ErrorNote error={error} />}
      <button type="submit" disabled={busy || code.trim().length === 0}>
        {busy ? "Joining…" : "Join"}
      </button>
    </form>
  );
}

export function RoomPage({ params }: { params: Params }) {
  const code = params.code.toUpperCase();
  const version = state.value?.scope === "room" ? state.value.version : 0;
  const loaded = useLoad((signal) => api<Room>(roomPath(code), { signal }), [code, version]);
  useTitle(loaded.data ? loaded.data.name : `Room ${code}`);
  useEffect(() => {
    const timer = setInterval(loaded.reload, 15_000); // presence changes without a state change
    return () => clearInterval(timer);
  }, [loaded.reload]);
  // Opening the page of a room one is in means listening along.
  const member = !!loaded.data;
  useEffect(() => {
    if (member && roomCode.peek() !== code && !declinedRooms.has(code)) followRoom(code);
  }, [member, code]);
  const error = loaded.error instanceof ApiError ? loaded.error : null;
  if (!loaded.data && error?.status === 403) return <NotMember code={code} onJoined={loaded.reload} />;
  if (!loaded.data && error?.status === 404) {
    return (
      <section class="page narrow">
        <h1>No such room</h1>
        <p>No open listening room has the code {code}: it may have closed after everyone left.</p>
        <Link class="button" href="/rooms">
          Open or join a room
        </Link>
      </section>
    );
  }
  return (
    <section class="page room-page">
      <Async state={loaded}>{(room) => <RoomView room={room} onChange={loaded.set} />}</Async>
    </section>
  );
}

function NotMember({ code, onJoined }: { code: string; onJoined: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <section class="page narrow">
      <h1>Room {code}</h1>
      <p>You are not in this room yet. Join to listen along.</p>
      <ErrorNote error={error} />
      <button
        type="button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await api(`${roomPath(code)}/join`, { method: "POST" });
            followRoom(code);
            onJoined();
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        Join room
      </button>
    </section>
  );
}

function RoomView({ room, onChange }: { room: Room; onChange: (room: Room) => void }) {
  const me = user.value?.id;
  const isHost = room.hostId === me;
  const following = roomCode.value === room.code;
  return (
    <div class="stack">
      <div class="spread">
        <h1>{room.name}</h1>
        <LeaveButton code={room.code} />
      </div>
      <div class="card stack">
        <div class="muted small">Share this code so others can join</div>
        <div class="row">
          <span class="room-code" aria-label={`Room code ${room.code.split("").join(" ")}`}>
            {room.code}
          </span>
          <CopyButton text={room.code} />
        </div>
      </div>
      <div class="row">
        {following ? (
          <>
            <span class="tag active">Listening along</span>
            <button type="button" class="ghost" onClick={() => followRoom(null)}>
              Leave room mode
            </button>
          </>
        ) : (
          <button type="button" onClick={() => followRoom(room.code)}>
            Listen along
          </button>
        )}
      </div>
      <ControlMode room={room} isHost={isHost} onChange={onChange} />
      <h2>Members</h2>
      <ul class="room-members">
        {room.members.map((m) => (
          <li key={m.userId} class="spread">
            <span>
              <span class={m.online ? "presence online" : "presence"} aria-hidden="true" />
              {m.displayName ?? "A listener"}
              {m.userId === me && " (you)"}
              {m.isHost && <span class="tag">Host</span>}
            </span>
            <span class="muted small">{m.online ? "Online" : "Offline"}</span>
          </li>
        ))}
      </ul>
      {room.closesAt && <p class="muted small">Nobody is online: the room closes at {new Date(room.closesAt).toLocaleTimeString()} unless someone comes back.</p>}
    </div>
  );
}

function ControlMode({ room, isHost, onChange }: { room: Room; isHost: boolean; onChange: (room: Room) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!isHost) {
    return (
      <p class="muted">
        {room.controlMode === "host" ? "Only the host controls playback in this room." : "Everyone in this room controls playback."}
      </p>
    );
  }
  return (
    <div class="stack">
      <label>
        Who controls playback
        <select
          value={room.controlMode}
          disabled={busy}
          onChange={async (e) => {
            const controlMode = e.currentTarget.value as ControlMode;
            setBusy(true);
            setError(null);
            try {
              onChange(await api<Room>(roomPath(room.code), { method: "PATCH", body: { controlMode } }));
              toast(controlMode === "host" ? "Only you control playback now." : "Everyone controls playback now.");
            } catch (err) {
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        >
          <option value="host">Only me (the host)</option>
          <option value="everyone">Everyone in the room</option>
        </select>
      </label>
      <ErrorNote error={error} />
    </div>
  );
}

function LeaveButton({ code }: { code: string }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      class="danger"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await api(`${roomPath(code)}/leave`, { method: "POST" });
        } catch (err) {
          // Not a member any more, or closed: gone either way. Anything else is worth saying.
          if (!(err instanceof ApiError && (err.status === 403 || err.status === 404))) {
            toast(`Could not leave the room: ${err instanceof Error ? err.message : String(err)}`, "error");
            setBusy(false);
            return;
          }
        }
        if (roomCode.peek() === code) followRoom(null);
        toast("You left the room.");
        navigate("/rooms");
      }}
    >
      Leave room
    </button>
  );
}

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="ghost"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), 2000);
        } catch {
          toast(`Copy the code by hand: ${text}`);
        }
      }}
    >
      {copied ? "Copied" : "Copy code"}
    </button>
  );
}
