// Every call to the API goes through `api`: it adds the access token (refreshing it when it
// is about to expire or was refused), sends JSON or form data, and turns problem+json
// answers into `ApiError`s that pages can show as they are.

import { refresh, session } from "./session";

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
    readonly retryAfter: number | null = null,
  ) {
    super(detail || title);
  }

  /** The message for a field, when the API named it. */
  field(name: string): string | undefined {
    return this.errors.find((e) => e.field === name)?.message;
  }
}

export interface Options {
  method?: string;
  /** A plain object goes as JSON; FormData as multipart. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Send the token when signed in (default); false for routes that must not see one. */
  auth?: boolean;
}

/** The answer's JSON (undefined for 204), or an ApiError. */
export async function api<T = unknown>(path: string, options: Options = {}): Promise<T> {
  const answer = await request(path, options);
  if (answer.status === 204 || answer.status === 304) return undefined as T;
  return (await answer.json()) as T;
}

/** The raw answer of a successful request (for ETags, 304s and headers), or an ApiError. */
export async function request(path: string, options: Options = {}): Promise<Response> {
  const { method = "GET", body, signal, auth = true } = options;
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let token = auth ? await accessToken() : null;
  for (let attempt = 0; ; attempt++) {
    const sent = { ...headers };
    if (token) sent.Authorization = `Bearer ${token}`;
    let answer: Response;
    try {
      answer = await fetch(path, { method, headers: sent, body: payload, signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, "Offline", "Spindle could not be reached. Check the connection and try again.");
    }
    if (answer.status === 401 && token && attempt === 0) {
      token = (await refresh(token))?.accessToken ?? null;
      if (token) continue;
    }
    if (answer.ok || answer.status === 304) return answer;
    throw await problem(answer);
  }
}

/** The access token, refreshed first when it is about to expire (for XMLHttpRequest uploads). */
export async function accessToken(): Promise<string | null> {
  const current = session.value;
  if (!current) return null;
  if (current.expiresAt - Date.now() > 60_000) return current.accessToken;
  return (await refresh(current.accessToken))?.accessToken ?? null;
}

async function problem(answer: Response): Promise<ApiError> {
  // A body cut off mid-way reads as no body: the status still says what happened.
  const body = await answer.text().catch(() => "");
  return problemFrom(answer.status, answer.statusText, answer.headers.get("Retry-After"), body);
}

/**
 * A failed answer as an ApiError: its problem+json fields when the body is one, else a message
 * from the status. Shared with the XMLHttpRequest upload, which has no Response to hand over.
 */
export function problemFrom(status: number, statusText: string, retryAfterHeader: string | null, bodyText: string): ApiError {
  const retryAfter = Number(retryAfterHeader) || null;
  try {
    const body = JSON.parse(bodyText);
    return new ApiError(
      status,
      body.title ?? statusText,
      body.detail ?? body.title ?? statusText,
      Array.isArray(body.errors) ? body.errors : [],
      retryAfter,
    );
  } catch {
    const text = status >= 500 ? "Spindle had a problem answering. Try again in a moment." : statusText;
    return new ApiError(status, statusText || "Error", text, [], retryAfter);
  }
}

/** A query string from the defined values, with its `?`; empty when there are none. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") q.set(key, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** A message people can read for any error a call threw. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429 && error.retryAfter) return `${error.detail} Try again in ${error.retryAfter} s.`;
    return error.detail;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The API's message for `field`, when `error` named it. */
export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.field(field) : undefined;
}

/** The error without the messages shown next to their fields (null when those say it all). */
export function otherErrors(error: unknown, shown: string[]): unknown {
  if (!(error instanceof ApiError) || error.errors.length === 0) return error;
  const rest = error.errors.filter((e) => !shown.includes(e.field));
  if (rest.length === 0) return null;
  return new ApiError(error.status, error.title, rest.map((e) => `${e.field}: ${e.message}`).join("; "), rest, error.retryAfter);
}
